/* SPDX-License-Identifier: MIT */
/*
 * RX internals: the devmem cmsg parser (rx_parse.c), the token batcher
 * (tokens.c) and the receive object (rx.c). The parser and the batcher are
 * pure: no allocation, no syscall of their own (the batcher calls the
 * SO_DEVMEM_DONTNEED function it is given), so tier A tests drive them
 * with synthetic msghdr/cmsg buffers and a simulated kernel.
 */
#ifndef DMT_RX_H
#define DMT_RX_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "buffer.h"
#include "uapi.h"

/* Bytes of control buffer one devmem cmsg takes (CMSG_SPACE of a
 * struct dmabuf_cmsg): 40 on LP64. */
#define DMT_RX_CMSG_SPACE CMSG_SPACE(sizeof(struct dmt_uapi_dmabuf_cmsg))

/* ---- parser (rx_parse.c) ---- */

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

/* ---- token batcher (tokens.c) ---- */

/* SO_DEVMEM_DONTNEED: returns frags freed (>= 0) or -errno. */
typedef int (*dmt_dontneed_fn)(void *user, int fd,
			       const struct dmt_uapi_dmabuf_token *t,
			       unsigned int n);
/* The real one: setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, ...). */
int dmt_dontneed_sys(void *user, int fd, const struct dmt_uapi_dmabuf_token *t,
		     unsigned int n);

struct dmt_tok_result {
	uint64_t requested;	/* tokens handed to the kernel */
	uint64_t freed;		/* tokens the kernel said it freed */
	unsigned int calls;	/* SO_DEVMEM_DONTNEED calls */
	unsigned int short_calls; /* calls that freed fewer than asked */
	unsigned int max_entries; /* largest entry count of one call */
	unsigned int max_frags;	/* largest frag count of one call */
};

/*
 * Return the tokens of frags[0..n) (linear and copied frags are skipped):
 * numerically contiguous runs merged into {start, count}, at most
 * DMT_DONTNEED_MAX_TOKENS entries and DMT_DONTNEED_MAX_FRAGS frags per call,
 * every call's count checked. res accumulates (zero it first).
 * Returns tokens freed, -ENOENT when the kernel freed fewer than asked
 * (tokens released twice or foreign: res says how many), or the first
 * -errno of a call (later batches are not sent). No allocation.
 */
int dmt_tokens_release(int fd, const struct dmt_frag *frags, unsigned int n,
		       dmt_dontneed_fn fn, void *user,
		       struct dmt_tok_result *res);

/* ---- receive object (rx.c) ---- */

typedef ssize_t (*dmt_recvmsg_fn)(void *user, int fd, struct msghdr *msg,
				  int flags);

struct dmt_rx_copy_rec {
	uint64_t off;
	uint32_t len;
	bool released;
};

struct dmt_rx {
	struct dmt_ctx *ctx;		/* may be NULL (logging only) */
	struct dmt_buf *buf;
	int fd;
	bool own_fd;
	bool nonblock;
	bool no_linear;
	bool auto_engine;		/* AUTO picked devmem: plain data is
					 * delivered as linear, not an error */
	enum dmt_engine engine;		/* DEVMEM or COPY */
	uint32_t binding;
	/* devmem */
	char *ctrl;
	size_t ctrl_size, ctrl_max;
	char *linear;
	size_t linear_size;
	uint64_t outstanding;		/* devmem tokens lent */
	unsigned int max_outstanding;
	/* copy engine: ring over the buffer, synthetic tokens */
	char *bounce;
	size_t bounce_size;
	struct dmt_rx_copy_rec *ring;	/* max_outstanding records */
	uint64_t tok_head, tok_tail;	/* next token to lend / oldest lent
					 * (64-bit counters; token = low 32) */
	char *scratch;			/* gather between unmapped buffers */
	uint64_t wpos;			/* next write offset in buf */
	/* callbacks */
	dmt_rx_frag_fn frag_fn;
	dmt_rx_pressure_fn pressure_fn;
	void *user;
	/* syscalls (replaced by tests) */
	dmt_recvmsg_fn recvmsg_fn;
	dmt_dontneed_fn dontneed_fn;
	void *sys_user;
	bool eof;
	struct dmt_rx_stats st;
	char reason[256];
	struct dmt_error err;
};

/* Test hooks (tier A): replace the two syscalls, force the devmem path on
 * a host buffer with a given binding id. */
void dmt_rx_test_hooks(struct dmt_rx *rx, dmt_recvmsg_fn r, dmt_dontneed_fn d,
		       void *user);
int dmt_rx_test_force_devmem(struct dmt_rx *rx, uint32_t binding, bool autom);

#endif
