#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pack the initramfs and boot the test machine: vm.sh MODE [TIMEOUT]
#   MODE is test, demo, inject, shell or bench (see initramfs/init).
# bench boots the bench kernel ($OBJ set by bench.sh) with the programs of
# $OUT/bench-guest/, 4 GiB, 512 hugetlbfs pages and a second lone edu.
# The console goes to $OUT/MODE-console.log, the test programs' output
# (second serial port) to $OUT/MODE-results.log.
. "$(dirname "$0")/lib.sh"

mode=$1
limit=${2:-1800}
console=$OUT/$mode-console.log
results=$OUT/$mode-results.log
guest=$OUT/guest
cpio=$OUT/initramfs.cpio
if [ "$mode" = bench ]; then
	guest=$OUT/bench-guest
	cpio=$OUT/bench-initramfs.cpio
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
	# QEMU for the nested tests, in the machine that runs them only.
	if [ "$mode" = test ] && [ -d "$OUT/guest-qemu" ]; then
		echo "dir /tests/qemu 0755 0 0"
		tree_entries "$OUT/guest-qemu" /tests/qemu
	fi
} >"$list"
"$OBJ/usr/gen_init_cpio" "$list" >"$cpio"

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
# ONLY=glob runs only the guest suites whose name matches (selftests/*,
# conformance/iommufd, ...); KUNIT=glob only the matching KUnit suites.
[ -z "${ONLY:-}" ] || cmdline+=" harness.only=$ONLY"
[ -z "${FUZZ_SEED:-}" ] || cmdline+=" harness.fuzz_seed=$FUZZ_SEED"
[ -z "${FUZZ_OPS:-}" ] || cmdline+=" harness.fuzz_ops=$FUZZ_OPS"
[ -z "${KUNIT:-}" ] || cmdline+=" kunit.filter_glob=$KUNIT"
# KUnit runs in test mode only. The demo boots quietly, but never the modes
# whose console is judged: "quiet" would hide WARNINGs from the judge.
case "$mode" in
test) ;;
inject | bench) cmdline+=" kunit.enable=0" ;;
*) cmdline+=" kunit.enable=0 quiet" ;;
esac

# No 5-level paging: Debian's 6.1 decides it from a CPU feature bit that
# identify_boot_cpu() rewrites with interrupts on, and a KASAN check in an
# interrupt that lands then takes the direct map for a wild access.
mem=2G
[ "$mode" = bench ] && mem=4G
qemu=(
	qemu-system-x86_64 -machine q35,accel=tcg -cpu max,la57=off -smp 2
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
	-kernel "$OBJ/arch/x86/boot/bzImage" -initrd "$cpio" -append "$cmdline"
)
# The bench's COPY workload needs a second edu alone in its group.
[ "$mode" = bench ] && qemu+=(-device edu,bus=pcie.0,addr=0x7)

rm -f "$console" "$results"
if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio -serial "file:$results"
fi

step "vm: booting ($mode, limit ${limit}s)"
# Show the whole console for a demo, only the harness's progress lines for
# the other modes; the full console is in the log either way.
filter='^harness: running'
[ "$mode" = demo ] && filter=
[ "$mode" = bench ] && filter='^(harness: running|bench: )'
set +e
timeout -k 10 "$limit" "${qemu[@]}" -serial stdio -serial "file:$results" \
	</dev/null 2>&1 | tee "$console" | grep --line-buffered -E "$filter"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "ERROR: the $mode run did not finish within ${limit}s" >&2
fi
step "vm: $mode run ended (qemu exit $rc)"
exit 0
