#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and run each
# for SECONDS (default 10) from its seed corpus in tests/fuzz/corpus/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    e.g. scripts/fuzz.sh 3600 journal
# New inputs go to build-fuzz/corpus/<target> (the committed seeds are only
# read); a crash leaves build-fuzz/artifacts/<target>/crash-* and fails the
# run. One line per target: executions, seconds, new inputs, crashes.
# Long runs: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
[ $# -gt 0 ] && shift
case "$secs" in
'' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
scripts/deps.sh --ci

dir=build-fuzz
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DDMT_FUZZ=ON \
	-DDMT_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for d in tests/fuzz/corpus/*/; do
		targets+=("$(basename "$d")")
	done
fi
make -C "$dir" -j"$(nproc)" --no-print-directory \
	"${targets[@]/#/fuzz_}" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for t in "${targets[@]}"; do
	bin="$dir/tests/fuzz/fuzz_$t"
	seeds="tests/fuzz/corpus/$t"
	work="$dir/corpus/$t"
	art="$dir/artifacts/$t"
	log="$dir/fuzz_$t.log"
	[ -x "$bin" ] && [ -d "$seeds" ] || { echo "fuzz: no target $t" >&2; exit 2; }
	mkdir -p "$work" "$art"
	before=$(find "$work" -type f | wc -l)
	rc=0
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$art/" \
		"$work" "$seeds" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	after=$(find "$work" -type f | wc -l)
	crashes=$(find "$art" -type f | wc -l)
	printf 'fuzz_%-14s %10s executions in %4ss, %4d new inputs, %d crash file(s)\n' \
		"$t" "${runs:-?}" "${took:-$secs}" "$((after - before))" "$crashes"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		fail=1
		echo "fuzz_$t FAILED (exit $rc): $log" >&2
		grep -E "ERROR:|runtime error:|invariant broken|SUMMARY" "$log" | head -5 >&2 || true
		echo "reproduce: $bin $art/crash-*" >&2
	fi
done
exit $fail
