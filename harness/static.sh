#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tier 1, static checks of our own files: static.sh COUNTS
# W=1 build, sparse (C=2), kernel-doc and checkpatch --strict, each of
# which must print nothing about our files.
. "$(dirname "$0")/lib.sh"
cache_lock
counts=$1
pass=0 fail=0
log=$OUT/static
mkdir -p "$log"

check() {
	local name=$1 output=$2
	if [ -s "$output" ]; then
		echo "    FAIL $name:"
		sed 's/^/    | /' "$output" | head -n 40
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
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
check "W=1 build" "$log/w1.out"

step "static: sparse (C=2) on $kernel_dirs"
"${KMAKE[@]}" C=2 $kernel_dirs >"$log/sparse.log" 2>&1 || true
grep -E "($ours_re).*(warning|error):" "$log/sparse.log" >"$log/sparse.out" || true
check "sparse" "$log/sparse.out"

step "static: kernel-doc -none on ${#c_files[@]} files"
for f in "${c_files[@]}"; do
	(cd "$TREE" && scripts/kernel-doc -none "$f") >"$log/kdoc.out" 2>&1 || true
	check "kernel-doc $f" "$log/kdoc.out"
done

# patches/export is read only by 'make series', which make test does not
# run: check here that it still covers linux/ and patches/ and that its
# messages keep the series' rules.
step "static: patches/export matches linux/ and patches/series"
bash "$TOP/harness/series.sh" lint >"$log/export.out" 2>&1 || true
check "patches/export" "$log/export.out"

step "static: checkpatch --strict on the patches and ${#ours[@]} new files"
checkpatch=("$TREE/scripts/checkpatch.pl" --strict --quiet --no-summary --show-types)
while read -r p; do
	p=${p%%#*}
	[ -n "$p" ] || continue
	(cd "$TREE" && "${checkpatch[@]}" "$TOP/patches/$p") >"$log/cp.out" 2>&1 || true
	check "checkpatch $p" "$log/cp.out"
done <"$TOP/patches/series"
for f in "${ours[@]}"; do
	(cd "$TREE" && "${checkpatch[@]}" -f "$f") >"$log/cp.out" 2>&1 || true
	check "checkpatch $f" "$log/cp.out"
done

printf '    %-34s %4d passed, %d failed, %d skipped\n' "static:" $pass $fail 0
echo "static $pass $fail 0" >>"$counts"
