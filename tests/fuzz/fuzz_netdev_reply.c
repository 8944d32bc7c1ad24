// SPDX-License-Identifier: MIT
/* libFuzzer: netdev generic-netlink replies (bind-tx/bind-rx, dev-get,
 * queue-get, page-pool-get) and netlink error/done messages. The input
 * is a buffer of netlink messages as recv() would return it; every
 * whole message goes to every parser, and the datagram to the request
 * loop's walker (dmt_nl_run). */
#include <libmnl/libmnl.h>

#include "fuzz_nl.h"
#include "netdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = fz_dup(data, size);
	const struct nlmsghdr *nlh = buf;
	int len = (int)(size > 65536 ? 65536 : size);

	fz_nl_run(buf, size, len);
	for (; dmt_nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		struct dmt_dev_info d;
		struct dmt_queue_info q;
		struct dmt_page_pool_info pp;
		struct dmt_error e;
		uint32_t id;

		dmt_netdev_parse_bind(nlh, &id);
		dmt_netdev_parse_dev(nlh, &d);
		dmt_netdev_parse_queue(nlh, &q);
		dmt_netdev_parse_page_pool(nlh, &pp);
		if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
			dmt_nl_parse_err(nlh, &e);
			FZ_ASSERT(memchr(e.extack, 0, sizeof(e.extack)));
		}
	}
	free(buf);
	return 0;
}
