// SPDX-License-Identifier: MIT
/*
 * ethtool setters for NIC setup: header split over the ethtool netlink
 * family (RINGS_SET), features, RSS indirection and ntuple rules over
 * SIOCETHTOOL. The getters are in ethtool.c. Never the ethtool program.
 */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "drivers.h"
#include "ethtool.h"
#include "nl.h"
#include "uapi.h"

/* The drivers with devmem RX, for advice (drivers.c). */
static const char *rx_nics(char *buf, size_t len)
{
	return dmt_nic_driver_list(true, false, buf, len);
}

static void drv_name(int ifindex, char *drv, size_t len)
{
	if (dmt_if_driver(ifindex, drv, len, NULL, 0) < 0)
		snprintf(drv, len, "this driver");
}

static void extack_note(const struct dmt_ctx *ctx, char *out, size_t len)
{
	out[0] = '\0';
	if (ctx->err.extack[0])
		snprintf(out, len, " (kernel: \"%s\")", ctx->err.extack);
}

int dmt_ethtool_rings_set_hds(struct dmt_ctx *ctx, int ifindex,
			      int tcp_data_split, int64_t hds_thresh)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	char ifn[IF_NAMESIZE], drv[32], ext[300];
	char nics[DMT_NIC_DRIVER_LIST_LEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || tcp_data_split > DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED ||
	    hds_thresh > UINT32_MAX || (tcp_data_split < 0 && hds_thresh < 0))
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL, "rings-set: "
			"invalid arguments (tcp-data-split %d, hds-thresh %lld)",
			tcp_data_split, (long long)hds_thresh));
	ret = dmt_ethtool_nl(ctx);
	if (ret < 0)
		return dmt_ret(ret);
	nlh = dmt_genl_req(buf, ctx->ethtool.family, DMT_ETHTOOL_MSG_RINGS_SET,
			   DMT_ETHTOOL_GENL_VERSION, 0);
	nest = mnl_attr_nest_start(nlh, DMT_ETHTOOL_A_RINGS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_HEADER_DEV_INDEX, (uint32_t)ifindex);
	mnl_attr_nest_end(nlh, nest);
	if (tcp_data_split >= 0)
		mnl_attr_put_u8(nlh, DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT,
				(uint8_t)tcp_data_split);
	if (hds_thresh >= 0)
		mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_RINGS_HDS_THRESH,
				 (uint32_t)hds_thresh);
	ret = dmt_nl_talk(&ctx->ethtool, nlh, NULL, NULL, &ctx->err);
	if (ret == 0)
		return 0;
	dmt_ifname(ifindex, ifn);
	drv_name(ifindex, drv, sizeof(drv));
	extack_note(ctx, ext, sizeof(ext));
	if (ret == -EOPNOTSUPP && strstr(ctx->err.extack, "hds"))
		dmt_err_set(&ctx->err, ret, "hds-thresh is not supported by %s "
			    "on %s%s: devmem RX needs a NIC with header split and "
			    "a zero threshold (%s)", drv, ifn, ext,
			    rx_nics(nics, sizeof(nics)));
	else if (ret == -EOPNOTSUPP)
		dmt_err_set(&ctx->err, ret, "tcp-data-split is not supported by "
			    "%s on %s%s: devmem RX needs a NIC with header split "
			    "(%s)", drv, ifn, ext, rx_nics(nics, sizeof(nics)));
	else if (ret == -EINVAL && strstr(ctx->err.extack, "memory provider"))
		dmt_err_set(&ctx->err, ret, "cannot change header split on %s "
			    "while RX queues are bound%s: close the program that "
			    "holds the binding first", ifn, ext);
	else if (ret == -EINVAL && strstr(ctx->err.extack, "XDP"))
		dmt_err_set(&ctx->err, ret, "cannot enable tcp-data-split on %s%s: "
			    "detach the single-buffer XDP program first", ifn, ext);
	else if (ret == -EINVAL && strcasestr(ctx->err.extack, "GRO"))
		dmt_err_set(&ctx->err, ret, "%s accepts tcp-data-split on %s only "
			    "with HW-GRO%s: turn rx-gro-hw on first (ethtool -K %s "
			    "rx-gro-hw on; dmt_nic_setup_apply() does it)", drv,
			    ifn, ext, ifn);
	else if (ret == -EINVAL && tcp_data_split ==
		 DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED &&
		 strcasestr(ctx->err.extack, "disable"))
		dmt_err_set(&ctx->err, ret, "%s cannot turn tcp-data-split off on "
			    "%s%s: set it to auto (unknown) instead; bind-rx is "
			    "refused all the same, since it checks the configured "
			    "value", drv, ifn, ext);
	else if (ret == -EPERM)
		dmt_err_set(&ctx->err, ret, "changing rings on %s needs "
			    "CAP_NET_ADMIN: run as root", ifn);
	else
		dmt_err_set(&ctx->err, ret, "setting header split on %s failed: "
			    "%s%s", ifn, dmt_strerror(ret), ext);
	return dmt_ret(ret);
}

/* ---- SIOCETHTOOL ---- */


static int ioctl_fail(struct dmt_ctx *ctx, int ifindex, int ret,
		      const char *what, const char *unsupported_fix)
{
	char ifn[IF_NAMESIZE], drv[32];

	dmt_ifname(ifindex, ifn);
	drv_name(ifindex, drv, sizeof(drv));
	if (ret == -EOPNOTSUPP)
		return dmt_err_set(&ctx->err, ret, "%s is not supported by %s on "
				   "%s: %s", what, drv, ifn, unsupported_fix);
	if (ret == -EPERM)
		return dmt_err_set(&ctx->err, ret, "%s on %s needs CAP_NET_ADMIN: "
				   "run as root", what, ifn);
	if (ret == -ENODEV)
		return dmt_err_set(&ctx->err, ret, "%s: interface index %d does "
				   "not exist in this network namespace", what,
				   ifindex);
	return dmt_err_set(&ctx->err, ret, "%s on %s failed: %s", what, ifn,
			   dmt_strerror(ret));
}

int dmt_ethtool_feature_set(struct dmt_ctx *ctx, int ifindex,
			    const char *name, bool on)
{
	struct ethtool_sfeatures *sf;
	uint32_t idx = 0, count = 0, blocks;
	char what[96];
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !name)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL, "feature-set: "
			"ifindex must be > 0 and a name given"));
	snprintf(what, sizeof(what), "turning %s %s", name, on ? "on" : "off");
	ret = dmt_ethtool_feature_index(ifindex, name, &idx, &count);
	if (ret == -ENOENT)
		return dmt_ret(dmt_err_set(&ctx->err, ret, "feature \"%s\" is "
			"not known to this kernel", name));
	if (ret < 0)
		return dmt_ret(ioctl_fail(ctx, ifindex, ret, what,
			"the driver reports no features"));
	blocks = (count + 31) / 32;
	sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
	if (!sf)
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = blocks;
	sf->features[idx / 32].valid = 1u << (idx % 32);
	sf->features[idx / 32].requested = on ? 1u << (idx % 32) : 0;
	ret = dmt_ethtool_ioctl(ifindex, sf);
	free(sf);
	/* > 0: ETHTOOL_F_UNSUPPORTED (fixed), _WISH (not applied as asked) */
	if (ret > 0 && (ret & ETHTOOL_F_UNSUPPORTED))
		ret = -EOPNOTSUPP;
	else if (ret > 0)
		ret = -EBUSY;
	if (ret < 0) {
		char hint[160 + DMT_NIC_DRIVER_LIST_LEN];
		char nics[DMT_NIC_DRIVER_LIST_LEN];

		snprintf(hint, sizeof(hint), "%s is fixed on this device; devmem "
			 "RX needs ntuple flow steering (%s)", name,
			 rx_nics(nics, sizeof(nics)));
		if (ret == -EBUSY) {
			char ifn[IF_NAMESIZE];
			return dmt_ret(dmt_err_set(&ctx->err, ret, "%s on %s was not "
				"applied: the driver refused it in the current "
				"configuration", what, dmt_ifname(ifindex, ifn)));
		}
		return dmt_ret(ioctl_fail(ctx, ifindex, ret, what, hint));
	}
	return 0;
}

int dmt_ethtool_channels_set(struct dmt_ctx *ctx, int ifindex,
			     const struct dmt_channels *ch)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	char ifn[IF_NAMESIZE], ext[300];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !ch)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL, "channels-set: "
			"invalid arguments"));
	ret = dmt_ethtool_nl(ctx);
	if (ret < 0)
		return dmt_ret(ret);
	nlh = dmt_genl_req(buf, ctx->ethtool.family, DMT_ETHTOOL_MSG_CHANNELS_SET,
			   DMT_ETHTOOL_GENL_VERSION, 0);
	nest = mnl_attr_nest_start(nlh, DMT_ETHTOOL_A_CHANNELS_HEADER);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_HEADER_DEV_INDEX, (uint32_t)ifindex);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_RX_COUNT, ch->rx);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_TX_COUNT, ch->tx);
	mnl_attr_put_u32(nlh, DMT_ETHTOOL_A_CHANNELS_COMBINED_COUNT, ch->combined);
	ret = dmt_nl_talk(&ctx->ethtool, nlh, NULL, NULL, &ctx->err);
	if (ret == 0)
		return 0;
	dmt_ifname(ifindex, ifn);
	extack_note(ctx, ext, sizeof(ext));
	if (ret == -EINVAL && strstr(ctx->err.extack, "memory provider"))
		dmt_err_set(&ctx->err, ret, "cannot change the channels of %s%s: a "
			    "queue that would go away is bound to a dma-buf; release "
			    "the binding first", ifn, ext);
	else
		dmt_err_set(&ctx->err, ret, "channels-set on %s (rx %u tx %u "
			    "combined %u) failed: %s%s", ifn, ch->rx, ch->tx,
			    ch->combined, dmt_strerror(ret), ext);
	return dmt_ret(ret);
}

int dmt_ethtool_rss_set(struct dmt_ctx *ctx, int ifindex,
			const uint32_t *indir, uint32_t size)
{
	struct ethtool_rxfh_indir *r;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || (size && !indir) || size > 65536)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL, "rss-set: invalid "
			"arguments"));
	r = calloc(1, sizeof(*r) + size * sizeof(uint32_t));
	if (!r)
		return dmt_ret(dmt_err_set(&ctx->err, -ENOMEM, "out of memory"));
	r->cmd = ETHTOOL_SRXFHINDIR;
	r->size = size;
	if (size)
		memcpy(r->ring_index, indir, size * sizeof(uint32_t));
	ret = dmt_ethtool_ioctl(ifindex, r);
	free(r);
	if (ret < 0)
		return dmt_ret(ioctl_fail(ctx, ifindex, ret, size ?
			"setting the RSS indirection table" :
			"resetting the RSS indirection table",
			"without RSS other traffic cannot be kept off the bound "
			"queues; use a NIC with RSS or set the NIC up by hand "
			"and bind without a NIC setup (dmt_ctx_bind_rx)"));
	return 0;
}

int dmt_ethtool_ntuple_add(struct dmt_ctx *ctx, int ifindex,
			   const struct dmt_flow_rule *rule, uint32_t loc,
			   uint32_t *loc_out)
{
	struct ethtool_rxnfc nfc;
	struct ethtool_rx_flow_spec *fs = &nfc.fs;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !rule ||
	    (rule->family != AF_INET && rule->family != AF_INET6))
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL, "ntuple-add: "
			"ifindex > 0 and an IPv4 or IPv6 rule are needed"));
	memset(&nfc, 0, sizeof(nfc));
	nfc.cmd = ETHTOOL_SRXCLSRLINS;
	fs->ring_cookie = rule->queue;
	fs->location = loc;
	if (rule->family == AF_INET) {
		static const uint8_t zero[4];

		fs->flow_type = TCP_V4_FLOW;
		memcpy(&fs->h_u.tcp_ip4_spec.ip4src, rule->src, 4);
		memcpy(&fs->h_u.tcp_ip4_spec.ip4dst, rule->dst, 4);
		fs->h_u.tcp_ip4_spec.psrc = rule->src_port;
		fs->h_u.tcp_ip4_spec.pdst = rule->dst_port;
		fs->m_u.tcp_ip4_spec.ip4src = memcmp(rule->src, zero, 4) ? ~0u : 0;
		fs->m_u.tcp_ip4_spec.ip4dst = memcmp(rule->dst, zero, 4) ? ~0u : 0;
		fs->m_u.tcp_ip4_spec.psrc = rule->src_port ? 0xffff : 0;
		fs->m_u.tcp_ip4_spec.pdst = rule->dst_port ? 0xffff : 0;
	} else {
		static const uint8_t zero[16];

		fs->flow_type = TCP_V6_FLOW;
		memcpy(fs->h_u.tcp_ip6_spec.ip6src, rule->src, 16);
		memcpy(fs->h_u.tcp_ip6_spec.ip6dst, rule->dst, 16);
		fs->h_u.tcp_ip6_spec.psrc = rule->src_port;
		fs->h_u.tcp_ip6_spec.pdst = rule->dst_port;
		if (memcmp(rule->src, zero, 16))
			memset(fs->m_u.tcp_ip6_spec.ip6src, 0xff, 16);
		if (memcmp(rule->dst, zero, 16))
			memset(fs->m_u.tcp_ip6_spec.ip6dst, 0xff, 16);
		fs->m_u.tcp_ip6_spec.psrc = rule->src_port ? 0xffff : 0;
		fs->m_u.tcp_ip6_spec.pdst = rule->dst_port ? 0xffff : 0;
	}
	ret = dmt_ethtool_ioctl(ifindex, &nfc);
	if (ret < 0)
		return dmt_ret(ioctl_fail(ctx, ifindex, ret,
			"inserting an ntuple flow rule",
			"devmem RX needs ntuple flow steering to put the flow on "
			"the bound queues"));
	if (loc_out)
		*loc_out = fs->location;
	return 0;
}

int dmt_ethtool_ntuple_del(struct dmt_ctx *ctx, int ifindex, uint32_t loc)
{
	struct ethtool_rxnfc nfc;
	char what[64];
	int ret;

	dmt_err_clear(&ctx->err);
	memset(&nfc, 0, sizeof(nfc));
	nfc.cmd = ETHTOOL_SRXCLSRLDEL;
	nfc.fs.location = loc;
	ret = dmt_ethtool_ioctl(ifindex, &nfc);
	if (ret < 0) {
		snprintf(what, sizeof(what), "deleting ntuple rule %u", loc);
		return dmt_ret(ioctl_fail(ctx, ifindex, ret, what,
					  "the driver has no ntuple rules"));
	}
	return 0;
}
