/* SPDX-License-Identifier: MIT */
/*
 * Minimal netlink core on libmnl: sockets with extended ack, a request
 * loop that keeps the kernel's error text, generic-netlink family lookup.
 * Internal; no libmnl type crosses the public header.
 */
#ifndef DMT_NL_H
#define DMT_NL_H

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "internal.h"

/* extack TLVs (linux/netlink.h, 4.12+; guarded for old headers) */
enum {
	DMT_NLMSGERR_ATTR_MSG = 1,
	DMT_NLMSGERR_ATTR_OFFS = 2,
	DMT_NLMSGERR_ATTR_COOKIE = 3,
	DMT_NLMSGERR_ATTR_POLICY = 4,
	DMT_NLMSGERR_ATTR_MISS_TYPE = 5,
	DMT_NLMSGERR_ATTR_MISS_NEST = 6,
};
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

#define DMT_NL_BUFSZ 16384

int dmt_nl_open(struct dmt_nl *nl, int bus);
void dmt_nl_close(struct dmt_nl *nl);

/* Start a generic-netlink request in buf (DMT_NL_BUFSZ bytes). */
struct nlmsghdr *dmt_genl_req(char *buf, int family, uint8_t cmd,
			      uint8_t version, uint16_t flags);

/*
 * Send req and run the reply: data messages go to cb (may be NULL);
 * NLMSG_ERROR / NLMSG_DONE end it. Returns 0 or -errno; on a kernel error
 * fills e with errno, extack text, bad-attribute offset and missing type.
 */
int dmt_nl_talk(struct dmt_nl *nl, struct nlmsghdr *req, mnl_cb_t cb,
		void *data, struct dmt_error *e);

/*
 * Run one received datagram (buf, len bytes) of the reply to request seq:
 * 1 when the reply goes on (more datagrams), else dmt_nl_talk's result.
 * Every message must lie inside the datagram (libmnl's mnl_nlmsg_ok takes
 * a length >= 2^31 for negative and lets it through); bytes that are not
 * a message end the reply with -DMT_ERR_NETLINK.
 */
int dmt_nl_run(const struct dmt_nl *nl, const void *buf, int len,
	       unsigned int seq, mnl_cb_t cb, void *data, struct dmt_error *e);

/* nlh is a whole message within len bytes (strict mnl_nlmsg_ok). */
static inline bool dmt_nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)len;
}

/*
 * Parse one NLMSG_ERROR or NLMSG_DONE message. Returns the (negative)
 * error it carries, 0 for an ACK / clean DONE. Fills e (extack etc.).
 */
int dmt_nl_parse_err(const struct nlmsghdr *nlh, struct dmt_error *e);

/* Generic netlink family lookup. ops (may be NULL) receives a bitmap of the
 * command ids the family lists (bit n = cmd n, n < 64). */
struct dmt_genl_family {
	int id;
	uint32_t version;
	uint64_t ops;
	uint64_t ops_admin;	/* ops flagged GENL_ADMIN_PERM */
	uint64_t ops_uns_admin;	/* ops flagged GENL_UNS_ADMIN_PERM */
};
int dmt_genl_resolve(struct dmt_nl *nl, const char *name,
		     struct dmt_genl_family *fam, struct dmt_error *e);
/* Parse a CTRL_CMD_NEWFAMILY message (exposed for tests). */
int dmt_genl_parse_family(const struct nlmsghdr *nlh,
			  struct dmt_genl_family *fam);

#endif /* DMT_NL_H */
