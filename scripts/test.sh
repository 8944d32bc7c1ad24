#!/usr/bin/env bash
# Quick start, command 2 of 2: build and run every test (tiers A, B, C;
# tier C skips without devmem hardware). Warnings are errors here
# (-DDMT_WERROR=ON) whatever the compiler or build type.
#   scripts/test.sh              RelWithDebInfo with gcc, in build/
#   scripts/test.sh --sanitize   ASan+UBSan (Debug), in build-asan/
#   scripts/test.sh --release    Release (-O3, what packagers build), build-release/
#   scripts/test.sh --clang      clang instead of gcc, in build-clang/
#   scripts/test.sh --valgrind   the tier A tests under valgrind memcheck
#                                (build-vg/; any error or definite leak fails)
# Further arguments go to ctest (e.g. -L tierA, -R rx_).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=
case "${1:-}" in
--sanitize | --release | --clang | --valgrind) mode=$1; shift ;;
--*)
	echo "usage: scripts/test.sh [--sanitize|--release|--clang|--valgrind] [ctest args]" >&2
	exit 2
	;;
esac

dir=build
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DDMT_WERROR=ON)
ctest_args=(--output-on-failure --timeout 300)
deps=()
case "$mode" in
--sanitize)
	dir=build-asan
	args=(-DCMAKE_BUILD_TYPE=Debug -DDMT_SANITIZE=ON -DDMT_WERROR=ON)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	;;
--release)
	dir=build-release
	args=(-DCMAKE_BUILD_TYPE=Release -DDMT_WERROR=ON)
	;;
--clang)
	dir=build-clang
	export CC=clang
	deps=(--ci)
	;;
--valgrind)
	dir=build-vg
	args+=("-DMEMORYCHECK_COMMAND_OPTIONS=--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite")
	ctest_args=(--output-on-failure --timeout 600 -T memcheck -L tierA)
	deps=(--ci)
	;;
esac
scripts/deps.sh "${deps[@]}"
cmake -S . -B "$dir" "${args[@]}" >/dev/null
make -C "$dir" -j"$(nproc)" --no-print-directory >/dev/null
cd "$dir"
ctest "${ctest_args[@]}" "$@"
