// SPDX-License-Identifier: MIT
/*
 * tier A: parsers fed bytes a hostile or broken peer could produce (found
 * by the fuzz targets in tests/fuzz). Each input sits at the very end of a
 * page followed by an inaccessible guard page, so a read one byte past
 * what the parser was given faults here even without a sanitizer.
 *  - a devmem cmsg whose cmsg_len claims more than msg_controllen holds
 *  - the same for a zero-copy completion (IP_RECVERR), and an ee_errno
 *    no kernel sends (its negation overflowed an int)
 *  - an NLMSG_ERROR whose echoed request header is shorter than itself
 *  - a netlink message whose nlmsg_len is >= 2^31 (libmnl's mnl_nlmsg_ok
 *    reads it as negative and lets it through; found by fuzz_netdev_reply)
 *  - dmt_strerror(INT_MIN), whose negation does not exist
 */
#include <limits.h>
#include <time.h>	/* before errqueue.h: struct timespec */
#include <linux/errqueue.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "netdev.h"
#include "rx_parse.h"
#include "uapi.h"
#include "ztrack.h"

/* len bytes placed so that the next byte is on a PROT_NONE page */
static void *guarded(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = (len + pg - 1) / pg * pg;
	char *m = mmap(NULL, n + pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_CHECK(m != MAP_FAILED, "mmap");
	T_CHECK(mprotect(m + n, pg, PROT_NONE) == 0, "mprotect");
	memset(m, 0, n);
	return m + n - len;
}

static void unguard(void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = (len + pg - 1) / pg * pg;

	munmap((char *)p + len - n, n + pg);
}

static void cmsg_past_controllen(void)
{
	struct dmt_rx_parse_cfg cfg = { .binding = 1, .size = 1 << 20 };
	struct dmt_rx_parse_res res;
	struct dmt_frag f[4];
	struct dmt_error e;
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	int ret;

	/* only the header was received; cmsg_len claims a full devmem cmsg */
	cm = guarded(sizeof(*cm));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_DEVMEM_DMABUF;
	cm->cmsg_len = CMSG_LEN(sizeof(struct dmt_uapi_dmabuf_cmsg));
	m.msg_control = cm;
	m.msg_controllen = sizeof(*cm);
	dmt_err_clear(&e);
	ret = dmt_rx_parse(&m, 100, &cfg, f, 4, &res, &e);
	T_CHECK(ret == -EPROTO, "cmsg past controllen: %d (%s)", ret, e.message);
	T_CHECK(strstr(e.message, "does not fit"), "message: %s", e.message);
	T_CHECK(res.nfrags == 0, "%u fragments from a cut cmsg", res.nfrags);
	unguard(cm, sizeof(*cm));

	/* a valid cmsg, then one whose length runs past the end */
	{
		const size_t sp = CMSG_SPACE(sizeof(struct dmt_uapi_dmabuf_cmsg));
		const size_t total = sp + sizeof(struct cmsghdr) + 8;
		char *c = guarded(total);
		struct dmt_uapi_dmabuf_cmsg d = { .frag_size = 10,
						  .dmabuf_id = 1 };
		struct cmsghdr *c2;

		cm = (struct cmsghdr *)(void *)c;
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_DEVMEM_DMABUF;
		cm->cmsg_len = CMSG_LEN(sizeof(d));
		memcpy(CMSG_DATA(cm), &d, sizeof(d));
		c2 = (struct cmsghdr *)(void *)(c + sp);
		c2->cmsg_level = SOL_SOCKET;
		c2->cmsg_type = SCM_DEVMEM_LINEAR;
		c2->cmsg_len = CMSG_LEN(sizeof(d));
		m.msg_control = c;
		m.msg_controllen = total;
		dmt_err_clear(&e);
		ret = dmt_rx_parse(&m, 10, &cfg, f, 4, &res, &e);
		T_CHECK(ret == -EPROTO && res.ndmabuf == 1 && res.nfrags == 1 &&
			!res.nlinear, "second cmsg cut: %d, %u frags (%s)", ret,
			res.nfrags, e.message);
		unguard(c, total);
	}
	printf("cmsg past msg_controllen: %s\n", e.message);
}

static void zc_hostile(void)
{
	struct sock_extended_err ee = { .ee_origin = SO_EE_ORIGIN_ZEROCOPY,
					.ee_info = 1, .ee_data = 2 };
	const size_t full = CMSG_SPACE(sizeof(ee));
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	uint32_t lo = 0, hi = 0;
	bool copied = false;
	char *c;
	int ret;

	/* header only, cmsg_len claims the extended error */
	cm = guarded(sizeof(*cm));
	cm->cmsg_level = SOL_IP;
	cm->cmsg_type = IP_RECVERR;
	cm->cmsg_len = CMSG_LEN(sizeof(ee));
	m.msg_control = cm;
	m.msg_controllen = sizeof(*cm);
	ret = dmt_zc_parse(&m, &lo, &hi, &copied);
	T_CHECK(ret == -EPROTO, "IP_RECVERR past controllen: %d", ret);
	unguard(cm, sizeof(*cm));

	/* a whole cmsg with an impossible ee_errno */
	c = guarded(full);
	cm = (struct cmsghdr *)(void *)c;
	cm->cmsg_level = SOL_IP;
	cm->cmsg_type = IP_RECVERR;
	cm->cmsg_len = CMSG_LEN(sizeof(ee));
	ee.ee_errno = 0x80000000u;
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	m.msg_control = c;
	m.msg_controllen = full;
	ret = dmt_zc_parse(&m, &lo, &hi, &copied);
	T_CHECK(ret == -EPROTO, "ee_errno 0x80000000: %d", ret);
	/* and a well-formed one still parses */
	ee.ee_errno = 0;
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	ret = dmt_zc_parse(&m, &lo, &hi, &copied);
	T_CHECK(ret == 1 && lo == 1 && hi == 2, "valid completion: %d %u-%u", ret,
		lo, hi);
	unguard(c, full);
	printf("zero-copy completion past controllen / bad ee_errno: -EPROTO\n");
}

static void nl_short_echo(void)
{
	/* NLMSG_ERROR, ACK TLVs, not capped: the echoed request header says
	 * 8 bytes, less than its own 16. Its seq/pid fields are laid out as
	 * an OFFS attribute to show whether they get parsed as TLVs. */
	const size_t len = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	struct nlmsghdr *nlh = guarded(len);
	struct nlmsgerr *me = (struct nlmsgerr *)NLMSG_DATA(nlh);
	struct dmt_error e;
	int ret;

	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS;
	me->error = -EINVAL;
	me->msg.nlmsg_len = 8;
	me->msg.nlmsg_seq = (DMT_NLMSGERR_ATTR_OFFS << 16) | 8;
	me->msg.nlmsg_pid = 0x1234;
	ret = dmt_nl_parse_err(nlh, &e);
	T_CHECK(ret == -EINVAL, "error code %d", ret);
	T_CHECK(e.bad_attr == 0 && !e.extack[0],
		"short echoed header parsed as TLVs: bad_attr 0x%x extack '%s'",
		e.bad_attr, e.extack);

	/* echoed length far past the message: no TLVs, no wild pointer */
	me->msg.nlmsg_len = 0xfffffff0u;
	ret = dmt_nl_parse_err(nlh, &e);
	T_CHECK(ret == -EINVAL && e.bad_attr == 0, "huge echo: %d", ret);
	unguard(nlh, len);
	printf("short/huge echoed netlink header: error kept, no TLVs read\n");
}

static void nl_len_over_2g(void)
{
	const size_t len = 64;
	struct nlmsghdr *nlh = guarded(len);
	struct dmt_nl nl = { 0 };
	struct dmt_error e;
	int ret;

	nlh->nlmsg_len = 0xffffff64u;
	nlh->nlmsg_type = 0x20;
	nlh->nlmsg_seq = 2;	/* not the request's: skipped, then the next */
	ret = dmt_nl_run(&nl, nlh, (int)len, 1, NULL, NULL, &e);
	T_CHECK(ret == -DMT_ERR_NETLINK, "nlmsg_len 0xffffff64: %d", ret);
	T_CHECK(strstr(e.message, "malformed netlink reply"), "%s", e.message);
	/* a clean ACK still ends the reply with 0 */
	memset(nlh, 0, len);
	nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = 1;
	ret = dmt_nl_run(&nl, nlh, (int)len, 1, NULL, NULL, &e);
	T_CHECK(ret == 0, "ACK: %d", ret);
	unguard(nlh, len);
	printf("nlmsg_len over 2 GiB: refused, ACK still 0\n");
}

static void strerror_extremes(void)
{
	const char *s = dmt_strerror(INT_MIN);

	T_CHECK(s && !strcmp(s, "unknown error -2147483648"),
		"dmt_strerror(INT_MIN): '%s'", s ? s : "(null)");
	s = dmt_strerror(INT_MAX);
	T_CHECK(s && strstr(s, "2147483647"), "dmt_strerror(INT_MAX): '%s'", s);
	s = dmt_strerror(-EINVAL);
	T_CHECK(s && !strcmp(s, strerror(EINVAL)), "EINVAL: '%s'", s);
	printf("dmt_strerror(INT_MIN): %s\n", dmt_strerror(INT_MIN));
}

int main(void)
{
	cmsg_past_controllen();
	zc_hostile();
	nl_short_echo();
	nl_len_over_2g();
	strerror_extremes();
	printf("parse_hostile: ok\n");
	return T_PASS;
}
