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
	qemu-system-x86 busybox-static
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	step "dependencies: all present"
	exit 0
fi

step "dependencies: installing ${missing[*]}"
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
