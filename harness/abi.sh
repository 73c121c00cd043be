#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tier 4, ABI: everything our uAPI headers define must have the same
# value, size and layout as in upstream Linux's headers (Debian's
# linux-source-6.12, read at test time, never committed): abi.sh COUNTS
#
# An awk script lists our structures, their members, the ioctl numbers and
# enum constants; one generated C program prints each of them, built once
# against our header and once against upstream's, and the two outputs must
# be equal line for line. Each header counts as one check, "abi/NAME";
# the detail says how many facts it compared, how many of them 6.1's own
# header already had (vfio.h: not ours to count), and how many were
# compared against harness/abi-newer.h, which we transcribed.
. "$(dirname "$0")/lib.sh"
cache_lock
counts=$1
abi=$BUILD/abi
mkdir -p "$abi"
ref_extract
ref=$REF

# Our headers and upstream's, by path in each tree. Each side's copies go
# into one include directory, as linux/iommufd.h and iommufd_test.h, so
# that the test header's #include <linux/iommufd.h> finds the same side.
headers=(
	include/uapi/linux/iommufd.h
	drivers/iommu/iommufd/iommufd_test.h
	include/uapi/linux/vfio.h
)

# Where our side of HEADER is: VFIO's header is a base file our patches
# extend, so it is read from the assembled tree.
ours() {
	case $1 in
	include/uapi/linux/vfio.h) echo "$TREE/$1" ;;
	*) echo "$TOP/linux/$1" ;;
	esac
}

# gen_checks HEADER: a C program printing every fact HEADER defines: the
# size of each structure, the offset and size of each member (members of
# nested structures by their path, e.g. add_reserved.start), each ioctl
# number, each numeric #define and each enum constant with an explicit
# value.
gen_checks() {
	awk -v header="$(basename "$1")" '
		BEGIN {
			print "#include <stdio.h>"
			print "#include <stddef.h>"
			print "#include \"" header "\""
			print "int main(void)\n{"
		}
		# A flexible array member ("name[]", marked "name!") has no
		# size: only its offset is a fact.
		function emit(path) {
			if (path ~ /!$/) {
				sub(/!$/, "", path)
				printf "\tprintf(\"struct %s.%s at %%zu\\n\", offsetof(struct %s, %s));\n", st, path, st, path
				return
			}
			printf "\tprintf(\"struct %s.%s at %%zu size %%zu\\n\", offsetof(struct %s, %s), sizeof(((struct %s *)0)->%s));\n", st, path, st, path, st, path
		}
		/^struct [a-z0-9_]+ \{/ {
			st = $2; depth = 1; members[1] = ""
			printf "\tprintf(\"sizeof(struct %s) %%zu\\n\", sizeof(struct %s));\n", st, st
			next
		}
		st != "" && /^[ \t]*(struct|union) \{/ { members[++depth] = ""; next }
		st != "" && /^[ \t]*\}/ {
			name = $0; sub(/^[ \t]*\}[ \t]*/, "", name); sub(/;.*/, "", name)
			n = split(members[depth], m, " ")
			depth--
			for (i = 1; i <= n; i++) {
				path = (name == "" ? m[i] : name "." m[i])
				if (depth == 0)
					emit(path)
				else
					members[depth] = members[depth] " " path
			}
			if (depth == 0)
				st = ""
			next
		}
		st != "" && /;/ && !/^[ \t]*(#|\/\*|\*)/ {
			m1 = $0; sub(/;.*/, "", m1)
			flex = (m1 ~ /\[\]/) ? "!" : ""
			sub(/\[.*/, "", m1)
			n = split(m1, w, /[ \t*]+/)
			members[depth] = members[depth] " " w[n] flex
			next
		}
		# Numeric constants: flags, limits, special IDs.
		/^#define [A-Z][A-Z0-9_]+[ \t]+[-(0-9]/ && $2 !~ /\(/ {
			printf "\tprintf(\"%s %%lld\\n\", (long long)(%s));\n", $2, $2; next }
		/^#define [A-Z0-9_]+[ \t]+_IO/ {
			printf "\tprintf(\"%s %%#lx\\n\", (unsigned long)%s);\n", $2, $2; next }
		/^enum/ { in_enum = 1; next }
		in_enum && /^\}/ { in_enum = 0; next }
		in_enum && /^[ \t]*[A-Z][A-Z0-9_]* *=/ {
			c = $1; sub(/=.*/, "", c)
			printf "\tprintf(\"%s %%lld\\n\", (long long)%s);\n", c, c; next }
		END { print "\treturn 0;\n}" }
	' "$1"
}

for side in ours upstream; do
	rm -rf "${abi:?}/$side"
	mkdir -p "$abi/$side/linux"
	for h in "${headers[@]}"; do
		if [ $side = ours ]; then src=$(ours "$h"); else src=$ref/$h; fi
		case $h in
		include/uapi/*) cp "$src" "$abi/$side/linux/" ;;
		*) cp "$src" "$abi/$side/" ;;
		esac
	done
done
# What upstream added after the reference's version, written down once.
cat "$TOP/harness/abi-newer.h" >>"$abi/upstream/linux/iommufd.h"

# The names harness/abi-newer.h defines: facts about them are compared
# against our own transcription of upstream, not against upstream's file.
newer_re=$(sed -n -e 's/^#define \([A-Za-z0-9_]*\).*/\1/p' \
	-e 's/^struct \([a-z0-9_]*\) {.*/\1/p' "$TOP/harness/abi-newer.h" | paste -sd'|')

# base_facts HEADER: the facts of HEADER as the unpatched 6.1 tree has it
# (none for a header 6.1 does not have), one a line, sorted.
base_facts() {
	local name
	name=$(basename "$1" .h)
	rm -rf "$abi/base"
	mkdir -p "$abi/base/linux"
	git -C "$TREE" show "base:$1" >"$abi/base/linux/$name.h" 2>/dev/null || return 0
	gen_checks "$abi/base/linux/$name.h" >"$abi/base/$name.c"
	gcc -Wall -D__user= -I"$abi/base/linux" -isystem "$OBJ/usr/include" \
		-o "$abi/base/$name" "$abi/base/$name.c" 2>/dev/null &&
		"$abi/base/$name" | sort
}

for h in "${headers[@]}"; do
	name=$(basename "$h" .h)
	step "abi: $h against upstream's"
	gen_checks "$(ours "$h")" >"$abi/$name.c"
	for side in ours upstream; do
		rm -f "$abi/$name-$side" "$abi/$name-$side.txt"
		if ! gcc -Wall -D__user= -I"$abi/$side" -I"$abi/$side/linux" \
			-isystem "$OBJ/usr/include" \
			-o "$abi/$name-$side" "$abi/$name.c" 2>"$abi/$name-$side.err"; then
			echo "    FAIL: does not build against the $side headers:"
			grep -E 'error' "$abi/$name-$side.err" | head -n 20 | sed 's/^/    | /'
		fi
		"$abi/$name-$side" >"$abi/$name-$side.txt" 2>/dev/null || true
	done
	total=$(wc -l <"$abi/$name-ours.txt")
	if [ "$total" = 0 ] || [ ! -s "$abi/$name-upstream.txt" ]; then
		echo "    FAIL: no facts to compare"
		echo "abi/$name 0 1 0" >>"$counts"
		continue
	fi
	# Each line is one checked fact.
	bad=$(diff "$abi/$name-ours.txt" "$abi/$name-upstream.txt" | grep -c '^<' || true)
	had=$(sort "$abi/$name-ours.txt" | comm -12 - <(base_facts "$h") | wc -l)
	newer=$(grep -cE "^(struct |sizeof\(struct )?($newer_re)[ .)]" "$abi/$name-ours.txt" || true)
	printf '    %-34s %4d facts, %d already in 6.1, %d against abi-newer.h: %s\n' \
		"abi/$name:" "$total" "$had" "$newer" "$([ "$bad" = 0 ] && echo ok || echo "$bad differ")"
	if [ "$bad" != 0 ]; then
		echo "    FAIL: $h differs from upstream:"
		diff "$abi/$name-ours.txt" "$abi/$name-upstream.txt" | sed 's/^/    | /' | head -n 40
		echo "abi/$name 0 1 0" >>"$counts"
	else
		echo "abi/$name 1 0 0" >>"$counts"
	fi
done
