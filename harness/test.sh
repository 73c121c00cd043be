#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make test': every tier, then one line "N passed, N failed, N skipped".
# Expects the kernel and guest programs to be built (the Makefile does it).
#
# A test machine under TCG mostly keeps one host CPU busy, so the work is
# split in two streams, one per CPU of this 2-core machine:
#   1. the machine "test" (2 vCPUs, for the tests that race threads):
#      KUnit at boot, then our selftests; then the static checks;
#   2. the machine "test-conformance" (1 vCPU: two machines of 2 vCPUs on
#      2 CPUs waste time spinning on each other's IPIs): upstream's
#      selftests; then the harness self-test's machine and the
#      documentation.
# The second stream's output is shown when it is done.
. "$(dirname "$0")/lib.sh"
cache_lock

counts=$OUT/counts
: >"$counts"

bash "$TOP/harness/abi.sh" "$counts"

# Harness self-test: a run with a deliberate WARN, KASAN report and leak
# must be failed by the judge, naming each of them.
inject_selftest() {
	MEM=512M bash "$TOP/harness/vm.sh" inject 900
	step "judge: harness self-test (this run must be judged a failure)"
	if bash "$TOP/harness/judge.sh" "$OUT/inject-console.log" \
		"$OUT/inject-results.log" >"$OUT/inject-judge.log"; then
		echo "    FAIL: the judge passed a run with injected reports"
		echo "judge-selftest 0 1 0" >>"$1"
		return
	fi
	for what in WARN KASAN kmemleak; do
		if grep -q "kernel report: $what\$" "$OUT/inject-judge.log"; then
			echo "judge-selftest-$what 1 0 0" >>"$1"
			echo "    ok: an injected $what fails the run"
		else
			echo "judge-selftest-$what 0 1 0" >>"$1"
			echo "    FAIL: the judge did not see the injected $what"
		fi
	done
}

# The second stream; its counts go to $1.
second_stream() {
	ONLY='conformance/*' KUNIT=none RUN=test-conformance SMP=1 \
		bash "$TOP/harness/vm.sh" test 2400
	step "judge: conformance against upstream's selftests"
	bash "$TOP/harness/judge.sh" "$OUT/test-conformance-console.log" \
		"$OUT/test-conformance-results.log" "$1" || true
	bash "$TOP/harness/conformance.sh" judge \
		"$OUT/test-conformance-results.log" "$1" || true
	inject_selftest "$1"
	bash "$TOP/harness/docs.sh" "$1"
}

step "upstream's selftests, the harness self-test and the docs start beside our tests"
stream2=$OUT/stream2
: >"$stream2-counts"
second_stream "$stream2-counts" >"$stream2.out" 2>&1 &
stream2_pid=$!

ONLY='selftests/*' bash "$TOP/harness/vm.sh" test 2400
step "judge: test run"
bash "$TOP/harness/judge.sh" "$OUT/test-console.log" "$OUT/test-results.log" "$counts" || true
bash "$TOP/harness/static.sh" "$counts"

step "waiting for the second stream"
wait "$stream2_pid" || echo "stream2 0 1 0" >>"$stream2-counts"
cat "$stream2.out"
cat "$stream2-counts" >>"$counts"

step "done"
print_totals "$counts"
