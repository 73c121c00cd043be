# SPDX-License-Identifier: GPL-2.0
# make coverage's summary, from lcov's tracefile of the files measured:
#   awk -v tree=TREE/ -v changed=FILE -v reasons=FILE -v uncovered=FILE \
#       -f report.awk series.info
# tree     the source tree's path with a trailing slash, cut off the names;
# changed  "FILE" for each base file the patches change and "FILE LINE"
#          for each line they change: only those lines of a base file count;
# reasons  why a line is not covered (see the file itself);
# uncovered receives every uncovered line that counts, with its reason.
#
# Test code (selftest.c, *_kunit.c, the test mdev) is shown but counts in
# no goal: its coverage says nothing of the code under test.

function is_test(f) {
	return f ~ /(^|\/)selftest\.c$|_kunit\.c$|\/iommufd_test_mdev\.c$/
}

function is_base(f) {
	return f in base_file
}

# The function that line l of file f is in: the last one that starts at or
# before it.
function function_at(f, l,    i, best, best_line) {
	best = "(outside any function)"
	best_line = 0
	for (i = 1; i <= nfn[f]; i++)
		if (fn_line[f, i] <= l && fn_line[f, i] > best_line) {
			best_line = fn_line[f, i]
			best = fn_name[f, i]
		}
	return best
}

# Whether function number i of file f holds a changed line: from its first
# line up to the next function's.
function fn_changed(f, i,    j, start, end, n, ls) {
	start = fn_line[f, i]
	end = 1e9
	for (j = 1; j <= nfn[f]; j++)
		if (fn_line[f, j] > start && fn_line[f, j] < end)
			end = fn_line[f, j]
	n = split(changed_lines[f], ls, " ")
	for (j = 1; j <= n; j++)
		if (ls[j] >= start && ls[j] < end)
			return 1
	return 0
}

function source_line(f, l,    text, n) {
	if (!((f, "read") in src)) {
		src[f, "read"] = 1
		n = 0
		while ((getline text < (tree f)) > 0)
			src[f, ++n] = text
		close(tree f)
	}
	text = src[f, l]
	gsub(/^[ \t]+/, "", text)
	return text
}

# A reason applies to an uncovered line of its file in its function,
# and if it gives a text, only to lines that contain it; the first that
# applies is given, and every one that applies is in use.
function reason_for(f, fn, text,    i, why) {
	why = ""
	for (i = 1; i <= nreasons; i++)
		if (reason_file[i] == f && (reason_fn[i] == fn || reason_fn[i] == "*") &&
		    (reason_text[i] == "" || index(text, reason_text[i]))) {
			reason_used[i] = 1
			if (why == "")
				why = reason_why[i]
		}
	return why
}

function pct(hit, found) {
	return found ? sprintf("%5.1f%%", 100 * hit / found) : "    -"
}

BEGIN {
	while ((getline line < changed) > 0) {
		n = split(line, a, " ")
		base_file[a[1]] = 1
		if (n < 2)
			continue
		is_changed[a[1], a[2]] = 1
		changed_lines[a[1]] = changed_lines[a[1]] " " a[2]
	}
	# reasons: FILE FUNCTION [| TEXT |] REASON, '#' comments.
	while ((getline line < reasons) > 0) {
		if (line ~ /^[ \t]*(#|$)/)
			continue
		n = split(line, a, /[ \t]+/)
		nreasons++
		reason_file[nreasons] = a[1]
		reason_fn[nreasons] = a[2]
		rest = line
		sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", rest)
		reason_text[nreasons] = ""
		if (rest ~ /^\|/) {
			rest = substr(rest, 2)
			reason_text[nreasons] = substr(rest, 1, index(rest, "|") - 1)
			gsub(/^ +| +$/, "", reason_text[nreasons])
			rest = substr(rest, index(rest, "|") + 1)
			sub(/^[ \t]+/, "", rest)
		}
		reason_why[nreasons] = rest
	}
}

# A file has a record for each machine (its test name): the counts add up.
/^SF:/ {
	file = substr($0, 4)
	if (index(file, tree) == 1)
		file = substr(file, length(tree) + 1)
	if (!(file in seen))
		files[++nfiles] = file
	seen[file] = 1
	next
}
/^FN:/ {
	split(substr($0, 4), a, ",")
	if ((file, a[2]) in fn_count)
		next
	fn_count[file, a[2]] = 0
	nfn[file]++
	fn_line[file, nfn[file]] = a[1] + 0
	fn_name[file, nfn[file]] = a[2]
	next
}
/^FNDA:/ {
	split(substr($0, 6), a, ",")
	fn_count[file, a[2]] += a[1]
	next
}
/^DA:/ {
	split(substr($0, 4), a, ",")
	if (!((file, a[1] + 0) in da))
		lines[file] = lines[file] " " (a[1] + 0)
	da[file, a[1] + 0] += a[2]
	next
}

END {
	printf "%-44s %17s %17s\n", "file (the whole file)", "lines", "functions"
	for (i = 1; i <= nfiles; i++) {
		f = files[i]
		lf = lh = ff = fh = 0
		n = split(lines[f], ls, " ")
		for (j = 1; j <= n; j++) {
			lf++
			if (da[f, ls[j]] > 0)
				lh++
		}
		for (j = 1; j <= nfn[f]; j++) {
			ff++
			if (fn_count[f, fn_name[f, j]] > 0)
				fh++
		}
		printf "%-44s %5d/%5d %s %4d/%4d %s%s\n", f, lh, lf, pct(lh, lf),
		       fh, ff, pct(fh, ff), is_test(f) ? "  (test code)" : ""
		if (f ~ /^drivers\/iommu\/iommufd\// && !is_test(f)) {
			iommufd_found += lf
			iommufd_hit += lh
		}
	}

	# What counts: the whole of the series' own files, the changed lines
	# of base files; test code aside.
	for (i = 1; i <= nfiles; i++) {
		f = files[i]
		if (is_test(f))
			continue
		n = split(lines[f], ls, " ")
		for (j = 1; j <= n; j++) {
			l = ls[j]
			if (is_base(f) && !((f, l) in is_changed))
				continue
			if (is_base(f)) {
				changed_found[f]++
				if (da[f, l] > 0)
					changed_hit[f]++
			}
			if (da[f, l] > 0)
				continue
			fn = function_at(f, l)
			text = source_line(f, l)
			why = reason_for(f, fn, text)
			printf "%s:%d %s: %s\n    %s\n", f, l, fn, text,
			       (why != "") ? "reason: " why : "NO REASON" > uncovered
			n_uncovered++
			if (why == "") {
				n_unexplained++
				if (n_unexplained <= 40)
					unexplained_list = unexplained_list sprintf("    %s:%d %s: %s\n", f, l, fn, text)
			}
			# An unwind of a pin or a charge: it gives back what
			# an earlier step took.
			if (text ~ /unpin|uncharge|release_pfns|__account_locked_vm\(.*false|atomic(64|_long)_sub\(/) {
				n_unwind++
				unwind_list = unwind_list sprintf("    %s:%d %s: %s\n", f, l, fn, text)
			}
		}
	}

	printf "\nlines the patches change in base files (the rest of those files is not ours)\n"
	for (f in changed_found) {
		printf "  %-42s %5d/%5d %s\n", f, changed_hit[f], changed_found[f],
		       pct(changed_hit[f], changed_found[f])
		all_changed_found += changed_found[f]
		all_changed_hit += changed_hit[f]
	}
	printf "  %-42s %5d/%5d %s\n", "all of them", all_changed_hit,
	       all_changed_found, pct(all_changed_hit, all_changed_found)

	printf "\nfunctions no test enters (test code aside):\n"
	for (i = 1; i <= nfiles; i++) {
		f = files[i]
		if (is_test(f))
			continue
		for (j = 1; j <= nfn[f]; j++) {
			if (fn_count[f, fn_name[f, j]] > 0)
				continue
			if (is_base(f) && !fn_changed(f, j))
				continue
			printf "    %s:%d %s\n", f, fn_line[f, j], fn_name[f, j]
			n_unentered++
		}
	}
	if (!n_unentered)
		print "    none"

	for (i = 1; i <= nreasons; i++)
		if (!reason_used[i] && ++n_stale)
			stale = stale sprintf("    %s %s %s\n", reason_file[i], reason_fn[i],
					      reason_text[i] != "" ? "|" reason_text[i] "|" : "")

	printf "\n%d lines that count are not covered (all of them, with reasons: %s)\n",
	       n_uncovered, uncovered
	if (n_unexplained)
		printf "%d of them have no reason%s:\n%s", n_unexplained,
		       (n_unexplained > 40) ? ", the first 40" : "", unexplained_list
	if (stale != "")
		printf "reasons that match no uncovered line (remove them):\n%s", stale

	printf "\ngoals:\n"
	ok = iommufd_found && iommufd_hit * 100 >= 95 * iommufd_found
	printf "  [%s] drivers/iommu/iommufd/ (test code aside): %d/%d lines, %s, at least 95%%\n",
	       ok ? "met" : "NOT MET", iommufd_hit, iommufd_found, pct(iommufd_hit, iommufd_found)
	printf "  [%s] every uncovered line has a reason: %d without, %d stale reasons\n",
	       (n_unexplained || n_stale) ? "NOT MET" : "met", n_unexplained, n_stale
	printf "  [%s] every unwind of a pin or a charge runs: %d do not%s\n",
	       n_unwind ? "NOT MET" : "met", n_unwind, n_unwind ? ":" : ""
	printf "%s", unwind_list
}
