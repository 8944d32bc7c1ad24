#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerate the alias man pages from the page that documents them.
#
# A function documented on another function's page (dmt_tx_wait_region on
# dmt_tx_send(3)) has its own file so that `man dmt_tx_wait_region` works.
# That file is a full copy of the documenting page behind one marker line,
#   .\" devmemtcp-man-alias: dmt_tx_send.3
# rather than a `.so man3/dmt_tx_send.3` request, which man-db resolves
# against the current directory and so fails for `man -l man/PAGE` in the tree.
# Edit the documenting page, then run this script (tests/man_check fails
# while a copy differs from its source). A `.so man3/X.3` page, as one may
# still write for a new function, is converted too.
set -euo pipefail
cd "$(dirname "$0")/../man"
marker='.\" devmemtcp-man-alias: '
n=0
for f in *.3; do
	first=$(head -n 1 "$f")
	case "$first" in
	"$marker"*) src=${first#"$marker"} ;;
	".so man3/"*) src=${first#.so man3/} ;;
	*) continue ;;
	esac
	if [ ! -f "$src" ] || head -n 1 "$src" | grep -q -e '^\.so ' -e "^${marker//\\/\\\\}"; then
		echo "man-aliases: $f points at '$src', which is not a documenting page in man/" >&2
		exit 1
	fi
	{ printf '%s%s\n' "$marker" "$src"; cat "$src"; } > "$f.tmp"
	if cmp -s "$f.tmp" "$f"; then rm -f "$f.tmp"; else mv "$f.tmp" "$f"; n=$((n + 1)); fi
done
echo "man-aliases: $n page(s) rewritten"
