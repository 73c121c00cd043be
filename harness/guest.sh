#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the programs that go into the initramfs, statically linked against
# the assembled tree's installed uAPI headers, into $OUT/guest/.
. "$(dirname "$0")/lib.sh"

guest=$OUT/guest
mkdir -p "$guest/selftests"
headers="-isystem $OBJ/usr/include"

step "guest: building the iommu kselftests"
run_with_ticker "$OUT/selftests.log" make -C "$TREE/tools/testing/selftests/iommu" \
	OUTPUT="$guest/selftests" KHDR_INCLUDES="$headers" LDFLAGS=-static \
	CC="ccache gcc"

step "guest: building the demo"
# The demo shares the vfio_edu selftest's helpers, vfio_edu_util.h.
ccache gcc -static -O2 -Wall -Werror -D_GNU_SOURCE $headers \
	-I "$TREE/tools/testing/selftests/iommu" -o "$guest/demo" \
	"$TOP/harness/demo/demo.c"

bash "$TOP/harness/conformance.sh" build
