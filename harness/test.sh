#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make test': every tier, then one line "N passed, N failed, N skipped".
# Expects the kernel and guest programs to be built (the Makefile does it).
#
# A test machine under TCG mostly keeps one host CPU busy, so the machines
# (harness/machines/) run in two streams, one per CPU of this 2-core
# machine, each machine's run judged as it ends:
#   1. test (2 vCPUs, for the tests that race threads): KUnit at boot, our
#      selftests, then the harness self-test;
#   2. test-conformance (1 vCPU: two machines of 2 vCPUs on 2 CPUs waste
#      time spinning on each other's IPIs; VT-d with snoop control):
#      upstream's selftests, vfio_iommu, then the harness self-test;
# then each stream takes the next of the machines that run one program
# (1 vCPU, 384 MiB, arm64 256) off a shared queue: amd, virtio and arm64
# (vfio_iommu), noiommu (vfio_noiommu and DPDK's vfio_dpdk, 512 MiB).
# The arm64 kernel and program are built beside them (only the arm64
# machine, last in the queue, needs them), and at the lowest priority the
# static checks and the documentation: they take the CPU time that the
# machines leave while their tests sleep (an edu DMA takes 100 ms, a PCI
# reset longer), and finish at full speed when a machine is done. Each
# machine's time goes to $OUT/machine-times; the other streams' output is
# shown when they are done.
. "$(dirname "$0")/lib.sh"
cache_lock

counts=$OUT/counts
: >"$counts"

bash "$TOP/harness/abi.sh" "$counts"
# A self-test that died before counting is a failure too.
bash "$TOP/harness/judge-selftest.sh" "$counts" ||
	grep -q '^judge-selftest ' "$counts" ||
	echo "judge-selftest 0 1 0" >>"$counts"

# Harness self-test: the deliberate WARN, KASAN report and leak at the end
# of the run $1 must be failed by the judge, naming each of them and
# nothing else (the KASAN report starts with "BUG: KASAN:"): a report of
# another kind in the window would be the run's, which the judge of the
# run does not see. Their counts go to $2.
inject_selftest() {
	local log=$OUT/$1-inject-judge.log
	step "judge: harness self-test on $1 (its part of the run must be judged a failure)"
	if bash "$TOP/harness/judge.sh" --injected "$OUT/$1-console.log" \
		"$OUT/$1-results.log" >"$log"; then
		echo "    FAIL: the judge passed a run with injected reports"
		echo "judge-selftest@$1 0 1 0" >>"$2"
		return
	fi
	for what in WARN KASAN kmemleak; do
		if grep -q "kernel report: $what\$" "$log"; then
			echo "judge-selftest-$what@$1 1 0 0" >>"$2"
			echo "    ok: an injected $what fails the run"
		else
			echo "judge-selftest-$what@$1 0 1 0" >>"$2"
			echo "    FAIL: the judge did not see the injected $what"
		fi
	done
	if grep 'kernel report: ' "$log" |
	   grep -vqE 'kernel report: (WARN|BUG|KASAN|kmemleak)$'; then
		echo "judge-selftest-window@$1 0 1 0" >>"$2"
		echo "    FAIL: another report in the inject window:"
		sed 's/^/    | /' "$log"
	fi
}

# machine NAME COUNTS: boot machine NAME with its suites, judge the run.
machine() {
	local started=$SECONDS
	MACHINE=$1 bash "$TOP/harness/vm.sh" test 2400
	step "judge: machine $1"
	bash "$TOP/harness/judge.sh" "$OUT/$1-console.log" "$OUT/$1-results.log" "$2" "$1" || true
	echo "$1 $((SECONDS - started))" >>"$OUT/machine-times"
}

# queued_machines COUNTS: the machines of the queue, one at a time, until
# it is empty. The arm64 machine waits for its kernel (arm64_build).
queued_machines() {
	local m
	while m=$(flock "$OUT/queue.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' - "$OUT/queue") &&
	      [ -n "$m" ]; do
		if [ "$m" = arm64 ]; then
			while [ ! -e "$OUT/arm64-built" ]; do sleep 5; done
			if [ "$(cat "$OUT/arm64-built")" != 0 ]; then
				echo "    FAIL: the arm64 kernel or program did not build; see $OUT/arm64-build.out"
				echo "machine-arm64 0 1 0" >>"$1"
				continue
			fi
		fi
		machine "$m" "$1"
	done
}

# The second stream; its counts go to $1.
conformance_stream() {
	machine test-conformance "$1"
	bash "$TOP/harness/conformance.sh" judge \
		"$OUT/test-conformance-results.log" "$1" || true
	inject_selftest test-conformance "$1"
	queued_machines "$1"
}

# The arm64 kernel and program, for the arm64 machine last in the queue.
# At normal priority: at the lowest, a rebuild after a patch changed
# starved behind the machines and held up the end of the run.
arm64_build() {
	local rc=0
	{ bash "$TOP/harness/kernel.sh" arm64 && bash "$TOP/harness/guest.sh" arm64; } || rc=1
	echo $rc >"$OUT/arm64-built"
}

# The static checks and the documentation; their counts go to $1.
checks_stream() {
	bash "$TOP/harness/static.sh" "$1"
	bash "$TOP/harness/docs.sh" "$1"
}

# background NAME FUNCTION [nice]: run a stream (at the lowest priority
# with "nice"), its output and counts kept apart until wait_stream NAME.
# A stream's exit status goes to a file: once a stream has ended, bash
# forgets its status when a new child gets its PID, which the builds make
# likely in a long run ("wait: pid N is not a child of this shell").
declare -A stream_pid
background() {
	: >"$OUT/$1-counts"
	rm -f "$OUT/$1.rc"
	(
		[ -z "${3:-}" ] || renice -n 19 -p "$BASHPID" >/dev/null
		rc=0
		"$2" "$OUT/$1-counts" || rc=$?
		echo "$rc" >"$OUT/$1.rc"
	) >"$OUT/$1.out" 2>&1 &
	stream_pid[$1]=$!
}
wait_stream() {
	wait "${stream_pid[$1]}" 2>/dev/null || true
	[ "$(cat "$OUT/$1.rc" 2>/dev/null)" = 0 ] ||
		echo "$1 0 1 0" >>"$OUT/$1-counts"
	cat "$OUT/$1.out"
	cat "$OUT/$1-counts" >>"$counts"
}

: >"$OUT/machine-times"
rm -f "$OUT/arm64-built"
printf '%s\n' amd virtio noiommu arm64 >"$OUT/queue"
step "machines in two streams, the arm64 build, static checks and docs below them"
background conformance conformance_stream
background arm64-build arm64_build
background checks checks_stream nice

machine test "$counts"
inject_selftest test "$counts"
queued_machines "$counts"

step "waiting for the other streams"
wait_stream conformance
wait_stream arm64-build
wait_stream checks

step "done; each machine's time:"
awk '{ printf "    %-18s %dm%02ds\n", $1, $2 / 60, $2 % 60 }' "$OUT/machine-times"
print_totals "$counts"
keep_evidence "$counts"
