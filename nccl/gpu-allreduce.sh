#!/bin/sh
# SPDX-License-Identifier: MIT
# PyTorch all_reduce between two processes on one GPU through NCCL's network
# path: each rank its own NCCL_HOSTID (so NCCL sees two hosts), P2P and SHM
# off, over loopback. Run once with NCCL_NET_PLUGIN=devmemtcp and once with
# NCCL's built-in Socket transport; results are checked and the bus
# bandwidths printed side by side (busbw of a ring all-reduce, 20 timed
# iterations per size after a checked warm-up). Exit 0 pass, 1 fail, 77
# skip (no plugin build, no GPU, no PyTorch with CUDA), with the reason.
#   nccl/gpu-allreduce.sh [BUILD_DIR]      (default: ./build)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
plugin_dir=$(cd "$build/nccl" 2>/dev/null && pwd) || {
	echo "SKIP: no plugin build in $build/nccl (build first: cmake -S . -B build && make -C build)"
	exit 77
}
[ -e "$plugin_dir/libnccl-net-devmemtcp.so" ] || {
	echo "SKIP: $plugin_dir/libnccl-net-devmemtcp.so missing: build it first"
	exit 77
}
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
	echo "SKIP: no NVIDIA GPU (nvidia-smi missing or nvidia-smi -L failed)"
	exit 77
fi
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null || {
	echo "SKIP: python3 with a CUDA-enabled PyTorch is not installed"
	exit 77
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

# run NAME: two ranks with the NCCL network settings in the environment
run() {
	name=$1
	port=$((29500 + $$ % 1000))
	[ "$name" = socket ] && port=$((port + 1))
	pids=""
	for r in 0 1; do
		env MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=$r WORLD_SIZE=2 \
			NCCL_HOSTID="dmt-host-$r" NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 \
			NCCL_SOCKET_IFNAME=lo NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET \
			LD_LIBRARY_PATH="$plugin_dir:${LD_LIBRARY_PATH:-}" \
			"$@" timeout 300 python3 "$here/allreduce.py" \
			>"$out/$name.$r.out" 2>"$out/$name.$r.log" &
		pids="$pids $!"
	done
	rc=0
	for p in $pids; do wait "$p" || rc=1; done
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name run:"
		tail -n 20 "$out/$name.0.log" "$out/$name.1.log"
		return 1
	fi
	return 0
}

# used NAME NET: NCCL's log of rank 0 says it took network NET
used() {
	grep -q "Using network $2" "$out/$1.0.log" || {
		echo "FAIL: the $1 run did not use network $2:"
		grep -i "plugin\|Using network\|NET/" "$out/$1.0.log" | head -n 20
		exit 1
	}
}

run devmemtcp NCCL_NET_PLUGIN=devmemtcp NCCL_NET=devmemtcp || exit 1
used devmemtcp devmemtcp
grep -q "NET/devmemtcp: .* comm .* engine" "$out/devmemtcp.0.log" || {
	echo "FAIL: no comm of the devmemtcp run logged its engine"
	exit 1
}
run socket NCCL_NET_PLUGIN=none NCCL_NET=Socket || exit 1
used socket Socket

grep -m1 -o "NCCL version [^ ]*" "$out/devmemtcp.0.log" | sed 's/^/  /'
echo "plugin lines (rank 0):"
grep "NET/devmemtcp" "$out/devmemtcp.0.log" | sed 's/^.*NET\/devmemtcp/  NET\/devmemtcp/' |
	head -n 12
printf '%-12s %-18s %-18s\n' size devmemtcp_GB/s socket_GB/s
paste "$out/devmemtcp.0.out" "$out/socket.0.out" |
	awk '{ printf "%-12s %-18s %-18s\n", $1, $2, $4 }'
echo "PASS: all_reduce results correct through the plugin and through Socket"
