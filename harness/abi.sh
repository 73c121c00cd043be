#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tier 4, ABI: everything our uAPI headers define must have the same
# value, size and layout as in upstream Linux's headers (Debian's
# linux-source-6.12, read at test time, never committed): abi.sh COUNTS
#
# An awk script lists our structures, their members, the ioctl numbers and
# enum constants; one generated C program prints each of them, built once
# against our header and once against upstream's, and the two outputs must
# be equal line for line.
. "$(dirname "$0")/lib.sh"
counts=$1
abi=$BUILD/abi
mkdir -p "$abi"
ref_extract
ref=$REF

# header pairs: our file in linux/ and upstream's path in the 6.12 tree.
pairs=(
	"include/uapi/linux/iommufd.h:include/uapi/linux/iommufd.h"
)

pass=0 fail=0
for pair in "${pairs[@]}"; do
	ours=${pair%%:*}
	theirs=${pair#*:}
	name=$(basename "$ours" .h)
	step "abi: $ours against upstream $theirs"
	awk -v header="$(basename "$ours")" '
		BEGIN {
			print "#include <stdio.h>"
			print "#include <stddef.h>"
			print "#include \"" header "\""
			print "int main(void)\n{"
		}
		/^struct [a-z0-9_]+ \{/ { st = $2; depth = 1
			printf "\tprintf(\"sizeof(struct %s) %%zu\\n\", sizeof(struct %s));\n", st, st
			next }
		st != "" && /\{/ { depth++; next }
		st != "" && /^\s*\}/ { if (--depth == 0) st = ""; next }
		st != "" && /;/ {
			m = $0; sub(/;.*/, "", m); sub(/\[.*/, "", m)
			n = split(m, w, /[ \t*]+/); m = w[n]
			printf "\tprintf(\"struct %s.%s at %%zu size %%zu\\n\", offsetof(struct %s, %s), sizeof(((struct %s *)0)->%s));\n", st, m, st, m, st, m
			next }
		/^#define [A-Z0-9_]+ _IO/ {
			printf "\tprintf(\"%s %%#lx\\n\", (unsigned long)%s);\n", $2, $2; next }
		/^enum/ { in_enum = 1; next }
		in_enum && /^\}/ { in_enum = 0; next }
		in_enum && /^\s*[A-Z][A-Z0-9_]* *=/ {
			c = $1; sub(/=.*/, "", c)
			printf "\tprintf(\"%s %%lld\\n\", (long long)%s);\n", c, c; next }
		END { print "\treturn 0;\n}" }
	' "$TOP/linux/$ours" >"$abi/$name.c"
	for side in ours upstream; do
		mkdir -p "$abi/$side"
		if [ $side = ours ]; then
			cp "$TOP/linux/$ours" "$abi/$side/"
		else
			cp "$ref/$theirs" "$abi/$side/"
		fi
		if ! gcc -Wall -I"$abi/$side" -isystem "$OBJ/usr/include" \
			-o "$abi/$name-$side" "$abi/$name.c" 2>"$abi/$name-$side.err"; then
			echo "    FAIL: does not build against the $side header:"
			grep -E 'error' "$abi/$name-$side.err" | head -n 20 | sed 's/^/    | /'
		fi
		"$abi/$name-$side" >"$abi/$name-$side.txt" 2>/dev/null || true
	done
	total=$(wc -l <"$abi/$name-ours.txt")
	if [ "$total" = 0 ]; then
		fail=$((fail + 1))
		continue
	fi
	# Each line is one checked fact.
	bad=$(diff "$abi/$name-ours.txt" "$abi/$name-upstream.txt" | grep -c '^<' || true)
	if [ "$bad" != 0 ]; then
		echo "    FAIL: $ours differs from upstream:"
		diff "$abi/$name-ours.txt" "$abi/$name-upstream.txt" | sed 's/^/    | /' | head -n 40
	fi
	pass=$((pass + total - bad))
	fail=$((fail + bad))
done

printf '    %-34s %4d passed, %d failed, %d skipped\n' "abi:" $pass $fail 0
echo "abi $pass $fail 0" >>"$counts"
