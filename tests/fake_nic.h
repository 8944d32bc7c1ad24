/* SPDX-License-Identifier: MIT */
/*
 * A simulated devmem NIC for tier A tests: the kernel's rules (the
 * configured header split that bind-rx checks, refusals while a queue is
 * bound) and the behaviour of three drivers as their ethtool code has it:
 *   mlx5   reports tcp-data-split "enabled" exactly when HW-GRO (SHAMPO) is
 *          on, accepts "enabled" only with rx-gro-hw on ("TCP-data-split is
 *          not supported when GRO HW is disabled"), and keeps HW-GRO while
 *          split is configured on; no hds-thresh
 *   fbnic  always reports "enabled", refuses "disabled" ("Cannot disable
 *          TCP data split"); has hds-thresh
 *   bnxt   reports "enabled" whenever its HDS flag is set: configured on,
 *          or aggregation rings (jumbo MTU / LRO / HW-GRO); has hds-thresh
 * Use with fake_nic_ops and a struct fake_nic * as the user pointer.
 */
#ifndef DMT_FAKE_NIC_H
#define DMT_FAKE_NIC_H

#include "nicsetup.h"

enum fake_drv { FAKE_MLX5, FAKE_FBNIC, FAKE_BNXT };

#define FAKE_TBL 128
#define FAKE_RULES 16

struct fake_nic {
	enum fake_drv drv;
	/* the kernel's record (dev->cfg): what bind-rx checks */
	uint8_t cfg_tds;
	uint32_t cfg_thresh;
	/* driver state */
	bool has_thresh;
	bool gro_hw, gro_fixed;
	bool bnxt_agg;		/* aggregation rings: bnxt's HDS flag is set */
	bool ntuple;
	uint32_t rx, combined;
	uint32_t indir[FAKE_TBL];
	bool rule_used[FAKE_RULES];
	/* binding */
	bool bound;
	uint32_t bound_max_q;
	unsigned int binds;
	/* a broken kernel, to prove the checks can fail */
	bool accept_empty, accept_shrink, ignore_cfg;
};

extern const struct dmt_nic_ops fake_nic_ops;

/* A NIC with 4 combined channels, header split "auto", ntuple off. */
void fake_nic_init(struct fake_nic *n, enum fake_drv drv);
/* What rings-get reports for tcp-data-split. */
uint8_t fake_nic_reported_tds(const struct fake_nic *n);
const char *fake_drv_name(enum fake_drv d);

#endif
