#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Regenerate patches/ from the commits made in the assembled tree on top
# of the "base" tag (see README: changing a base file).
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "no assembled tree; run 'make tree' first"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "commit your edits in $TREE first"

rm -f "$TOP"/patches/*.patch
# A fixed abbreviation keeps the index lines stable across trees.
git -C "$TREE" -c core.abbrev=9 format-patch -q --no-signature --zero-commit --no-numbered \
	-o "$TOP/patches" base..HEAD
# Without dates, re-exporting an unchanged series changes no file.
sed -i '/^Date: /d' "$TOP"/patches/*.patch
(cd "$TOP/patches" && ls -1 -- *.patch) >"$TOP/patches/series"
git -C "$TREE" rev-parse HEAD >"$TREE/.git/series-head"
series_stamp >"$TREE/.git/series-stamp"
step "exported $(wc -l <"$TOP/patches/series") patches"
