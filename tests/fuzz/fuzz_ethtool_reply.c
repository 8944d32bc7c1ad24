// SPDX-License-Identifier: MIT
/* libFuzzer: ethtool generic-netlink replies (rings-get, channels-get)
 * and netlink errors with extended ack, as recv() would return them: each
 * whole message to every parser, the datagram to dmt_nl_run. */
#include <libmnl/libmnl.h>

#include "ethtool.h"
#include "fuzz_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = fz_dup(data, size);
	const struct nlmsghdr *nlh = buf;
	int len = (int)(size > 65536 ? 65536 : size);

	fz_nl_run(buf, size, len);
	for (; dmt_nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		struct dmt_rings r;
		struct dmt_channels c;
		struct dmt_error e;

		if (dmt_ethtool_parse_rings(nlh, &r) == 0)
			FZ_ASSERT(!r.has_tcp_data_split || r.tcp_data_split <= 255);
		dmt_ethtool_parse_channels(nlh, &c);
		dmt_nl_parse_err(nlh, &e);
		FZ_ASSERT(memchr(e.extack, 0, sizeof(e.extack)) &&
			  memchr(e.message, 0, sizeof(e.message)));
	}
	free(buf);
	return 0;
}
