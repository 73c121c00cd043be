#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make test': every tier, then one line "N passed, N failed, N skipped".
# Expects the kernel and guest programs to be built (the Makefile does it).
. "$(dirname "$0")/lib.sh"

counts=$OUT/counts
: >"$counts"

bash "$TOP/harness/static.sh" "$counts"
bash "$TOP/harness/abi.sh" "$counts"

# KUnit (at boot), the kselftests and everything else that runs in the guest.
bash "$TOP/harness/vm.sh" test 2400
step "judge: test run"
bash "$TOP/harness/judge.sh" "$OUT/test-console.log" "$OUT/test-results.log" "$counts" || true
step "judge: conformance against upstream's selftests"
bash "$TOP/harness/conformance.sh" judge "$OUT/test-results.log" "$counts" || true

# Harness self-test: a run with a deliberate WARN, KASAN report and leak
# must be failed by the judge, naming each of them.
MEM=1G bash "$TOP/harness/vm.sh" inject 600
step "judge: harness self-test (this run must be judged a failure)"
if bash "$TOP/harness/judge.sh" "$OUT/inject-console.log" "$OUT/inject-results.log" \
	>"$OUT/inject-judge.log"; then
	echo "    FAIL: the judge passed a run with injected reports"
	echo "judge-selftest 0 1 0" >>"$counts"
else
	for what in WARN KASAN kmemleak; do
		if grep -q "kernel report: $what\$" "$OUT/inject-judge.log"; then
			echo "judge-selftest-$what 1 0 0" >>"$counts"
			echo "    ok: an injected $what fails the run"
		else
			echo "judge-selftest-$what 0 1 0" >>"$counts"
			echo "    FAIL: the judge did not see the injected $what"
		fi
	done
fi

step "done"
print_totals "$counts"
