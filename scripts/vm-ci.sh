#!/usr/bin/env bash
# CI step: tier V inside Debian's own kernels, bounded in time.
#  - 6.12 (bookworm-backports): the tier V tests (real udmabuf and DMA heap,
#    bind-rx with a real dma-buf, no bind-tx), then
#    `devmemtcp demo --buffer udmabuf --size 256M`;
#  - 6.1 (bookworm): the tier V tests (no netdev family: fallbacks, doctor's
#    verdicts) and doctor's report.
# Kernels and QEMU come from Debian's archive (scripts/vm-run.sh) and are
# cached in ~/.cache/devmemtcp-vm. VM_CI_BUDGET (seconds, default 480)
# bounds the guests' time (each boot gets what is left, 6.12 keeps 150 s for
# 6.1); setting the guests up (downloads, initramfs) adds to it, at most
# 120 s per kernel. Exits non-zero when a
# test fails, a kernel cannot be fetched or booted, or time runs out.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${VM_CI_BUDGET:-480}
t0=$(date +%s)

scripts/deps.sh || exit 1
if [ ! -f build/CMakeCache.txt ]; then
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
make -C build -j"$(nproc)" --no-print-directory >/dev/null || exit 1

fail=0
step() { # NAME KERNEL COMMAND RESERVE (seconds kept for later steps)
	local name=$1 kver=$2 cmd=$3 reserve=$4 left rc
	left=$((budget - ($(date +%s) - t0) - reserve))
	echo "== vm-ci: $name (Linux $kver, ${left} s left)"
	if [ "$left" -lt 60 ]; then
		echo "vm-ci: FAIL: the ${budget} s budget is used up before $name"
		fail=1
		return
	fi
	# vm-run bounds the guest; the outer limit also bounds its set-up
	timeout -k 10 "$((left + 120))" scripts/vm-run.sh --timeout "$left" "$kver" -- sh -c "$cmd"
	rc=$?
	case $rc in
	0) echo "vm-ci: $name: ok" ;;
	124) echo "vm-ci: FAIL: $name ran out of time (budget ${budget} s)"; fail=1 ;;
	125) echo "vm-ci: FAIL: $name: the $kver guest could not be fetched or booted (see vm-run's message above)"; fail=1 ;;
	*) echo "vm-ci: FAIL: $name: exit status $rc"; fail=1 ;;
	esac
}

step "tier V + udmabuf demo" 6.12 \
	'cd build && ctest --output-on-failure -L tierV &&
	 tools/devmemtcp/devmemtcp demo --buffer udmabuf --size 256M' 150
step "tier V + doctor" 6.1 \
	'cd build && ctest --output-on-failure -L tierV || exit 1
	 tools/devmemtcp/devmemtcp doctor eth0; [ $? -eq 1 ]' 0
echo "vm-ci: $([ $fail -eq 0 ] && echo PASS || echo FAIL) after $(($(date +%s) - t0)) s"
exit $fail
