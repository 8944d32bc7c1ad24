/* SPDX-License-Identifier: MIT */
/*
 * Synthetic devmem receives for tier A RX tests: control buffers holding
 * SCM_DEVMEM_DMABUF / SCM_DEVMEM_LINEAR cmsgs built exactly as the kernel
 * lays them out (put_cmsg of a 24-byte struct dmabuf_cmsg), a fake
 * recvmsg that plays a script of such receives, and a simulated kernel
 * token table behind a fake SO_DEVMEM_DONTNEED with the kernel's limits.
 */
#ifndef DMT_RX_SYNTH_H
#define DMT_RX_SYNTH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "rx.h"
#include "helpers.h"

struct synth_cmsg {
	int type;			/* SCM_DEVMEM_DMABUF or _LINEAR */
	uint64_t off;
	uint32_t len, token, binding;
};

/* Write cmsgs into ctrl (cap bytes); returns bytes used, or 0 when the
 * next one does not fit (the caller decides: ETOOSMALL or MSG_CTRUNC). */
static inline size_t synth_ctrl(char *ctrl, size_t cap,
				const struct synth_cmsg *c, unsigned int n,
				unsigned int *fitted)
{
	const size_t sp = CMSG_SPACE(sizeof(struct dmt_uapi_dmabuf_cmsg));
	size_t used = 0;

	*fitted = 0;
	for (unsigned int i = 0; i < n && used + sp <= cap; i++) {
		struct cmsghdr *cm = (struct cmsghdr *)(void *)(ctrl + used);
		struct dmt_uapi_dmabuf_cmsg d = { 0 };

		memset(cm, 0, sp);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = c[i].type;
		cm->cmsg_len = CMSG_LEN(sizeof(d));
		if (c[i].type == SCM_DEVMEM_DMABUF) {
			d.frag_offset = c[i].off;
			d.frag_token = c[i].token;
			d.dmabuf_id = c[i].binding;
		}
		d.frag_size = c[i].len;
		memcpy(CMSG_DATA(cm), &d, sizeof(d));
		used += sp;
		(*fitted)++;
	}
	return used;
}

/* One scripted recvmsg result. */
struct synth_step {
	int err;			/* > 0: fail with -err */
	size_t need_ctrl;		/* fail with 525 while controllen < this */
	const struct synth_cmsg *c;
	unsigned int n;
	size_t ret;			/* bytes returned */
	const char *linear;		/* bytes written to the iov */
	size_t linear_len;
	bool ctrunc;			/* set MSG_CTRUNC */
};

struct synth_script {
	const struct synth_step *steps;
	unsigned int nsteps, pos;
	unsigned int calls;
	size_t last_controllen;
	int last_flags;
};

static inline ssize_t synth_recvmsg(void *user, int fd, struct msghdr *msg,
				    int flags)
{
	struct synth_script *s = user;
	const struct synth_step *st;
	unsigned int fitted;
	size_t used;

	(void)fd;
	s->calls++;
	s->last_controllen = msg->msg_controllen;
	s->last_flags = flags;
	if (s->pos >= s->nsteps)
		return 0;			/* end of stream */
	st = &s->steps[s->pos];
	if (st->need_ctrl && msg->msg_controllen < st->need_ctrl)
		return -525;
	s->pos++;
	if (st->err)
		return -st->err;
	msg->msg_flags = st->ctrunc ? MSG_CTRUNC : 0;
	used = synth_ctrl(msg->msg_control, msg->msg_controllen, st->c, st->n,
			  &fitted);
	T_CHECK(fitted == st->n || st->ctrunc, "script step %u: only %u of %u "
		"cmsgs fit in %zu bytes", s->pos - 1, fitted, st->n,
		(size_t)msg->msg_controllen);
	msg->msg_controllen = used;
	if (st->linear_len) {
		T_CHECK(msg->msg_iovlen >= 1 &&
			msg->msg_iov[0].iov_len >= st->linear_len,
			"linear area too small");
		memcpy(msg->msg_iov[0].iov_base, st->linear, st->linear_len);
	}
	return (ssize_t)st->ret;
}

/* Simulated kernel token table (sk_user_frags) with the DONTNEED rules. */
#define SYNTH_TOKENS 65536
struct synth_kernel {
	bool held[SYNTH_TOKENS];
	unsigned int calls;
	unsigned int max_entries, max_frags;
	unsigned int frag_cap;		/* frags processed per call (1024) */
	int fail_err;			/* > 0: next call fails with it */
};

static inline void synth_hold(struct synth_kernel *k, uint32_t t)
{
	T_CHECK(t > 0 && t < SYNTH_TOKENS, "token %u", t);
	k->held[t] = true;
}

static inline unsigned int synth_held(const struct synth_kernel *k)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < SYNTH_TOKENS; i++)
		n += k->held[i];
	return n;
}

static inline int synth_dontneed(void *user, int fd,
				 const struct dmt_uapi_dmabuf_token *t,
				 unsigned int n)
{
	struct synth_kernel *k = user;
	unsigned int frags = 0, freed = 0;

	(void)fd;
	k->calls++;
	if (k->fail_err) {
		int e = k->fail_err;
		k->fail_err = 0;
		return -e;
	}
	/* sock.c: optlen % 8, at most MAX_DONTNEED_TOKENS entries */
	if (n == 0 || n > DMT_DONTNEED_MAX_TOKENS)
		return -EINVAL;
	if (n > k->max_entries)
		k->max_entries = n;
	for (unsigned int i = 0; i < n; i++) {
		for (uint32_t j = 0; j < t[i].token_count; j++) {
			uint32_t tok = t[i].token_start + j;

			if (++frags > (k->frag_cap ? k->frag_cap :
				       DMT_DONTNEED_MAX_FRAGS))
				goto out;
			if (tok < SYNTH_TOKENS && k->held[tok]) {
				k->held[tok] = false;
				freed++;
			}
		}
	}
out:
	if (frags > k->max_frags)
		k->max_frags = frags;
	return (int)freed;
}

#endif
