// SPDX-License-Identifier: MIT
/*
 * ethtool getters: rings and channels over the ethtool generic-netlink
 * family, features, RSS and ntuple rules over SIOCETHTOOL. Read-only.
 * The setters live in ethtool_set.c.
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ethtool.h"
#include "nl.h"
#include "uapi.h"

/* ---- ethtool generic netlink ---- */

/* Open and resolve ctx->ethtool on first use (shared with ethtool_set.c). */
int dmt_ethtool_nl(struct dmt_ctx *ctx)
{
	struct dmt_genl_family fam;
	int ret;

	if (ctx->ethtool.sock && ctx->ethtool.family > 0)
		return 0;
	if (ctx->ethtool.sock)
		dmt_nl_close(&ctx->ethtool);
	ret = dmt_nl_open(&ctx->ethtool, NETLINK_GENERIC);
	if (ret < 0)
		return dmt_err_set(&ctx->err, ret, "cannot open a generic netlink "
				   "socket for ethtool: %s", dmt_strerror(ret));
	ret = dmt_genl_resolve(&ctx->ethtool, DMT_ETHTOOL_GENL_NAME, &fam,
			       &ctx->err);
	if (ret < 0) {
		dmt_nl_close(&ctx->ethtool);
		if (ret == -DMT_ERR_NO_FAMILY)
			return dmt_err_set(&ctx->err, ret, "the ethtool netlink "
					   "family is missing: kernel built without "
					   "CONFIG_ETHTOOL_NETLINK (5.6+ needed)");
		if (!ctx->err.message[0])
			dmt_err_set(&ctx->err, ret, "cannot resolve the ethtool "
				    "netlink family: %s", dmt_strerror(ret));
		return ret;
	}
	return 0;
}

struct nlmsghdr *dmt_ethtool_build_get(char *buf, int family, uint8_t cmd,
				       uint16_t header_attr, uint32_t ifindex)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	nlh = dmt_genl_req(buf, family, cmd, DMT_ETHTOOL_GENL_VERSION, 0);
	nest = mnl_attr_nest_start(nlh, header_attr);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
	mnl_attr_nest_end(nlh, nest);
	return nlh;
}

static bool get_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_get_payload_len(a) != 4)
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

int dmt_ethtool_parse_rings(const struct nlmsghdr *nlh, struct dmt_rings *r)
{
	const struct nlattr *a;
	bool any = false;

	memset(r, 0, sizeof(*r));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct genlmsghdr))
		return -DMT_ERR_NETLINK;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case DMT_ETHTOOL_A_RINGS_RX_MAX:
			any |= get_u32(a, &r->rx_max);
			break;
		case DMT_ETHTOOL_A_RINGS_RX:
			any |= get_u32(a, &r->rx);
			break;
		case DMT_ETHTOOL_A_RINGS_TX_MAX:
			any |= get_u32(a, &r->tx_max);
			break;
		case DMT_ETHTOOL_A_RINGS_TX:
			any |= get_u32(a, &r->tx);
			break;
		case DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT:
			if (mnl_attr_get_payload_len(a) != 1)
				return -DMT_ERR_NETLINK;
			r->has_tcp_data_split = true;
			r->tcp_data_split = mnl_attr_get_u8(a);
			break;
		case DMT_ETHTOOL_A_RINGS_HDS_THRESH:
			if (!get_u32(a, &r->hds_thresh))
				return -DMT_ERR_NETLINK;
			r->has_hds_thresh = true;
			break;
		case DMT_ETHTOOL_A_RINGS_HDS_THRESH_MAX:
			if (!get_u32(a, &r->hds_thresh_max))
				return -DMT_ERR_NETLINK;
			r->has_hds_thresh = true;
			break;
		default:
			any = true; /* header and other knobs */
			break;
		}
	}
	return any || r->has_tcp_data_split || r->has_hds_thresh ?
		       0 : -DMT_ERR_NETLINK;
}

int dmt_ethtool_parse_channels(const struct nlmsghdr *nlh,
			       struct dmt_channels *c)
{
	const struct nlattr *a;
	bool any = false;

	memset(c, 0, sizeof(*c));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct genlmsghdr))
		return -DMT_ERR_NETLINK;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		uint32_t *dst = NULL;

		switch (mnl_attr_get_type(a)) {
		case DMT_ETHTOOL_A_CHANNELS_RX_MAX:
			dst = &c->rx_max;
			break;
		case DMT_ETHTOOL_A_CHANNELS_TX_MAX:
			dst = &c->tx_max;
			break;
		case DMT_ETHTOOL_A_CHANNELS_OTHER_MAX:
			dst = &c->other_max;
			break;
		case DMT_ETHTOOL_A_CHANNELS_COMBINED_MAX:
			dst = &c->combined_max;
			break;
		case DMT_ETHTOOL_A_CHANNELS_RX_COUNT:
			dst = &c->rx;
			break;
		case DMT_ETHTOOL_A_CHANNELS_TX_COUNT:
			dst = &c->tx;
			break;
		case DMT_ETHTOOL_A_CHANNELS_OTHER_COUNT:
			dst = &c->other;
			break;
		case DMT_ETHTOOL_A_CHANNELS_COMBINED_COUNT:
			dst = &c->combined;
			break;
		default:
			break;
		}
		if (dst) {
			if (!get_u32(a, dst))
				return -DMT_ERR_NETLINK;
			any = true;
		}
	}
	return any ? 0 : -DMT_ERR_NETLINK;
}

static int rings_cb(const struct nlmsghdr *nlh, void *data)
{
	if (dmt_ethtool_parse_rings(nlh, data) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int channels_cb(const struct nlmsghdr *nlh, void *data)
{
	if (dmt_ethtool_parse_channels(nlh, data) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* Sentence for a failed ethtool query. EOPNOTSUPP is the normal "driver has
 * no such knob" answer and is said so. */
static int query_err(struct dmt_ctx *ctx, const char *what, int ifindex,
		     int ret)
{
	char ifn[IF_NAMESIZE], ext[300] = "";

	dmt_ifname(ifindex, ifn);
	if (ctx->err.extack[0])
		snprintf(ext, sizeof(ext), " (kernel: \"%s\")", ctx->err.extack);
	if (ret == -EOPNOTSUPP)
		return dmt_err_set(&ctx->err, ret, "%s on %s: %s%s: the driver "
				   "does not report this", what, ifn,
				   dmt_strerror(ret), ext);
	if (ret == -ENODEV)
		return dmt_err_set(&ctx->err, ret, "%s: interface index %d does "
				   "not exist in this network namespace", what,
				   ifindex);
	return dmt_err_set(&ctx->err, ret, "%s on %s: %s%s", what, ifn,
			   dmt_strerror(ret), ext);
}

static int nl_get(struct dmt_ctx *ctx, int ifindex, uint8_t cmd,
		  uint16_t hdr, mnl_cb_t cb, void *out, const char *what)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !out)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"%s: ifindex must be > 0 and the result pointer set",
			what));
	ret = dmt_ethtool_nl(ctx);
	if (ret < 0)
		return dmt_ret(ret);
	nlh = dmt_ethtool_build_get(buf, ctx->ethtool.family, cmd, hdr,
				    (uint32_t)ifindex);
	ret = dmt_nl_talk(&ctx->ethtool, nlh, cb, out, &ctx->err);
	if (ret < 0)
		return dmt_ret(query_err(ctx, what, ifindex, ret));
	return 0;
}

int dmt_ethtool_rings_get(struct dmt_ctx *ctx, int ifindex,
			  struct dmt_rings *r)
{
	if (r)
		memset(r, 0, sizeof(*r));
	return nl_get(ctx, ifindex, DMT_ETHTOOL_MSG_RINGS_GET,
		      DMT_ETHTOOL_A_RINGS_HEADER, rings_cb, r, "rings-get");
}

int dmt_ethtool_channels_get(struct dmt_ctx *ctx, int ifindex,
			     struct dmt_channels *c)
{
	if (c)
		memset(c, 0, sizeof(*c));
	return nl_get(ctx, ifindex, DMT_ETHTOOL_MSG_CHANNELS_GET,
		      DMT_ETHTOOL_A_CHANNELS_HEADER, channels_cb, c,
		      "channels-get");
}

/* ---- SIOCETHTOOL ---- */

/* One SIOCETHTOOL request on ifindex (shared by getters, setters and
 * drvinfo): the ioctl's result (>= 0; ETHTOOL_SFEATURES reports flags) or
 * -errno, -ENODEV for an unknown interface. */
int dmt_ethtool_ioctl(int ifindex, void *data)
{
	struct ifreq ifr;
	int fd, ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned int)ifindex, ifr.ifr_name))
		return errno == ENXIO ? -ENODEV : dmt_neg_errno();
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dmt_neg_errno();
	ifr.ifr_data = data;
	ret = ioctl(fd, SIOCETHTOOL, &ifr);
	if (ret < 0)
		ret = dmt_neg_errno();
	close(fd);
	return ret;
}

static int ioctl_err(struct dmt_ctx *ctx, const char *what, int ifindex,
		     int ret)
{
	return query_err(ctx, what, ifindex, ret);
}

int dmt_ethtool_feature_index(int ifindex, const char *name, uint32_t *idx,
			      uint32_t *count)
{
	/* the header and its one data word (flexible array) in one buffer */
	union {
		struct ethtool_sset_info hdr;
		char raw[sizeof(struct ethtool_sset_info) + sizeof(uint32_t)];
	} sset;
	struct ethtool_gstrings *gs;
	uint32_t nstr;
	int ret;

	memset(&sset, 0, sizeof(sset));
	sset.hdr.cmd = ETHTOOL_GSSET_INFO;
	sset.hdr.sset_mask = 1ull << ETH_SS_FEATURES;
	ret = dmt_ethtool_ioctl(ifindex, &sset);
	if (ret < 0)
		return ret;
	memcpy(&nstr, sset.raw + offsetof(struct ethtool_sset_info, data),
	       sizeof(nstr));
	if (!(sset.hdr.sset_mask & (1ull << ETH_SS_FEATURES)) || !nstr)
		return -EOPNOTSUPP;
	if (nstr > 4096)
		return -E2BIG;
	gs = calloc(1, sizeof(*gs) + (size_t)nstr * ETH_GSTRING_LEN);
	if (!gs)
		return -ENOMEM;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = nstr;
	ret = dmt_ethtool_ioctl(ifindex, gs);
	if (ret >= 0) {
		ret = -ENOENT;
		for (uint32_t i = 0; i < gs->len && i < nstr; i++) {
			if (!strncmp((const char *)gs->data + (size_t)i * ETH_GSTRING_LEN,
				     name, ETH_GSTRING_LEN)) {
				*idx = i;
				ret = 0;
				break;
			}
		}
		*count = nstr;
	}
	free(gs);
	return ret;
}

int dmt_ethtool_feature_get(struct dmt_ctx *ctx, int ifindex,
			    const char *name, bool *active, bool *fixed)
{
	struct ethtool_gfeatures *gf = NULL;
	uint32_t n = 0, idx = 0, blocks;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !name)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"feature-get: ifindex must be > 0 and a name given"));
	ret = dmt_ethtool_feature_index(ifindex, name, &idx, &n);
	if (ret == -ENOENT) {
		char ifn[IF_NAMESIZE];

		return dmt_ret(dmt_err_set(&ctx->err, -ENOENT, "feature \"%s\" "
			"is not known to the kernel for %s", name,
			dmt_ifname(ifindex, ifn)));
	}
	if (ret == -E2BIG)
		return dmt_ret(dmt_err_set(&ctx->err, -DMT_ERR_NETLINK,
			"feature-get: the kernel reports more than the 4096 "
			"features this library accepts"));
	if (ret < 0)
		return dmt_ret(ioctl_err(ctx, "feature names (ETHTOOL_GSSET_INFO, "
					 "ETHTOOL_GSTRINGS)", ifindex, ret));
	blocks = (n + 31) / 32;
	gf = calloc(1, sizeof(*gf) + blocks * sizeof(gf->features[0]));
	if (!gf)
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	gf->cmd = ETHTOOL_GFEATURES;
	gf->size = blocks;
	ret = dmt_ethtool_ioctl(ifindex, gf);
	if (ret < 0) {
		ioctl_err(ctx, "features (ETHTOOL_GFEATURES)", ifindex, ret);
	} else {
		const struct ethtool_get_features_block *b =
			&gf->features[idx / 32];
		uint32_t bit = 1u << (idx % 32);

		if (active)
			*active = b->active & bit;
		/* ethtool's "[fixed]": not changeable on this device */
		if (fixed)
			*fixed = !(b->available & bit) || (b->never_changed & bit);
		ret = 0;
	}
	free(gf);
	return dmt_ret(ret);
}

int dmt_ethtool_rss_get(struct dmt_ctx *ctx, int ifindex, struct dmt_rss *rss)
{
	struct ethtool_rxfh head = { .cmd = ETHTOOL_GRSSH };
	struct ethtool_rxfh *full;
	size_t keyw;
	int ret;

	dmt_err_clear(&ctx->err);
	if (!rss || ifindex <= 0)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"rss-get: ifindex must be > 0 and the result pointer set"));
	memset(rss, 0, sizeof(*rss));
	ret = dmt_ethtool_ioctl(ifindex, &head);
	if (ret < 0)
		return dmt_ret(ioctl_err(ctx, "RSS table (ETHTOOL_GRSSH)",
					 ifindex, ret));
	rss->indir_size = head.indir_size;
	rss->key_size = head.key_size;
	rss->hfunc = head.hfunc;
	if (!head.indir_size && !head.key_size)
		return 0;
	if (head.indir_size > 65536 || head.key_size > 4096)
		return dmt_ret(dmt_err_set(&ctx->err, -DMT_ERR_NETLINK,
			"rss-get: implausible sizes from the driver (indir %u, "
			"key %u)", head.indir_size, head.key_size));
	keyw = (head.key_size + 3) / 4;
	full = calloc(1, sizeof(*full) +
			 (head.indir_size + keyw) * sizeof(uint32_t));
	if (!full)
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	full->cmd = ETHTOOL_GRSSH;
	full->indir_size = head.indir_size;
	full->key_size = head.key_size;
	ret = dmt_ethtool_ioctl(ifindex, full);
	if (ret < 0) {
		ioctl_err(ctx, "RSS table (ETHTOOL_GRSSH)", ifindex, ret);
		free(full);
		return dmt_ret(ret);
	}
	rss->hfunc = full->hfunc;
	if (full->indir_size) {
		rss->indir = malloc(full->indir_size * sizeof(uint32_t));
		if (!rss->indir) {
			free(full);
			memset(rss, 0, sizeof(*rss));
			return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM,
						   "out of memory"));
		}
		memcpy(rss->indir, full->rss_config,
		       full->indir_size * sizeof(uint32_t));
	}
	rss->indir_size = full->indir_size;
	free(full);
	return 0;
}

void dmt_rss_free(struct dmt_rss *rss)
{
	if (!rss)
		return;
	free(rss->indir);
	rss->indir = NULL;
	rss->indir_size = 0;
}

int dmt_ethtool_ntuple_list(struct dmt_ctx *ctx, int ifindex,
			    struct dmt_ntuple_list *l)
{
	struct ethtool_rxnfc cnt;
	struct ethtool_rxnfc *all;
	uint32_t n;
	int ret;

	dmt_err_clear(&ctx->err);
	if (!l || ifindex <= 0)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"ntuple-list: ifindex must be > 0 and the result pointer set"));
	memset(l, 0, sizeof(*l));
	memset(&cnt, 0, sizeof(cnt));
	cnt.cmd = ETHTOOL_GRXCLSRLCNT;
	ret = dmt_ethtool_ioctl(ifindex, &cnt);
	if (ret < 0)
		return dmt_ret(ioctl_err(ctx, "ntuple rule count "
					 "(ETHTOOL_GRXCLSRLCNT)", ifindex, ret));
	l->special_locs = cnt.data & RX_CLS_LOC_SPECIAL;
	l->table_size = (uint32_t)(cnt.data & ~(uint64_t)RX_CLS_LOC_SPECIAL);
	n = cnt.rule_cnt;
	if (!n)
		return 0;
	if (n > 65536)
		return dmt_ret(dmt_err_set(&ctx->err, -DMT_ERR_NETLINK,
			"ntuple-list: implausible rule count %u", n));
	all = calloc(1, sizeof(*all) + n * sizeof(uint32_t));
	if (!all)
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	all->cmd = ETHTOOL_GRXCLSRLALL;
	all->rule_cnt = n;
	ret = dmt_ethtool_ioctl(ifindex, all);
	if (ret < 0) {
		ioctl_err(ctx, "ntuple rules (ETHTOOL_GRXCLSRLALL)", ifindex, ret);
		free(all);
		return dmt_ret(ret);
	}
	if (all->rule_cnt < n)
		n = all->rule_cnt;
	l->locs = malloc(n * sizeof(uint32_t) + 1);
	if (!l->locs) {
		free(all);
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	}
	memcpy(l->locs, all->rule_locs, n * sizeof(uint32_t));
	l->count = n;
	free(all);
	return 0;
}

void dmt_ntuple_list_free(struct dmt_ntuple_list *l)
{
	if (!l)
		return;
	free(l->locs);
	l->locs = NULL;
	l->count = 0;
}

int dmt_if_driver(int ifindex, char *drv, size_t drvlen, char *ver,
		  size_t verlen)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	int ret = dmt_ethtool_ioctl(ifindex, &info);

	if (ret < 0)
		return ret;
	if (drv)
		snprintf(drv, drvlen, "%s", info.driver);
	if (ver)
		snprintf(ver, verlen, "%s", info.version);
	return 0;
}
