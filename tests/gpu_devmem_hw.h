/* SPDX-License-Identifier: MIT */
/*
 * Tier C: a GPU dma-buf bound for devmem RX and for devmem TX on real
 * hardware (devmem.py's checks with GPU memory): the rx, rx-hds, tx and
 * tx-chunks checks of `devmemtcp selftest` with --buffer cuda / rocm.
 * Skips without the GPU runtime, a GPU, or the tier C configuration.
 * DMT_TEST_GPU_DEVICE picks the GPU (default 0).
 */
#ifndef DMT_TEST_GPU_DEVMEM_HW_H
#define DMT_TEST_GPU_DEVMEM_HW_H

#include <dlfcn.h>

#include "hw_env.h"

static inline int gpu_devmem(enum dmt_buf_kind kind, const char *lib,
			     const char *envvar)
{
	static const enum hw_check c[] = { HW_RX, HW_RX_HDS, HW_TX,
					   HW_TX_CHUNKS };
	const char *d = getenv("DMT_TEST_GPU_DEVICE");
	struct hw_cfg cfg;
	struct dmt_error e;
	struct dmt_buf *b;
	char label[32];
	int ret;

	hw_env(&cfg, kind, d ? atoi(d) : 0);
	unsetenv(envvar);	/* the real runtime, never a fake one */
	T_SKIP_IF(!dlopen(lib, RTLD_NOW | RTLD_LOCAL), "%s not found: no %s "
		  "runtime on this host", lib, dmt_buf_kind_name(kind));
	{
		DMT_OPTS(dmt_buf_opts, o, .device = cfg.device);

		b = dmt_buf_new(kind, 1 << 20, &o, &e);
	}
	T_SKIP_IF(!b && (e.err == -ENODEV || e.err == -DMT_ERR_NO_EXPORTER),
		  "%s", e.message);
	T_CHECK(b, "%s: %s", dmt_buf_kind_name(kind), e.message);
	dmt_buf_free(b);
	snprintf(label, sizeof(label), "%s devmem", dmt_buf_kind_name(kind));
	ret = hw_run_list(&cfg, c, ARRAY_SIZE(c), label);
	printf("%s: %s\n", label, ret ? "FAILED" : "ok");
	return ret;
}

#endif
