// SPDX-License-Identifier: MIT
/* Egress device of a destination: RTM_GETROUTE on rtnetlink. */
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>

#include "nl.h"

struct route_reply {
	int oif;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_reply *r = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct rtmsg)) {
		if (mnl_attr_get_type(a) == RTA_OIF &&
		    mnl_attr_get_payload_len(a) == 4)
			r->oif = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

DMT_EXPORT int dmt_ctx_route_egress(struct dmt_ctx *ctx, const struct sockaddr *dst,
				socklen_t dstlen, int *ifindex)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct route_reply r = { 0 };
	struct in_addr v4;
	const void *addr;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int family, alen, ret;

	dmt_err_clear(&ctx->err);
	if (!dst || !ifindex)
		return dmt_ret(-EINVAL);
	if (dst->sa_family == AF_INET && dstlen >= sizeof(struct sockaddr_in)) {
		addr = &((const struct sockaddr_in *)dst)->sin_addr;
		family = AF_INET;
		alen = 4;
	} else if (dst->sa_family == AF_INET6 &&
		   dstlen >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a6 =
			&((const struct sockaddr_in6 *)dst)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(&v4, &a6->s6_addr[12], 4);
			addr = &v4;
			family = AF_INET;
			alen = 4;
		} else {
			addr = a6;
			family = AF_INET6;
			alen = 16;
		}
	} else {
		return dmt_ret(dmt_err_set(&ctx->err, -EAFNOSUPPORT,
			"route lookup: address family %d is not IPv4 or IPv6",
			dst->sa_family));
	}
	if (!ctx->rtnl.sock) {
		ret = dmt_nl_open(&ctx->rtnl, NETLINK_ROUTE);
		if (ret < 0)
			return dmt_ret(dmt_err_set(&ctx->err, ret,
				"cannot open rtnetlink: %s", dmt_strerror(ret)));
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, (size_t)alen, addr);
	ret = dmt_nl_talk(&ctx->rtnl, nlh, route_cb, &r, &ctx->err);
	if (ret < 0) {
		char s[INET6_ADDRSTRLEN];
		inet_ntop(family, addr, s, sizeof(s));
		return dmt_ret(dmt_err_set(&ctx->err, ret,
			"no route to %s: %s%s%s", s, dmt_strerror(ret),
			ctx->err.extack[0] ? ": " : "", ctx->err.extack));
	}
	if (r.oif <= 0)
		return dmt_ret(dmt_err_set(&ctx->err, -ENETUNREACH,
			"route lookup returned no output interface"));
	*ifindex = r.oif;
	return 0;
}
