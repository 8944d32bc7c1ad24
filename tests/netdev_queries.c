// SPDX-License-Identifier: MIT
/*
 * tier B: the netdev family's read-only requests against this kernel:
 * dev-get, queue-get (single and dump) and page-pool-get, on lo and on
 * the default-route device when there is one, with the errors host-facts
 * §1 lists (unknown ifindex ENODEV, unknown queue EINVAL).
 */
#include <net/if.h>

#include "helpers.h"
#include "internal.h"

int main(void)
{
	struct dmt_queue_info q[64], one;
	struct dmt_page_pool_info pp[64];
	struct dmt_dev_info d;
	struct dmt_ctx *ctx;
	int n, lo = (int)if_nametoindex("lo");

	ctx = t_ctx();
	T_CHECK(lo > 0, "no lo");

	T_CHECK(dmt_ctx_dev_get(ctx, lo, &d) == 0 && d.ifindex == (uint32_t)lo,
		"dev-get lo: %s", dmt_ctx_last_error(ctx)->message);
	T_CHECK(dmt_ctx_dev_get(ctx, 999999, &d) == -ENODEV, "dev-get ENODEV");
	T_CHECK(strstr(dmt_ctx_last_error(ctx)->message, "dev-get"), "message");

	n = dmt_ctx_queue_dump(ctx, lo, q, 64);
	T_CHECK(n >= 2, "lo has an rx and a tx queue: %d", n);
	for (int i = 0; i < n && i < 64; i++)
		T_CHECK(q[i].ifindex == (uint32_t)lo && q[i].type <= 1 &&
			!q[i].has_dmabuf, "queue %d fields", i);
	T_CHECK(dmt_ctx_queue_get(ctx, lo, DMT_QUEUE_RX, 0, &one) == 0 &&
		one.id == 0 && one.type == DMT_QUEUE_RX, "queue-get rx0");
	T_CHECK(dmt_ctx_queue_get(ctx, lo, DMT_QUEUE_RX, 5, &one) == -EINVAL &&
		strstr(dmt_ctx_last_error(ctx)->message, "no such queue"),
		"rx5: %s", dmt_ctx_last_error(ctx)->message);

	n = dmt_ctx_page_pool_dump(ctx, 0, pp, 64);
	T_SKIP_IF(n == -EOPNOTSUPP, "kernel without page-pool introspection");
	T_CHECK(n >= 0, "page-pool dump: %s", dmt_ctx_last_error(ctx)->message);
	for (int i = 0; i < n && i < 64; i++)
		T_CHECK(pp[i].id > 0, "pool %d has no id", i);
	printf("page pools on this host: %d\n", n);
	T_CHECK(dmt_ctx_page_pool_dump(ctx, lo, pp, 64) == 0,
		"lo has no page pool");
	T_CHECK(dmt_ctx_page_pool_dump(ctx, -1, pp, 64) == -EINVAL, "bad ifindex");
	dmt_ctx_free(ctx);
	printf("netdev_queries: ok\n");
	return T_PASS;
}
