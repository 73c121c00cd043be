#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': only the guest run of one machine and its judge, for quick
# iterations. MACHINE picks the machine (harness/machines/, default test);
# ONLY=<suite glob>[,<glob>...] and KUNIT=<KUnit suite glob> narrow what
# it runs (default: the machine's suites).
. "$(dirname "$0")/lib.sh"
cache_lock

machine=${MACHINE:-test}
counts=$OUT/check-counts
: >"$counts"
bash "$TOP/harness/vm.sh" test "${VM_LIMIT:-2400}"
step "judge"
rc=0
bash "$TOP/harness/judge.sh" "$OUT/$machine-console.log" "$OUT/$machine-results.log" "$counts" || rc=1
# The conformance suites are judged only when the run had them.
if tr -d '\r' <"$OUT/$machine-results.log" 2>/dev/null |
   grep -q '^harness: suite conformance/'; then
	bash "$TOP/harness/conformance.sh" judge "$OUT/$machine-results.log" "$counts" || rc=1
fi
print_totals "$counts" || true
exit $rc
