/* SPDX-License-Identifier: MIT */
/*
 * The devmem cmsg parser (rx_parse.c): pure, no allocation, no syscall, so
 * tier A tests and the fuzzer drive it with synthetic msghdr/cmsg buffers.
 * It stands alone: it knows fragments and errors, not the receive object.
 */
#ifndef DMT_RX_PARSE_H
#define DMT_RX_PARSE_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "internal.h"
#include "uapi.h"

/* Bytes of control buffer one devmem cmsg takes (CMSG_SPACE of a
 * struct dmabuf_cmsg): 40 on LP64. */
#define DMT_RX_CMSG_SPACE CMSG_SPACE(sizeof(struct dmt_uapi_dmabuf_cmsg))

struct dmt_rx_parse_cfg {
	uint32_t binding;	/* our binding id; every dmabuf frag must carry it */
	uint64_t base;		/* buffer's offset inside the dma-buf */
	uint64_t size;		/* buffer size */
	uint64_t dmabuf_size;	/* the dma-buf's real size: frags must lie in
				 * [base, dmabuf_size); 0: base + size */
	uint64_t linear_off;	/* where this call's linear bytes start in the
				 * linear area (normally 0) */
	bool devmem_expected;	/* data without any devmem cmsg is an error */
};

struct dmt_rx_parse_res {
	unsigned int nfrags;	/* records stored */
	unsigned int ndmabuf;	/* SCM_DEVMEM_DMABUF cmsgs */
	unsigned int nlinear;	/* SCM_DEVMEM_LINEAR cmsgs */
	uint64_t devmem_bytes;
	uint64_t linear_bytes;	/* reported by SCM_DEVMEM_LINEAR */
	uint64_t plain_bytes;	/* returned without any devmem cmsg */
	bool ctrunc;		/* MSG_CTRUNC: cmsgs were lost */
	bool full;		/* more cmsgs than frag slots (caller bug) */
};

/*
 * Parse the control messages of one recvmsg(MSG_SOCK_DEVMEM) that returned
 * ret bytes into frags[0..max). Stream order is kept: a linear cmsg's bytes
 * come before the dmabuf frags that follow it. Dmabuf frags get off relative
 * to the buffer (frag_offset - base). Returns 0, or:
 *  -DMT_ERR_FLOW_STEERING  a frag of another binding, a frag outside the
 *                          buffer, or (devmem_expected) data with no devmem
 *                          cmsg at all; e->message says which
 *  -EPROTO                 a devmem cmsg of the wrong size
 * On error res still counts what was parsed, and frags[0..res->nfrags)
 * holds every dmabuf token seen (so the caller can return them).
 * No allocation, no syscall.
 */
int dmt_rx_parse(const struct msghdr *msg, size_t ret,
		 const struct dmt_rx_parse_cfg *cfg, struct dmt_frag *frags,
		 unsigned int max, struct dmt_rx_parse_res *res,
		 struct dmt_error *e);

#endif
