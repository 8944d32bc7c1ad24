// SPDX-License-Identifier: MIT
/*
 * tier C: devmem TX on real hardware, the TX cases of the kernel's
 * devmem.py through the same code as `devmemtcp selftest`
 * (tools/common/hwcheck.c): check_tx (the peer's received bytes are
 * compared with what was sent) and check_tx_chunks (3-byte iovecs, as
 * ncdevmem -z 3), each with zero-copy completions that must not be
 * COPIED. Configuration: tests/README.md.
 */
#include "hw_env.h"

int main(void)
{
	static const enum hw_check c[] = { HW_TX, HW_TX_CHUNKS };
	struct hw_cfg cfg;
	int ret;

	hw_env(&cfg, 0, 0);	/* udmabuf, else a DMA heap */
	ret = hw_run_list(&cfg, c, ARRAY_SIZE(c), "tx_devmem_hw");
	printf("tx_devmem_hw: %s\n", ret ? "FAILED" : "ok");
	return ret;
}
