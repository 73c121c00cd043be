#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pack the initramfs and boot a test machine: vm.sh MODE [TIMEOUT]
#   MODE is test, demo, shell or bench (see initramfs/init).
#   MACHINE names the machine, a description in harness/machines/ (default
#   test; bench for the bench mode): its QEMU, IOMMU, devices, memory,
#   kernel (see use_kernel in lib.sh), kernel command line, and the guest
#   suites (ONLY) and KUnit suites (KUNIT) it runs unless told otherwise.
#   INJECT=1 ends the run with the harness self-test's reports.
#   VM_KERNEL boots another kernel than the machine's (make coverage's).
# The console goes to $OUT/RUN-console.log, the test programs' output
# (a second serial port, or a virtio console) to $OUT/RUN-results.log;
# RUN defaults to the machine's name in test mode, to MODE otherwise.
. "$(dirname "$0")/lib.sh"

mode=$1
limit=${2:-1800}
MACHINES=$TOP/harness/machines
name=${MACHINE:-test}
[ "$mode" != bench ] || name=${MACHINE:-bench}
[ -f "$MACHINES/$name.sh" ] || die "no machine $name in harness/machines/"
kernel= qemu= machine= iommu=() devices=() mem= smp= append= suites= kunit=none inject=
# shellcheck source=machines/test.sh
. "$MACHINES/$name.sh"
use_kernel "${VM_KERNEL:-$kernel}"
[ "$mode" = test ] && run=${RUN:-$name} || run=${RUN:-$mode}
console=$OUT/$run-console.log
results=$OUT/$run-results.log
cpio=$OUT/initramfs-$run.cpio
list=${cpio%.cpio}.list
only=${ONLY:-$suites}
kunit=${KUNIT:-$kunit}
inject=${INJECT:-$inject}

# What differs between the architectures: the console, where the results
# go (x86: a second UART; arm64's virt machine has one UART, so a virtio
# console on virtio-mmio, which no IOMMU translates) and the busybox.
case "$KARCH" in
x86_64)
	tty=ttyS0 cpu=max,la57=off busybox=/bin/busybox
	results_dev=(-serial "file:$results")
	# No 5-level paging: Debian's 6.1 decides it from a CPU feature bit
	# that identify_boot_cpu() rewrites with interrupts on, and a KASAN
	# check in an interrupt that lands then takes the direct map for a
	# wild access.
	;;
arm64)
	tty=ttyAMA0 cpu=max,pauth-impdef=on busybox=$CACHE/busybox-arm64/bin/busybox
	append+=" harness.results=hvc0"
	results_dev=(-device virtio-serial-device -chardev "file,id=results,path=$results"
		-device virtconsole,chardev=results)
	;;
esac

# The gen_init_cpio entries of every file under host directory $1, at the
# same place under $2 in the guest, which must exist.
tree_entries() {
	[ -d "$1" ] || return 0
	(cd "$1" && find . -mindepth 1 -type d | sort) | while read -r d; do
		echo "dir $2/${d#./} 0755 0 0"
	done
	(cd "$1" && find . -type f | sort) | while read -r f; do
		echo "file $2/${f#./} $1/${f#./} 0755 0 0"
	done
}

# The initramfs: busybox, init, and every program under $GUEST/.
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in bin proc sys tmp tests; do echo "dir /$d 0755 0 0"; done
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "slink /bin/sh busybox 0777 0 0"
	echo "file /init $TOP/harness/initramfs/init 0755 0 0"
	tree_entries "$GUEST" /tests
	# QEMU for the nested tests, in a machine that may run them only.
	case $only in *vfio_qemu* | '*' | *selftests/\**) nested=yes ;; *) nested=no ;; esac
	if [ "$mode" = test ] && [ "$nested" = yes ] && [ "$KARCH" = x86_64 ] &&
	   [ -d "$OUT/guest-qemu" ]; then
		echo "dir /tests/qemu 0755 0 0"
		tree_entries "$OUT/guest-qemu" /tests/qemu
	fi
	# DPDK goes wherever a glob of $only picks its test, as init matches
	# them, and to make bench, which measures it too.
	dpdk=no
	[ "$mode" != bench ] || dpdk=yes
	set -f
	for pattern in ${only//,/ }; do
		# shellcheck disable=SC2254
		case selftests/vfio_dpdk in $pattern) [ "$mode" != test ] || dpdk=yes ;; esac
	done
	set +f
	if [ "$dpdk" = yes ] && [ "$KARCH" = x86_64 ]; then
		[ -x "$OUT/guest-dpdk/dpdk-testpmd" ] ||
			die "DPDK is not in $OUT/guest-dpdk (guest.sh packs it)"
		echo "dir /tests/dpdk 0755 0 0"
		tree_entries "$OUT/guest-dpdk" /tests/dpdk
	fi
} >"$list"
"$KIMAGE/gen_init_cpio" "$list" >"$cpio"

cmdline="console=$tty harness=$mode panic=-1 oops=panic iommu.strict=1 $append"
# No hugetlbfs pages are reserved on the test machines: with them,
# upstream's tests that unmap part of a MAP_HUGETLB mapping hit a lockdep
# WARN in the base kernel's hugetlb_split() (Debian 6.1.192), which is not
# ours to fix. The bench kernel has no kmemleak (nor lockdep); it takes its
# repetition count from BENCH_REPS.
if [ "$mode" = bench ]; then
	[ -z "${BENCH_REPS:-}" ] || cmdline+=" bench.reps=$BENCH_REPS"
	[ -z "${BENCH_PROFILE:-}" ] || cmdline+=" bench.profile=$BENCH_PROFILE"
	[ -z "${BENCH_ONLY:-}" ] || cmdline+=" bench.only=$BENCH_ONLY"
else
	cmdline+=" kmemleak=on"
fi
# ONLY=glob[,glob...] runs only the guest suites whose name matches one
# (selftests/*, conformance/iommufd, ...); KUNIT=glob only the matching
# KUnit suites, none for none.
[ -z "$only" ] || cmdline+=" harness.only=$only"
[ -z "${FUZZ_SEED:-}" ] || cmdline+=" harness.fuzz_seed=$FUZZ_SEED"
[ -z "${FUZZ_OPS:-}" ] || cmdline+=" harness.fuzz_ops=$FUZZ_OPS"
# The harness self-test injects its reports in test runs only.
[ -z "$inject" ] || [ "$mode" != test ] || cmdline+=" harness.inject=1"
# KUnit runs in test mode only. The demo boots quietly, but never the modes
# whose console is judged: "quiet" would hide WARNINGs from the judge.
case "$mode:$kunit" in
test:none) cmdline+=" kunit.enable=0" ;;
test:'*') ;;
test:*) cmdline+=" kunit.filter_glob=$kunit" ;;
bench:*) cmdline+=" kunit.enable=0" ;;
*) cmdline+=" kunit.enable=0 quiet" ;;
esac

# What the judge must see from this run ($OUT/RUN-expect, see judge.sh):
# each guest suite that init will run (the programs whose name matches
# $only, as init matches them: those under $GUEST/, and our selftests as
# the Makefile names them, built or not; init runs upstream's iommufd.c
# as two suites), each KUnit suite of ours that $kunit selects, and
# kmemleak still on at the end where the kernel has it. A glob of $only
# that matches no program is expected as a suite of its own, which cannot
# run: a machine that names a suite nobody built fails.
expectations() {
	local p name pattern kname sources matched
	[ "$mode" = test ] || return 0
	{
		for p in "$GUEST"/selftests/* "$GUEST"/conformance/*; do
			[ -x "$p" ] || continue
			name=${p#"$GUEST"/}
			[ "$name" != conformance/iommufd ] || echo conformance/iommufd_hugetlb
			echo "$name"
		done
		sed -n '/^TEST_GEN_PROGS/,/[^\\]$/p' \
			"$TOP/linux/tools/testing/selftests/iommu/Makefile" |
			sed -e 's/^TEST_GEN_PROGS *:*=//' -e 's/\\$//' |
			tr -s ' \t' '\n\n' | sed -n 's|^\([a-z0-9_]\+\)$|selftests/\1|p'
	} | sort -u >"$OUT/$run-programs"
	set -f
	for pattern in ${only//,/ }; do
		matched=
		while read -r name; do
			# shellcheck disable=SC2254
			case "$name" in $pattern) echo "suite $name"; matched=1 ;; esac
		done <"$OUT/$run-programs"
		[ -n "$matched" ] || echo "suite $pattern"
	done | sort -u
	set +f
	if [ "$kunit" != none ]; then
		sources=$(grep -rl 'kunit_test_suites\?(' "$TOP/linux")
		[ -n "$sources" ] || die "no KUnit suite under $TOP/linux"
		# shellcheck disable=SC2086
		grep -ho '^	\.name = "[a-z0-9_]*"' $sources |
			sed 's/.*"\(.*\)"/\1/' | sort | while read -r kname; do
			# shellcheck disable=SC2254
			case "$kname" in $kunit) echo "kunit $kname" ;; esac
		done
	fi
	if grep -qx 'CONFIG_DEBUG_KMEMLEAK=y' "$OBJ/.config" 2>/dev/null; then
		echo kmemleak
	fi
}
expectations >"$OUT/$run-expect"

qemu=(
	"$qemu" -machine "$machine,accel=tcg" -cpu "$cpu" -smp "${SMP:-$smp}"
	-m "${MEM:-$mem}" -nodefaults -display none -no-reboot
	"${iommu[@]}" "${devices[@]}"
	-kernel "$KIMAGE/$KTARGET" -initrd "$cpio" -append "$cmdline"
)

rm -f "$console" "$results"
if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio "${results_dev[@]}"
fi

step "vm: booting $run ($name, $mode, limit ${limit}s)"
# Show the whole console for a demo, only the harness's progress lines for
# the other modes; the full console is in the log either way.
filter='^harness: (running |[^ ]* took )'
[ "$mode" = demo ] && filter=
[ "$mode" = bench ] && filter='^(harness: running|bench: )'
set +e
timeout -k 10 "$limit" "${qemu[@]}" -serial stdio "${results_dev[@]}" \
	</dev/null 2>&1 | tee "$console" | grep --line-buffered -E "$filter"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "ERROR: the $run run did not finish within ${limit}s" >&2
fi
step "vm: $run run ended (qemu exit $rc)"
exit 0
