// SPDX-License-Identifier: MIT
/* tier A: devmem TX cmsg layout and error-queue notification parsing. */
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>

#include "helpers.h"
#include "uapi.h"
#include "tx.h"

static int parse_one(int level, int type, uint32_t lo, uint32_t hi,
		     uint8_t origin, uint32_t eerr, uint8_t code, int flags,
		     uint32_t *plo, uint32_t *phi, bool *copied)
{
	char cbuf[CMSG_SPACE(sizeof(struct sock_extended_err))]
		__attribute__((aligned(8))) = { 0 };
	struct msghdr msg = { .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf),
			      .msg_flags = flags };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	struct sock_extended_err ee = { .ee_errno = eerr, .ee_origin = origin,
					.ee_code = code, .ee_info = lo,
					.ee_data = hi };

	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(sizeof(ee));
	memcpy(CMSG_DATA(cm), &ee, sizeof(ee));
	return dmt_zc_parse(&msg, plo, phi, copied);
}

int main(void)
{
	char cbuf[DMT_DEVMEM_CMSG_SPACE] __attribute__((aligned(8)));
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	uint32_t id, lo = 0, hi = 0;
	bool copied = false;

	/* merged ABI: one SOL_SOCKET/SCM_DEVMEM_DMABUF cmsg, bare u32 */
	dmt_devmem_cmsg_build(&msg, cbuf, 0xdeadbeef);
	T_CHECK(msg.msg_controllen == CMSG_SPACE(4), "controllen %zu",
		(size_t)msg.msg_controllen);
	cm = CMSG_FIRSTHDR(&msg);
	T_CHECK(cm && cm->cmsg_level == SOL_SOCKET, "level");
	T_CHECK(cm->cmsg_type == 79, "type %d (SCM_DEVMEM_DMABUF is 79)",
		cm->cmsg_type);
	T_CHECK(cm->cmsg_len == CMSG_LEN(4) && CMSG_LEN(4) == 20,
		"cmsg_len %zu", (size_t)cm->cmsg_len);
	memcpy(&id, CMSG_DATA(cm), 4);
	T_CHECK(id == 0xdeadbeef, "id %x", id);
	T_CHECK(!CMSG_NXTHDR(&msg, cm), "exactly one cmsg");

	/* IPv4 completion, copied */
	T_CHECK(parse_one(SOL_IP, IP_RECVERR, 5, 14, SO_EE_ORIGIN_ZEROCOPY, 0,
			  SO_EE_CODE_ZEROCOPY_COPIED, 0, &lo, &hi, &copied) == 1,
		"v4 parse");
	T_CHECK(lo == 5 && hi == 14 && copied, "range %u..%u", lo, hi);
	/* IPv6 completion, not copied */
	T_CHECK(parse_one(SOL_IPV6, IPV6_RECVERR, 0xffffffff, 2,
			  SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0, &lo, &hi, &copied) == 1,
		"v6 parse");
	T_CHECK(lo == 0xffffffff && hi == 2 && !copied, "wrap range kept");
	/* truncated control data is an error, not a silent loss */
	T_CHECK(parse_one(SOL_IP, IP_RECVERR, 1, 1, SO_EE_ORIGIN_ZEROCOPY, 0, 0,
			  MSG_CTRUNC, &lo, &hi, &copied) == -EPROTO, "ctrunc");
	/* a real socket error on the queue is returned as -errno */
	T_CHECK(parse_one(SOL_IP, IP_RECVERR, 0, 0, 2 /* LOCAL */, EMSGSIZE, 0,
			  0, &lo, &hi, &copied) == -EMSGSIZE, "socket error");
	T_CHECK(parse_one(SOL_IP, IP_RECVERR, 0, 0, SO_EE_ORIGIN_ZEROCOPY,
			  ENOBUFS, 0, 0, &lo, &hi, &copied) == -ENOBUFS,
		"zerocopy origin with errno");
	/* unrelated cmsg: not a notification */
	T_CHECK(parse_one(SOL_SOCKET, 1, 0, 0, 0, 0, 0, 0, &lo, &hi,
			  &copied) == 0, "other cmsg");
	printf("cmsg: ok\n");
	return T_PASS;
}
