// SPDX-License-Identifier: MIT
/* Token return: batched SO_DEVMEM_DONTNEED within the kernel's limits
 * (net/core/sock.c: at most 128 {start, count} entries per call, and the
 * kernel stops after 1024 frags). No allocation. */
#include <sys/socket.h>

#include "tokens.h"

int dmt_dontneed_sys(void *user, int fd, const struct dmt_uapi_dmabuf_token *t,
		     unsigned int n)
{
	int ret;

	(void)user;
	ret = setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, t,
			 (socklen_t)(n * sizeof(*t)));
	return ret < 0 ? dmt_neg_errno() : ret;
}

struct batch {
	struct dmt_uapi_dmabuf_token ent[DMT_DONTNEED_MAX_TOKENS];
	unsigned int n;
	unsigned int frags;
};

static int flush(struct batch *b, int fd, dmt_dontneed_fn fn, void *user,
		 struct dmt_tok_result *res)
{
	int ret;

	if (!b->n)
		return 0;
	ret = fn(user, fd, b->ent, b->n);
	res->calls++;
	if (b->n > res->max_entries)
		res->max_entries = b->n;
	if (b->frags > res->max_frags)
		res->max_frags = b->frags;
	if (ret < 0)
		return ret;
	res->requested += b->frags;
	res->freed += (unsigned int)ret;
	if ((unsigned int)ret != b->frags)
		res->short_calls++;
	b->n = 0;
	b->frags = 0;
	return 0;
}

int dmt_tokens_release(int fd, const struct dmt_frag *frags, unsigned int n,
		       dmt_dontneed_fn fn, void *user,
		       struct dmt_tok_result *res)
{
	struct batch b;
	uint64_t freed0 = res->freed, req0 = res->requested;
	int ret;

	b.n = 0;
	b.frags = 0;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t t = frags[i].token;
		struct dmt_uapi_dmabuf_token *last;

		if ((frags[i].flags & (DMT_FRAG_LINEAR | DMT_FRAG_COPIED)) || !t)
			continue;
		if (b.frags == DMT_DONTNEED_MAX_FRAGS) {
			ret = flush(&b, fd, fn, user, res);
			if (ret < 0)
				return ret;
		}
		last = b.n ? &b.ent[b.n - 1] : NULL;
		if (last && last->token_start + last->token_count == t &&
		    last->token_count < UINT32_MAX) {
			last->token_count++;		/* run grows upwards */
		} else if (last && t + 1 == last->token_start) {
			last->token_start = t;		/* ... or downwards */
			last->token_count++;
		} else {
			if (b.n == DMT_DONTNEED_MAX_TOKENS) {
				ret = flush(&b, fd, fn, user, res);
				if (ret < 0)
					return ret;
			}
			b.ent[b.n].token_start = t;
			b.ent[b.n].token_count = 1;
			b.n++;
		}
		b.frags++;
	}
	ret = flush(&b, fd, fn, user, res);
	if (ret < 0)
		return ret;
	if (res->freed - freed0 != res->requested - req0)
		return -ENOENT;
	return (int)(res->freed - freed0);
}
