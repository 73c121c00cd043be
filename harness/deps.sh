#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the harness needs, only those missing.
. "$(dirname "$0")/lib.sh"

packages=(
	linux-source-6.1	# the base tree
	linux-source-6.12	# upstream ABI reference, never copied into the repo
	gcc make bc bison flex libelf-dev libssl-dev cpio xz-utils kmod
	ccache sparse perl python3 git rsync
	python3-ply python3-git	# checkpatch.pl runs scripts/spdxcheck.py
	python3-sphinx		# the documentation tier (docs.sh)
	lcov			# make coverage's report
	# DPDK 22.11's testpmd and the e1000e's driver (selftests/vfio_dpdk).
	dpdk-dev librte-net-e1000-23 pkg-config
	qemu-system-x86 busybox-static
	# The arm64 machine: QEMU, the cross compiler and its static libc.
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# busybox for the arm64 machine's initramfs: Debian's arm64 package,
# unpacked into $CACHE, since it cannot be installed beside the host's.
busybox_arm64() {
	local dir=$CACHE/busybox-arm64 tmp
	[ ! -x "$dir/bin/busybox" ] || return 0
	step "dependencies: busybox-static for arm64, into $dir"
	dpkg --print-foreign-architectures | grep -qx arm64 || {
		$SUDO dpkg --add-architecture arm64
		$SUDO apt-get update -q >/dev/null
	}
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q busybox-static:arm64 >/dev/null 2>&1) ||
		die "cannot download busybox-static:arm64"
	rm -rf "$dir"
	mkdir -p "$CACHE"
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$dir"
	rm -rf "$tmp"
}

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	step "dependencies: all present"
else
	step "dependencies: installing ${missing[*]}"
	$SUDO apt-get update -q >/dev/null
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
busybox_arm64
