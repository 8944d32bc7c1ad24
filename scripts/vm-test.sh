#!/usr/bin/env bash
# Run the test suite (or part of it) inside Debian's 6.12 or 6.1 kernel:
#
#   scripts/vm-test.sh 6.12|6.1 [CTEST ARGS...]    e.g. scripts/vm-test.sh 6.12 -L tierV
#
# Builds build/ when needed (as scripts/test.sh does), boots the kernel with
# scripts/vm-run.sh and runs ctest there; ctest prints as it does on the host.
# With no CTEST ARGS every test runs except abi_check and install_check,
# which need the host's compiler and do not depend on the kernel.
# VM_TIMEOUT (seconds, default 1800) bounds the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 6.12|6.1 [CTEST ARGS...]" >&2; exit 2; }
kver=$1
shift
scripts/deps.sh
if [ ! -f build/CMakeCache.txt ]; then
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
make -C build -j"$(nproc)" --no-print-directory >/dev/null
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
	echo "vm-test: abi_check and install_check not run (they need the host's compiler)"
	args=(-E '^(abi_check|install_check)$')
fi
exec scripts/vm-run.sh --timeout "${VM_TIMEOUT:-1800}" "$kver" -- \
	sh -c 'cd "$1" && shift && exec ctest --output-on-failure "$@"' sh \
	"$PWD/build" "${args[@]}"
