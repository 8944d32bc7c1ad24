#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the Debian packages (libdevmemtcp0, libdevmemtcp-dev, devmemtcp)
# from a scratch copy of this tree, so nothing is written next to the
# checkout, and put the .deb files (and .buildinfo/.changes) into OUTDIR.
#
#   scripts/build-deb.sh [--deps] [--nocheck] [OUTDIR]   (default OUTDIR: ./deb)
#
#   --deps     install the packaging tools and the Build-Depends first
#              (apt, as root; what scripts/deps.sh --package does)
#   --nocheck  skip the tier A tests during the build
# Runs lintian on the result when it is installed; its errors fail the script.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
deps=0
nocheck=0
out=
for a in "$@"; do
	case $a in
	--deps) deps=1 ;;
	--nocheck) nocheck=1 ;;
	-h | --help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "build-deb: unknown option '$a': see 'scripts/build-deb.sh --help'" >&2; exit 2 ;;
	*) [ -z "$out" ] || { echo "build-deb: one OUTDIR only ('$out', '$a')" >&2; exit 2; }
	   out=$a ;;
	esac
done
out=${out:-$src/deb}
[ $deps -eq 1 ] && "$src/scripts/deps.sh" --package
for t in dpkg-buildpackage dh; do
	command -v "$t" >/dev/null || {
		echo "build-deb: '$t' missing: run 'scripts/deps.sh --package' as root (or pass --deps)" >&2
		exit 1
	}
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d /tmp/devmemtcp-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tracked and the untracked-but-not-ignored files: what a clone would
# hold, without build directories.
mkdir "$work/devmemtcp"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$work/devmemtcp" -xf -

opts=
[ $nocheck -eq 1 ] && opts=nocheck
(cd "$work/devmemtcp" && DEB_BUILD_OPTIONS="$opts ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -b -us -uc)

shopt -s nullglob
files=("$work"/*.deb "$work"/*.buildinfo "$work"/*.changes)
[ ${#files[@]} -gt 0 ] || { echo "build-deb: no packages were produced" >&2; exit 1; }
cp "${files[@]}" "$out/"
echo "build-deb: packages in $out:"
ls -1 "$out"/*.deb
if command -v lintian >/dev/null; then
	echo "build-deb: lintian"
	lintian --fail-on error "$out"/devmemtcp_*.changes
fi
