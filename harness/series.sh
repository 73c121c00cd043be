#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The series for review (see README: the series for review).
#
#   series.sh export   'make series': the commits patches/export describes,
#                      made on base in $SERIES_TREE, written by
#                      git format-patch to build/series/ with a cover letter
#                      from harness/series-cover.txt
#   series.sh lint     only check that patches/export covers linux/ and
#                      patches/series and keeps the message rules (the
#                      static tier of make test runs it)
#   series.sh check    'make check-series': build/series/*.patch applied
#                      with git am to a pristine base in $CHECK_TREE and
#                      built after each patch in one object directory, the
#                      end also with IOMMUFD=m and =n, and checkpatch
#                      --strict on every patch
#
# Both trees are worktrees of $TREE's repository, so they share its objects
# and its "base" tag; both hold $CACHE/.lock while they run.
. "$(dirname "$0")/lib.sh"

EXPORT=$TOP/patches/export		# what the series is made of
COVER=$TOP/harness/series-cover.txt	# the cover letter's text
SERIES_OUT=$BUILD/series		# the exported series
SERIES_TREE=$CACHE/series-tree		# where export makes the commits
CHECK_TREE=$CACHE/series-check		# where check applies the series
CHECK_OBJ=$CACHE/series-obj		# check's objects, shared by every step
LOG=$OUT/series				# check's logs, one per build
AUTHOR_NAME="iommufd-6.1 developers"
AUTHOR_EMAIL="iommufd-6.1@lists.invalid"
# Fragments of the test kernel; the variants at the end add their own.
FRAGMENTS=(x86 debug iommufd)

# git_in DIR ARGS...: git in DIR, committing as the series' author, and
# starting no background "git gc --auto": it would inherit the descriptor
# of the cache lock and hold the lock for minutes (see tree.sh).
git_in() {
	local dir=$1
	shift
	git -C "$dir" -c gc.auto=0 -c maintenance.auto=false \
		-c user.name="$AUTHOR_NAME" -c user.email="$AUTHOR_EMAIL" "$@"
}

# minutes SECONDS: "3m07s".
minutes() {
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# worktree DIR: DIR as a clean checkout of base, a worktree of $TREE's
# repository made on first use (or again when $TREE was assembled anew).
worktree() {
	local dir=$1
	if [ -e "$dir/.git" ] &&
	   [ "$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null)" = "$dir" ]; then
		git -C "$dir" am --abort >/dev/null 2>&1 || true
		git -C "$dir" checkout -q -f --detach base
		git -C "$dir" clean -q -f -d -x
	else
		rm -rf "$dir"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$dir" base
	fi
}

# ---------------------------------------------------------------- export

# parse_export: read patches/export into the item_* arrays, one entry per
# exported patch: item_kind ("patch" or "commit"), item_title (the patch's
# file name or the commit's subject), item_files and item_patches (one
# name a line) and item_body (the commit's message body).
parse_export() {
	local line kw rest n=-1 in_stanza=0 lineno=0
	item_kind=() item_title=() item_files=() item_patches=() item_body=()
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case "$line" in
		'#'*) continue ;;
		'') in_stanza=0; continue ;;
		esac
		kw=${line%% *}
		rest=${line#"$kw"}
		rest=${rest# }
		if [ "$in_stanza" = 0 ]; then
			in_stanza=1
			n=$((n + 1))
			item_title[n]=$rest item_files[n]='' item_body[n]=''
			case "$kw" in
			patch) item_kind[n]=patch item_patches[n]="$rest"$'\n' ;;
			commit) item_kind[n]=commit item_patches[n]='' ;;
			*) die "patches/export:$lineno: a stanza starts with 'patch' or 'commit': $line" ;;
			esac
			continue
		fi
		[ "${item_kind[n]}" = commit ] ||
			die "patches/export:$lineno: a 'patch' stanza is one line; end it with a blank line"
		case "$kw" in
		file) item_files[n]+="$rest"$'\n' ;;
		patch) item_patches[n]+="$rest"$'\n' ;;
		'|') item_body[n]+="$rest"$'\n' ;;
		*) die "patches/export:$lineno: expected 'file', 'patch' or '| text': $line" ;;
		esac
	done <"$EXPORT"
	[ "$n" -ge 0 ] || die "patches/export describes no patch"
}

# check_export: every file of linux/ is in exactly one commit and every
# patch of patches/series exported exactly once, and each new commit has a
# subject and a body that fit. Names every problem, then dies.
check_export() {
	local i f p line bad=0
	local -A file_at patch_at in_series
	for ((i = 0; i < ${#item_kind[@]}; i++)); do
		while read -r f; do
			[ -n "$f" ] || continue
			if [ -n "${file_at[$f]:-}" ]; then
				echo "    $f is in two commits: \"${file_at[$f]}\" and \"${item_title[i]}\"" >&2
				bad=1
			fi
			file_at[$f]=${item_title[i]}
			[ -f "$TOP/linux/$f" ] || {
				echo "    \"${item_title[i]}\" lists $f, which linux/ does not have" >&2
				bad=1
			}
		done <<<"${item_files[i]}"
		while read -r p; do
			[ -n "$p" ] || continue
			if [ -n "${patch_at[$p]:-}" ]; then
				echo "    $p is exported twice" >&2
				bad=1
			fi
			patch_at[$p]=${item_title[i]}
		done <<<"${item_patches[i]}"
		[ "${item_kind[i]}" = commit ] || continue
		[[ "${item_title[i]}" =~ ^(iommu|iommufd|vfio|vfio/[a-z]+|mm|selftests/iommu|Documentation):\ [A-Z] ]] || {
			echo "    subject \"${item_title[i]}\": start it with iommu:, iommufd:, vfio:, mm:, selftests/iommu: or Documentation: and a capital" >&2
			bad=1
		}
		[ ${#item_title[i]} -le 72 ] || {
			echo "    subject \"${item_title[i]}\" is longer than 72 columns" >&2
			bad=1
		}
		[ -n "${item_files[i]}${item_patches[i]}" ] || {
			echo "    \"${item_title[i]}\" has no 'file' or 'patch' line" >&2
			bad=1
		}
		[ -n "${item_body[i]}" ] || {
			echo "    \"${item_title[i]}\" has no message body ('| text' lines)" >&2
			bad=1
		}
		while IFS= read -r line; do
			if [ ${#line} -gt 72 ] || [[ "$line" =~ [[:space:]]$ ]]; then
				echo "    \"${item_title[i]}\": body line longer than 72 columns or with trailing blanks: $line" >&2
				bad=1
			fi
		done <<<"${item_body[i]}"
	done

	# The other direction: everything in linux/ and patches/series is used.
	while read -r f; do
		[ -n "${file_at[$f]:-}" ] && continue
		echo "    linux/$f is in no exported patch: add \"file $f\" to the commit of patches/export it belongs to" >&2
		bad=1
	done < <(cd "$TOP/linux" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
	while read -r p; do
		p=${p%%#*}
		[ -n "$p" ] || continue
		in_series[$p]=1
		[ -n "${patch_at[$p]:-}" ] && continue
		echo "    patches/$p is in no exported patch: add a \"patch $p\" stanza to patches/export" >&2
		bad=1
	done <"$TOP/patches/series"
	for p in "${!patch_at[@]}"; do
		[ -n "${in_series[$p]:-}" ] ||
			{ echo "    patches/export names $p, which patches/series does not list" >&2; bad=1; }
	done
	[ "$bad" = 0 ] || die "patches/export does not match linux/ and patches/series (see above and its header)"
}

# apply_item I: make the exported patch of item I on HEAD of $SERIES_TREE.
# A patch is applied as it is; a new commit gets its files (and any patch
# folded into it) and a message made of its subject and body.
apply_item() {
	local i=$1 start f p gitdir
	start=$(git -C "$SERIES_TREE" rev-parse HEAD)
	gitdir=$(git -C "$SERIES_TREE" rev-parse --absolute-git-dir)
	while read -r p; do
		[ -n "$p" ] || continue
		git_in "$SERIES_TREE" am -q --keep-cr "$TOP/patches/$p" >"$gitdir/series-am.log" 2>&1 || {
			sed 's/^/    /' "$gitdir/series-am.log" >&2
			git -C "$SERIES_TREE" am --abort >/dev/null 2>&1 || true
			die "patches/$p does not apply at its place in patches/export"
		}
	done <<<"${item_patches[i]}"
	if [ "${item_kind[i]}" = patch ]; then
		# Patches carry no date: give them the series' date.
		git_in "$SERIES_TREE" commit -q --amend --no-edit --date="$GIT_COMMITTER_DATE"
		return
	fi
	while read -r f; do
		[ -n "$f" ] || continue
		mkdir -p "$(dirname "$SERIES_TREE/$f")"
		cp "$TOP/linux/$f" "$SERIES_TREE/$f"
		git -C "$SERIES_TREE" add -f -- "$f"
	done <<<"${item_files[i]}"
	printf '%s\n\n%s\nSigned-off-by: %s <%s>\n' "${item_title[i]}" \
		"${item_body[i]}" "$AUTHOR_NAME" "$AUTHOR_EMAIL" >"$gitdir/series-msg"
	git -C "$SERIES_TREE" reset -q --soft "$start"
	git_in "$SERIES_TREE" commit -q --date="$GIT_COMMITTER_DATE" \
		--author="$AUTHOR_NAME <$AUTHOR_EMAIL>" -F "$gitdir/series-msg"
}

# check_same_end: the series must end where 'make tree' does, at the
# patched base plus linux/; only the order differs.
check_same_end() {
	local head f want got
	head=$(cat "$TREE/.git/series-head")
	want=$(cd "$TOP/linux" && find . -type f | sed 's|^\./|A\t|' | LC_ALL=C sort)
	got=$(git -C "$SERIES_TREE" diff --name-status --no-renames "$head" HEAD | LC_ALL=C sort)
	if [ "$want" != "$got" ]; then
		diff <(echo "$want") <(echo "$got") | sed 's/^/    /' >&2 || true
		die "the series does not end at patches/series + linux/ (the differences above)"
	fi
	while read -r f; do
		cmp -s "$TOP/linux/$f" "$SERIES_TREE/$f" ||
			die "$f differs at the end of the series from linux/$f"
	done < <(cd "$TOP/linux" && find . -type f | sed 's|^\./||')
}

# evidence_file NAME: the copy of NAME that keep_evidence left after the
# last passing make test or full make bench on this machine, if any; a
# checkout's own build/out may hold a failed or partial run.
evidence_file() {
	[ ! -s "$CACHE/evidence/$1" ] || echo "$CACHE/evidence/$1"
}

# evidence_stamp FILE: when FILE was measured, and at which commit.
evidence_stamp() {
	echo "$(date -u -r "$1" '+%F %H:%M UTC'), at commit $(cat "$1.commit")"
}

# test_evidence: per tier, the results of the last make test.
test_evidence() {
	local counts

	counts=$(evidence_file counts)
	if [ -z "$counts" ]; then
		echo "make test: not run on this machine."
		return
	fi
	echo "make test, $(evidence_stamp "$counts"), per tier:"
	echo
	awk '{
		tier = $1
		sub(/@.*/, "", tier)
		sub(/\/.*/, "", tier)
		sub(/-(WARN|KASAN|kmemleak)$/, "", tier)
		if (!(tier in pass)) order[n++] = tier
		pass[tier] += $2; fail[tier] += $3; skip[tier] += $4
		if ($1 ~ /^(kunit|selftests\/|conformance\/)/) {
			p += $2; f += $3; s += $4
		}
	}
	END {
		for (i = 0; i < n; i++)
			printf "  %-16s %5d passed, %d failed, %d skipped\n",
				order[i], pass[order[i]], fail[order[i]], skip[order[i]]
		printf "  %-16s %5d passed, %d failed, %d skipped\n", "tests", p, f, s
	}' "$counts"
}

# bench_evidence: the table of the last make bench, in ASCII.
bench_evidence() {
	local md

	md=$(evidence_file bench.md)
	if [ -z "$md" ]; then
		echo "make bench: not run on this machine."
		return
	fi
	echo "make bench, $(evidence_stamp "$md"), medians:"
	echo
	printf '  %-40s %7s %7s %6s  %s\n' "workload, unit" type1 iommufd ratio target
	sed -e 's/≤/<=/g; s/µ/u/g; s/–/-/g; s/✓/met/g; s/✗/MISSED/g' "$md" |
		awk -F' *[|] *' '/^[|]/ && $2 != "workload" && $2 !~ /^---/ {
			name = $2 ", " $3
			if (length(name) > 40) {
				printf "  %s\n", name
				name = ""
			}
			split($4, t, " "); split($5, d, " ")
			target = ($7 == "-") ? "" : $7 " " $8
			printf "  %-40s %7s %7s %6s  %s\n", name, t[1], d[1], $6, target
		}' | sed 's/[[:space:]]*$//'
}

# fill_cover FILE: put the subject and the filled-in body of
# harness/series-cover.txt into format-patch's cover letter FILE.
fill_cover() {
	local cover=$1 text title body line
	local base count build
	text=$(grep -v '^#' "$COVER")
	title=$(head -n 1 <<<"$text")
	base="Debian linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo '(unknown version)')"
	count=${#item_kind[@]}
	for ((build = 0; build < count; build++)); do
		grep -qx 'drivers/iommu/iommufd/Makefile' <<<"${item_files[build]}" && break
	done
	[ "$build" -lt "$count" ] || die "no exported patch adds drivers/iommu/iommufd/Makefile"
	body=$(tail -n +2 <<<"$text" | sed '/./,$!d' | while IFS= read -r line; do
		case "$line" in
		@TESTS@) test_evidence ;;
		@BENCH@) bench_evidence ;;
		*)
			line=${line//@BASE@/$base}
			line=${line//@COUNT@/$count}
			printf '%s\n' "${line//@BUILD@/$((build + 1))}"
			;;
		esac
	done)
	# Through the environment: awk -v would expand backslashes.
	TITLE=$title BODY=$body awk '
		/\*\*\* SUBJECT HERE \*\*\*/ {
			i = index($0, "*** SUBJECT HERE ***")
			$0 = substr($0, 1, i - 1) ENVIRON["TITLE"] substr($0, i + 20)
		}
		/^\*\*\* BLURB HERE \*\*\*$/ { print ENVIRON["BODY"]; next }
		{ print }' "$cover" >"$cover.new"
	mv "$cover.new" "$cover"
}

export_series() {
	local i base n
	parse_export
	check_export
	cache_lock
	[ -d "$TREE/.git" ] || die "no assembled tree; run 'make tree' first"
	[ "$(cat "$TREE/.git/series-stamp" 2>/dev/null)" = "$(series_stamp)" ] ||
		die "$TREE was not assembled from the current patches/; run 'make tree' first"
	mkdir -p "$OUT"

	step "series: making ${#item_kind[@]} commits on base in $SERIES_TREE"
	worktree "$SERIES_TREE"
	# The series' date is that of this checkout's last commit, so that
	# exporting the same checkout twice writes the same files.
	GIT_COMMITTER_DATE=$(git -C "$TOP" log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
	export GIT_COMMITTER_DATE
	for ((i = 0; i < ${#item_kind[@]}; i++)); do
		apply_item "$i"
	done
	check_same_end

	step "series: writing build/series/"
	base=$(git -C "$SERIES_TREE" rev-parse base)
	rm -rf "$SERIES_OUT"
	git_in "$SERIES_TREE" -c core.abbrev=12 format-patch -q --cover-letter \
		--no-signature --base="$base" -o "$SERIES_OUT" base..HEAD
	fill_cover "$SERIES_OUT/0000-cover-letter.patch"
	n=$(find "$SERIES_OUT" -name '[0-9]*.patch' | wc -l)
	(cd "$SERIES_OUT" && ls -1) | sed 's/^/    /'
	step "series: $((n - 1)) patches and a cover letter in build/series/ (base $base)"
}

# ----------------------------------------------------------------- check

# configure SRC OBJDIR FRAGMENT...: OBJDIR/.config from tinyconfig and the
# fragments (paths), merged as kernel.sh does; the file is rewritten only
# when it changes. Sets "unmet" to the fragments' settings that did not
# hold, one a line. Fails, showing why, when Kconfig does (a patch that
# sources a Kconfig file before the commit adding it, say).
configure() {
	local src=$1 obj=$2 wanted line sym log
	shift 2
	mkdir -p "$obj"
	wanted=$obj/.config.wanted
	log=$obj/configure.log
	{
		KCONFIG_CONFIG=$wanted kmake "$src" "$obj" -s tinyconfig &&
		KCONFIG_CONFIG=$wanted "$src/scripts/kconfig/merge_config.sh" -m \
			-O "$obj" "$wanted" "$@" &&
		KCONFIG_CONFIG=$wanted kmake "$src" "$obj" -s olddefconfig
	} >"$log" 2>&1 || {
		tail -n 20 "$log" | sed 's/^/    | /'
		return 1
	}
	unmet=
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$wanted" || unmet+="$line"$'\n'
			;;
		"# CONFIG_"*" is not set")
			sym=${line#"# "}
			sym=${sym%% *}
			! grep -q "^$sym=" "$wanted" || unmet+="$line"$'\n'
			;;
		esac
	done < <(cat "$@")
	cmp -s "$wanted" "$obj/.config" || cp "$wanted" "$obj/.config"
}

# kmake SRC OBJDIR ARGS...: make as KMAKE does, in SRC with objects in
# OBJDIR (the same compiler, ccache and jobs).
kmake() {
	local src=$1 obj=$2 arg args=()
	shift 2
	for arg in "${KMAKE[@]}"; do
		case "$arg" in
		"$TREE") arg=$src ;;
		O=*) arg=O=$obj ;;
		esac
		args+=("$arg")
	done
	"${args[@]}" "$@"
}

# record NAME STATUS SECONDS [NOTE]: one line of the summary.
record() {
	res_name+=("$1")
	res_status+=("$2")
	res_time+=("$3")
	res_note+=("${4:-}")
	[ "$2" = ok ] || failed+=("$1")
}

# build_step PATCH: configure the test kernel at this step and build it
# in $CHECK_OBJ. Settings of the fragments that do not hold are only noted
# until the iommufd Kconfig is hooked in; from then on they fail the step.
build_step() {
	local name=$1 started status=ok note='' f frags=()
	started=$(date +%s)
	for f in "${FRAGMENTS[@]}"; do
		frags+=("$TOP/harness/config/$f.config")
	done
	if ! configure "$CHECK_TREE" "$CHECK_OBJ" "${frags[@]}"; then
		status="config failed"
	elif [ -n "$unmet" ] && grep -q 'iommufd/Kconfig' "$CHECK_TREE/drivers/iommu/Kconfig"; then
		echo "    config: these settings do not hold:"
		while read -r f; do echo "      $f"; done <<<"${unmet%$'\n'}"
		status="config failed"
	elif [ -n "$unmet" ]; then
		note="$(grep -c . <<<"$unmet") settings wait for the iommufd Kconfig"
		if [ "$unmet" != "${prev_unmet:-}" ]; then
			echo "    config: waiting for the iommufd Kconfig:"
			while read -r f; do echo "      $f"; done <<<"${unmet%$'\n'}"
		fi
	fi
	prev_unmet=$unmet
	if [ "$status" = ok ] &&
	   ! run_with_ticker "$LOG/${name%%-*}-build.log" kmake "$CHECK_TREE" "$CHECK_OBJ" vmlinux; then
		status="build failed"
	fi
	record "$name" "$status" $(($(date +%s) - started)) "$note"
	echo "    $status in $(minutes "${res_time[-1]}")"
}

# build_variant KERNEL NAME DIR TARGETS SETTING...: at the end of the
# series, build TARGETS (a list) for kernel KERNEL's architecture (see
# use_kernel), with the test kernel's fragments
# (x86) or the arm64 machine's without the debug options (arm64), and
# SETTINGs on top. Every SETTING must hold, and Kconfig may not warn of
# unmet dependencies (a select that ignores a "depends on").
build_variant() {
	local kernel=$1 name=$2 dir=$3 started status=ok obj frag f s log
	local targets frags=()
	read -r -a targets <<<"$4"
	shift 4
	started=$(date +%s)
	# One object directory an architecture, the x86 one the steps':
	# kbuild rebuilds only the objects that a changed setting reaches,
	# where a new directory for each variant compiled everything again
	# (ccache hashes autoconf.h, which every variant changes).
	obj=$CHECK_OBJ
	[ "$kernel" = x86 ] || obj=$CACHE/series-obj-$kernel
	log=$LOG/variant-$dir.log
	mkdir -p "$obj"
	frag=$obj/variant.config
	printf '%s\n' "$@" >"$frag"
	use_kernel "$kernel"
	if [ "$kernel" = x86 ]; then
		for f in "${FRAGMENTS[@]}"; do
			frags+=("$TOP/harness/config/$f.config")
		done
	else
		frags=("$TOP/harness/config/$kernel.config"
		       "$TOP/harness/config/iommufd.config")
	fi
	step "check-series: $name (${targets[*]}, $KARCH)"
	if configure "$CHECK_TREE" "$obj" "${frags[@]}" "$frag"; then
		# Only the variant's own settings must hold: the rest follows.
		for s in "$@"; do
			if grep -qxF "$s" <<<"$unmet"; then
				echo "    config: $s does not hold"
				status="config failed"
			fi
		done
		if grep -q 'unmet direct dependencies' "$obj/configure.log"; then
			grep -A4 'unmet direct dependencies' "$obj/configure.log" |
				sort -u | head -n 20 | sed 's/^/    | /'
			status="config failed"
		fi
	else
		status="config failed"
	fi
	if [ "$status" = ok ] && ! run_with_ticker "$log" kmake "$CHECK_TREE" "$obj" "${targets[@]}"; then
		status="build failed"
		grep -E 'ERROR: modpost|undefined reference|undefined!' "$log" |
			sort -u | head -n 40 | sed 's/^/    /'
	fi
	use_kernel x86
	record "$name" "$status" $(($(date +%s) - started))
	echo "    $status in $(minutes "${res_time[-1]}")"
}

# checkpatch_all: checkpatch --strict on every patch, silent or failed.
# "does MAINTAINERS need updating?" is asked of every patch that adds a
# file without touching MAINTAINERS, covered or not, so it is left out
# and coverage is checked instead: each file the series adds must fall in
# a MAINTAINERS entry other than THE REST.
checkpatch_all() {
	local p started out f sections bad=0
	started=$(date +%s)
	step "check-series: checkpatch --strict on ${#patches[@]} patches"
	for p in "${patches[@]}"; do
		out=$LOG/checkpatch-$(basename "$p" .patch).log
		(cd "$CHECK_TREE" && scripts/checkpatch.pl --strict --quiet --no-summary \
			--show-types --ignore FILE_PATH_CHANGES "$p") >"$out" 2>&1 || true
		if [ -s "$out" ]; then
			echo "    $(basename "$p"):"
			sed 's/^/    | /' "$out" | head -n 40
			record "checkpatch $(basename "$p")" "checkpatch failed" 0
			bad=$((bad + 1))
		fi
	done
	step "check-series: MAINTAINERS covers the files the series adds"
	while read -r f; do
		sections=$(cd "$CHECK_TREE" && scripts/get_maintainer.pl --no-git \
			--no-git-fallback --sections -f "$f" 2>/dev/null |
			grep -vE '^([A-Z]:|$)') || true
		if [ -z "$sections" ] || [ "$sections" = "THE REST" ]; then
			echo "    $f: in no MAINTAINERS entry"
			record "MAINTAINERS $f" "not covered" 0
			bad=$((bad + 1))
		fi
	done < <(git -C "$CHECK_TREE" diff --name-only --diff-filter=AR "$base" HEAD)
	# The failures are recorded above; this line only gives the time.
	res_name+=("checkpatch and MAINTAINERS (${#patches[@]} patches)")
	res_status+=("$([ "$bad" = 0 ] && echo ok || echo "$bad failed")")
	res_time+=($(($(date +%s) - started)))
	res_note+=("")
}

check_series() {
	local p n=0 name started total
	res_name=() res_status=() res_time=() res_note=() failed=() prev_unmet=
	mapfile -t patches < <(find "$SERIES_OUT" -name '[0-9]*.patch' ! -name '0000-*' 2>/dev/null | LC_ALL=C sort)
	[ ${#patches[@]} -gt 0 ] || die "no series in build/series/; run 'make series' first"
	cache_lock
	base=$(sed -n 's/^base-commit: //p' "$SERIES_OUT/0000-cover-letter.patch")
	[ "$(git -C "$TREE" rev-parse base 2>/dev/null)" = "$base" ] ||
		die "build/series/ was exported from another base than $TREE's; run 'make series' again"
	rm -rf "$LOG"
	mkdir -p "$LOG"
	started=$(date +%s)

	step "check-series: a pristine base in $CHECK_TREE, objects in $CHECK_OBJ"
	worktree "$CHECK_TREE"
	for p in "${patches[@]}"; do
		n=$((n + 1))
		name=$(basename "$p")
		step "check-series: [$n/${#patches[@]}] $name"
		if ! git_in "$CHECK_TREE" am -q --keep-cr "$p" >"$LOG/${name%%-*}-am.log" 2>&1; then
			sed 's/^/    /' "$LOG/${name%%-*}-am.log"
			git -C "$CHECK_TREE" am --abort >/dev/null 2>&1 || true
			record "$name" "does not apply" 0
			break
		fi
		build_step "$name"
	done

	if [ "$n" = ${#patches[@]} ] && [ "$(git -C "$CHECK_TREE" rev-list --count "$base..HEAD")" = "$n" ]; then
		checkpatch_all
		build_variant x86 "IOMMUFD=m with IOMMUFD_TEST" m-test "vmlinux modules" \
			CONFIG_MODULES=y CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_IOMMUFD=m \
			CONFIG_IOMMUFD_TEST=y
		build_variant x86 "IOMMUFD=m without IOMMUFD_TEST" m "vmlinux modules" \
			CONFIG_MODULES=y CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_IOMMUFD=m \
			"# CONFIG_IOMMUFD_TEST is not set"
		build_variant x86 "IOMMUFD=n" n vmlinux "# CONFIG_IOMMUFD is not set"
		# Every IOMMU driver the base has for x86 (the test kernel
		# has VT-d, AMD-Vi and virtio-iommu already).
		build_variant x86 "x86, every IOMMU driver" x86-all vmlinux \
			CONFIG_INTEL_IOMMU=y CONFIG_AMD_IOMMU=y CONFIG_VIRTIO_IOMMU=y \
			CONFIG_HYPERVISOR_GUEST=y CONFIG_HYPERV=y CONFIG_HYPERV_IOMMU=y
		# SHMEM can be turned off only with EXPERT, which the
		# test kernel's fragments leave off.
		build_variant x86 "SHMEM=n" no-shmem vmlinux CONFIG_EXPERT=y \
			"# CONFIG_SHMEM is not set" CONFIG_IOMMUFD=y
		# VFIO selects IOMMUFD_DRIVER (the dirty bitmap) without IOMMU
		# support too; IOMMUFD itself goes.
		build_variant x86 "IOMMU_SUPPORT=n" no-iommu vmlinux \
			"# CONFIG_IOMMU_SUPPORT is not set" CONFIG_VFIO=y
		build_variant arm64 "arm64, SMMUv3, SMMUv2, virtio-iommu, IOMMUFD=y" \
			arm64-y vmlinux \
			CONFIG_ARM_SMMU_V3=y CONFIG_ARM_SMMU=y CONFIG_VIRTIO_IOMMU=y \
			CONFIG_IOMMUFD=y CONFIG_VFIO_DEVICE_CDEV=y \
			CONFIG_DEBUG_KERNEL=y CONFIG_FAULT_INJECTION=y CONFIG_IOMMUFD_TEST=y
		build_variant arm64 "arm64, SMMUv3, SMMUv2, virtio-iommu, IOMMUFD=m" \
			arm64-m "vmlinux modules" \
			CONFIG_ARM_SMMU_V3=y CONFIG_ARM_SMMU=y CONFIG_VIRTIO_IOMMU=y \
			CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_VFIO=m CONFIG_VFIO_PCI=m
	fi

	total=$(($(date +%s) - started))
	step "check-series: summary (logs in ${LOG#"$TOP"/})"
	for ((n = 0; n < ${#res_name[@]}; n++)); do
		printf '    %-66s %-14s %8s  %s\n' "${res_name[n]}" "${res_status[n]}" \
			"$(minutes "${res_time[n]}")" "${res_note[n]}" | cut -c1-160 | sed 's/ *$//'
	done
	if [ ${#failed[@]} -gt 0 ]; then
		echo "    FAILED, in $(minutes "$total"):"
		printf '      %s\n' "${failed[@]}"
		exit 1
	fi
	echo "    every step of ${#patches[@]} patches builds, checkpatch is silent; $(minutes "$total")"
}

case "${1:-}" in
export) export_series ;;
check) check_series ;;
lint) parse_export; check_export ;;
*) die "usage: series.sh export|check|lint" ;;
esac
