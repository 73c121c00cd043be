#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Judge one guest run: judge.sh [--injected] CONSOLE RESULTS [COUNTS [MACHINE]]
#
# Counts KUnit results (KTAP on the console) and the results of every suite
# the init script ran (TAP on the second serial port), and scans the console
# for kernel reports. Any failed test, missing result, unfinished run or
# report fails the run. Each tier's counts are appended to COUNTS as
# "tier passed failed skipped", the tier named "tier@MACHINE" when MACHINE
# is given (make test runs one suite on several machines).
#
# A report that a test provokes on purpose is tolerated only between the
# lines "harness: expect <pattern>" and "harness: expect-end" on the console,
# and only if it matches <pattern>.
#
# A run with harness.inject=1 ends with the harness self-test's reports,
# between the lines "harness: inject begin" and "harness: inject end"
# (and the injected leak, which kmemleak lists later, by the function that
# allocated it). They come after the run's own final kmemleak scans, as an
# injected KASAN report turns lockdep off. They are not the run's: the run
# is judged without them, and 'judge.sh --injected' judges them alone
# (test.sh expects that to fail, naming each injected report and nothing
# else). Everything else on the console is the run's.
#
# What the run must show is in RUN-expect beside RESULTS (RUN-results.log),
# written by vm.sh: "suite NAME" for each guest suite init was to run,
# "kunit NAME" for each KUnit suite, "kmemleak" if kmemleak must still be
# on at the end. A missing suite, a suite without a TAP plan, a missing
# KUnit suite or kmemleak off fails the run.
set -u
injected_only=
if [ "${1:-}" = --injected ]; then
	injected_only=yes
	shift
fi
console=$1
results_raw=$2
counts=${3:-/dev/null}
at=${4:+@$4}
verdict=0

# The guest's serial ports turn "\n" into "\r\n".
results=$results_raw.txt
tr -d '\r' <"$results_raw" >"$results" 2>/dev/null || : >"$results"
# The console also without printk's "[    1.234567] " time stamps, which
# kernel messages and the lines tests write to /dev/kmsg both carry.
plain=$console.txt
sed -e 's/\r$//' -e 's/^\[ *[0-9.]*\] //' "$console" >"$plain" 2>/dev/null ||
	: >"$plain"

# Split off the self-test's part. kmemleak lists the injected leak after
# the window: a leak ("unreferenced object" and its indented lines) is the
# self-test's only if iommufd_test_inject_leak allocated it. A window that
# does not close (its end marker lost or garbled) would hide the rest of
# the console: it fails the run, as does a second window.
judged=$console.run
: >"$console.injected"
windows=$(awk -v injected="$console.injected" '
	function leak_done() {
		if (leak ~ /iommufd_test_inject_leak/)
			print leak >injected
		else if (leak != "")
			print leak
		leak = ""
	}
	/^harness: inject begin$/ { after = 1; inside = 1; begun++; next }
	/^harness: inject end$/ { leak_done(); inside = 0; ended++; next }
	!after { print; next }
	/^unreferenced object 0x/ { leak_done(); leak = $0; next }
	leak != "" && /^ / { leak = leak "\n" $0; next }
	{ leak_done(); if (inside) print >injected; else print }
	END { leak_done(); print begun + 0, ended + 0 >"/dev/stderr" }
' "$plain" 2>&1 >"$judged")
[ -z "$injected_only" ] || judged=$console.injected
case "$windows" in
"0 0"|"1 1") ;;
*)
	echo "    the inject window is broken ($windows begin and end markers): see $console"
	echo "inject-window$at 0 1 0" >>"$counts"
	verdict=1
	;;
esac

expect=${results_raw%-results.log}-expect
if [ ! -f "$expect" ]; then
	echo "    no $expect: nothing says what this run must show"
	echo "expectations$at 0 1 0" >>"$counts"
	verdict=1
	expect=/dev/null
fi

record() {
	printf '    %-34s %4d passed, %d failed, %d skipped\n' "$1$at:" "$2" "$3" "$4"
	echo "$1$at $2 $3 $4" >>"$counts"
	[ "$3" = 0 ] || verdict=1
}

if [ -z "$injected_only" ]; then
	# KUnit: suites print their cases indented by four spaces; a suite that
	# died before printing all its cases is short of its "1..N" plan.
	read -r kpass kfail kskip < <(awk '
		/^    1\.\.[0-9]+$/ { planned += substr($1, 4) }
		/^    (not )?ok [0-9]+ / {
			if ($0 ~ /# SKIP/) skip++
			else if ($1 == "ok") pass++
			else fail++
		}
		END {
			seen = pass + fail + skip
			if (seen < planned) fail += planned - seen
			print pass + 0, fail + 0, skip + 0
		}' "$judged")
	if [ $((kpass + kfail + kskip)) -gt 0 ]; then
		record kunit "$kpass" "$kfail" "$kskip"
	fi
	# Each KUnit suite expected must have started and ended: its
	# "# Subtest:" line and its result at the top level.
	while read -r what name; do
		[ "$what" = kunit ] || continue
		if ! grep -qx "    # Subtest: $name" "$judged" ||
		   ! grep -qE "^(not )?ok [0-9]+ $name( # SKIP.*)?\$" "$judged"; then
			echo "    KUnit suite $name did not report"
			record "kunit/$name" 0 1 0
		fi
	done <"$expect"

	# Suites run by init, delimited by "harness: suite NAME begin/end rc=N".
	# The conformance/ suites are upstream's tests, some failing by design:
	# conformance.sh judges them against its list. An expected suite must
	# print a TAP plan (the bench, which is not expected, prints none).
	while read -r name pass fail skip why; do
		case "$name" in conformance/*) continue ;; esac
		[ -z "$why" ] || echo "    $name: $why"
		record "$name" "$pass" "$fail" "$skip"
	done < <(awk -v expect="$expect" '
		BEGIN {
			while ((getline line <expect) > 0)
				if (line ~ /^suite /) wanted[substr(line, 7)] = 1
		}
		/^harness: suite [^ ]* begin$/ {
			name = $3; pass = fail = skip = plan = 0; inside = 1; next
		}
		/^harness: suite .* end rc=/ {
			rc = substr($5, 4)
			seen = pass + fail + skip
			why = ""
			if (plan > seen) {
				fail += plan - seen
				why = (plan - seen) " planned cases did not report"
			}
			if (rc != 0 && fail == 0) {
				fail = 1
				why = "exit status " rc
			}
			# No plan: the program ran no case it knew of.
			if (!plan && (name in wanted)) {
				fail++
				why = "no TAP plan"
			}
			print name, pass, fail, skip, why
			inside = 0; next
		}
		!inside { next }
		/^1\.\.[0-9]+/ { plan += substr($1, 4) }
		/^(not )?ok [0-9]+/ {
			if ($0 ~ /# SKIP/) skip++
			else if ($1 == "ok") pass++
			else fail++
		}
		END { if (inside) print name, pass, fail + 1, skip, "did not end" }
		' "$results" 2>/dev/null)

	# Each suite expected must have run (upstream's too).
	while read -r what name; do
		[ "$what" = suite ] || continue
		grep -qx "harness: suite $name begin" "$results" && continue
		echo "    suite $name did not run"
		record "$name" 0 1 0
	done <"$expect"

	# kmemleak must not have turned itself off (it does on an internal
	# error, and then finds nothing).
	if grep -qx kmemleak "$expect" &&
	   ! grep -qx 'harness: kmemleak on' "$results"; then
		echo "    kmemleak was not on at the end of the run"
		record kmemleak 0 1 0
	fi
fi

# Both logs must reach the end: a console that was not captured whole
# would hide reports.
if ! grep -qx 'harness: complete' "$results" 2>/dev/null ||
	! grep -qx 'harness: complete' "$plain"; then
	echo "    the guest did not finish (timeout, panic or crash): see $console"
	tail -n 30 "$console" | sed 's/^/    | /'
	echo "run$at 0 1 0" >>"$counts"
	verdict=1
fi

# Kernel reports. Each category is named once with its first lines.
categories=(
	"WARN:WARNING:"
	"BUG:BUG:|kernel BUG at"
	"KASAN:KASAN"
	"UBSAN:UBSAN:"
	"lockdep:circular locking|recursive locking|inconsistent lock state|suspicious RCU usage|bad unlock balance|held lock freed"
	"kmemleak:unreferenced object 0x"
	"oops:Oops|Kernel panic|general protection fault"
	"hang:blocked for more than|soft lockup|hard LOCKUP|detected (expedited )?stalls?|self-detected stall|kthread starved"
	# A blocked DMA (or interrupt) of each IOMMU a machine has: VT-d,
	# AMD-Vi (any event it logs), virtio-iommu, SMMUv3 (any event).
	"dmar:DMAR: \[(DMA (Read|Write)|INTR-REMAP)|DMAR: .*fault"
	"amd-vi:AMD-Vi: .*Event logged|Event logged \[(IO_PAGE_FAULT|ILLEGAL|INVALID|DEV_TAB|PAGE_TAB|COMMAND)"
	"virtio-iommu:(page|domain|unknown) fault from EP [0-9]+"
	"smmu:arm-smmu-v3 .*: (event 0x[0-9a-f]+ received|EVTQ overflow|unexpected PRI request)"
)
# Lines outside the windows where a test expects a report. A window ends
# at the next suite too, so a test that died inside one hides nothing more.
awk '
	/^harness: expect-end/ || /^harness: running / { pattern = ""; next }
	/^harness: expect / { pattern = substr($0, 17); next }
	pattern != "" && $0 ~ pattern { next }
	{ print }
' "$judged" >"$console.unexpected"
for c in "${categories[@]}"; do
	name=${c%%:*}
	pattern=${c#*:}
	if grep -qE "$pattern" "$console.unexpected"; then
		echo "    kernel report: $name"
		grep -m 3 -E -A 12 "$pattern" "$console.unexpected" | sed 's/^/    | /'
		echo "report-$name$at 0 1 0" >>"$counts"
		verdict=1
	fi
done

exit $verdict
