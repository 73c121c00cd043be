#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The documentation as a reader gets it: Sphinx (Debian's python3-sphinx)
# builds Documentation/userspace-api, where iommufd.rst and the ioctl
# number registry live, into $CACHE/docs. docs.sh [COUNTS]
# Any warning about our files fails: iommufd.rst, the uAPI header whose
# kernel-doc it includes, and ioctl-number.rst that a patch edits.
. "$(dirname "$0")/lib.sh"
cache_lock
counts=${1:-/dev/null}
log=$OUT/static/docs.log
mkdir -p "$OUT/static"

step "docs: Sphinx $(sphinx-build --version 2>/dev/null | awk '{ print $2 }') on Documentation/userspace-api"
rc=0
make -C "$TREE" O="$CACHE/docs" SPHINXDIRS=userspace-api htmldocs >"$log" 2>&1 || rc=$?
grep -E '(iommufd\.(rst|h)|ioctl-number\.rst).*(WARNING|ERROR)' "$log" >"$log.ours" || true
if [ "$rc" != 0 ]; then
	echo "    FAIL: the documentation did not build (exit $rc); see $log"
	tail -n 20 "$log" | sed 's/^/    | /'
	echo "docs 0 1 0" >>"$counts"
elif [ -s "$log.ours" ]; then
	echo "    FAIL: Sphinx warns about our files:"
	sed 's/^/    | /' "$log.ours"
	echo "docs 0 1 0" >>"$counts"
else
	echo "    ok: no warning about iommufd.rst, iommufd.h or ioctl-number.rst"
	echo "    (html: $CACHE/docs/Documentation/output/userspace-api/iommufd.html)"
	echo "docs 1 0 0" >>"$counts"
fi
