#!/usr/bin/env bash
# Install the Debian 12 packages devmemtcp needs to build, test and demo.
# Idempotent: does nothing when everything is present. Run as root.
#   --package   also the Debian packaging tools (scripts/build-deb.sh)
set -euo pipefail

pkgs=(
	gcc g++ make cmake pkg-config binutils   # toolchain (g++: header C++ check)
	libmnl-dev                               # netlink (required)
	liburing-dev                             # io_uring engine (optional at build)
	libjansson-dev                           # the CLI's --json output (required)
	iproute2 procps                          # ip(8) for tests, sysctl
	socat netcat-openbsd iperf3              # foreign peers and baselines
	groff-base                               # man pages checked (man_check)
	ethtool                                  # rx_setup_rollback: veth channels
)
case "${1:-}" in
--package)
	pkgs+=(dpkg-dev debhelper fakeroot lintian) ;;
"") ;;
*)	echo "deps: unknown option '$1': use --package or nothing" >&2; exit 2 ;;
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
