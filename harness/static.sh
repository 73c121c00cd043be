#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tier 1, static checks of our own files: static.sh COUNTS
# W=1 build, sparse (C=2), kernel-doc and checkpatch --strict, each of
# which must print nothing about our files, and the lint of patches/export.
# Each kind of check counts once, as "static/KIND", passed or failed
# whatever the number of files it read; the files that failed are listed.
. "$(dirname "$0")/lib.sh"
cache_lock
counts=$1
log=$OUT/static
mkdir -p "$log"
declare -A kind_failed kind_items
kinds=()

# check KIND ITEM OUTPUT: one item of a kind of check, failed if OUTPUT
# is not empty.
check() {
	local kind=$1 name=$2 output=$3
	if [ -z "${kind_items[$kind]:-}" ]; then
		kinds+=("$kind")
		kind_failed[$kind]=0
	fi
	kind_items[$kind]=$((${kind_items[$kind]:-0} + 1))
	if [ -s "$output" ]; then
		echo "    FAIL $name:"
		sed 's/^/    | /' "$output" | head -n 40
		kind_failed[$kind]=$((kind_failed[$kind] + 1))
	fi
}

# Our files in the tree, as compiled or checked there.
mapfile -t ours < <(cd "$TOP/linux" && find . -type f | sed 's|^\./||' | sort)
c_files=()
for f in "${ours[@]}"; do
	case "$f" in *.c | *.h) c_files+=("$f") ;; esac
done
kernel_dirs="drivers/iommu/iommufd/ drivers/vfio/ mm/pin_file.o"
ours_re=$(printf '%s\n' "${c_files[@]}" | sed 's/[.]/[.]/g' | paste -sd'|')

step "static: W=1 build of $kernel_dirs"
"${KMAKE[@]}" W=1 $kernel_dirs >"$log/w1.log" 2>&1 || true
grep -E "($ours_re).*(warning|error):" "$log/w1.log" >"$log/w1.out" || true
grep -q -E 'Error|error:' "$log/w1.log" && grep -E 'Error|error:' "$log/w1.log" >>"$log/w1.out"
check W=1 "W=1 build" "$log/w1.out"

step "static: sparse (C=2) on $kernel_dirs"
"${KMAKE[@]}" C=2 $kernel_dirs >"$log/sparse.log" 2>&1 || true
grep -E "($ours_re).*(warning|error):" "$log/sparse.log" >"$log/sparse.out" || true
check sparse "sparse" "$log/sparse.out"

step "static: kernel-doc -none on ${#c_files[@]} files"
for f in "${c_files[@]}"; do
	(cd "$TREE" && scripts/kernel-doc -none "$f") >"$log/kdoc.out" 2>&1 || true
	check kernel-doc "kernel-doc $f" "$log/kdoc.out"
done

# patches/export is read only by 'make series', which make test does not
# run: check here that it still covers linux/ and patches/ and that its
# messages keep the series' rules.
step "static: patches/export matches linux/ and patches/series"
bash "$TOP/harness/series.sh" lint >"$log/export.out" 2>&1 || true
check export "patches/export" "$log/export.out"

step "static: checkpatch --strict on the patches and ${#ours[@]} new files"
checkpatch=("$TREE/scripts/checkpatch.pl" --strict --quiet --no-summary --show-types)
while read -r p; do
	p=${p%%#*}
	[ -n "$p" ] || continue
	(cd "$TREE" && "${checkpatch[@]}" "$TOP/patches/$p") >"$log/cp.out" 2>&1 || true
	check checkpatch-patches "checkpatch $p" "$log/cp.out"
done <"$TOP/patches/series"
for f in "${ours[@]}"; do
	(cd "$TREE" && "${checkpatch[@]}" -f "$f") >"$log/cp.out" 2>&1 || true
	check checkpatch-files "checkpatch $f" "$log/cp.out"
done

for kind in "${kinds[@]}"; do
	if [ "${kind_failed[$kind]}" = 0 ]; then
		result="1 0 0" verdict=ok
	else
		result="0 1 0" verdict="FAIL (${kind_failed[$kind]} of them)"
	fi
	printf '    %-34s %4d checked, %s\n' "static/$kind:" "${kind_items[$kind]}" "$verdict"
	echo "static/$kind $result" >>"$counts"
done
