#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make coverage': which lines of the series the tests run.
#
# The x86 test kernel is built again with gcov counters in every C file
# that the series adds or changes (use_kernel coverage in lib.sh) and
# booted on each x86 machine of make test, with that machine's suites.
# At the end of each run init sends the counters over the results port
# (gcov_dump in initramfs/init); lcov reads them with the build's .gcno
# files, one capture per machine, and adds the captures up. Out come
#   $OUT/coverage/index.html   genhtml's report of the files measured;
#   on the terminal            lines and functions per file, the lines the
#                              patches change in base files alone, the
#                              functions no test enters, and the goals
#                              (coverage/report.awk, coverage/reasons).
# The arm64 machine is left out: its kernel has no counters.
. "$(dirname "$0")/lib.sh"
cache_lock

machines=(test test-conformance amd virtio noiommu)
report_dir=$OUT/coverage
data=$OUT/coverage-data

use_kernel coverage
mapfile -t sources < <(coverage_sources)
# No .gcno but those this build writes: kbuild deletes none, and an
# object compiled with counters once keeps its .gcno after a rebuild
# without. Each file measured is compiled again (from ccache) for its own.
if [ -d "$OBJ" ]; then
	find "$OBJ" -name '*.gcno' -delete
	for f in "${sources[@]}"; do
		rm -f "$OBJ/${f%.c}.o"
	done
fi
bash "$TOP/harness/kernel.sh" coverage
bash "$TOP/harness/guest.sh" coverage

# Every file measured has its .gcno, and no other file has one: the
# GCOV_PROFILE settings of use_kernel reached exactly those.
step "coverage: $(find "$OBJ" -name '*.gcno' | wc -l) files with counters"
for f in "${sources[@]}"; do
	[ -f "$OBJ/${f%.c}.gcno" ] || die "no counters in $f ($OBJ/${f%.c}.gcno)"
done
extra=$(cd "$OBJ" && find . -name '*.gcno' | sed 's|^\./||; s|\.gcno$|.c|' |
	grep -vxF -f <(printf '%s\n' "${sources[@]}") || true)
[ -z "$extra" ] || die "counters in files not measured: $extra"

rm -rf "$data"
mkdir -p "$data"
printf '%s\n' "${machines[@]}" >"$data/queue"

# run_machine NAME: one machine's run with the coverage kernel, judged
# as make test judges it; its counts go to $data/NAME-counts.
run_machine() {
	local counts=$data/$1-counts run=cov-$1
	: >"$counts"
	RUN=$run MACHINE=$1 VM_KERNEL=coverage bash "$TOP/harness/vm.sh" test 2400
	bash "$TOP/harness/judge.sh" "$OUT/$run-console.log" \
		"$OUT/$run-results.log" "$counts" "$1" || true
	if tr -d '\r' <"$OUT/$run-results.log" | grep -q '^harness: suite conformance/'; then
		bash "$TOP/harness/conformance.sh" judge "$OUT/$run-results.log" \
			"$counts" || true
	fi
}

# A machine under TCG keeps one host CPU busy: two at a time.
worker() {
	local m
	while m=$(flock "$data/queue.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' - "$data/queue") &&
	      [ -n "$m" ]; do
		run_machine "$m" >"$data/$m.out" 2>&1 ||
			echo "machine-$m 0 1 0" >>"$data/$m-counts"
	done
}
step "coverage: machines ${machines[*]}, two at a time"
worker &
worker || true
wait || true
for m in "${machines[@]}"; do
	cat "$data/$m.out"
done

# capture NAME: the counters of machine NAME's run, checked against the
# MD5 sum init sent, as lcov data in $data/NAME.info.
capture() {
	local results=$OUT/cov-$1-results.log dir=$data/$1 sum f
	mkdir -p "$dir"
	sum=$(tr -d '\r' <"$results" | sed -n 's/^harness: gcov begin //p')
	[ -n "$sum" ] || { echo "    FAIL: no counters from machine $1"; return 1; }
	tr -d '\r' <"$results" |
		awk '/^harness: gcov begin / { on = 1; next }
		     /^harness: gcov end$/ { on = 0 } on' |
		base64 -d >"$dir.tgz"
	if [ "$(md5sum <"$dir.tgz" | cut -d' ' -f1)" != "$sum" ]; then
		echo "    FAIL: the counters of machine $1 arrived damaged"
		return 1
	fi
	tar -C "$dir" -xzf "$dir.tgz"
	# The guest names each file by its path in the build, $OBJ/...; the
	# .gcno files that lcov reads beside them are the build's.
	[ -d "$dir$OBJ" ] || { echo "    FAIL: machine $1 sent no counters of $OBJ"; return 1; }
	find "$dir$OBJ" -name '*.gcda' | while read -r f; do
		f=${f%.gcda}
		cp "$OBJ/${f#"$dir$OBJ/"}.gcno" "$f.gcno"
	done
	lcov -q --capture --test-name "${1//-/_}" --directory "$dir$OBJ" \
		--base-directory "$OBJ" --output-file "$data/$1.info" \
		>"$data/$1-lcov.log" 2>&1 ||
		{ echo "    FAIL: lcov could not read machine $1's counters; see $data/$1-lcov.log"; return 1; }
}

step "coverage: reading the counters"
bad=0
infos=()
for m in "${machines[@]}"; do
	if capture "$m"; then
		infos+=(--add-tracefile "$data/$m.info")
	else
		bad=1
	fi
done
[ ${#infos[@]} -gt 0 ] || die "no machine sent counters"
lcov -q "${infos[@]}" --output-file "$data/all.info" >"$data/lcov-add.log" 2>&1 ||
	die "lcov could not add the machines up; see $data/lcov-add.log"
# The files measured, without the headers their code inlines.
lcov -q --extract "$data/all.info" "${sources[@]/#/$TREE/}" \
	--output-file "$data/series.info" >"$data/lcov-extract.log" 2>&1 ||
	die "lcov --extract failed; see $data/lcov-extract.log"
# A file that no machine's counters reached would drop out of the goals.
for f in "${sources[@]}"; do
	grep -qxF "SF:$TREE/$f" "$data/series.info" ||
		{ echo "    FAIL: no counters of $f from any machine"; bad=1; }
done

step "coverage: the report, $report_dir/index.html"
rm -rf "$report_dir"
genhtml -q --prefix "$TREE" --title "iommufd series, $(git -C "$TOP" describe --always --dirty)" \
	--legend --output-directory "$report_dir" "$data/series.info" \
	>"$data/genhtml.log" 2>&1 || die "genhtml failed; see $data/genhtml.log"

# The base files the patches change, each as a line "FILE", and the lines
# they change, "FILE LINE" (the files the series adds are its own
# throughout). One diff with renames found: a file the series moves
# (iova_bitmap.c) is changed where it differs, not everywhere.
for f in "${sources[@]}"; do
	[ -f "$TOP/linux/$f" ] || echo "$f"
done >"$data/base-files"
git -C "$TREE" diff -U0 -M base |
	awk -v files="$data/base-files" '
		BEGIN { while ((getline f < files) > 0) { base[f] = 1; print f } }
		/^\+\+\+ / { file = substr($2, 3); next }
		/^@@ / && file in base {
			split($3, a, ",")
			n = (a[2] == "") ? 1 : a[2]
			for (i = 0; i < n; i++)
				print file, substr(a[1], 2) + i
		}' >"$data/changed-lines"

awk -v tree="$TREE/" -v changed="$data/changed-lines" \
	-v reasons="$TOP/harness/coverage/reasons" -v uncovered="$report_dir/uncovered.txt" \
	-f "$TOP/harness/coverage/report.awk" "$data/series.info" | tee "$data/report.txt"

step "coverage: the suites under the coverage kernel"
cat "$data"/*-counts >"$data/counts"
print_totals "$data/counts" || bad=1
exit $bad
