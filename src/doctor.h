/* SPDX-License-Identifier: MIT */
/*
 * Doctor internals: what was observed (facts), kept apart from what it
 * means (dmt_doctor_evaluate), so the verdict logic can be tested with
 * canned facts. Internal.
 */
#ifndef DMT_DOCTOR_H
#define DMT_DOCTOR_H

#include <net/if.h>

#include "ethtool.h"
#include "internal.h"

/* A query that was not made (precondition missing) */
#define DMT_DOC_NOT_RUN 1

enum dmt_doc_exp_state {
	DMT_DOC_EXP_ABSENT = 0,		/* device / library not there */
	DMT_DOC_EXP_NO_ACCESS,		/* there, but this user cannot open it */
	DMT_DOC_EXP_UNUSABLE,		/* there, but no dma-buf (init failed,
					 * no device, attribute 124 = 0) */
	DMT_DOC_EXP_OK,
};

struct dmt_doc_exporter {
	enum dmt_doc_exp_state state;
	int count;			/* heaps / devices usable */
	char detail[256];		/* what the probe saw, one line */
};

enum { DMT_DOC_UDMABUF, DMT_DOC_HEAPS, DMT_DOC_CUDA, DMT_DOC_ROCM,
       DMT_DOC_NEXP };

struct dmt_doc_host {
	char release[65];
	int netdev_ret;			/* 0, or -errno / -DMT_ERR_NO_FAMILY */
	int netdev_id;
	uint32_t netdev_version;
	uint64_t ops, ops_admin;	/* netdev op bitmaps from the controller */
	int cap_ret;			/* capget result */
	bool cap_net_admin;		/* in the effective set */
	int64_t udmabuf_limit_mb;	/* -1: unknown */
	/* fallback engines: uring (io_uring SEND_ZC) */
	int uring_ret;			/* 0, -errno, or DMT_DOC_NOT_RUN (not built) */
	char uring_detail[256];
	struct dmt_doc_exporter exp[DMT_DOC_NEXP];
};

struct dmt_doc_if {
	char name[IF_NAMESIZE];
	int ifindex;
	int drv_ret;
	char driver[32], version[32];
	/* TX: a real bind-tx with a throwaway binding (tx_real) or a probe
	 * with a memfd, which the kernel's driver check answers first. */
	bool tx_real;
	char tx_exporter[16];		/* buffer kind used when tx_real */
	int tx_ret;
	char tx_extack[256];
	/* RX: bind-rx probe with a memfd on queue 0 (needs CAP_NET_ADMIN) */
	int rxprobe_ret;
	char rxprobe_extack[256];
	int rings_ret;
	struct dmt_rings rings;
	int channels_ret;
	struct dmt_channels channels;
	int rxq;			/* RX queues, < 0: unknown */
	int ntuple_ret;
	bool ntuple_active, ntuple_fixed;
	int gro_ret;			/* rx-gro-hw (mlx5: header split needs it) */
	bool gro_active, gro_fixed;
	int rss_ret;
	uint32_t rss_indir_size;
	int xdp_ret;
	uint8_t xdp_attached;		/* XDP_ATTACHED_* (0: none) */
	uint32_t xdp_prog_id;
	int queues_ret;
	int q_rx, q_dmabuf, q_io_uring, q_xsk;	/* RX queues and their users */
	int rules_ret;
	uint32_t rules, rule_table;
};

/* Build a report from facts (pure: no system calls). NULL + errno on
 * allocation failure. */
struct dmt_doctor *dmt_doctor_evaluate(const struct dmt_doc_host *h,
				       const struct dmt_doc_if *ifs,
				       unsigned int nifs, unsigned int what);

/* Gatherers (system work), exposed for tests. */
void dmt_doctor_gather_host(struct dmt_doc_host *h);
void dmt_doctor_gather_if(const struct dmt_doc_host *h, struct dmt_ctx *ctx,
			  struct dmt_doc_if *f, unsigned int what);

#endif
