#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure (tinyconfig + harness/config fragments) and build a kernel in $OBJ.
# CONFIGS names the fragments, e.g. CONFIGS="base iommufd bench" for the
# bench kernel; the default, the test kernel, is every fragment but bench.
# The image and the initramfs packer are copied to $OUT/$IMAGE_NAME
# (kernel/ or bench-kernel/), which the test machine boots: a later build
# in $OBJ cannot change a run under way.
. "$(dirname "$0")/lib.sh"
cache_lock

mkdir -p "$OBJ" "$OUT"
fragments=()
if [ -n "${CONFIGS:-}" ]; then
	for c in $CONFIGS; do
		[ -f "$TOP/harness/config/$c.config" ] || die "no harness/config/$c.config"
		fragments+=("$TOP/harness/config/$c.config")
	done
else
	for f in "$TOP"/harness/config/*.config; do
		[ "${f##*/}" = bench.config ] || fragments+=("$f")
	done
fi
wanted=$OBJ/.config.wanted

step "kernel: configuring (tinyconfig + ${fragments[*]##*/})"
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

step "kernel: building bzImage (ccache: $CCACHE_DIR)"
ccache -z >/dev/null
run_with_ticker "$OBJ/build.log" "${KMAKE[@]}" bzImage
echo "    $(ccache -s | grep -E 'Hits|Misses' | tr -s ' ' | paste -sd' ')"

step "kernel: installing uAPI headers"
run_with_ticker "$OBJ/headers.log" "${KMAKE[@]}" headers_install

image=$OUT/${IMAGE_NAME:-kernel}
mkdir -p "$image"
cp "$OBJ/arch/x86/boot/bzImage" "$OBJ/usr/gen_init_cpio" "$image/"
