// SPDX-License-Identifier: MIT
/* Netlink core on libmnl: request loop with extended-ack capture. */
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nl.h"

int dmt_nl_open(struct dmt_nl *nl, int bus)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl->sock)
		return dmt_neg_errno();
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int ret = dmt_neg_errno();
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return ret;
	}
	/* Both are best effort: old kernels lack them, errors stay errnos. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

void dmt_nl_close(struct dmt_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	nl->family = 0;
}

struct nlmsghdr *dmt_genl_req(char *buf, int family, uint8_t cmd,
			      uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	/* libmnl 1.0.4 leaves the padding after a string or u8 attribute
	 * as it was: zero the whole buffer so no stack byte reaches the
	 * kernel (valgrind: sendto points to uninitialised bytes) */
	memset(buf, 0, DMT_NL_BUFSZ);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

static int parse_tlvs(const struct nlattr *start, const void *end,
		      struct dmt_error *e)
{
	const struct nlattr *a;

	for (a = start; mnl_attr_ok(a, (int)((const char *)end - (const char *)a));
	     a = mnl_attr_next(a)) {
		switch (mnl_attr_get_type(a)) {
		case DMT_NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(e->extack, sizeof(e->extack), "%s",
					 mnl_attr_get_str(a));
			break;
		case DMT_NLMSGERR_ATTR_OFFS:
			if (mnl_attr_get_payload_len(a) >= 4)
				e->bad_attr = mnl_attr_get_u32(a);
			break;
		case DMT_NLMSGERR_ATTR_MISS_TYPE:
			if (mnl_attr_get_payload_len(a) >= 4)
				e->miss_type = mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
	return 0;
}

int dmt_nl_parse_err(const struct nlmsghdr *nlh, struct dmt_error *e)
{
	struct dmt_error scratch;
	const char *end = (const char *)nlh + nlh->nlmsg_len;
	int err;

	if (!e)
		e = &scratch;
	dmt_err_clear(e);
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
		const char *tlv;

		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*me))
			return -DMT_ERR_NETLINK;
		err = me->error;
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
			size_t room = (size_t)(end - (const char *)me) - sizeof(*me);
			size_t skip = 0;

			tlv = (const char *)me + sizeof(*me);
			if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
				/* the echoed request's payload follows, padded;
				 * a length shorter than its own header or past
				 * the reply is malformed: no TLVs to trust */
				size_t echo = me->msg.nlmsg_len;

				if (echo < sizeof(me->msg))
					skip = room + 1;
				else
					skip = NLMSG_ALIGN(echo - sizeof(me->msg));
			}
			if (skip < room)
				parse_tlvs((const struct nlattr *)(tlv + skip),
					   end, e);
		}
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		const int *perr = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
			return 0;
		err = *perr;
		if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
			parse_tlvs((const struct nlattr *)(perr + 1), end, e);
	} else {
		return -DMT_ERR_NETLINK;
	}
	if (err > 0) /* never positive from the kernel; be defensive */
		err = -err;
	e->err = err;
	return err;
}

int dmt_nl_talk(struct dmt_nl *nl, struct nlmsghdr *req, mnl_cb_t cb,
		void *data, struct dmt_error *e)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	unsigned int seq = ++nl->seq;
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	ssize_t n;
	int ret;

	req->nlmsg_seq = seq;
	if (!dump)
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return dmt_neg_errno();

	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return dmt_neg_errno();
		}
		ret = dmt_nl_run(nl, buf, (int)n, seq, cb, data, e);
		if (ret != 1)
			return ret;
	}
}

int dmt_nl_run(const struct dmt_nl *nl, const void *buf, int len,
	       unsigned int seq, mnl_cb_t cb, void *data, struct dmt_error *e)
{
	const struct nlmsghdr *nlh;

	for (nlh = buf; dmt_nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
			continue; /* stale reply to an earlier request */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			return -EINTR;
		if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE)
			return dmt_nl_parse_err(nlh, e);
		if (nlh->nlmsg_type == NLMSG_NOOP)
			continue;
		if (cb && cb(nlh, data) < MNL_CB_OK)
			return errno ? -errno : -DMT_ERR_NETLINK;
	}
	if (len > 0)
		return dmt_err_set(e, -DMT_ERR_NETLINK, "malformed netlink reply: "
				   "%d bytes that are not a whole message", len);
	return 1;
}

/* ---- generic netlink controller ---- */

static int ops_cb(const struct nlattr *op, struct dmt_genl_family *fam)
{
	const struct nlattr *a;
	uint32_t id = 0, flags = 0;

	mnl_attr_for_each_nested(a, op) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_OP_ID &&
		    mnl_attr_get_payload_len(a) >= 4)
			id = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_OP_FLAGS &&
			 mnl_attr_get_payload_len(a) >= 4)
			flags = mnl_attr_get_u32(a);
	}
	if (id < 64) {
		fam->ops |= 1ull << id;
		if (flags & GENL_ADMIN_PERM)
			fam->ops_admin |= 1ull << id;
#ifndef GENL_UNS_ADMIN_PERM
#define GENL_UNS_ADMIN_PERM 0x10
#endif
		if (flags & GENL_UNS_ADMIN_PERM)
			fam->ops_uns_admin |= 1ull << id;
	}
	return 0;
}

int dmt_genl_parse_family(const struct nlmsghdr *nlh,
			  struct dmt_genl_family *fam)
{
	const struct nlattr *a, *op;

	memset(fam, 0, sizeof(*fam));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -DMT_ERR_NETLINK;
			fam->id = mnl_attr_get_u16(a);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				fam->version = mnl_attr_get_u32(a);
			break;
		case CTRL_ATTR_OPS:
			mnl_attr_for_each_nested(op, a)
				ops_cb(op, fam);
			break;
		default:
			break;
		}
	}
	return fam->id > 0 ? 0 : -DMT_ERR_NETLINK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dmt_genl_family *fam = data;

	if (dmt_genl_parse_family(nlh, fam) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int dmt_genl_resolve(struct dmt_nl *nl, const char *name,
		     struct dmt_genl_family *fam, struct dmt_error *e)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int ret;

	memset(fam, 0, sizeof(*fam));
	nlh = dmt_genl_req(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	ret = dmt_nl_talk(nl, nlh, family_cb, fam, e);
	if (ret == -ENOENT) {
		dmt_err_set(e, -DMT_ERR_NO_FAMILY,
			    "generic netlink family \"%s\" not found: this kernel "
			    "lacks it (devmem TCP needs Linux 6.12 for RX, 6.16 for TX)",
			    name);
		return -DMT_ERR_NO_FAMILY;
	}
	if (ret < 0)
		return ret;
	if (fam->id <= 0)
		return -DMT_ERR_NETLINK;
	nl->family = fam->id;
	return 0;
}
