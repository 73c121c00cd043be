#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make test': every tier, then one line "N passed, N failed, N skipped".
# Expects the kernel and guest programs to be built (the Makefile does it).
#
# A test machine under TCG mostly keeps one host CPU busy, so the work is
# split in streams, one per CPU of this 2-core machine:
#   1. the machine "test" (2 vCPUs, for the tests that race threads):
#      KUnit at boot, then our selftests;
#   2. the machine "test-conformance" (1 vCPU: two machines of 2 vCPUs on
#      2 CPUs waste time spinning on each other's IPIs): upstream's
#      selftests, then the harness self-test at the end of the same run.
# and, at the lowest priority beside them, the static checks and the
# documentation: they take the CPU time that the machines leave while
# their tests sleep (an edu DMA takes 100 ms, a PCI reset longer), and
# finish at full speed when the first machine is done.
# The other streams' output is shown when they are done.
. "$(dirname "$0")/lib.sh"
cache_lock

counts=$OUT/counts
: >"$counts"

bash "$TOP/harness/abi.sh" "$counts"

# Harness self-test: the deliberate WARN, KASAN report and leak at the end
# of the run $1 must be failed by the judge, naming each of them; their
# counts go to $2.
inject_selftest() {
	step "judge: harness self-test (its part of the run must be judged a failure)"
	if bash "$TOP/harness/judge.sh" --injected "$OUT/$1-console.log" \
		"$OUT/$1-results.log" >"$OUT/inject-judge.log"; then
		echo "    FAIL: the judge passed a run with injected reports"
		echo "judge-selftest 0 1 0" >>"$2"
		return
	fi
	for what in WARN KASAN kmemleak; do
		if grep -q "kernel report: $what\$" "$OUT/inject-judge.log"; then
			echo "judge-selftest-$what 1 0 0" >>"$2"
			echo "    ok: an injected $what fails the run"
		else
			echo "judge-selftest-$what 0 1 0" >>"$2"
			echo "    FAIL: the judge did not see the injected $what"
		fi
	done
}

# The second stream; its counts go to $1.
conformance_stream() {
	ONLY='conformance/*' KUNIT=none RUN=test-conformance SMP=1 INJECT=1 \
		bash "$TOP/harness/vm.sh" test 2400
	step "judge: conformance against upstream's selftests"
	bash "$TOP/harness/judge.sh" "$OUT/test-conformance-console.log" \
		"$OUT/test-conformance-results.log" "$1" || true
	bash "$TOP/harness/conformance.sh" judge \
		"$OUT/test-conformance-results.log" "$1" || true
	inject_selftest test-conformance "$1"
}

# The static checks and the documentation; their counts go to $1.
checks_stream() {
	bash "$TOP/harness/static.sh" "$1"
	bash "$TOP/harness/docs.sh" "$1"
}

# background NAME FUNCTION [nice]: run a stream (at the lowest priority
# with "nice"), its output and counts kept apart until wait_stream NAME.
declare -A stream_pid
background() {
	: >"$OUT/$1-counts"
	(
		[ -z "${3:-}" ] || renice -n 19 -p "$BASHPID" >/dev/null
		"$2" "$OUT/$1-counts"
	) >"$OUT/$1.out" 2>&1 &
	stream_pid[$1]=$!
}
wait_stream() {
	wait "${stream_pid[$1]}" || echo "$1 0 1 0" >>"$OUT/$1-counts"
	cat "$OUT/$1.out"
	cat "$OUT/$1-counts" >>"$counts"
}

step "upstream's selftests and the harness self-test start beside our tests, the static checks and docs below them"
background conformance conformance_stream
background checks checks_stream nice

ONLY='selftests/*' bash "$TOP/harness/vm.sh" test 2400
step "judge: test run"
bash "$TOP/harness/judge.sh" "$OUT/test-console.log" "$OUT/test-results.log" "$counts" || true

step "waiting for the other streams"
wait_stream conformance
wait_stream checks

step "done"
print_totals "$counts"
keep_evidence "$counts"
