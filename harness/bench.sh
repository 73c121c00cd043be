#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make bench': VFIO type1 against iommufd on one non-debug kernel, in one
# boot, on the same device and memory. Builds the bench kernel in
# $CACHE/bench-obj (tinyconfig + the x86, iommufd and bench fragments) and
# the guest program harness/bench/bench.c, boots them, and writes the
# report: $OUT/bench.md (a table), $OUT/bench.png (the ratios as bars) and
# $OUT/bench-resident.png and bench-domains.png (the scale rows, curves).
# BENCH_REPS (default 5) repetitions of every measurement.
# 'bench.sh report' only writes the report again from the last run.
# PROFILE=WORKLOAD (4k, thp, hugetlb, churn, resident, copy, mock, domains,
# ioas or devices) takes a perf
# profile of each backend running that workload instead, in the guest with
# Debian's perf: $OUT/bench-profile.txt.
. "$(dirname "$0")/lib.sh"
cache_lock

use_kernel bench
export BENCH_REPS=${BENCH_REPS:-5}
guest=$GUEST
console=$OUT/bench-console.log
results=$OUT/bench-results.log
md=$OUT/bench.md
png=$OUT/bench.png

# Build, boot and run the bench program; fail on anything that went wrong.
run() {
	if ! command -v gnuplot >/dev/null; then
		step "bench: installing gnuplot-nox for the chart"
		local sudo=
		[ "$(id -u)" = 0 ] || sudo=sudo
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get update -q >/dev/null
		$sudo apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null
	fi

	bash "$TOP/harness/kernel.sh" bench

	step "bench: building the guest program"
	rm -rf "$guest"
	mkdir -p "$guest"
	ccache gcc -static -O2 -Wall -Werror -D_GNU_SOURCE \
		-isystem "$OBJ/usr/include" \
		-I "$TREE/tools/testing/selftests/iommu" \
		-I "$TREE/drivers/iommu/iommufd" \
		-o "$guest/bench" "$TOP/harness/bench/bench.c" -lm
	# The dpdk workload runs the DPDK selftest, which runs testpmd.
	ccache gcc -static -O2 -Wall -D_GNU_SOURCE -isystem "$OBJ/usr/include" \
		-o "$guest/vfio_dpdk" "$TREE/tools/testing/selftests/iommu/vfio_dpdk.c"
	dpdk_pack

	[ -z "${PROFILE:-}" ] || profile_tools

	# About 35 s to boot, then about 30 s a repetition, up to 3 of the
	# resident workload's 10^6 maps a backend, and two testpmd runs of
	# about 30 s: a generous limit.
	BENCH_PROFILE=${PROFILE:-} bash "$TOP/harness/vm.sh" bench \
		$((480 + 120 * BENCH_REPS))

	# The judge of 'make test' finds kernel reports on the console, a run
	# that did not end, and the bench program's exit status.
	step "bench: checking the run"
	if ! bash "$TOP/harness/judge.sh" "$console" "$results" \
		>"$OUT/bench-judge.log"; then
		cat "$OUT/bench-judge.log"
		grep -a '^bench: ' "$console" | tail -n 5
		die "the bench run failed; see $console and $results"
	fi
}

# perf and the libraries it needs, for the guest (see copy_with_libs).
profile_tools() {
	local perf

	perf=$(command -v perf) || die "PROFILE needs perf (apt-get install linux-perf)"
	step "bench: adding $perf and its libraries for a profile of '$PROFILE'"
	copy_with_libs "$guest" "$perf"
}

# The profiles the guest printed, without the table.
profile_report() {
	tr -d '\r' <"$results" | sed -n '/^# profile: /,/^harness: suite bench end/p' \
		>"$OUT/bench-profile.txt"
	[ -s "$OUT/bench-profile.txt" ] || die "no profile in $results"
	echo "    profile: $OUT/bench-profile.txt"
}

# The table and the charts from the results.
report() {
	local data=$OUT/bench.dat rows reps

	step "bench: writing $md and the charts"
	tr -d '\r' <"$results" >"$results.txt"
	grep -q '^bench ' "$results.txt" || die "no measurements in $results"
	awk -v dat="$data" -v curves="$OUT/bench" \
		-f "$TOP/harness/bench/report.awk" "$results.txt" >"$md.tmp"
	mv "$md.tmp" "$md"
	rows=$(wc -l <"$data")
	reps=$(sed -n 's/^# iommufd bench: .*, \([0-9]*\) repetitions.*/\1/p' \
		"$results.txt")
	# Each chart only where the run had rows for it.
	rm -f "$png" "$OUT/bench-resident.png" "$OUT/bench-domains.png"
	[ "$rows" = 0 ] ||
		gnuplot -e "data='$data'; out='$png'; rows=$rows; reps=${reps:-0}" \
			"$TOP/harness/bench/chart.gp"
	curve resident "VFIO type1" \
		"4 KiB map+unmap churn against resident 4 KiB mappings" \
		"other 4 KiB mappings in the same IOAS or container" \
		"µs per map+unmap pair (TCG)"
	curve domains "bare pin_user_pages" \
		"map of 1 GiB of 4 KiB pages into an IOAS with N mock page tables" \
		"page tables (a mock device, and more from IOMMU_HWPT_ALLOC)" \
		"ms (TCG)"
}

# curve NAME COLUMN1 TITLE XLABEL YLABEL: $OUT/bench-NAME.png from
# $OUT/bench-NAME.dat, if the run had its rows.
curve() {
	[ -s "$OUT/bench-$1.dat" ] || return 0
	gnuplot -e "data='$OUT/bench-$1.dat'; out='$OUT/bench-$1.png'" \
		-e "first='$2'; what='$3'; xlabel='$4'; ylabel='$5'" \
		"$TOP/harness/bench/curve.gp"
	echo "    curve: $OUT/bench-$1.png"
}

[ "${1:-}" = report ] || run
if [ -n "${PROFILE:-}" ]; then
	profile_report
	step "bench: done"
	exit 0
fi
report
# Only a run of every workload speaks for the series.
[ -n "${BENCH_ONLY:-}" ] || keep_evidence "$md"
echo
cat "$md"
echo
echo "    table: $md"
[ ! -f "$png" ] || echo "    chart: $png"
step "bench: done"
