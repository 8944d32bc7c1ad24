// SPDX-License-Identifier: MIT
/*
 * tier C: devmem RX on real hardware, the RX cases of the kernel's
 * devmem.py / ncdevmem, through the same code as `devmemtcp selftest`
 * (tools/common/hwcheck.c): bind-rx with an empty queue list and with
 * header split off (auto) are refused, bind-rx with header split on works,
 * shrinking the channels below a bound queue is refused, 1 MiB of the
 * -v 7 pattern arrives through devmem and validates, and 21 message sizes
 * from 1 to 8192 bytes arrive with no linear data. Each case uses a fresh
 * port, a timeout on every wait, and restores the NIC (disruptive while it
 * runs; after a crash: devmemtcp setup --restore IFNAME). Configuration:
 * tests/README.md.
 */
#include "hw_env.h"

int main(void)
{
	static const enum hw_check c[] = { HW_BIND_EMPTY, HW_BIND_HDS_OFF,
					   HW_BIND, HW_CHANNEL_SHRINK, HW_RX,
					   HW_RX_HDS };
	struct hw_cfg cfg;
	int ret;

	hw_env(&cfg, 0, 0);	/* udmabuf, else a DMA heap */
	ret = hw_run_list(&cfg, c, ARRAY_SIZE(c), "rx_devmem_hw");
	printf("rx_devmem_hw: %s\n", ret ? "FAILED" : "ok");
	return ret;
}
