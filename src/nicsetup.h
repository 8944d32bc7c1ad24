/* SPDX-License-Identifier: MIT */
/* NIC setup internals: the backend the transaction drives (ethtool + bind
 * on a real NIC; a simulated NIC in tier A tests). */
#ifndef DMT_NICSETUP_H
#define DMT_NICSETUP_H

#include "ethtool.h"

/* Every call returns 0 or -errno and leaves a sentence in ctx->err. */
struct dmt_nic_ops {
	int (*rings_get)(void *u, struct dmt_ctx *c, int ifx, struct dmt_rings *r);
	int (*rings_set_hds)(void *u, struct dmt_ctx *c, int ifx, int tds,
			     int64_t thresh);
	int (*channels_get)(void *u, struct dmt_ctx *c, int ifx,
			    struct dmt_channels *ch);
	int (*feature_get)(void *u, struct dmt_ctx *c, int ifx, const char *name,
			   bool *active, bool *fixed);
	int (*feature_set)(void *u, struct dmt_ctx *c, int ifx, const char *name,
			   bool on);
	int (*rss_get)(void *u, struct dmt_ctx *c, int ifx, struct dmt_rss *rss);
	int (*rss_set)(void *u, struct dmt_ctx *c, int ifx, const uint32_t *indir,
		       uint32_t size);
	int (*ntuple_list)(void *u, struct dmt_ctx *c, int ifx,
			   struct dmt_ntuple_list *l);
	int (*ntuple_add)(void *u, struct dmt_ctx *c, int ifx,
			  const struct dmt_flow_rule *r, uint32_t loc,
			  uint32_t *loc_out);
	int (*ntuple_del)(void *u, struct dmt_ctx *c, int ifx, uint32_t loc);
	/* bind-rx on a netlink socket the setup owns; unbind closes it. n may
	 * be 0: the request then goes to the kernel without queues (a check
	 * that the kernel refuses it). */
	int (*bind_rx)(void *u, struct dmt_ctx *c, int ifx, int fd,
		       const uint32_t *q, unsigned int n, uint32_t *id);
	void (*unbind)(void *u);
	/* ETHTOOL_MSG_CHANNELS_SET of the RX count: combined when the device
	 * has combined channels, else rx (NULL: not supported) */
	int (*channels_set)(void *u, struct dmt_ctx *c, int ifx,
			    const struct dmt_channels *ch);
};

/* The ethtool/netdev backend (u: the setup itself). */
extern const struct dmt_nic_ops dmt_nic_ops_real;

/* dmt_nic_setup_new with another backend (tests). */
struct dmt_nic_setup *dmt_nic_setup_new_ops(struct dmt_ctx *ctx, int ifindex,
					    const struct dmt_nic_setup_opts *o,
					    const struct dmt_nic_ops *ops,
					    void *user, struct dmt_error *err);
/* dmt_nic_setup_restore with another backend and an explicit ifindex. */
int dmt_nic_restore_ops(struct dmt_ctx *ctx, const char *ifname, int ifindex,
			const char *journal_dir, const struct dmt_nic_ops *ops,
			void *user, char *summary, size_t summary_len,
			struct dmt_error *err);
/* The backend a setup drives and its user pointer (nicprobe.c). */
void *dmt_nic_setup_backend(struct dmt_nic_setup *s,
			    const struct dmt_nic_ops **ops);
/* dmt_nic_check() with another backend (tests). */
int dmt_nic_check_ops(struct dmt_ctx *ctx, int ifindex, struct dmt_buf *buf,
		      int which, const struct dmt_nic_ops *ops, void *user,
		      const char *journal_dir, char *detail, size_t detail_len);

/* Abandon s without undoing (simulates a crash: the journal stays). */
void dmt_nic_setup_abandon(struct dmt_nic_setup *s);

#endif
