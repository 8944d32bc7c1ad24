/* SPDX-License-Identifier: MIT */
/*
 * Tier C: the devmem hardware checks of `devmemtcp selftest`
 * (tools/common/hwcheck.c) run from the tests, configured by environment
 * (tests/README.md): DMT_TEST_IFNAME, DMT_TEST_PEER, DMT_TEST_ADDR,
 * DMT_TEST_SSH (USER@HOST; without it the peer runs an echo service on
 * DMT_TEST_PEER_PORT, default 5201), DMT_TEST_TIMEOUT (seconds, 30).
 */
#ifndef DMT_TEST_HW_ENV_H
#define DMT_TEST_HW_ENV_H

#include <stdlib.h>

#include "drivers.h"
#include "helpers.h"
#include "hwcheck.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Fill cfg from the environment; skips (77) when not configured. */
static inline void hw_env(struct hw_cfg *cfg, int kind,
			  int device)
{
	const char *t = getenv("DMT_TEST_TIMEOUT"), *p = getenv("DMT_TEST_PEER_PORT");
	char nics[DMT_NIC_DRIVER_LIST_LEN];

	memset(cfg, 0, sizeof(*cfg));
	cfg->ifname = getenv("DMT_TEST_IFNAME");
	cfg->peer = getenv("DMT_TEST_PEER");
	cfg->addr = getenv("DMT_TEST_ADDR");
	cfg->ssh = getenv("DMT_TEST_SSH");
	T_SKIP_IF(!cfg->ifname || !cfg->peer, "devmem hardware test: set "
		  "DMT_TEST_IFNAME (a devmem NIC: %s), DMT_TEST_PEER and "
		  "DMT_TEST_SSH or an echo service on the peer (see "
		  "tests/README.md)", dmt_nic_driver_list(false, false, nics,
							   sizeof(nics)));
	cfg->echo_port = p ? atoi(p) : 5201;
	cfg->timeout_s = t ? atoi(t) : 30;
	cfg->kind = (enum dmt_buf_kind)kind;	/* 0: udmabuf, else a DMA heap */
	cfg->device = device;
}

/* Run checks in order; print a line each; fail the test on any that did
 * not pass. */
static inline int hw_run_list(const struct hw_cfg *cfg, const enum hw_check *c,
			      unsigned int n, const char *label)
{
	int bad = 0;

	t_require_root();
	for (unsigned int i = 0; i < n; i++) {
		struct hw_row r;

		hw_run(cfg, c[i], &r);
		printf("%s %-18s %-8s %6.1fs  %s\n", label, hw_check_name(c[i]),
		       hw_result_name(r.res), r.secs, r.reason);
		bad |= r.res != HW_PASS;
	}
	return bad ? T_FAIL : T_PASS;
}

#endif
