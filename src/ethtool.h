/* SPDX-License-Identifier: MIT */
/*
 * ethtool access for doctor and NIC setup: the ethtool generic-netlink
 * family (rings, channels) and the SIOCETHTOOL ioctls (features, RSS,
 * ntuple rules). Never the ethtool program. Internal.
 *
 * Getters live in ethtool.c, setters in ethtool_set.c. Every call returns
 * 0 or -errno and, on failure, fills ctx->err with the kernel's extack
 * text and a sentence; -EOPNOTSUPP means "this driver has no such knob".
 */
#ifndef DMT_ETHTOOL_H
#define DMT_ETHTOOL_H

#include "internal.h"

struct dmt_rings {
	uint32_t rx, rx_max, tx, tx_max;
	bool has_tcp_data_split;	/* attribute present in the reply */
	uint8_t tcp_data_split;		/* DMT_ETHTOOL_TCP_DATA_SPLIT_* */
	bool has_hds_thresh;		/* driver exposes hds-thresh */
	uint32_t hds_thresh, hds_thresh_max;
};

struct dmt_channels {
	uint32_t rx_max, tx_max, other_max, combined_max;
	uint32_t rx, tx, other, combined;
};

/* RSS: indirection table of the default context. */
struct dmt_rss {
	uint32_t indir_size;		/* 0: no RSS table */
	uint32_t *indir;		/* malloc'd, indir_size entries */
	uint32_t key_size;
	uint8_t hfunc;
};

/* ntuple rule locations */
struct dmt_ntuple_list {
	uint32_t count;			/* rules installed */
	uint32_t table_size;		/* driver's rule table size */
	bool special_locs;		/* RX_CLS_LOC_ANY supported */
	uint32_t *locs;			/* malloc'd, count entries */
};

/* Open the ethtool family socket in ctx->ethtool on first use. */
int dmt_ethtool_nl(struct dmt_ctx *ctx);

/* One SIOCETHTOOL ioctl on ifindex: its result (>= 0) or -errno (-ENODEV:
 * no such interface). */
int dmt_ethtool_ioctl(int ifindex, void *data);
/* Bit index of feature `name` (ETH_SS_FEATURES strings) and the number of
 * features: 0, -ENOENT (unknown name), -EOPNOTSUPP (no feature strings),
 * -E2BIG (more than 4096), or the ioctl's -errno. */
int dmt_ethtool_feature_index(int ifindex, const char *name, uint32_t *idx,
			      uint32_t *count);

/* Rings (ETHTOOL_MSG_RINGS_GET). */
int dmt_ethtool_rings_get(struct dmt_ctx *ctx, int ifindex,
			  struct dmt_rings *r);
/* Channels (ETHTOOL_MSG_CHANNELS_GET). RX queue count is rx + combined. */
int dmt_ethtool_channels_get(struct dmt_ctx *ctx, int ifindex,
			     struct dmt_channels *c);
/* One feature bit by its ethtool string name (e.g. "rx-ntuple-filter"),
 * through ETHTOOL_GSSET_INFO/GSTRINGS/GFEATURES. */
int dmt_ethtool_feature_get(struct dmt_ctx *ctx, int ifindex,
			    const char *name, bool *active, bool *fixed);
/* RSS table (ETHTOOL_GRSSH). Free with dmt_rss_free(). */
int dmt_ethtool_rss_get(struct dmt_ctx *ctx, int ifindex, struct dmt_rss *rss);
void dmt_rss_free(struct dmt_rss *rss);
/* ntuple rules (ETHTOOL_GRXCLSRLCNT / GRXCLSRLALL). Free with
 * dmt_ntuple_list_free(). */
int dmt_ethtool_ntuple_list(struct dmt_ctx *ctx, int ifindex,
			    struct dmt_ntuple_list *l);
void dmt_ntuple_list_free(struct dmt_ntuple_list *l);
/* ethtool drvinfo (ETHTOOL_GDRVINFO through SIOCETHTOOL): driver name and
 * version, either pointer may be NULL. */
int dmt_if_driver(int ifindex, char *drv, size_t drvlen, char *ver,
		  size_t verlen);

/* Pure encoders/decoders (exposed to tests). header_attr is the command's
 * ETHTOOL_A_*_HEADER; the request carries DEV_INDEX in it. */
struct nlmsghdr;
struct nlmsghdr *dmt_ethtool_build_get(char *buf, int family, uint8_t cmd,
				       uint16_t header_attr, uint32_t ifindex);
int dmt_ethtool_parse_rings(const struct nlmsghdr *nlh, struct dmt_rings *r);
int dmt_ethtool_parse_channels(const struct nlmsghdr *nlh,
			       struct dmt_channels *c);

/* ---- setters (ethtool_set.c) ---- */

/* tcp_data_split: DMT_ETHTOOL_TCP_DATA_SPLIT_* or -1 to leave alone;
 * hds_thresh: value or -1 to leave alone. One RINGS_SET request. */
int dmt_ethtool_rings_set_hds(struct dmt_ctx *ctx, int ifindex,
			      int tcp_data_split, int64_t hds_thresh);
int dmt_ethtool_feature_set(struct dmt_ctx *ctx, int ifindex,
			    const char *name, bool on);
/* Set the channel counts (rx, tx, combined as given; other untouched). */
int dmt_ethtool_channels_set(struct dmt_ctx *ctx, int ifindex,
			     const struct dmt_channels *ch);
/* Set the default RSS indirection table (size entries; size 0 resets
 * to the driver default). */
int dmt_ethtool_rss_set(struct dmt_ctx *ctx, int ifindex,
			const uint32_t *indir, uint32_t size);
/* Insert a TCP flow rule steering to queue. src/src_port may be zero
 * (3-tuple: dst address and port). loc: RX_CLS_LOC_ANY or a slot; the
 * location used is stored in *loc_out. Addresses in network order. */
struct dmt_flow_rule {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16];
	uint16_t src_port, dst_port;	/* network order, 0: wildcard */
	uint32_t queue;
};
int dmt_ethtool_ntuple_add(struct dmt_ctx *ctx, int ifindex,
			   const struct dmt_flow_rule *rule, uint32_t loc,
			   uint32_t *loc_out);
int dmt_ethtool_ntuple_del(struct dmt_ctx *ctx, int ifindex, uint32_t loc);

#endif
