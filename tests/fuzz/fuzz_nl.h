/* SPDX-License-Identifier: MIT */
/*
 * Shared by the netlink-reply fuzz targets (fuzz_netdev_reply,
 * fuzz_ethtool_reply): the whole datagram through the request loop's
 * walker, as the reply to the request its first header names.
 */
#ifndef DMT_FUZZ_NL_H
#define DMT_FUZZ_NL_H

#include "fuzz_util.h"
#include "nl.h"

static inline void fz_nl_run(void *buf, size_t size, int len)
{
	struct dmt_nl nl = { 0 };
	struct dmt_error re;
	const struct nlmsghdr *h = buf;

	if (size < 16)
		return;
	nl.portid = h->nlmsg_pid;
	FZ_ASSERT(dmt_nl_run(&nl, buf, len, h->nlmsg_seq, NULL, NULL, &re) <= 1);
}

#endif
