#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 'make check': only the guest run and its judge, optionally narrowed with
# ONLY=<suite glob>[,<glob>...] and KUNIT=<KUnit suite glob>; for quick
# iterations.
. "$(dirname "$0")/lib.sh"
cache_lock

counts=$OUT/check-counts
: >"$counts"
bash "$TOP/harness/vm.sh" test "${VM_LIMIT:-2400}"
step "judge"
rc=0
bash "$TOP/harness/judge.sh" "$OUT/test-console.log" "$OUT/test-results.log" "$counts" || rc=1
# The conformance suites are judged only when ONLY let them run.
for suite in iommufd iommufd_hugetlb iommufd_fail_nth; do
	if ONLY=${ONLY:-*} only_matches "conformance/$suite"; then
		bash "$TOP/harness/conformance.sh" judge "$OUT/test-results.log" "$counts" || rc=1
		break
	fi
done
print_totals "$counts" || true
exit $rc
