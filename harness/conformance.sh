#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Conformance against upstream: upstream Linux's own iommufd selftests,
# taken from Debian's linux-source-6.12 at test time (never committed),
# built against upstream's iommufd.h and iommufd_test.h, run in the guest.
# That they build against upstream's headers and pass on our kernel shows
# binary compatibility.
#
#   conformance.sh build
#	Build the programs into $OUT/guest/conformance/, where the guest's
#	init runs each one as the suite conformance/NAME.
#   conformance.sh judge [RESULTS [COUNTS]]
#	Judge the conformance suites in RESULTS ($OUT/test-results.log),
#	appending "conformance/NAME passed failed skipped" to COUNTS.
#
# harness/conformance/unimplemented.txt lists the cases that fail because
# what they need is not implemented yet, each with the assertion it stops
# at. A listed case that fails there, and only there, counts as skipped;
# any other failure fails the run. The judge prints how many
# listed cases now pass, so that the list only shrinks.
. "$(dirname "$0")/lib.sh"
# guest.sh builds the programs of one kernel (x86 or coverage): its headers.
use_kernel "${GUEST_KERNEL:-x86}"
cache_lock

CONF=$BUILD/conformance
LIST=${CONFORMANCE_LIST:-$TOP/harness/conformance/unimplemented.txt}
programs=(iommufd iommufd_fail_nth)

# cases FILE.c: every case a kselftest_harness program runs, by the name it
# prints: fixture.variant.test, fixture.test without variants.
cases() {
	awk '
		/^FIXTURE_VARIANT_ADD\(/ {
			s = $0; sub(/^[A-Z_]+\(/, "", s); sub(/\).*/, "", s)
			split(s, a, /, */)
			variants[a[1]] = variants[a[1]] " " a[2]
			next
		}
		/^TEST(_SIGNAL)?\(/ {
			s = $0; sub(/^[A-Z_]+\(/, "", s); sub(/[,)].*/, "", s)
			tests[++n] = "global " s
			next
		}
		/^TEST_[A-Z_]+\(/ {
			s = $0; sub(/^[A-Z_]+\(/, "", s); sub(/\).*/, "", s)
			split(s, a, /, */)
			tests[++n] = a[1] " " a[2]
		}
		END {
			for (i = 1; i <= n; i++) {
				split(tests[i], ft, " ")
				nv = split(variants[ft[1]], v, " ")
				if (nv == 0)
					print ft[1] "." ft[2]
				for (j = 1; j <= nv; j++)
					print ft[1] "." v[j] "." ft[2]
			}
		}' "$1"
}

# listed: the case names on the list.
listed() {
	sed -e 's/#.*//' "$LIST" | awk 'NF { print $1 }'
}

build() {
	local src=$CONF/src sel dest=$OUT/guest/conformance p n l
	[ -f "$OBJ/usr/include/linux/iommufd.h" ] ||
		die "no installed uAPI headers in $OBJ/usr/include: build the kernel first"
	ref_extract

	# Upstream's layout: iommufd_utils.h includes "../kselftest_harness.h"
	# and "../../../../drivers/iommu/iommufd/iommufd_test.h". The harness
	# is upstream's too: 6.1's runs the test body after a SKIP() in the
	# fixture setup, which the 6.12 tests rely on to stop.
	rm -rf "$src" "$dest"
	sel=$src/tools/testing/selftests
	mkdir -p "$sel/iommu" "$src/drivers/iommu/iommufd" "$src/include/linux" "$dest"
	cp "$REF"/tools/testing/selftests/iommu/{iommufd.c,iommufd_fail_nth.c,iommufd_utils.h} "$sel/iommu/"
	cp "$REF"/tools/testing/selftests/{kselftest_harness.h,kselftest.h} "$sel/"
	# The harness gives each case 30 s; sweeps such as ioas_iova_alloc
	# (16k ioctls) need more under TCG with KASAN and lockdep.
	sed -i 's/^#define TEST_TIMEOUT_DEFAULT 30$/#define TEST_TIMEOUT_DEFAULT 300/' \
		"$sel/kselftest_harness.h"
	grep -q '^#define TEST_TIMEOUT_DEFAULT 300$' "$sel/kselftest_harness.h" ||
		die "could not raise the kselftest harness timeout"
	cp "$REF/drivers/iommu/iommufd/iommufd_test.h" "$src/drivers/iommu/iommufd/"
	# <linux/iommufd.h> is upstream's; the rest of the uAPI is ours.
	cp "$REF/include/uapi/linux/iommufd.h" "$src/include/linux/"

	for p in "${programs[@]}"; do
		step "conformance: building upstream's $p.c against upstream's iommufd headers"
		# Upstream's flags; _GNU_SOURCE before libc's headers, for pipe2().
		if ! ccache gcc -static -O2 -Wall -Wno-unused-function -D_GNU_SOURCE \
			-include "$TOP/harness/conformance/compat.h" \
			-I"$src/include" -isystem "$OBJ/usr/include" \
			-o "$dest/$p" "$sel/iommu/$p.c" >"$CONF/$p.log" 2>&1; then
			sed 's/^/    | /' "$CONF/$p.log" | head -n 40
			die "upstream's $p.c does not build (log: $CONF/$p.log)"
		fi
		if [ -s "$CONF/$p.log" ]; then
			echo "    warnings (log: $CONF/$p.log):"
			grep -E 'warning:' "$CONF/$p.log" | sed 's/^/    | /' | head -n 20
		fi
		cases "$sel/iommu/$p.c" | sort >"$CONF/$p.cases"
		n=$(wc -l <"$CONF/$p.cases")
		l=$(listed | sort | comm -12 - "$CONF/$p.cases" | wc -l)
		echo "    $p: $n cases, $l listed as not implemented yet"
	done

	# A listed name that no program runs is a typo or a renamed case.
	for p in "${programs[@]}"; do cat "$CONF/$p.cases"; done | sort >"$CONF/all.cases"
	listed | sort | comm -23 - "$CONF/all.cases" | while read -r n; do
		echo "    warning: ${LIST#"$TOP"/} names $n, which no program runs"
	done
}

judge() {
	local results=${1:-$OUT/test-results.log} counts=${2:-/dev/null}
	local expected='' p
	# Every program built for the guest must have run.
	for p in "$OUT"/guest/conformance/*; do
		[ -x "$p" ] && expected+=" ${p##*/}"
	done
	[ -f "$results" ] || { echo "    no results: $results is missing"; results=/dev/null; }
	# The serial port may have added carriage returns.
	tr -d '\r' <"$results" | awk -v listfile="$LIST" -v counts="$counts" \
		-v expected="$expected" -v listname="${LIST#"$TOP"/}" '
		BEGIN {
			while ((getline line <listfile) > 0) {
				sub(/#.*/, "", line)
				if (split(line, w, " ") == 0)
					continue
				why = line
				sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", why)
				sub(/[ \t]+$/, "", why)
				need[w[1]] = why == "" ? "(no feature named)" : why
				stop[w[1]] = "+" w[2] "+"
			}
			close(listfile)
		}
		# Whether listed case C failed only where the list says it
		# stops, at least once.
		function stopped_as_listed(c,   n, i, l) {
			n = split(where, l, " ")
			for (i = 1; i <= n; i++)
				if (index(stop[c], "+" l[i] "+") == 0)
					return 0
			return n > 0
		}
		# One suite: print its counts, why listed cases failed, and each
		# failure that is not on the list.
		function finish(rc, unfinished,   i, t, sorter, odd) {
			if (plan > seen)
				fail += plan - seen
			# kselftest exits 1 if a case failed, else 0; anything
			# else is a timeout, a signal or a crash.
			odd = rc > 1 || (rc == 1 && fail == 0 && nlisted == 0)
			if (unfinished || odd || seen == 0)
				fail++
			printf "    %-34s %4d passed, %d failed, %d skipped\n", \
				name ":", pass, fail, skip
			print name, pass, fail, skip >>counts
			if (unfinished)
				print "      the suite did not finish (timeout, panic or crash)"
			if (plan > seen)
				printf "      %d of %d cases reported no result\n", plan - seen, plan
			else if (seen == 0)
				print "      no results"
			else if (odd && !unfinished)
				printf "      exit code %d\n", rc
			for (i = 1; i <= nbad; i++)
				printf "      FAIL %s (%s)\n", bad[i], badwhy[i]
			if (nlisted > 0) {
				printf "      %d listed cases failed, counted as skipped; cases per missing feature:\n", nlisted
				fflush()
				sorter = "sort -k1,1nr -k2"
				for (t in tally)
					printf "        %4d %s\n", tally[t], t | sorter
				close(sorter)
			}
			if (fail)
				verdict = 1
			done[name] = 1
			inside = 0
		}
		/^harness: suite conformance\/.* begin$/ {
			if (inside)
				finish(1, 1)
			name = $3; inside = 1
			pass = fail = skip = plan = seen = nbad = nlisted = 0
			split("", tally)
			next
		}
		/^harness: suite conformance\/.* end rc=/ {
			if (inside && $3 == name)
				finish(substr($5, 4) + 0, 0)
			next
		}
		!inside { next }
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
		# Where the running case failed: "# PATH/FILE.c:LINE:test:...".
		/^#  RUN / { where = ""; next }
		/^# [^ ]*\.[ch]:[0-9]+:/ {
			match($2, /[^\/]*\.[ch]:[0-9]+:/)
			loc = substr($2, RSTART, RLENGTH - 1)
			where = where " " loc
			next
		}
		/^(not )?ok [0-9]+ / {
			seen++
			c = $1 == "ok" ? $3 : $4
			if ($0 ~ /# SKIP/) {
				skip++
			} else if ($1 == "ok") {
				pass++
				if (c in need)
					now[++nnow] = c
			} else if (c in need && stopped_as_listed(c)) {
				skip++
				nlisted++
				n = split(need[c], f, /, */)
				for (i = 1; i <= n; i++)
					tally[f[i]]++
			} else {
				fail++
				bad[++nbad] = c
				if (!(c in need))
					badwhy[nbad] = "not on " listname
				else if (where == "")
					badwhy[nbad] = "no assertion failed; " listname " says " substr(stop[c], 2, length(stop[c]) - 2)
				else
					badwhy[nbad] = "failed at" where "; " listname " says " substr(stop[c], 2, length(stop[c]) - 2)
			}
			where = ""
		}
		END {
			if (inside)
				finish(1, 1)
			n = split(expected, e, " ")
			for (i = 1; i <= n; i++) {
				if (("conformance/" e[i]) in done)
					continue
				printf "    %-34s %4d passed, %d failed, %d skipped\n", \
					"conformance/" e[i] ":", 0, 1, 0
				print "      did not run"
				print "conformance/" e[i], 0, 1, 0 >>counts
				verdict = 1
			}
			printf "    conformance: %d listed cases now pass", nnow
			if (nnow) {
				printf "; delete them from %s:\n", listname
				for (i = 1; i <= nnow; i++)
					print "      " now[i]
			} else {
				print ""
			}
			exit verdict
		}'
}

case "${1:-}" in
build) build ;;
judge) shift; judge "$@" ;;
*) die "usage: conformance.sh build | judge [RESULTS [COUNTS]]" ;;
esac
