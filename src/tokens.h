/* SPDX-License-Identifier: MIT */
/*
 * The devmem token batcher (tokens.c): pure apart from the
 * SO_DEVMEM_DONTNEED function it is given, so tier A tests drive it with a
 * simulated kernel.
 */
#ifndef DMT_TOKENS_H
#define DMT_TOKENS_H

#include "internal.h"
#include "uapi.h"

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

#endif
