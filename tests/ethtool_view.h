/* SPDX-License-Identifier: MIT */
/*
 * An interface's ethtool state through the legacy SIOCETHTOOL ioctls
 * (GRINGPARAM, GCHANNELS, GFLAGS, GFEATURES): another kernel path than the
 * library's netlink getters, so tests can cross-check those and compare
 * "before" and "after" without the ethtool program. GFLAGS and GFEATURES
 * are answered by the core for every interface: a view in which they
 * failed is reported as a failure, never compared as "equal".
 */
#ifndef DMT_TEST_ETHTOOL_VIEW_H
#define DMT_TEST_ETHTOOL_VIEW_H

#include <linux/ethtool.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ethtool.h"
/* needs T_CHECK: include helpers.h before this header */

#define T_ETHVIEW_WORDS 8	/* 256 feature bits; the kernel has < 128 */

struct t_ethview {
	int rings_ret, ch_ret, flags_ret, feat_ret;
	struct ethtool_ringparam rings;
	struct ethtool_channels ch;
	struct ethtool_value flags;
	union {	/* the header and its blocks (a flexible array) */
		struct ethtool_gfeatures hdr;
		char raw[sizeof(struct ethtool_gfeatures) + T_ETHVIEW_WORDS *
			 sizeof(struct ethtool_get_features_block)];
	} feat;
};

static inline void t_ethview(int ifindex, struct t_ethview *v)
{
	memset(v, 0, sizeof(*v));
	v->rings.cmd = ETHTOOL_GRINGPARAM;
	v->rings_ret = dmt_ethtool_ioctl(ifindex, &v->rings);
	v->ch.cmd = ETHTOOL_GCHANNELS;
	v->ch_ret = dmt_ethtool_ioctl(ifindex, &v->ch);
	v->flags.cmd = ETHTOOL_GFLAGS;
	v->flags_ret = dmt_ethtool_ioctl(ifindex, &v->flags);
	v->feat.hdr.cmd = ETHTOOL_GFEATURES;
	v->feat.hdr.size = T_ETHVIEW_WORDS;
	v->feat_ret = dmt_ethtool_ioctl(ifindex, &v->feat);
	T_CHECK(v->flags_ret >= 0 && v->feat_ret >= 0,
		"SIOCETHTOOL GFLAGS/GFEATURES on ifindex %d: %d/%d", ifindex,
		v->flags_ret, v->feat_ret);
	if (v->feat.hdr.size > T_ETHVIEW_WORDS)
		v->feat.hdr.size = T_ETHVIEW_WORDS;
}

/* true when equal; else why names the first difference */
static inline bool t_ethview_same(const struct t_ethview *a,
				  const struct t_ethview *b, char *why,
				  size_t len)
{
	snprintf(why, len, "equal");
	if (a->rings_ret != b->rings_ret ||
	    (a->rings_ret >= 0 && memcmp(&a->rings, &b->rings, sizeof(a->rings))))
		snprintf(why, len, "rings (GRINGPARAM %d/%d: rx %u/%u tx %u/%u)",
			 a->rings_ret, b->rings_ret, a->rings.rx_pending,
			 b->rings.rx_pending, a->rings.tx_pending,
			 b->rings.tx_pending);
	else if (a->ch_ret != b->ch_ret ||
		 (a->ch_ret >= 0 && memcmp(&a->ch, &b->ch, sizeof(a->ch))))
		snprintf(why, len, "channels (GCHANNELS %d/%d: rx %u/%u tx %u/%u "
			 "combined %u/%u)", a->ch_ret, b->ch_ret, a->ch.rx_count,
			 b->ch.rx_count, a->ch.tx_count, b->ch.tx_count,
			 a->ch.combined_count, b->ch.combined_count);
	else if (a->flags.data != b->flags.data)
		snprintf(why, len, "flags (GFLAGS 0x%x/0x%x)", a->flags.data,
			 b->flags.data);
	else if (a->feat.hdr.size != b->feat.hdr.size ||
		 memcmp(a->feat.hdr.features, b->feat.hdr.features,
			a->feat.hdr.size * sizeof(a->feat.hdr.features[0])))
		snprintf(why, len, "features (GFEATURES active word 0 "
			 "0x%x/0x%x)", a->feat.hdr.features[0].active,
			 b->feat.hdr.features[0].active);
	else
		return true;
	return false;
}

#endif
