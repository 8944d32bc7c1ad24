# SPDX-License-Identifier: MIT
"""One rank of the all_reduce check run by gpu-allreduce.sh.

Every rank fills its tensor with rank + 1, all_reduce(SUM) must give
n(n+1)/2 in every element. Prints one line per size on rank 0:
  size_bytes busbw_GBps
and exits non-zero on a wrong result.
"""
import os
import sys
import time

import torch
import torch.distributed as dist


def main():
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    iters = int(os.environ.get("ITERS", "20"))
    torch.cuda.set_device(int(os.environ.get("GPU", "0")))
    dist.init_process_group("nccl")
    want = world * (world + 1) / 2
    for mib in (1, 8, 64, 256):
        n = mib * 1024 * 1024 // 4
        t = torch.full((n,), float(rank + 1), device="cuda", dtype=torch.float32)
        dist.all_reduce(t)  # warm-up, checked too
        torch.cuda.synchronize()
        if not torch.all(t == want):
            bad = (t != want).nonzero()[0].item()
            print(f"rank {rank}: {mib} MiB: element {bad} is {t[bad].item()}, "
                  f"expected {want}", file=sys.stderr)
            return 1
        dist.barrier()
        start = time.perf_counter()
        for _ in range(iters):
            t.fill_(float(rank + 1))
            dist.all_reduce(t)
        torch.cuda.synchronize()
        secs = (time.perf_counter() - start) / iters
        if not torch.all(t == want):
            print(f"rank {rank}: {mib} MiB: wrong result after timing",
                  file=sys.stderr)
            return 1
        # bus bandwidth of a ring all-reduce: 2(n-1)/n of the data per rank
        busbw = n * 4 * 2 * (world - 1) / world / secs / 1e9
        if rank == 0:
            print(f"{n * 4} {busbw:.3f}", flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
