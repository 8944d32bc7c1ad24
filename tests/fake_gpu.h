/* SPDX-License-Identifier: MIT */
/* Counters of the fake GPU runtimes (fake_cuda.c, fake_hsa.c), read by the
 * tests through fake_cuda_get_stats() / fake_hsa_get_stats() (dlsym). */
#ifndef DMT_FAKE_GPU_H
#define DMT_FAKE_GPU_H

struct fake_cuda_stats {
	int live_allocs;
	int ctx_refs;
	int registered;
	int exports;
	unsigned long long last_export_flags;
	int export_calls;
	long long htod_bytes;
	long long dtoh_bytes;
};

struct fake_hsa_stats {
	int refs;
	int live_allocs;
	int locked;
	int open_exports;
};

#endif
