// SPDX-License-Identifier: MIT
/*
 * tier B: the ethtool getters against the real kernel on lo, eth0 (when it
 * is virtio_net) and a veth in a private namespace. Expectations come from
 * host-facts.md §5 but are cross-checked against what the kernel says
 * elsewhere (sysfs queue directories, the netdev family's queue dump, the
 * legacy SIOCETHTOOL ioctls: GRINGPARAM, GCHANNELS, GFEATURES), so another
 * host with other ring sizes still passes. Read-only: nothing on lo or eth0 is changed.
 */
#include <dirent.h>
#include <net/if.h>
#include <unistd.h>

#include "ethtool.h"
#include "helpers.h"
#include "ethtool_view.h"	/* after helpers.h */
#include "netdev.h"
#include "netns.h"
#include "uapi.h"

/* sysfs: directories named prefix-N under /sys/class/net/IF/queues */
static int sysfs_queues(const char *ifn, const char *prefix)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifn);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static int rx_queue_dump(struct dmt_ctx *ctx, int ifindex)
{
	struct dmt_queue_info q[64];
	int n = dmt_ctx_queue_dump(ctx, ifindex, q, ARRAY_SIZE(q)), rx = 0;

	T_CHECK(n >= 0, "queue dump: %s", dmt_ctx_last_error(ctx)->message);
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(q); i++)
		rx += q[i].type == DMT_QUEUE_RX;
	return rx;
}

static void check_lo(struct dmt_ctx *ctx)
{
	int lo = (int)if_nametoindex("lo"), ret;
	struct dmt_rings r;
	struct dmt_channels c;
	bool active = true, fixed = false;

	T_CHECK(lo > 0, "no lo");
	ret = dmt_ethtool_rings_get(ctx, lo, &r);
	T_CHECK(ret == -EOPNOTSUPP, "lo rings: %d %s", ret,
		dmt_ctx_last_error(ctx)->message);
	T_CHECK(errno == EOPNOTSUPP, "errno %d", errno);
	T_CHECK(strstr(dmt_ctx_last_error(ctx)->message, "rings-get on lo"),
		"sentence: %s", dmt_ctx_last_error(ctx)->message);
	ret = dmt_ethtool_channels_get(ctx, lo, &c);
	T_CHECK(ret == -EOPNOTSUPP, "lo channels: %d", ret);
	/* fallback: RX queues from queue-get, same as sysfs */
	ret = dmt_dev_rx_queues(ctx, lo);
	T_CHECK(ret == rx_queue_dump(ctx, lo) && ret == sysfs_queues("lo", "rx-"),
		"lo rx queues %d sysfs %d", ret, sysfs_queues("lo", "rx-"));
	/* lo has the feature string set; ntuple is off and fixed */
	ret = dmt_ethtool_feature_get(ctx, lo, "rx-ntuple-filter", &active, &fixed);
	T_CHECK(ret == 0 && !active && fixed, "lo ntuple: %d %d %d (%s)", ret,
		active, fixed, dmt_ctx_last_error(ctx)->message);
	/* lo's "loopback" feature is on and fixed by definition */
	ret = dmt_ethtool_feature_get(ctx, lo, "loopback", &active, &fixed);
	T_CHECK(ret == 0 && active && fixed, "lo loopback feature %d %d %d", ret,
		active, fixed);
	ret = dmt_ethtool_feature_get(ctx, lo, "no-such-feature", &active, &fixed);
	T_CHECK(ret == -ENOENT, "unknown feature: %d", ret);
	printf("lo: rings/channels EOPNOTSUPP, %d rx queue(s), ntuple off [fixed]\n",
	       dmt_dev_rx_queues(ctx, lo));
}

static void check_eth0(struct dmt_ctx *ctx)
{
	int ifi = (int)if_nametoindex("eth0"), ret, rxq;
	char drv[32] = "";
	struct t_ethview v;
	struct dmt_rings r;
	struct dmt_channels c;
	struct dmt_ntuple_list l;
	struct dmt_rss rss;
	bool active = true, fixed = false;

	if (ifi <= 0 || dmt_if_driver(ifi, drv, sizeof(drv), NULL, 0) < 0 ||
	    strcmp(drv, "virtio_net")) {
		printf("eth0 part skipped: eth0 %s (driver \"%s\"), not virtio_net\n",
		       ifi > 0 ? "present" : "absent", drv);
		return;
	}
	ret = dmt_ethtool_rings_get(ctx, ifi, &r);
	T_CHECK(ret == 0, "eth0 rings: %s", dmt_ctx_last_error(ctx)->message);
	T_CHECK(r.rx_max > 0 && r.rx > 0 && r.rx <= r.rx_max && r.tx <= r.tx_max,
		"rings rx %u/%u tx %u/%u", r.rx, r.rx_max, r.tx, r.tx_max);
	/* virtio_net has no header split: no attribute at all on 6.18 */
	T_CHECK(!r.has_tcp_data_split ||
		r.tcp_data_split != DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED,
		"virtio_net with header split enabled?");
	t_ethview(ifi, &v);
	T_CHECK(v.rings_ret >= 0 && v.rings.rx_max_pending == r.rx_max &&
		v.rings.rx_pending == r.rx && v.rings.tx_max_pending == r.tx_max &&
		v.rings.tx_pending == r.tx, "GRINGPARAM disagrees (%d): ours rx "
		"%u/%u tx %u/%u, ioctl rx %u/%u tx %u/%u", v.rings_ret, r.rx,
		r.rx_max, r.tx, r.tx_max, v.rings.rx_pending,
		v.rings.rx_max_pending, v.rings.tx_pending,
		v.rings.tx_max_pending);
	ret = dmt_ethtool_channels_get(ctx, ifi, &c);
	T_CHECK(ret == 0, "eth0 channels: %s", dmt_ctx_last_error(ctx)->message);
	T_CHECK(c.combined >= 1 && c.combined <= c.combined_max, "combined %u/%u",
		c.combined, c.combined_max);
	rxq = dmt_dev_rx_queues(ctx, ifi);
	T_CHECK(rxq == (int)(c.rx + c.combined), "rx_queues %d", rxq);
	T_CHECK(rxq == sysfs_queues("eth0", "rx-") && rxq == rx_queue_dump(ctx, ifi),
		"rx queues: channels %d, sysfs %d", rxq, sysfs_queues("eth0", "rx-"));
	T_CHECK(v.ch_ret >= 0 && v.ch.max_combined == c.combined_max &&
		v.ch.combined_count == c.combined && v.ch.rx_count == c.rx,
		"GCHANNELS disagrees (%d): ours combined %u/%u, ioctl %u/%u",
		v.ch_ret, c.combined, c.combined_max, v.ch.combined_count,
		v.ch.max_combined);
	ret = dmt_ethtool_feature_get(ctx, ifi, "rx-ntuple-filter", &active, &fixed);
	T_CHECK(ret == 0, "eth0 ntuple feature: %s", dmt_ctx_last_error(ctx)->message);
	{
		/* GFLAGS: the core's ETH_FLAG_NTUPLE, from dev->features */
		bool fl = v.flags.data & ETH_FLAG_NTUPLE;

		T_CHECK(fl == active, "GFLAGS says ntuple %s, the feature "
			"getter %s", fl ? "on" : "off", active ? "on" : "off");
	}
	ret = dmt_ethtool_ntuple_list(ctx, ifi, &l);
	if (!active) {
		/* virtio_net: GRXCLSRLCNT is EOPNOTSUPP (host-facts §5) */
		T_CHECK(ret == -EOPNOTSUPP || (ret == 0 && l.count == 0),
			"ntuple list: %d", ret);
	}
	if (ret == 0)
		dmt_ntuple_list_free(&l);
	ret = dmt_ethtool_rss_get(ctx, ifi, &rss);
	T_CHECK(ret == 0 || ret == -EOPNOTSUPP, "rss: %s",
		dmt_ctx_last_error(ctx)->message);
	if (ret == 0) {
		for (uint32_t i = 0; i < rss.indir_size; i++)
			T_CHECK(rss.indir[i] < (uint32_t)rxq, "indir[%u]=%u", i,
				rss.indir[i]);
		printf("eth0: RSS indirection %u entries, key %u bytes\n",
		       rss.indir_size, rss.key_size);
		dmt_rss_free(&rss);
	} else {
		printf("eth0: RSS table not supported\n");
	}
	printf("eth0: rings rx %u/%u tx %u/%u, tcp-data-split %s, combined %u/%u, "
	       "ntuple %s%s\n", r.rx, r.rx_max, r.tx, r.tx_max,
	       r.has_tcp_data_split ? "reported" : "absent", c.combined,
	       c.combined_max, active ? "on" : "off", fixed ? " [fixed]" : "");
}

static int veth_side(void *arg)
{
	const struct netpair *p = arg;
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, NULL);
	int ifi = (int)if_nametoindex(p->ifname[0]), ret;
	struct dmt_rings r;
	struct dmt_channels c;
	struct dmt_ntuple_list l;
	bool active = true, fixed = false;

	T_CHECK(ctx, "ctx in netns: %s", strerror(errno));
	T_CHECK(ifi > 0, "%s not in the namespace", p->ifname[0]);
	ret = dmt_ethtool_rings_get(ctx, ifi, &r);
	T_CHECK(ret == -EOPNOTSUPP, "veth rings: %d", ret);
	ret = dmt_ethtool_channels_get(ctx, ifi, &c);
	T_CHECK(ret == 0, "veth channels: %s", dmt_ctx_last_error(ctx)->message);
	/* veth: separate rx/tx channels, max = the device's queue count */
	T_CHECK(c.rx >= 1 && c.rx <= c.rx_max && c.tx >= 1 && c.tx <= c.tx_max &&
		c.combined == 0, "veth channels rx %u/%u tx %u/%u comb %u", c.rx,
		c.rx_max, c.tx, c.tx_max, c.combined);
	T_CHECK((int)(c.rx + c.combined) == rx_queue_dump(ctx, ifi),
		"channels vs queue-get");
	T_CHECK(dmt_dev_rx_queues(ctx, ifi) == (int)c.rx, "rx_queues");
	/* channels-set: 2 RX/TX queues where the device has them, read back
	 * through netlink, the ioctl and the netdev queue dump; then more than
	 * the maximum is refused with the kernel's reason */
	if (c.rx_max >= 2 && c.tx_max >= 2) {
		const struct dmt_channels two = { .rx = 2, .tx = 2 };
		struct t_ethview v;

		ret = dmt_ethtool_channels_set(ctx, ifi, &two);
		T_CHECK(ret == 0, "channels-set rx 2 tx 2: %s",
			dmt_ctx_last_error(ctx)->message);
		T_CHECK(dmt_ethtool_channels_get(ctx, ifi, &c) == 0 && c.rx == 2 &&
			c.tx == 2, "after set: rx %u tx %u", c.rx, c.tx);
		t_ethview(ifi, &v);
		T_CHECK(v.ch_ret >= 0 && v.ch.rx_count == 2 && v.ch.tx_count == 2,
			"GCHANNELS after set: rx %u tx %u", v.ch.rx_count,
			v.ch.tx_count);
		T_CHECK(rx_queue_dump(ctx, ifi) == 2, "queue-get after set");
	}
	{
		const struct dmt_channels over = { .rx = c.rx_max + 1, .tx = c.tx };

		ret = dmt_ethtool_channels_set(ctx, ifi, &over);
	}
	T_CHECK(ret == -EINVAL && strstr(dmt_ctx_last_error(ctx)->message,
					 "channels-set on"),
		"rx %u > max %u: %d %s", c.rx_max + 1, c.rx_max, ret,
		dmt_ctx_last_error(ctx)->message);
	printf("veth channels-set: %s\n", dmt_ctx_last_error(ctx)->message);
	ret = dmt_ethtool_channels_set(ctx, ifi, NULL);
	T_CHECK(ret == -EINVAL, "channels-set without counts: %d", ret);
	ret = dmt_ethtool_feature_get(ctx, ifi, "rx-ntuple-filter", &active, &fixed);
	T_CHECK(ret == 0 && !active && fixed, "veth ntuple %d %d %d", ret, active,
		fixed);
	ret = dmt_ethtool_ntuple_list(ctx, ifi, &l);
	T_CHECK(ret == -EOPNOTSUPP, "veth ntuple list %d", ret);
	/* bad ifindex: ENODEV from the kernel, sentence says so */
	ret = dmt_ethtool_rings_get(ctx, 9999, &r);
	T_CHECK(ret == -ENODEV && strstr(dmt_ctx_last_error(ctx)->message, "9999"),
		"ifindex 9999: %d %s", ret, dmt_ctx_last_error(ctx)->message);
	ret = dmt_ethtool_feature_get(ctx, 9999, "rx-ntuple-filter", &active,
				      &fixed);
	T_CHECK(ret == -ENODEV, "feature ifindex 9999: %d", ret);
	printf("veth %s: rings EOPNOTSUPP, channels rx %u/%u tx %u/%u, ntuple off "
	       "[fixed], rules EOPNOTSUPP\n", p->ifname[0], c.rx, c.rx_max, c.tx,
	       c.tx_max);
	dmt_ctx_free(ctx);
	return 0;
}

int main(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct netpair p;
	int ret;

	t_require_root();
	ctx = dmt_ctx_new(NULL, &err);
	T_SKIP_IF(!ctx && errno == DMT_ERR_NO_FAMILY, "no netdev family: %s",
		  err.message);
	T_CHECK(ctx, "ctx: %s", err.message);
	check_lo(ctx);
	check_eth0(ctx);
	dmt_ctx_free(ctx);

	t_netpair(&p);
	ret = netpair_run(&p, 0, veth_side, &p, NULL);
	netpair_destroy(&p);
	T_CHECK(ret == 0, "veth side exited %d", ret);
	printf("ethtool_query: ok\n");
	return T_PASS;
}
