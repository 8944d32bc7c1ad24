#!/usr/bin/env bash
# Quick start, command 2 of 2: build and run every test (tiers A, B, C;
# tier C skips without devmem hardware). --sanitize builds with ASan+UBSan
# in build-asan instead of build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
	dir=build-asan
	args=(-DCMAKE_BUILD_TYPE=Debug -DDMT_SANITIZE=ON)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
make -C "$dir" -j"$(nproc)" --no-print-directory >/dev/null
cd "$dir"
ctest --output-on-failure --timeout 300
