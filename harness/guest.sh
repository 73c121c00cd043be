#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the programs that go into the initramfs, statically linked against
# the assembled tree's installed uAPI headers: guest.sh [KERNEL]
#   x86 (the default): every program of the x86 machines, into $OUT/guest/;
#   coverage: the same programs, against the coverage kernel's headers;
#   arm64: vfio_iommu, the arm64 machine's only suite, cross-built into
#   $OUT/guest-arm64/.
. "$(dirname "$0")/lib.sh"
cache_lock
use_kernel "${1:-x86}"

guest=$GUEST
mkdir -p "$guest/selftests"
headers="-isystem $OBJ/usr/include"

if [ "$KARCH" = arm64 ]; then
	step "guest: building vfio_iommu for arm64"
	run_with_ticker "$OUT/selftests-arm64.log" make -C "$TREE/tools/testing/selftests/iommu" \
		OUTPUT="$guest/selftests" KHDR_INCLUDES="$headers" LDFLAGS=-static \
		CC="ccache $CROSS_GCC" "$guest/selftests/vfio_iommu"
	exit 0
fi

step "guest: building the iommu kselftests"
run_with_ticker "$OUT/selftests.log" make -C "$TREE/tools/testing/selftests/iommu" \
	OUTPUT="$guest/selftests" KHDR_INCLUDES="$headers" LDFLAGS=-static \
	CC="ccache gcc"

step "guest: building the demo"
# The demo shares the vfio_edu selftest's helpers, vfio_edu_util.h.
ccache gcc -static -O2 -Wall -Werror -D_GNU_SOURCE $headers \
	-I "$TREE/tools/testing/selftests/iommu" -o "$guest/demo" \
	"$TOP/harness/demo/demo.c"

GUEST_KERNEL=${1:-x86} bash "$TOP/harness/conformance.sh" build

# QEMU for the nested tests (selftests/vfio_qemu), from the host's Debian
# packages: the binary, its TCG module, its libraries and the BIOS, run
# through a wrapper that finds them (see copy_with_libs). The test machine
# gets them in /tests/qemu, on its $PATH.
qemu=$OUT/guest-qemu
step "guest: QEMU $(qemu-system-x86_64 --version | awk 'NR == 1 { print $4 }') for the nested tests"
copy_with_libs "$qemu/bin" "$(command -v qemu-system-x86_64)"
mkdir -p "$qemu/modules" "$qemu/share"
cp -uL /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so "$qemu/modules/"
cp -uL /usr/share/seabios/bios-256k.bin "$qemu/share/"
cat >"$qemu/qemu-system-x86_64" <<'EOF'
#!/bin/sh
q=/tests/qemu
QEMU_MODULE_DIR=$q/modules exec $q/bin/lib/ld.so --library-path $q/bin/lib \
	$q/bin/qemu-system-x86_64 -L $q/share "$@"
EOF

step "guest: DPDK $(pkg-config --modversion libdpdk) for the DPDK tests"
dpdk_pack
