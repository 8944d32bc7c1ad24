// SPDX-License-Identifier: MIT
/* tier B: enabling header split where the driver has none. On a veth in a
 * private namespace, and (read-only as to outcome: the kernel refuses
 * before the driver is touched) on eth0 when it is a driver without
 * tcp-data-split such as virtio_net: EOPNOTSUPP with the kernel's extack
 * "setting TCP data split is not supported" and a sentence naming the
 * driver and the fix. eth0's rings are compared before and after, through
 * the library's netlink getter and the legacy SIOCETHTOOL ioctls (rings,
 * channels, flags, features; no ethtool program). */
#include <net/if.h>
#include <unistd.h>

#include "drivers.h"
#include "ethtool.h"
#include "helpers.h"
#include "ethtool_view.h"	/* after helpers.h */
#include "netdev.h"
#include "netns.h"
#include "uapi.h"

static void check_refusal(struct dmt_ctx *ctx, int ifx, const char *drv)
{
	char nics[DMT_NIC_DRIVER_LIST_LEN];
	int ret;

	ret = dmt_ethtool_rings_set_hds(ctx, ifx, DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED,
					-1);
	T_CHECK(ret == -EOPNOTSUPP, "tcp-data-split: %d %s", ret,
		ctx->err.message);
	T_CHECK(!strcmp(ctx->err.extack, "setting TCP data split is not supported"),
		"extack '%s'", ctx->err.extack);
	T_CHECK(strstr(ctx->err.message, "tcp-data-split is not supported by") &&
		strstr(ctx->err.message, drv) &&
		strstr(ctx->err.message, dmt_nic_driver_list(true, false, nics,
							     sizeof(nics))),
		"message: %s", ctx->err.message);
	printf("  %s\n", ctx->err.message);
	ret = dmt_ethtool_rings_set_hds(ctx, ifx, -1, 0);
	T_CHECK(ret == -EOPNOTSUPP, "hds-thresh: %d", ret);
	T_CHECK(!strcmp(ctx->err.extack, "setting hds-thresh is not supported"),
		"extack '%s'", ctx->err.extack);
	T_CHECK(strstr(ctx->err.message, "hds-thresh is not supported by"),
		"message: %s", ctx->err.message);
	printf("  %s\n", ctx->err.message);
}

static int in_veth(void *arg)
{
	struct dmt_ctx *ctx;
	struct dmt_error e;
	int ifx = (int)if_nametoindex("dmt0");

	(void)arg;
	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx && ifx > 0, "ctx/dmt0");
	check_refusal(ctx, ifx, "veth");
	dmt_ctx_free(ctx);
	return 0;
}

int main(void)
{
	char drv[32] = "", why[256];
	struct t_ethview before, after;
	struct dmt_rings r0, r1;
	struct dmt_ctx *ctx;
	struct dmt_error e;
	struct netpair np;
	int ret, ifx;

	t_require_root();
	printf("veth:\n");
	t_netpair(&np);
	ret = netpair_run(&np, 0, in_veth, NULL, NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "veth child failed");

	ifx = (int)if_nametoindex("eth0");
	if (!ifx || dmt_if_driver(ifx, drv, sizeof(drv), NULL, 0) < 0) {
		printf("eth0: absent, not checked\n");
		return T_PASS;
	}
	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx, "%s", e.message);
	ret = dmt_ethtool_rings_get(ctx, ifx, &r0);
	if (ret < 0 || r0.has_tcp_data_split) {
		/* a driver with header split: the request could change it */
		printf("eth0 (%s): has a tcp-data-split knob; not touched\n", drv);
		dmt_ctx_free(ctx);
		return T_PASS;
	}
	printf("eth0 (%s):\n", drv);
	t_ethview(ifx, &before);
	check_refusal(ctx, ifx, drv);
	T_CHECK(dmt_ethtool_rings_get(ctx, ifx, &r1) == 0, "rings-get after");
	T_CHECK(!memcmp(&r0, &r1, sizeof(r0)), "eth0 rings changed");
	t_ethview(ifx, &after);
	T_CHECK(t_ethview_same(&before, &after, why, sizeof(why)),
		"eth0 changed: %s", why);
	dmt_ctx_free(ctx);
	printf("rx_hds_errors: ok\n");
	return T_PASS;
}
