#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build a kernel: kernel.sh [NAME]
#   NAME is x86 (the default, every x86 machine's test kernel), arm64,
#   bench or coverage (make coverage's); lib.sh's use_kernel says which fragments of harness/config/ go
#   on top of tinyconfig, for which architecture, in which object dir.
# The image, the initramfs packer and the uAPI headers are copied to
# $OUT/kernel/ (kernel-arm64/, bench-kernel/), which the machines boot and
# guest.sh builds against: a later build in $OBJ cannot change a run under
# way.
. "$(dirname "$0")/lib.sh"
cache_lock
use_kernel "${1:-x86}"

mkdir -p "$OBJ" "$OUT"
fragments=()
for c in $KCONFIGS; do
	[ -f "$TOP/harness/config/$c.config" ] || die "no harness/config/$c.config"
	fragments+=("$TOP/harness/config/$c.config")
done
wanted=$OBJ/.config.wanted

step "kernel: configuring $KARCH (tinyconfig + ${fragments[*]##*/})"
export KCONFIG_CONFIG=$wanted
"${KMAKE[@]}" -s tinyconfig >"$OBJ/tinyconfig.log" 2>&1
"$TREE/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$wanted" "${fragments[@]}" \
	>"$OBJ/merge_config.log" 2>&1
"${KMAKE[@]}" -s olddefconfig >"$OBJ/olddefconfig.log" 2>&1
unset KCONFIG_CONFIG

# Every symbol a fragment asks for must have survived Kconfig's dependencies.
bad=0
for f in "${fragments[@]}"; do
	while read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$wanted" || { echo "    $f: wanted $line, got: $(grep "^${line%%=*}=" "$wanted" || echo unset)"; bad=1; } ;;
		esac
	done <"$f"
done
[ "$bad" = 0 ] || die "the config fragments do not hold; fix their dependencies"
cmp -s "$wanted" "$OBJ/.config" || cp "$wanted" "$OBJ/.config"

step "kernel: building $KARCH $KTARGET (ccache: $CCACHE_DIR)"
ccache -z >/dev/null
run_with_ticker "$OBJ/build.log" "${KMAKE[@]}" "$KTARGET"
echo "    $(ccache -s | grep -E 'Hits|Misses' | tr -s ' ' | paste -sd' ')"

step "kernel: installing uAPI headers"
run_with_ticker "$OBJ/headers.log" "${KMAKE[@]}" headers_install

mkdir -p "$KIMAGE"
cp "$OBJ/arch/${KARCH%_64}/boot/$KTARGET" "$OBJ/usr/gen_init_cpio" "$KIMAGE/"
