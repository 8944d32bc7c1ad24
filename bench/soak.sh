#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/soak.sh MINUTES [BUILD_DIR]: a bounded soak, not part of CI.
# For MINUTES (1..1440) it runs, side by side on loopback:
#  - dmt_soak (build/bench): one long-lived process doing rounds of 8
#    connections at once, 8 MiB each, the engine changing every round
#    (copy, zerocopy, uring when built, auto); a receiver thread checks
#    every byte; its resident memory and open fds are sampled every 10 s
#    and must stay flat after the first round of each engine;
#  - devmemtcp client/server pairs, one after another, engines in turn,
#    64 MiB each, every byte checked by the server (-v 251), both exits 0.
# Prints the samples and a summary; exit 0 when every byte was right
# everywhere and memory and fds stayed flat, 1 otherwise, 2 on bad use.
set -u
min=${1:-}
build=${2:-build}
if ! [[ $min =~ ^[0-9]+$ ]] || (( min < 1 || min > 1440 )); then
	echo "usage: bench/soak.sh MINUTES [BUILD_DIR]   (MINUTES 1..1440)" >&2
	exit 2
fi
soak=$build/bench/dmt_soak
cli=$build/tools/devmemtcp/devmemtcp
for f in "$soak" "$cli"; do
	[[ -x $f ]] || { echo "soak.sh: $f not built (make -C $build)" >&2; exit 2; }
done
secs=$((min * 60))
tmp=$(mktemp -d /tmp/dmt-soak-XXXXXX)
spid=
cleanup() {
	[[ -n $spid ]] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$soak" "$secs" >"$tmp/soak.out" 2>&1 &
spid=$!

engines=(copy zerocopy auto)
# uring only when built: an engine that is not built is a usage error (2)
"$cli" client -s 127.0.0.1 -p 9 --size 1 --engine uring --timeout 1 \
	>/dev/null 2>&1
(( $? != 2 )) && engines+=(uring)
end=$((SECONDS + secs))
pairs=0 failed=0 bytes=0 port=5700
while (( SECONDS < end )); do
	e=${engines[pairs % ${#engines[@]}]}
	p=$((port + pairs % 50))
	"$cli" server -s 127.0.0.1 -p "$p" -v 251 --size 64M -i 0 --timeout 30 \
		>"$tmp/server.out" 2>&1 &
	sv=$!
	for _ in $(seq 100); do
		grep -q '^listen=' "$tmp/server.out" 2>/dev/null && break
		sleep 0.02
	done
	"$cli" client -s 127.0.0.1 -p "$p" -v 251 --size 64M --engine "$e" \
		-i 0 --timeout 30 >"$tmp/client.out" 2>&1
	rc=$?
	wait "$sv"
	rs=$?
	if (( rc != 0 || rs != 0 )) || ! grep -q 'verified$' "$tmp/server.out"; then
		failed=$((failed + 1))
		echo "pair $pairs (engine $e): client exit $rc, server exit $rs" >&2
		tail -n 3 "$tmp/client.out" "$tmp/server.out" >&2
	else
		bytes=$((bytes + (64 << 20)))
	fi
	pairs=$((pairs + 1))
done
wait "$spid"
src=$?
spid=
cat "$tmp/soak.out"
echo "cli pairs: $pairs (engines ${engines[*]}), $failed failed," \
	"$((bytes >> 20)) MiB verified by the server"
if (( src == 0 && failed == 0 && pairs > 0 )); then
	echo "soak.sh: PASS"
	exit 0
fi
echo "soak.sh: FAIL"
exit 1
