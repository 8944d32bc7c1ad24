/* SPDX-License-Identifier: MIT */
/*
 * The NIC drivers known to support devmem TCP: the library's one list
 * (drivers.c). Messages, doctor and the NIC setup read it; nothing else
 * keeps a copy. Only for advice: whether devmem works is always the
 * kernel's answer, never this table's.
 */
#ifndef DMT_DRIVERS_H
#define DMT_DRIVERS_H

#include "internal.h"

struct dmt_nic_driver {
	const char *name;	/* ethtool drvinfo name, e.g. "mlx5_core" */
	const char *label;	/* as messages name it, e.g. "mlx5", "gve (DQO)" */
	bool rx;		/* devmem RX: queue management API */
	bool tx;		/* devmem TX: netmem TX */
	bool hds_needs_gro;	/* accepts header split only with rx-gro-hw on */
};

/* The entry for an ethtool driver name, NULL when not in the list. */
const struct dmt_nic_driver *dmt_nic_driver_find(const char *drv);
/* The labels of the drivers with devmem RX (want_rx) and/or TX (want_tx),
 * ", "-separated ("mlx5, bnxt_en, gve (DQO), fbnic"), into buf (len
 * bytes, DMT_NIC_DRIVER_LIST_LEN is enough). Returns buf. */
#define DMT_NIC_DRIVER_LIST_LEN 128
const char *dmt_nic_driver_list(bool want_rx, bool want_tx, char *buf,
				size_t len);

#endif
