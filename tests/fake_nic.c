// SPDX-License-Identifier: MIT
/* The simulated devmem NIC (fake_nic.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_nic.h"
#include "uapi.h"

#define ENABLED DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED
#define DISABLED DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED
#define UNKNOWN DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN

static int refuse(struct dmt_ctx *c, int err, const char *extack)
{
	dmt_err_clear(&c->err);
	snprintf(c->err.extack, sizeof(c->err.extack), "%s", extack);
	dmt_err_set(&c->err, err, "simulated NIC: %s", extack);
	return err;
}

const char *fake_drv_name(enum fake_drv d)
{
	return d == FAKE_MLX5 ? "mlx5" : d == FAKE_FBNIC ? "fbnic" : "bnxt";
}

void fake_nic_init(struct fake_nic *n, enum fake_drv drv)
{
	memset(n, 0, sizeof(*n));
	n->drv = drv;
	n->cfg_tds = UNKNOWN;
	n->has_thresh = drv != FAKE_MLX5;
	n->cfg_thresh = 0;
	n->combined = 4;
	for (int k = 0; k < FAKE_TBL; k++)
		n->indir[k] = (uint32_t)k % 4;
}

uint8_t fake_nic_reported_tds(const struct fake_nic *n)
{
	switch (n->drv) {
	case FAKE_MLX5:
		return n->gro_hw ? ENABLED : DISABLED;
	case FAKE_FBNIC:
		return ENABLED;
	default:
		return n->cfg_tds == ENABLED || n->bnxt_agg ? ENABLED : DISABLED;
	}
}

static int f_rings_get(void *u, struct dmt_ctx *c, int i, struct dmt_rings *r)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	memset(r, 0, sizeof(*r));
	r->rx = r->rx_max = r->tx = r->tx_max = 1024;
	r->has_tcp_data_split = true;
	r->tcp_data_split = fake_nic_reported_tds(n);
	r->has_hds_thresh = n->has_thresh;
	r->hds_thresh = n->cfg_thresh;
	r->hds_thresh_max = n->has_thresh ? 1024 : 0;
	return 0;
}

static int f_rings_set(void *u, struct dmt_ctx *c, int i, int t, int64_t h)
{
	struct fake_nic *n = u;

	(void)i;
	/* the kernel (net/ethtool/rings.c) */
	if (h >= 0 && !n->has_thresh)
		return refuse(c, -EOPNOTSUPP, "setting hds-thresh is not "
			      "supported");
	if (h > 1024)
		return refuse(c, -EINVAL, "hds-thresh is larger than max");
	if (n->bound && t >= 0 && t != ENABLED)
		return refuse(c, -EINVAL, "can't disable tcp-data-split while "
			      "device has memory provider enabled");
	if (n->bound && h > 0)
		return refuse(c, -EINVAL, "can't set non-zero hds_thresh while "
			      "device is memory provider enabled");
	/* the driver */
	if (n->drv == FAKE_MLX5 && t == ENABLED && !n->gro_hw)
		return refuse(c, -EINVAL, "TCP-data-split is not supported when "
			      "GRO HW is disabled");
	if (n->drv == FAKE_FBNIC && t == DISABLED)
		return refuse(c, -EINVAL, "Cannot disable TCP data split");
	if (t >= 0)
		n->cfg_tds = (uint8_t)t;
	if (h >= 0)
		n->cfg_thresh = (uint32_t)h;
	return 0;
}

static int f_channels_get(void *u, struct dmt_ctx *c, int i,
			  struct dmt_channels *ch)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	memset(ch, 0, sizeof(*ch));
	ch->rx = n->rx;
	ch->combined = n->combined;
	ch->combined_max = 8;
	ch->rx_max = n->rx ? 8 : 0;
	return 0;
}

static int f_channels_set(void *u, struct dmt_ctx *c, int i,
			  const struct dmt_channels *ch)
{
	struct fake_nic *n = u;

	(void)i;
	if (!(ch->rx + ch->combined))
		return refuse(c, -EINVAL, "no channels");
	if (n->bound && !n->accept_shrink &&
	    ch->rx + ch->combined <= n->bound_max_q)
		return refuse(c, -EINVAL, "requested channel counts are too low "
			      "for existing memory provider setting");
	n->rx = ch->rx;
	n->combined = ch->combined;
	return 0;
}

static int f_feature_get(void *u, struct dmt_ctx *c, int i, const char *name,
			 bool *a, bool *fx)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	if (!strcmp(name, "rx-gro-hw")) {
		*a = n->gro_hw;
		*fx = n->gro_fixed;
	} else {
		*a = n->ntuple;
		*fx = false;
	}
	return 0;
}

static int f_feature_set(void *u, struct dmt_ctx *c, int i, const char *name,
			 bool on)
{
	struct fake_nic *n = u;

	(void)i;
	if (!strcmp(name, "rx-gro-hw")) {
		if (n->gro_fixed)
			return refuse(c, -EOPNOTSUPP, "rx-gro-hw is fixed");
		if (n->drv == FAKE_MLX5 && !on && n->cfg_tds == ENABLED)
			return refuse(c, -EINVAL, "HW-GRO is needed while "
				      "TCP-data-split is enabled");
		n->gro_hw = on;
	} else {
		n->ntuple = on;
	}
	return 0;
}

static int f_rss_get(void *u, struct dmt_ctx *c, int i, struct dmt_rss *r)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	memset(r, 0, sizeof(*r));
	r->indir_size = FAKE_TBL;
	r->indir = malloc(sizeof(n->indir));
	if (!r->indir)
		return -ENOMEM;
	memcpy(r->indir, n->indir, sizeof(n->indir));
	return 0;
}

static int f_rss_set(void *u, struct dmt_ctx *c, int i, const uint32_t *t,
		     uint32_t sz)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	for (uint32_t k = 0; k < FAKE_TBL; k++)
		n->indir[k] = sz ? t[k] : k % (n->rx + n->combined);
	return 0;
}

static int f_ntuple_list(void *u, struct dmt_ctx *c, int i,
			 struct dmt_ntuple_list *l)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	memset(l, 0, sizeof(*l));
	l->table_size = FAKE_RULES;
	l->special_locs = true;
	l->locs = malloc(FAKE_RULES * sizeof(uint32_t));
	if (!l->locs)
		return -ENOMEM;
	for (uint32_t k = 0; k < FAKE_RULES; k++)
		if (n->rule_used[k])
			l->locs[l->count++] = k;
	return 0;
}

static int f_ntuple_add(void *u, struct dmt_ctx *c, int i,
			const struct dmt_flow_rule *r, uint32_t loc,
			uint32_t *out)
{
	struct fake_nic *n = u;

	(void)i; (void)r; (void)loc;
	if (!n->ntuple)
		return refuse(c, -EOPNOTSUPP, "ntuple filters are off");
	for (uint32_t k = 0; k < FAKE_RULES; k++) {
		if (!n->rule_used[k]) {
			n->rule_used[k] = true;
			*out = k;
			return 0;
		}
	}
	return refuse(c, -ENOSPC, "rule table full");
}

static int f_ntuple_del(void *u, struct dmt_ctx *c, int i, uint32_t loc)
{
	struct fake_nic *n = u;

	(void)c; (void)i;
	if (loc >= FAKE_RULES || !n->rule_used[loc])
		return -ENOENT;
	n->rule_used[loc] = false;
	return 0;
}

/* net/core/netdev-genl.c + devmem.c, as far as a test needs them */
static int f_bind(void *u, struct dmt_ctx *c, int i, int fd, const uint32_t *q,
		  unsigned int nq, uint32_t *id)
{
	struct fake_nic *n = u;
	uint32_t max = 0;

	(void)i; (void)fd;
	if (!nq && !n->accept_empty)
		return refuse(c, -EINVAL, "missing attribute: .queues");
	for (unsigned int k = 0; k < nq; k++) {
		if (q[k] >= n->rx + n->combined)
			return refuse(c, -EINVAL, "rx queue index out of range");
		if (q[k] > max)
			max = q[k];
	}
	if (!n->ignore_cfg && n->cfg_tds != ENABLED)
		return refuse(c, -EINVAL, "tcp-data-split is disabled");
	if (!n->ignore_cfg && n->cfg_thresh)
		return refuse(c, -EINVAL, "hds-thresh is not zero");
	if (n->bound)
		return refuse(c, -EEXIST, "designated queue already memory "
			      "provider bound");
	n->bound = true;
	n->bound_max_q = max;
	*id = 40 + ++n->binds;
	return 0;
}

static void f_unbind(void *u)
{
	struct fake_nic *n = u;

	n->bound = false;
}

const struct dmt_nic_ops fake_nic_ops = {
	.rings_get = f_rings_get,	.rings_set_hds = f_rings_set,
	.channels_get = f_channels_get, .feature_get = f_feature_get,
	.feature_set = f_feature_set,	.rss_get = f_rss_get,
	.rss_set = f_rss_set,		.ntuple_list = f_ntuple_list,
	.ntuple_add = f_ntuple_add,	.ntuple_del = f_ntuple_del,
	.bind_rx = f_bind,		.unbind = f_unbind,
	.channels_set = f_channels_set,
};
