#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The judge's own test, on made-up logs: judge-selftest.sh [COUNTS]
#
# Each case writes a console, a results file and the expectations vm.sh
# would write, runs judge.sh (or conformance.sh judge) on them and checks
# the verdict and the line that explains it. A clean run must pass; each
# way a run can go wrong without a failed test must fail it:
# a report after the injected ones, or in the kernel's own wording of each
# kind, a leak of the run listed with the injected one, an inject window
# that never closes, a suite that printed nothing, stopped short of its
# plan or never ended, a suite that never ran, a KUnit suite that never
# reported, kmemleak turned off, no expectations at all, and a case of
# upstream's listed as unimplemented that fails somewhere other than where
# the list says. The logs end their lines with "\r\n", as the guest's
# serial ports write them. The machines' own injected reports are checked
# by test.sh on the real consoles.
. "$(dirname "$0")/lib.sh"

counts=${1:-/dev/null}
dir=$BUILD/judge-selftest
pass=0
fail=0

# A run that is fine: one KUnit suite, one guest suite, kmemleak on.
clean_run() {
	cat >"$dir/run-expect" <<-EOF
		suite selftests/demo
		kunit demo_kunit
		kmemleak
	EOF
	cat >"$dir/run-console.log" <<-EOF
		[    1.000000]     # Subtest: demo_kunit
		[    1.000000]     1..1
		[    1.000000]     ok 1 demo_case
		[    1.000000] ok 1 demo_kunit
		harness: suite selftests/demo begin
		harness: running selftests/demo (at 2s)
		harness: suite selftests/demo end rc=0
	EOF
	cat >"$dir/run-results.log" <<-EOF
		harness: suite selftests/demo begin
		TAP version 13
		1..1
		ok 1 demo.works
		harness: suite selftests/demo end rc=0
	EOF
}

# finish: the end of the run, as init writes it, through serial ports.
finish() {
	echo "harness: kmemleak ${1:-on}" >>"$dir/run-results.log"
	echo "harness: complete" | tee -a "$dir/run-console.log" >>"$dir/run-results.log"
	sed -i 's/$/\r/' "$dir/run-console.log" "$dir/run-results.log"
}

# inject [LINE...]: the self-test's window as init makes it, then LINEs.
inject() {
	cat >>"$dir/run-console.log" <<-EOF
		[    9.000000] harness: inject begin
		[    9.000000] WARNING: CPU: 0 PID: 1 at drivers/iommu/iommufd/selftest.c:1 inject
		[    9.100000] BUG: KASAN: slab-out-of-bounds in iommufd_test_inject_write
		[   10.000000] harness: inject end
		unreferenced object 0xffff888004a4c000 (size 64):
		  backtrace:
		    [<ffffffff81234567>] iommufd_test_inject_leak+0x1c/0x40
	EOF
	[ $# = 0 ] || printf '%s\n' "$@" >>"$dir/run-console.log"
}

# verdict CASE WANT PATTERN: judge the run; WANT is pass or fail, and the
# judge's output must match PATTERN (a failure must say why).
verdict() {
	local name=$1 want=$2 pattern=$3 got=pass
	bash "$TOP/harness/judge.sh" "$dir/run-console.log" "$dir/run-results.log" \
		>"$dir/$name.out" 2>&1 || got=fail
	check "$name" "$want" "$got" "$pattern"
}

check() {
	local name=$1 want=$2 got=$3 pattern=$4
	if [ "$got" = "$want" ] && grep -qE -- "$pattern" "$dir/$name.out"; then
		echo "    ok: $name ($want)"
		pass=$((pass + 1))
	else
		echo "    FAIL: $name: judged $got, wanted $want with /$pattern/:"
		sed 's/^/    | /' "$dir/$name.out" | head -n 20
		fail=$((fail + 1))
	fi
}

step "judge: its self-test on made-up logs"
rm -rf "$dir"
mkdir -p "$dir"

clean_run
finish
verdict clean pass 'selftests/demo: +1 passed, 0 failed'

# Reports inside the inject window are the self-test's, and so is the leak
# listed after it by the function that allocated it; anything else is the
# run's.
clean_run
inject
finish
verdict inject_window_kept_apart pass 'selftests/demo: +1 passed'
clean_run
inject '[  130.000000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.'
finish
verdict report_after_inject_end fail 'kernel report: hang'
clean_run
inject 'unreferenced object 0xffff888004a4d000 (size 128):' '  backtrace:' \
	'    [<ffffffff81234567>] iopt_alloc_area+0x1c/0x40'
finish
verdict leak_after_inject_end fail 'kernel report: kmemleak'
clean_run
inject
sed -i '/harness: inject end/d' "$dir/run-console.log"
finish
verdict inject_window_not_closed fail 'inject window is broken'

# Each kind of report in the kernel's own words.
report_case() {
	clean_run
	echo "[    5.000000] $2" >>"$dir/run-console.log"
	finish
	verdict "$1" fail "kernel report: $3"
}
report_case rcu_expedited_stall 'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21003 jiffies s: 229 root: 0x2/.' hang
report_case rcu_stall 'rcu: INFO: rcu_sched self-detected stall on CPU' hang
report_case lockdep_circular 'WARNING: possible circular locking dependency detected' lockdep
report_case lockdep_recursive 'WARNING: possible recursive locking detected' lockdep
report_case ubsan 'UBSAN: shift-out-of-bounds in drivers/iommu/iommufd/pages.c:12:34' UBSAN
report_case kasan_uaf 'BUG: KASAN: use-after-free in iopt_area_unmap_domain+0x1/0x2' KASAN
report_case soft_lockup 'watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [iommufd:123]' hang

clean_run
cat >"$dir/run-results.log" <<-EOF
	harness: suite selftests/demo begin
	harness: suite selftests/demo end rc=0
EOF
finish
verdict silent_suite fail 'selftests/demo: no TAP plan'

clean_run
sed -i 's/^1\.\.1$/1..2/' "$dir/run-results.log"
finish
verdict suite_short_of_plan fail '1 planned cases did not report'

clean_run
sed -i '/harness: suite selftests\/demo end/d' "$dir/run-results.log"
finish
verdict suite_never_ended fail 'selftests/demo: did not end'

# The bench prints no TAP: a suite nobody expects needs no plan.
clean_run
cat >>"$dir/run-results.log" <<-EOF
	harness: suite bench begin
	bench map 4k 1.0
	harness: suite bench end rc=0
EOF
finish
verdict unexpected_suite_without_plan pass 'bench: +0 passed, 0 failed'

clean_run
echo "suite selftests/other" >>"$dir/run-expect"
finish
verdict missing_suite fail 'suite selftests/other did not run'

clean_run
echo "kunit other_kunit" >>"$dir/run-expect"
finish
verdict missing_kunit_suite fail 'KUnit suite other_kunit did not report'

clean_run
finish off
verdict kmemleak_off fail 'kmemleak was not on'

clean_run
finish
rm "$dir/run-expect"
verdict no_expectations fail 'nothing says what this run must show'

# A case listed as stopping at iommufd.c:120: there it is a skip, anywhere
# else a failure. The list is made up too, so that the real one may change.
cat >"$dir/unimplemented.txt" <<-EOF
	iommufd.cmd_length   iommufd.c:120   IOMMU_HWPT_INVALIDATE
EOF
conformance_run() {
	mkdir -p "$dir/out/guest/conformance"
	: >"$dir/out/guest/conformance/iommufd"
	chmod +x "$dir/out/guest/conformance/iommufd"
	cat >"$dir/conf-results.log" <<-EOF
		harness: suite conformance/iommufd begin
		1..1
		#  RUN           iommufd.cmd_length ...
		# /src/tools/testing/selftests/iommu/iommufd.c:$1:cmd_length:Expected 22 (22) == errno (25)
		#          FAIL  iommufd.cmd_length
		not ok 1 iommufd.cmd_length
		harness: suite conformance/iommufd end rc=1
	EOF
	got=pass
	BUILD=$dir IOMMUFD_CACHE_LOCKED=1 CONFORMANCE_LIST=$dir/unimplemented.txt \
		bash "$TOP/harness/conformance.sh" judge \
		"$dir/conf-results.log" >"$dir/$2.out" 2>&1 || got=fail
}
conformance_run 120 listed_case_stops_as_listed
check listed_case_stops_as_listed pass "$got" '1 listed cases failed, counted as skipped'
conformance_run 117 listed_case_stops_elsewhere
check listed_case_stops_elsewhere fail "$got" 'FAIL iommufd.cmd_length \(failed at iommufd.c:117'

printf '    %-34s %4d passed, %d failed, %d skipped\n' "judge-selftest:" $pass $fail 0
echo "judge-selftest $pass $fail 0" >>"$counts"
[ "$fail" = 0 ]
