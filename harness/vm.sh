#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pack the initramfs and boot the test machine: vm.sh MODE [TIMEOUT]
#   MODE is test, demo, shell or bench (see initramfs/init); INJECT=1 ends
#   the run with the harness self-test's reports.
# The kernel is the copy in $OUT/kernel/ (see kernel.sh); bench boots the
# bench kernel, $OUT/bench-kernel/, with the programs of $OUT/bench-guest/,
# 4 GiB, 512 hugetlbfs pages and a second lone edu.
# The console goes to $OUT/RUN-console.log, the test programs' output
# (second serial port) to $OUT/RUN-results.log; RUN defaults to MODE.
. "$(dirname "$0")/lib.sh"

mode=$1
limit=${2:-1800}
run=${RUN:-$mode}		# names the logs: two machines may run at once
console=$OUT/$run-console.log
results=$OUT/$run-results.log
guest=$OUT/guest
cpio=$OUT/initramfs-$run.cpio
image=$OUT/kernel
if [ "$mode" = bench ]; then
	guest=$OUT/bench-guest
	image=$OUT/bench-kernel
fi
list=${cpio%.cpio}.list

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

# The initramfs: busybox, init, and every program under $guest/.
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in bin proc sys tmp tests; do echo "dir /$d 0755 0 0"; done
	echo "file /bin/busybox /bin/busybox 0755 0 0"
	echo "slink /bin/sh busybox 0777 0 0"
	echo "file /init $TOP/harness/initramfs/init 0755 0 0"
	tree_entries "$guest" /tests
	# QEMU for the nested tests, in a machine that may run them only.
	case ${ONLY:-*} in *vfio_qemu* | '*' | *selftests/\**) nested=yes ;; *) nested=no ;; esac
	if [ "$mode" = test ] && [ "$nested" = yes ] && [ -d "$OUT/guest-qemu" ]; then
		echo "dir /tests/qemu 0755 0 0"
		tree_entries "$OUT/guest-qemu" /tests/qemu
	fi
} >"$list"
"$image/gen_init_cpio" "$list" >"$cpio"

cmdline="console=ttyS0 harness=$mode panic=-1 oops=panic intel_iommu=on"
# No hugetlbfs pages are reserved: with them, upstream's tests that unmap
# part of a MAP_HUGETLB mapping hit a lockdep WARN in the base kernel's
# hugetlb_split() (Debian 6.1.192), which is not ours to fix.
cmdline+=" iommu.strict=1"
# The bench kernel has no kmemleak (nor lockdep, and the bench never unmaps
# part of a hugetlbfs mapping); it gets 1 GiB of hugetlbfs pages and takes
# its repetition count from BENCH_REPS.
if [ "$mode" = bench ]; then
	cmdline+=" hugepages=512"
	[ -z "${BENCH_REPS:-}" ] || cmdline+=" bench.reps=$BENCH_REPS"
	[ -z "${BENCH_PROFILE:-}" ] || cmdline+=" bench.profile=$BENCH_PROFILE"
	[ -z "${BENCH_ONLY:-}" ] || cmdline+=" bench.only=$BENCH_ONLY"
else
	cmdline+=" kmemleak=on"
fi
# ONLY=glob[,glob...] runs only the guest suites whose name matches one
# (selftests/*, conformance/iommufd, ...); KUNIT=glob only the matching
# KUnit suites.
[ -z "${ONLY:-}" ] || cmdline+=" harness.only=$ONLY"
[ -z "${FUZZ_SEED:-}" ] || cmdline+=" harness.fuzz_seed=$FUZZ_SEED"
[ -z "${FUZZ_OPS:-}" ] || cmdline+=" harness.fuzz_ops=$FUZZ_OPS"
[ -z "${KUNIT:-}" ] || cmdline+=" kunit.filter_glob=$KUNIT"
[ -z "${INJECT:-}" ] || cmdline+=" harness.inject=1"
# KUnit runs in test mode only. The demo boots quietly, but never the modes
# whose console is judged: "quiet" would hide WARNINGs from the judge.
case "$mode" in
test) ;;
bench) cmdline+=" kunit.enable=0" ;;
*) cmdline+=" kunit.enable=0 quiet" ;;
esac

# No 5-level paging: Debian's 6.1 decides it from a CPU feature bit that
# identify_boot_cpu() rewrites with interrupts on, and a KASAN check in an
# interrupt that lands then takes the direct map for a wild access.
# 1 GiB is plenty for the tests, and kmemleak's scans at the end take time
# in proportion to memory (about 24 s per GiB and scan under TCG).
mem=1G
[ "$mode" = bench ] && mem=4G
qemu=(
	qemu-system-x86_64 -machine q35,accel=tcg -cpu max,la57=off -smp "${SMP:-2}"
	-m "${MEM:-$mem}"
	-nodefaults -display none -no-reboot
	# The IOMMU comes first: it must exist before the devices it translates.
	-device intel-iommu,intremap=on
	# A standalone edu: a single-device group.
	-device edu,bus=pcie.0,addr=0x5
	# Two edus and a virtio-rng behind a PCIe-to-PCI bridge: requests from
	# behind a conventional PCI bridge all look alike, so one group.
	-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x6,chassis=1
	-device pcie-pci-bridge,id=br1,bus=rp1
	-device edu,bus=br1,addr=0x1
	-device edu,bus=br1,addr=0x2
	-device virtio-rng-pci,bus=br1,addr=0x3
	-kernel "$image/bzImage" -initrd "$cpio" -append "$cmdline"
)
# The bench's COPY workload needs a second edu alone in its group.
[ "$mode" = bench ] && qemu+=(-device edu,bus=pcie.0,addr=0x7)

rm -f "$console" "$results"
if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio -serial "file:$results"
fi

step "vm: booting $run ($mode, limit ${limit}s)"
# Show the whole console for a demo, only the harness's progress lines for
# the other modes; the full console is in the log either way.
filter='^harness: (running |[^ ]* took )'
[ "$mode" = demo ] && filter=
[ "$mode" = bench ] && filter='^(harness: running|bench: )'
set +e
timeout -k 10 "$limit" "${qemu[@]}" -serial stdio -serial "file:$results" \
	</dev/null 2>&1 | tee "$console" | grep --line-buffered -E "$filter"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "ERROR: the $run run did not finish within ${limit}s" >&2
fi
step "vm: $run run ended (qemu exit $rc)"
exit 0
