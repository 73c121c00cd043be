#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Assemble the source tree: pristine base + patches/series + linux/.
#
# $TREE is a git repository whose first commit (tag "base") is the pristine
# Debian source, followed by one commit per patch (git am), so that
# "git diff base" shows exactly the series.  Files from linux/ are copied
# on top, untracked, and only when their content changed, so that make
# rebuilds only what was edited.  The tree lives in $CACHE, outside the
# checkout: every checkout on this machine assembles into it in turn.
. "$(dirname "$0")/lib.sh"
cache_lock

[ -f "$BASE_TARBALL" ] || die "$BASE_TARBALL missing (apt-get install linux-source-6.1)"
base_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
patch_stamp=$(series_stamp)

# git am and git commit start "git maintenance run --auto" (git gc) in the
# background, which would inherit the descriptor of the cache lock and
# hold it for minutes after this script ends: never here, in this
# repository or its worktrees (series.sh's).
NO_GC=(-c gc.auto=0 -c maintenance.auto=false)

git_tree() {
	git -C "$TREE" "${NO_GC[@]}" -c user.name=harness -c user.email=harness@localhost "$@"
}

if [ ! -d "$TREE/.git" ]; then
	step "tree: extracting $(basename "$BASE_TARBALL") (Debian $base_version)"
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	tar -C "$TREE.tmp" -xf "$BASE_TARBALL" --strip-components=1
	step "tree: recording the pristine base as the first commit"
	git -C "$TREE.tmp" init -q
	git -C "$TREE.tmp" "${NO_GC[@]}" -c user.name=harness -c user.email=harness@localhost \
		commit -q --allow-empty -m "base: Debian linux-source-6.1 $base_version"
	git -C "$TREE.tmp" add -A -f .
	git -C "$TREE.tmp" "${NO_GC[@]}" -c user.name=harness -c user.email=harness@localhost \
		commit -q --amend -m "base: Debian linux-source-6.1 $base_version"
	git -C "$TREE.tmp" tag base
	mv "$TREE.tmp" "$TREE"
fi
# Also for what runs git there without git_tree (series.sh, people).
git -C "$TREE" config gc.auto 0
git -C "$TREE" config maintenance.auto false
echo "    base: Debian linux-source-6.1 $base_version ($(make -s -C "$TREE" kernelversion 2>/dev/null))"

applied_stamp=$(cat "$TREE/.git/series-stamp" 2>/dev/null || true)
if [ "$applied_stamp" != "$patch_stamp" ]; then
	# Edits made in the tree but not exported (by some other checkout,
	# perhaps) are kept, not thrown away: on a branch, and in the stash.
	if [ -n "$(git_tree status --porcelain --untracked-files=no)" ]; then
		git_tree stash push -q -m "not exported, $(date -u +%FT%TZ)"
		echo "    WARNING: uncommitted edits to base files were stashed (git -C $TREE stash list)"
	fi
	if [ -f "$TREE/.git/series-head" ] &&
	   [ "$(git_tree rev-parse HEAD)" != "$(cat "$TREE/.git/series-head")" ]; then
		saved=unexported-$(date -u +%Y%m%d-%H%M%S)
		git_tree branch "$saved"
		echo "    WARNING: commits not exported to patches/ were kept on branch $saved of $TREE"
	fi
	step "tree: applying patches/series"
	git_tree reset -q --hard base
	while read -r p; do
		p=${p%%#*}
		[ -n "$p" ] || continue
		if ! git_tree am -q --keep-cr "$TOP/patches/$p" >/dev/null 2>&1; then
			git_tree am --abort >/dev/null 2>&1 || true
			die "patch $p does not apply to Debian linux-source-6.1 $base_version"
		fi
		echo "    applied $p"
	done <"$TOP/patches/series"
	git_tree rev-parse HEAD >"$TREE/.git/series-head"
	echo "$patch_stamp" >"$TREE/.git/series-stamp"
fi

# Copy linux/ over the tree, keeping the mtime of unchanged files, and drop
# files that an earlier run copied but linux/ no longer has.
step "tree: copying linux/ into the tree"
overlay=$TREE/.git/overlay-files
(cd "$TOP/linux" && find . -type f | sort) >"$overlay.new"
if [ -f "$overlay" ]; then
	comm -23 "$overlay" "$overlay.new" | while read -r f; do
		rm -f "$TREE/$f"
		echo "    removed ${f#./}"
	done
fi
mv "$overlay.new" "$overlay"
while read -r f; do
	if git_tree cat-file -e "base:${f#./}" 2>/dev/null; then
		die "linux/${f#./} is a base-tree file: edit it through patches/ instead"
	fi
	if ! cmp -s "$TOP/linux/$f" "$TREE/$f"; then
		mkdir -p "$(dirname "$TREE/$f")"
		cp "$TOP/linux/$f" "$TREE/$f"
		echo "    updated ${f#./}"
	fi
done <"$overlay"
