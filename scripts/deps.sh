#!/usr/bin/env bash
# Install the Debian 12 packages devmemtcp needs to build, test and demo.
# Idempotent: does nothing when everything is present. Run as root.
#   scripts/deps.sh        what the build, the tests and the demo use
#   scripts/deps.sh --ci   also what .ci/run's matrix uses: clang with its
#                          sanitizer and libFuzzer runtimes (clang build,
#                          fuzz targets) and valgrind (memcheck pass)
# Every program a test, script or benchmark runs is in these lists; the
# tests use the library's own ethtool netlink code, never ethtool(8).
#   scripts/deps.sh --package   also the Debian packaging tools
#                          (scripts/build-deb.sh)
set -euo pipefail

pkgs=(
	gcc g++ make cmake pkg-config binutils   # toolchain (g++: header C++ check; nm)
	libmnl-dev                               # netlink (required)
	liburing-dev                             # io_uring engine (optional at build)
	libjansson-dev                           # the CLI's --json output (required)
	iproute2 procps                          # ip(8) for tests, sysctl
	socat netcat-openbsd iperf3              # foreign peers and baselines
	python3                                  # cli_foreign_iperf's peer (tests/foreign_peer.py)
	openssh-client                           # selftest --ssh: the peer's side
	groff-base                               # man pages checked (man_check)
)
case "${1:-}" in
"") ;;
--ci)
	pkgs+=(
		clang libclang-rt-14-dev         # clang build; -fsanitize=fuzzer,address
		valgrind                         # memcheck over the tier A tests
	)
	;;
--package)
	pkgs+=(dpkg-dev debhelper fakeroot lintian) ;;
*)
	echo "usage: scripts/deps.sh [--ci|--package]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
