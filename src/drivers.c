// SPDX-License-Identifier: MIT
/* The NIC drivers known to support devmem TCP (drivers.h). */
#include <stdio.h>

#include "drivers.h"

/* docs/kernel-api.md §3.3 (netmem TX) and §4.1 (devmem RX), as of
 * 2025-2026. gve: the DQO queue format only (not QPL). */
static const struct dmt_nic_driver drivers[] = {
	{ "mlx5_core", "mlx5", true, true, true },
	{ "bnxt_en", "bnxt_en", true, true, false },
	{ "gve", "gve (DQO)", true, true, false },
	{ "fbnic", "fbnic", true, true, false },
};

const struct dmt_nic_driver *dmt_nic_driver_find(const char *drv)
{
	for (size_t i = 0; drv && i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(drv, drivers[i].name))
			return &drivers[i];
	return NULL;
}

const char *dmt_nic_driver_list(bool want_rx, bool want_tx, char *buf,
				size_t len)
{
	size_t o = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(drivers) && o < len; i++) {
		if ((want_rx && !drivers[i].rx) || (want_tx && !drivers[i].tx))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
				      drivers[i].label);
	}
	return buf;
}
