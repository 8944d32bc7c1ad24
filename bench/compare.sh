#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/compare.sh [BUILD_DIR]: devmemtcp's engines next to iperf3 and the
# bare syscall loops (build/bench/bench_bare), in one run, on loopback,
# with each target ratio and PASS/MISS. Bounded: about 7 minutes with the
# defaults on 2 CPUs. A miss is reported, never turned into a failure:
# exit 0, or 2 when the programs are not built.
#
# Two kinds of measurement:
#  - Engine against its bare loop (the 0.95 targets): `bench_bare pair`,
#    the engine and the loop taking turns in 0.25 s slices on two
#    connections to one receiver, so that load from elsewhere falls on
#    both alike; each run gives the median of its per-slice-pair ratios,
#    and the verdict is the median over DMT_CMP_PAIRS runs, each with new
#    connections. The control (the bare send loop against itself) shows
#    how far from 1.000 the method strays on this machine.
#  - Throughput in rounds: each round runs devmemtcp bench over engines x
#    message sizes, the bare loops, iperf3 and the many-flows case; the
#    best engine of a round is compared with iperf3's default of the same
#    round, and the reported ratio is the median over rounds.
#
# Environment: DMT_CMP_TIME (seconds per throughput run, default 2),
# DMT_CMP_REPS (rounds, default 5), DMT_CMP_PAIRS (pair runs per engine,
# default 7), DMT_CMP_PAIR_TIME (seconds per pair run, default 6),
# DMT_CMP_PORT (first port, default 5460), DMT_CMP_FLOWS (the many-flows
# case, default 64), DMT_CMP_BUF (sender buffer every contender cycles
# through, default 131072: in cache, like iperf3's 128 KiB buffer; a
# message larger than it gets a buffer of its own size), DMT_CMP_SIZES
# (message sizes of the engine sweep, default 64K,256K,1M).
set -u

BUILD=${1:-build}
CLI=$BUILD/tools/devmemtcp/devmemtcp
BARE=$BUILD/bench/bench_bare
T=${DMT_CMP_TIME:-2}
REPS=${DMT_CMP_REPS:-5}
PAIRS=${DMT_CMP_PAIRS:-7}
PT=${DMT_CMP_PAIR_TIME:-6}
PORT=${DMT_CMP_PORT:-5460}
FLOWS=${DMT_CMP_FLOWS:-64}
BUF=${DMT_CMP_BUF:-131072}
SIZES=${DMT_CMP_SIZES:-64K,256K,1M}
SIZE=65536	# the message size of the bare loops and the pair runs
TS=$(awk -v t="$T" 'BEGIN {printf "%d", t + 1}')	# whole seconds, for timeouts
IT=$(awk -v t="$T" 'BEGIN {t = int(t + 0.5); print t < 1 ? 1 : t}')	# iperf3 -t: whole seconds

for f in "$CLI" "$BARE"; do
	if [ ! -x "$f" ]; then
		echo "compare.sh: $f not found: build first (cmake -S . -B $BUILD && make -C $BUILD)" >&2
		exit 2
	fi
done
PIN=()
IPIN=()
if [ "$(nproc)" -ge 2 ]; then
	PIN=(--pin)
	IPIN=(-A 0,1)	# iperf3: client on CPU 0, server on CPU 1
fi

TMP=$(mktemp -d /tmp/dmt-compare.XXXXXX)
IPERF_PID=
cleanup() {
	if [ -n "$IPERF_PID" ]; then
		kill "$IPERF_PID" 2>/dev/null
		wait "$IPERF_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$ ]]; }
median() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "nan"; exit}
	if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
ratio() {
	if isnum "$1" && isnum "$2"; then
		awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a/b; else print "nan"}'
	else
		echo nan
	fi
}
# verdict VALUE OP TARGET: PASS or MISS (what was not measured is a MISS)
verdict() {
	isnum "$1" || { echo "MISS (not measured)"; return; }
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "PASS" : "MISS"}'
}
kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# rec NAME VALUE: append a figure (nan when not measured)
rec() { echo "$2" >>"$TMP/$1"; }
val() { [ -s "$TMP/$1" ] && tail -1 "$TMP/$1" || echo nan; }
med() { [ -s "$TMP/$1" ] && grep -v nan "$TMP/$1" | median || echo nan; }
runs() { [ -s "$TMP/$1" ] && tr '\n' ' ' <"$TMP/$1"; }
fmt() { isnum "$1" && printf '%.3f' "$1" || echo nan; }
show() { printf '%-34s %7s GB/s  (runs: %s)\n' "$1" "$(fmt "$(med "$2")")" "$(runs "$2")"; }

URING=0
"$CLI" bench --engines uring --sizes 4K --reps 1 --time 0.1 -q >/dev/null 2>&1 && URING=1
ENGINES=copy,zerocopy,auto
[ "$URING" = 1 ] && ENGINES=copy,zerocopy,uring,auto

echo "== devmemtcp compare: $(uname -r), $(nproc) CPUs, loopback, ${BUF}-byte sender" \
	"buffer, $REPS rounds of ${T}s runs, $PAIRS pair runs of ${PT}s," \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---- engine against its bare loop, in turns ----
declare -A PAIR=([copy]=send [zerocopy]=zc [uring]=uring [send]=send)
PAIR_ENGINES="send copy zerocopy"
[ "$URING" = 1 ] && PAIR_ENGINES="$PAIR_ENGINES uring"
echo "-- pair runs (64 KiB messages): engine and bare loop in turns"
for i in $(seq "$PAIRS"); do
	for e in $PAIR_ENGINES; do
		line=$(timeout $((PT + 60)) "$BARE" pair --engine "$e" --size "$SIZE" \
			--buf "$BUF" --time "$PT" "${PIN[@]}" --port "$((PORT + 50))" 2>&1)
		if [ $? -ne 0 ]; then
			echo "bench_bare pair $e: $line" >&2
			rec "pair_$e" nan
			continue
		fi
		rec "pair_$e" "$(echo "$line" | kv ratio)"
		rec "pair_tot_$e" "$(echo "$line" | kv ratio_total)"
		rec "pair_cpu_$e" "$(ratio "$(echo "$line" | kv engine_cpu_s_per_gb)" \
			"$(echo "$line" | kv bare_cpu_s_per_gb)")"
	done
done

# ---- throughput rounds ----
bare() { # MODE: one bare loop run -> GB/s
	local line
	line=$(timeout $((TS + 30)) "$BARE" "$1" --size "$SIZE" --buf "$BUF" \
		--time "$T" "${PIN[@]}" --port "$PORT" 2>&1) || {
		echo "bench_bare $1: $line" >&2; echo nan; return; }
	echo "$line" | kv gbps
}
# awk prologue: c[NAME] is the column of NAME in a bench CSV (the header
# names the units: bytes_per_second, *_cpu_ns_per_byte = CPU s per 1e9 bytes)
CSV_COLS='NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}'
# sweep: devmemtcp bench over ENGINES x SIZES, one run each; rows go to
# $TMP/sweep.csv (engine,engine_used,size,GB/s,snd,rcv,mach s/GB,plain_share)
sweep() {
	rm -f "$TMP/run.csv"
	if ! timeout $((TS * 20 + 120)) "$CLI" bench --engines "$ENGINES" \
		--sizes "$SIZES" --reps 1 --time "$T" --buffer-size "$BUF" "${PIN[@]}" \
		--port "$((PORT + 1))" --csv "$TMP/run.csv" -q >/dev/null 2>"$TMP/err"; then
		echo "devmemtcp bench sweep: $(tail -1 "$TMP/err")" >&2
	fi
	[ -s "$TMP/run.csv" ] && awk -F, "$CSV_COLS"'
		NR > 1 && $c["bytes_per_second"] != "" {
		print $c["engine"] "," $c["engine_used"] "," $c["message_bytes"] "," \
			$c["bytes_per_second"] / 1e9 "," $c["sender_cpu_ns_per_byte"] "," \
			$c["receiver_cpu_ns_per_byte"] "," $c["machine_cpu_ns_per_byte"] "," \
			$c["plain_send_share"]}' \
		"$TMP/run.csv" >"$TMP/sweep.csv" || : >"$TMP/sweep.csv"
	cat "$TMP/sweep.csv" >>"$TMP/sweep_all.csv"
}
many() { # auto with FLOWS flows at 64K -> GB/s (CSV row kept)
	if timeout $((TS + 90)) "$CLI" bench --engines auto --sizes 64K --reps 1 \
		--time "$T" --flows "$FLOWS" --buffer-size "$BUF" "${PIN[@]}" \
		--port "$((PORT + 1))" --csv "$TMP/many.csv" -q >/dev/null 2>"$TMP/err"; then
		tail -n +2 "$TMP/many.csv" >>"$TMP/csv_many"
		awk -F, "$CSV_COLS"'NR == 2 {print $c["bytes_per_second"] / 1e9}' \
			"$TMP/many.csv"
	else
		echo "devmemtcp bench auto --flows $FLOWS: $(tail -1 "$TMP/err")" >&2
		echo nan
	fi
}
iperf() { # default|zerocopy|LEN -> GB/s (end.sum_received.bits_per_second)
	local extra=()
	case $1 in
	default) ;;
	zerocopy) extra=(-Z) ;;
	*) extra=(-l "$1") ;;
	esac
	if [ -n "$IPERF_PID" ] && timeout $((TS + 15)) iperf3 -c 127.0.0.1 \
		-p "$IPORT" -t "$IT" "${IPIN[@]}" "${extra[@]}" -J >"$TMP/iperf.json" 2>/dev/null; then
		awk '/"sum_received"/ {s=1} s && /"bits_per_second"/ {
			gsub(/[",]/, ""); print $2 / 8e9; exit}' "$TMP/iperf.json"
	else
		echo nan
	fi
}

# iperf3 on a port of its own, started here and killed by PID
IPORT=$((PORT + 40))
if command -v iperf3 >/dev/null; then
	iperf3 -s -p "$IPORT" >/dev/null 2>&1 &
	IPERF_PID=$!
	sleep 0.5
else
	echo "iperf3 not installed: its ratios are not measured"
fi

: >"$TMP/sweep_all.csv"
for r in $(seq "$REPS"); do
	echo "-- round $r of $REPS"
	sweep
	while IFS=, read -r e used sz g _; do
		rec "eng_${e}_$sz" "$g"
	done <"$TMP/sweep.csv"
	rec many "$(many)"
	rec r_many "$(ratio "$(val many)" "$(val eng_auto_65536)")"
	for m in send zc uring uring8; do
		[ "$URING" = 0 ] && [ "${m#uring}" != "$m" ] && continue
		rec "bare_$m" "$(bare "$m")"
	done
	rec iperf_default "$(iperf default)"
	rec iperf_zerocopy "$(iperf zerocopy)"
	# the best cell of this round (engine, size) against iperf3's default
	# of this round, and iperf3 with the same write size as that cell
	best=$(sort -t, -k4 -g "$TMP/sweep.csv" | tail -1)
	bg=$(echo "$best" | cut -d, -f4)
	bsz=$(echo "$best" | cut -d, -f3)
	rec best "${bg:-nan}"
	rec best_cell "$(echo "$best" | cut -d, -f1-3)"
	rec r_iperf "$(ratio "${bg:-nan}" "$(val iperf_default)")"
	if [ -n "$bsz" ]; then
		rec iperf_same "$(iperf "$bsz")"
		rec r_iperf_same "$(ratio "$bg" "$(val iperf_same)")"
	fi
done
if [ -n "$IPERF_PID" ]; then
	kill "$IPERF_PID" 2>/dev/null
	wait "$IPERF_PID" 2>/dev/null
	IPERF_PID=
fi

echo
echo "== throughput, medians over rounds (GB/s = 1e9 bytes per second at the receiver)"
show "iperf3 default (128K writes)" iperf_default
show "iperf3 -Z (sendfile)" iperf_zerocopy
show "iperf3 -l <best cell's size>" iperf_same
show "bare send, 64K" bare_send
show "bare MSG_ZEROCOPY (reap /32), 64K" bare_zc
if [ "$URING" = 1 ]; then
	show "bare SEND_ZC, 1 in flight, 64K" bare_uring
	show "bare SEND_ZC, 8 in flight, 64K" bare_uring8
fi
for sz in $(tr ',' ' ' <<<"$SIZES"); do
	b=$(numfmt --from=iec "$sz" 2>/dev/null || echo "$sz")
	for e in $(tr ',' ' ' <<<"$ENGINES"); do
		lab="devmemtcp $e, $sz"
		if [ "$e" = auto ]; then
			used=$(awk -F, -v s="$b" '$1 == "auto" && $3 == s {u = $2;
				if ($8 > 0.5) u = u "+copy"} END {print u}' "$TMP/sweep_all.csv")
			lab="devmemtcp auto>${used:-?}, $sz"
		fi
		show "$lab" "eng_${e}_$b"
	done
done
show "devmemtcp auto, $FLOWS flows, 64K" many
echo "best cell per round: $(runs best_cell)"
echo "CPU seconds per GB (sender / receiver / machine), medians over rounds:"
for sz in $(tr ',' ' ' <<<"$SIZES"); do
	b=$(numfmt --from=iec "$sz" 2>/dev/null || echo "$sz")
	for e in $(tr ',' ' ' <<<"$ENGINES"); do
		awk -F, -v e="$e" -v s="$b" '$1 == e && $3 == s' "$TMP/sweep_all.csv" >"$TMP/cells"
		[ -s "$TMP/cells" ] || continue
		printf '  %-10s %5s  %s / %s / %s\n' "$e" "$sz" \
			"$(fmt "$(cut -d, -f5 "$TMP/cells" | median)")" \
			"$(fmt "$(cut -d, -f6 "$TMP/cells" | median)")" \
			"$(fmt "$(cut -d, -f7 "$TMP/cells" | median)")"
	done
done
echo
echo "== pair runs: engine / its bare loop, 64K, median of each run's slice-pair ratios"
for e in $PAIR_ENGINES; do
	lab="$e / bare ${PAIR[$e]}"
	[ "$e" = send ] && lab="control: bare send / bare send"
	printf '  %-32s runs: %s\n' "$lab" "$(runs "pair_$e")"
	printf '  %-32s whole-run ratios: %s; CPU s/GB engine/bare: %s\n' "" \
		"$(runs "pair_tot_$e")" "$(runs "pair_cpu_$e")"
done

MEM=nan
[ -s "$TMP/csv_many" ] && MEM=$(awk -F, '{print $19}' "$TMP/csv_many" | median)

# ---- per-send heap allocations of the library after warm-up ----
ALLOCS=$(timeout 120 "$BARE" allocs --size "$SIZE" --sends 20000 --port "$((PORT + 30))" 2>&1)
echo "$ALLOCS"
MAXALLOC=$(echo "$ALLOCS" | kv mallocs | sort -g | tail -1)
[ -n "$MAXALLOC" ] || MAXALLOC=nan

echo
echo "== targets"
pr() { # name value op target
	printf '%-52s %8s  (target %s %s)  %s\n' "$1" "$2" "$3" "$4" "$(verdict "$2" "$3" "$4")"; }
printf '%-52s %8s  (how far the method strays from 1 by itself)\n' \
	"control: bare send / bare send (pair runs)" "$(med pair_send)"
for e in $PAIR_ENGINES; do
	[ "$e" = send ] && continue
	pr "$e / bare ${PAIR[$e]} loop (pair runs)" "$(med "pair_$e")" ">=" 0.95
done
pr "best engine / iperf3 default (median over rounds)" "$(med r_iperf)" ">=" 1.5
printf '%-52s %8s  (reference: iperf3 -l with the best cell'"'"'s size)\n' \
	"best engine / iperf3 same write size" "$(med r_iperf_same)"
printf '%-52s %8s\n' "best engine / iperf3 -Z" "$(ratio "$(med best)" "$(med iperf_zerocopy)")"
pr "$FLOWS flows / 1 flow aggregate (auto, 64K)" "$(med r_many)" ">=" 0.9
pr "library heap per connection, KiB ($FLOWS flows)" \
	"$(isnum "$MEM" && awk -v m="$MEM" 'BEGIN {printf "%.1f", m/1024}' || echo nan)" "<=" 64
pr "heap allocations per send after warm-up (max)" "$MAXALLOC" "<=" 0
echo "On loopback every zero-copy completion is COPIED (local delivery copies): the zero-copy"
echo "figures measure the API path, not NIC zero-copy. See docs/performance.md."
exit 0
