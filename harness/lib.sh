# SPDX-License-Identifier: GPL-2.0
# Shared paths and helpers for the harness scripts.  Sourced, not run.

set -eu

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}	# this checkout's programs and logs
# The assembled tree and the kernel objects are kept outside the checkout,
# like ccache, so that a fresh clone (CI) finds them and kbuild rebuilds
# only what its commits changed. One build at a time uses them: every step
# that writes there holds $CACHE/.lock (see cache_lock).
CACHE=${IOMMUFD_CACHE:-/var/cache/iommufd-build}
TREE=$CACHE/linux		# assembled source tree (a git repository)
OUT=$BUILD/out			# test programs, initramfs, console logs
BASE_TARBALL=${BASE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
REF_TARBALL=${REF_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
REF=$CACHE/ref			# upstream files read from $REF_TARBALL
JOBS=${JOBS:-$(nproc)}

# ccache lives outside the checkout so that a fresh clone (CI) reuses it.
# The base directory lets two clones at different paths share hits.
# Debian's tools first (checkpatch needs the python3 that has python3-ply).
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/iommufd-ccache}
export CCACHE_BASEDIR=$CACHE
export CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=include_file_mtime,include_file_ctime,time_macros
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=iommufd KBUILD_BUILD_HOST=harness

# use_kernel NAME: pick one of the kernels the machines boot. Sets KARCH,
# OBJ (its objects, O=), KCONFIGS (its harness/config fragments on top of
# tinyconfig), KTARGET and KIMAGE (the image, copied to $OUT/KNAME/ as
# kernel.sh finishes), GUEST (its test programs, guest.sh) and KMAKE.
#   x86    the test kernel of every x86 machine: VT-d, AMD-Vi, virtio-iommu
#   arm64  the arm64 machine's, cross-built: SMMUv3 and the GICv3 ITS
#   bench  the x86 bench kernel, without the debug options (bench.sh)
#   coverage  the x86 test kernel with gcov counters in the files that
#          coverage_sources names (make coverage); the same test programs
use_kernel() {
	local cross=
	KNAME=$1
	case "$1" in
	x86)
		KARCH=x86_64 KCONFIGS="x86 debug iommufd" OBJ=$CACHE/obj
		KTARGET=bzImage KNAME=kernel GUEST=$OUT/guest ;;
	arm64)
		KARCH=arm64 KCONFIGS="arm64 debug iommufd" OBJ=$CACHE/obj-arm64
		KTARGET=Image KNAME=kernel-arm64 GUEST=$OUT/guest-arm64
		cross=aarch64-linux-gnu- ;;
	bench)
		KARCH=x86_64 KCONFIGS="x86 iommufd bench" OBJ=$CACHE/bench-obj
		KTARGET=bzImage KNAME=bench-kernel GUEST=$OUT/bench-guest ;;
	coverage)
		KARCH=x86_64 KCONFIGS="x86 debug iommufd coverage" OBJ=$CACHE/coverage-obj
		KTARGET=bzImage KNAME=coverage-kernel GUEST=$OUT/guest ;;
	*) die "no kernel named $1 (x86, arm64, bench or coverage)" ;;
	esac
	KIMAGE=$OUT/$KNAME
	CROSS_GCC=${cross}gcc
	KMAKE=(make -C "$TREE" O="$OBJ" ARCH="$KARCH" CROSS_COMPILE="$cross"
		CC="ccache ${cross}gcc" HOSTCC="ccache gcc" -j"$JOBS")
	# Kbuild profiles an object when GCOV_PROFILE_<its name>.o is y, and
	# that setting wins over its directory's GCOV_PROFILE := n. Given on
	# the command line, it reaches every directory, so its value is y
	# only in the directories of the files wanted ($(obj) is the one being
	# built): arch/x86/boot/main.o, 16-bit code, must not be profiled.
	# KVM's common files (virt/kvm/) are built from arch/x86/kvm/.
	if [ "$1" = coverage ]; then
		local name dirs
		for name in $(coverage_sources | sed 's|.*/||; s|\.c$||' | sort -u); do
			dirs=$(coverage_sources | sed -n "s|^\(.*\)/$name\.c\$|\1|p" |
				sed 's|^virt/kvm$|arch/x86/kvm|' | paste -sd' ')
			KMAKE+=("GCOV_PROFILE_$name.o=\$(if \$(filter $dirs,\$(obj)),y)")
		done
	fi
}

# coverage_sources: the C files that make coverage measures, as paths in
# the tree: those the series adds (linux/, its selftests aside) and those
# its patches change.
coverage_sources() {
	local p
	{
		(cd "$TOP/linux" && find . -name '*.c' -not -path './tools/*') |
			sed 's|^\./||'
		while read -r p; do
			p=${p%%#*}
			[ -z "$p" ] || sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "$TOP/patches/$p"
		done <"$TOP/patches/series"
	} | sort -u
}
use_kernel x86

# cache_lock: hold $CACHE/.lock until this script exits, so that two
# checkouts (or a helper and its owner) never assemble or build at once.
# Nested calls, from scripts run by a script that holds it, pass through.
cache_lock() {
	mkdir -p "$CACHE"
	[ -z "${IOMMUFD_CACHE_LOCKED:-}" ] || return 0
	exec 9>"$CACHE/.lock"
	if ! flock -n 9; then
		echo "    waiting for $CACHE/.lock (another build runs)"
		flock 9
	fi
	export IOMMUFD_CACHE_LOCKED=1
}

START_TIME=${START_TIME:-$(date +%s)}
export START_TIME

# step NAME: announce a step with the time elapsed since the harness began.
step() {
	local now
	now=$(date +%s)
	printf '==> [%3dm%02ds] %s\n' $(((now - START_TIME) / 60)) \
		$(((now - START_TIME) % 60)) "$*"
}

die() {
	echo "ERROR: $*" >&2
	exit 1
}

# run_with_ticker LOG CMD...: run a long command with output to LOG, printing
# a progress line every 30 seconds so that a long build never looks hung.
run_with_ticker() {
	local log=$1 pid rc=0 started
	shift
	started=$(date +%s)
	"$@" >"$log" 2>&1 &
	pid=$!
	while ! wait_timeout "$pid" 30; do
		printf '    ... %ds, %s\n' $(($(date +%s) - started)) \
			"$(tail -n 1 "$log" | cut -c1-100)"
	done
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		tail -n 60 "$log" >&2
		echo "(full log: $log)" >&2
	fi
	return "$rc"
}

# wait_timeout PID SECONDS: true once PID has exited, false on timeout.
wait_timeout() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 1
	done
	! kill -0 "$1" 2>/dev/null
}

# series_stamp: a hash of patches/series and every patch it names.
series_stamp() {
	local p
	{
		cat "$TOP/patches/series"
		while read -r p; do
			p=${p%%#*}
			[ -z "$p" ] || cat "$TOP/patches/$p"
		done <"$TOP/patches/series"
	} | sha1sum | cut -d' ' -f1
}

# ref_extract: extract the upstream files that the abi and conformance tiers
# read into $REF, at test time (they are never committed). Extracted again
# when the tarball or this list changes.
ref_extract() {
	local files=(
		include/uapi/linux/iommufd.h
		include/uapi/linux/vfio.h
		drivers/iommu/iommufd/iommufd_test.h
		'tools/testing/selftests/iommu/*'
		tools/testing/selftests/kselftest_harness.h
		tools/testing/selftests/kselftest.h
	)
	local stamp
	[ -f "$REF_TARBALL" ] || die "$REF_TARBALL missing (apt-get install linux-source-6.12)"
	stamp="$(stat -c '%s %Y' "$REF_TARBALL") ${files[*]}"
	[ "$(cat "$REF/.stamp" 2>/dev/null)" != "$stamp" ] || return 0
	step "ref: extracting the upstream reference files from $(basename "$REF_TARBALL")"
	rm -rf "$REF" "$REF.tmp"
	mkdir -p "$REF.tmp"
	tar -C "$REF.tmp" -xf "$REF_TARBALL" --strip-components=1 --wildcards \
		"${files[@]/#/*/}"
	echo "$stamp" >"$REF.tmp/.stamp"
	mv "$REF.tmp" "$REF"
}

# print_totals COUNTS: the closing lines. The last, "N passed, N failed,
# N skipped", counts behavioural tests only: KUnit cases, the cases of our
# selftests and of upstream's (conformance). The line before it counts the
# checks: the ABI, static and docs tiers (one per kind of check), the
# judge's self-tests, and the failures of a run as such (a kernel report,
# a missing result, a machine that did not finish). The run passes if
# nothing failed in either and some test passed.
print_totals() {
	local pass fail skip cpass cfail
	read -r pass fail skip cpass cfail < <(awk '
		$1 ~ /^(kunit|selftests\/|conformance\/)/ {
			p += $2; f += $3; s += $4; next
		}
		{ cp += $2; cf += $3 }
		END { print p + 0, f + 0, s + 0, cp + 0, cf + 0 }' "$1")
	echo "checks (ABI, static, docs, judge, reports): $cpass passed, $cfail failed"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ] && [ "$cfail" = 0 ] && [ "$pass" -gt 0 ]
}

# keep_evidence FILE: keep a copy of FILE, the counts of a passing make test
# or the table of a full make bench, in $CACHE/evidence with the commit it
# was measured at: what the cover letter of 'make series' quotes, in any
# checkout (see evidence_file in series.sh).
keep_evidence() {
	local dir=$CACHE/evidence name

	name=$(basename "$1")
	mkdir -p "$dir"
	cp -p "$1" "$dir/$name.tmp"
	git -C "$TOP" describe --always --dirty --abbrev=12 >"$dir/$name.commit"
	mv "$dir/$name.tmp" "$dir/$name"
}

# dpdk_pack: DPDK for selftests/vfio_dpdk, from the host's Debian packages,
# in $OUT/guest-dpdk, which vm.sh packs as /tests/dpdk: testpmd, the
# drivers it loads rather than links (the e1000e's and the mempool ring's)
# and their libraries, and a wrapper that runs testpmd with them, as the
# nested QEMU is run (see copy_with_libs). DPDK refuses drivers from a
# directory anyone may write to, such as /tmp: /tests/dpdk is 0755.
dpdk_pack() {
	local dpdk=$OUT/guest-dpdk pmds

	command -v dpdk-testpmd >/dev/null ||
		die "no dpdk-testpmd: run harness/deps.sh (Debian's dpdk-dev)"
	# The drivers' directory is named after DPDK's ABI (pmds-23.0).
	pmds=$(dirname "$(ls "$(pkg-config --variable=libdir libdpdk)"/dpdk/pmds-*/librte_net_e1000.so 2>/dev/null |
		head -n 1)")
	[ -f "$pmds/librte_net_e1000.so" ] ||
		die "no DPDK e1000 driver: run harness/deps.sh (Debian's librte-net-e1000-23)"
	copy_with_libs "$dpdk/bin" "$(command -v dpdk-testpmd)" \
		"$pmds/librte_net_e1000.so" "$pmds/librte_mempool_ring.so"
	cat >"$dpdk/dpdk-testpmd" <<'EOF'
#!/bin/sh
d=/tests/dpdk/bin
exec $d/lib/ld.so --library-path $d/lib $d/dpdk-testpmd \
	-d $d/librte_net_e1000.so -d $d/librte_mempool_ring.so "$@"
EOF
	chmod 0755 "$dpdk/dpdk-testpmd"
}

# copy_with_libs DIR FILE...: copy each host executable or shared object
# into DIR, and the shared libraries they need into DIR/lib, with the
# dynamic loader as DIR/lib/ld.so; the guest then runs a program as
# "DIR/lib/ld.so --library-path DIR/lib DIR/PROGRAM", whatever its own
# root holds. Files that did not change are not copied again.
copy_with_libs() {
	local dir=$1 file lib
	shift
	mkdir -p "$dir/lib"
	for file in "$@"; do
		cp -uL "$file" "$dir/"
		ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
			while read -r lib; do cp -uL "$lib" "$dir/lib/"; done
		lib=$(ldd "$file" | awk '/ld-linux/ { print $1 }')
		[ -z "$lib" ] || cp -uL "$lib" "$dir/lib/ld.so"
	done
}
