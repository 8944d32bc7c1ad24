// SPDX-License-Identifier: MIT
/* The receive object: engine choice, the receive and release calls that
 * dispatch to the engines (rx_devmem.c, rx_copy.c), gather and stats. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rx.h"
#include "stage.h"

#define RX_SCRATCH 65536u

static ssize_t recvmsg_sys(void *user, int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	(void)user;
	n = recvmsg(fd, msg, flags);
	return n < 0 ? dmt_neg_errno() : n;
}

/* ---- engine choice ---- */

const struct dmt_rx_engine *dmt_rx_fallback(const struct dmt_buf *buf)
{
	return buf->map ? &dmt_rx_engine_copy : &dmt_rx_engine_staged;
}

void dmt_rx_fallback_text(const struct dmt_buf *buf, char *out, size_t len)
{
	if (buf->map)
		snprintf(out, len, "copy: recv into %s memory",
			 dmt_buf_kind_name(buf->kind));
	else
		snprintf(out, len, "staging through host memory (recv into "
			 "bounce buffers, a second thread copies them into %s "
			 "memory)", dmt_buf_kind_name(buf->kind));
}

static const struct dmt_rx_engine *engine_of(enum dmt_engine e)
{
	switch (e) {
	case DMT_ENGINE_DEVMEM:
		return &dmt_rx_engine_devmem;
	case DMT_ENGINE_STAGED:
		return &dmt_rx_engine_staged;
	case DMT_ENGINE_COPY:
		return &dmt_rx_engine_copy;
	default:
		return NULL;
	}
}

/* Which engine and buffer rx gets, and why (rx->reason). 0 or -errno with
 * rx->err saying why. */
static int pick(struct dmt_rx *rx, struct dmt_rx_listener *l,
		struct dmt_buf *buf, enum dmt_engine want)
{
	char fb[160];

	if (want == DMT_ENGINE_AUTO && l) {
		want = l->engine;
		snprintf(rx->reason, sizeof(rx->reason), "%s", l->reason);
	} else if (want == DMT_ENGINE_AUTO) {
		dmt_rx_fallback_text(buf, fb, sizeof(fb));
		want = dmt_rx_fallback(buf)->id;
		snprintf(rx->reason, sizeof(rx->reason), "no listener, so no "
			 "devmem binding (dmt_rx_listen makes one); %s", fb);
	} else {
		rx->auto_engine = false;
		snprintf(rx->reason, sizeof(rx->reason), "%s requested",
			 dmt_engine_name(want));
	}
	rx->eng = engine_of(want);
	if (want == DMT_ENGINE_DEVMEM) {
		rx->auto_engine = !strstr(rx->reason, "requested");
		if (!l)
			return dmt_err_set(&rx->err, -DMT_ERR_ENGINE, "devmem RX "
				"cannot run: no listener (the devmem binding and "
				"NIC setup belong to a dmt_rx_listener)");
		if (l->engine != DMT_ENGINE_DEVMEM)
			return dmt_err_set(&rx->err, l->block_err ? l->block_err :
				-DMT_ERR_ENGINE, "devmem RX cannot run: %s",
				l->blockers[0] ? l->blockers : "the listener was "
				"made for another engine (dmt_rx_listen_opts.engine)");
		if (buf && buf != l->buf)
			return dmt_err_set(&rx->err, -EINVAL, "devmem fragments "
				"land in the buffer the listener bound: pass NULL "
				"or that buffer");
		rx->buf = l->buf;
		return 0;
	}
	rx->buf = buf ? buf : l->buf;
	if (l && rx->buf == l->buf) {
		if (l->engine == DMT_ENGINE_DEVMEM)
			return dmt_err_set(&rx->err, -EBUSY, "the listener's "
				"buffer is bound for devmem RX: give the %s engine "
				"a buffer of its own", rx->eng->id ==
				DMT_ENGINE_COPY ? "copy" : "staged");
		if (atomic_fetch_add(&l->buf_users, 1) > 0) {
			atomic_fetch_sub(&l->buf_users, 1);
			return dmt_err_set(&rx->err, -EBUSY, "the listener's "
				"buffer already takes the bytes of another "
				"connection: give this one a buffer of its own "
				"(the buf argument)");
		}
		rx->buf_counted = true;
	}
	return 0;
}

/* ---- creation ---- */

static struct dmt_rx *rx_fail(struct dmt_rx *rx, int ret, struct dmt_error *err)
{
	dmt_err_copy(err, &rx->err);
	if (err && !err->message[0])
		dmt_err_set(err, ret, "rx: %s", dmt_strerror(ret));
	dmt_rx_free(rx);
	errno = ret < 0 ? -ret : EIO;
	return NULL;
}

DMT_EXPORT struct dmt_rx *dmt_rx_from_fd(struct dmt_rx_listener *l,
					 struct dmt_buf *buf, int fd,
					 const struct dmt_rx_opts *opts,
					 struct dmt_error *err)
{
	enum dmt_engine want;
	struct dmt_rx *rx;
	size_t pages;
	int ret;

	dmt_err_clear(err);
	if (fd < 0 || (!buf && !l)) {
		dmt_err_set(err, -EINVAL, "rx: a connected socket and a buffer "
			    "(or a listener that has one) are required");
		errno = EINVAL;
		return NULL;
	}
	if (!DMT_OPTS_CHECK(opts, dmt_rx_opts, err))
		return NULL;
	want = DMT_OPTS_OR(opts, engine, DMT_ENGINE_AUTO);
	if (want != DMT_ENGINE_AUTO && !engine_of(want)) {
		dmt_err_set(err, -EINVAL, "dmt_rx_opts.engine: %s does not "
			    "receive; use auto, devmem, staged or copy",
			    dmt_engine_name(want));
		errno = EINVAL;
		return NULL;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	rx->l = l;
	rx->ctx = l ? l->ctx : NULL;
	rx->fd = fd;
	rx->nonblock = DMT_OPTS_OR(opts, nonblock, 0);
	rx->no_linear = DMT_OPTS_OR(opts, no_linear, 0);
	rx->frag_fn = DMT_OPTS_OR(opts, frag_fn, NULL);
	rx->pressure_fn = DMT_OPTS_OR(opts, pressure_fn, NULL);
	rx->user = DMT_OPTS_OR(opts, user, NULL);
	rx->recvmsg_fn = recvmsg_sys;
	rx->dontneed_fn = dmt_dontneed_sys;
	rx->st.sz = sizeof(rx->st);
	ret = pick(rx, l, buf, want);
	if (ret < 0)
		return rx_fail(rx, ret, err);
	pages = rx->buf->size / dmt_page_size();
	rx->max_outstanding = DMT_OPTS_OR(opts, max_outstanding,
					   (unsigned int)(pages * 3 / 4 ? pages * 3 / 4 : 1));
	ret = rx->eng->setup(rx, opts);
	if (ret < 0)
		return rx_fail(rx, ret, err);
	dmt_log(rx->ctx, DMT_LOG_INFO, "rx engine %s: %s",
		dmt_engine_name(rx->eng->id), rx->reason);
	return rx;
}

DMT_EXPORT struct dmt_rx *dmt_rx_accept(struct dmt_rx_listener *l,
					struct dmt_buf *buf,
					const struct dmt_rx_opts *opts,
					struct dmt_error *err)
{
	struct dmt_rx *rx;
	int fd, ret;

	dmt_err_clear(err);
	if (!l || l->fd < 0) {
		dmt_err_set(err, -EINVAL, "dmt_rx_accept: the listener has no "
			    "socket (it was made without an address): accept "
			    "the connection yourself and use dmt_rx_from_fd()");
		errno = EINVAL;
		return NULL;
	}
	/* EINTR goes back to the caller (a signal may mean "stop"). */
	fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		ret = dmt_neg_errno();
		dmt_err_set(err, ret, "accept failed: %s", dmt_strerror(ret));
		errno = -ret;
		return NULL;
	}
	rx = dmt_rx_from_fd(l, buf, fd, opts, err);
	if (!rx) {
		ret = errno;
		close(fd);
		errno = ret;
		return NULL;
	}
	rx->own_fd = true;
	return rx;
}

DMT_EXPORT void dmt_rx_free(struct dmt_rx *rx)
{
	if (!rx)
		return;
	if (rx->eng && rx->eng->destroy)
		rx->eng->destroy(rx);
	if (rx->buf_counted)
		atomic_fetch_sub(&rx->l->buf_users, 1);
	/* Closing the socket makes the kernel free its tokens; with a
	 * borrowed socket they stay until the caller closes it. */
	if (rx->own_fd && rx->fd >= 0)
		close(rx->fd);
	free(rx->scratch);
	free(rx);
}

DMT_EXPORT int dmt_rx_fd(const struct dmt_rx *rx)
{
	return rx->fd;
}

DMT_EXPORT enum dmt_engine dmt_rx_engine(const struct dmt_rx *rx)
{
	return rx->eng->id;
}

DMT_EXPORT const char *dmt_rx_engine_reason(const struct dmt_rx *rx)
{
	return rx->reason;
}

DMT_EXPORT const struct dmt_error *dmt_rx_last_error(const struct dmt_rx *rx)
{
	return &rx->err;
}

DMT_EXPORT const void *dmt_rx_linear(const struct dmt_rx *rx)
{
	return rx->linear;
}

DMT_EXPORT uint64_t dmt_rx_outstanding(const struct dmt_rx *rx)
{
	return rx->eng->outstanding(rx);
}

DMT_EXPORT int dmt_rx_get_stats(const struct dmt_rx *rx,
				struct dmt_rx_stats *stats)
{
	struct dmt_rx_stats v;
	size_t n;

	if (!rx || !stats || stats->sz < sizeof(size_t))
		return dmt_ret(-EINVAL);
	v = rx->st;
	v.outstanding = dmt_rx_outstanding(rx);
	if (rx->stage) {
		struct dmt_stage_stats ss;

		dmt_stage_get_stats(rx->stage, &ss);
		v.stage_chunk = dmt_stage_chunk(rx->stage);
		v.stage_chunks = ss.chunks;
		v.stage_copy_ns = ss.copy_ns;
		v.stage_net_wait_ns = ss.net_wait_ns;
		v.stage_pinned = ss.pinned;
	}
	n = stats->sz < sizeof(v) ? stats->sz : sizeof(v);
	v.sz = stats->sz;
	memcpy(stats, &v, n);
	return 0;
}

/* ---- test hooks ---- */

void dmt_rx_test_hooks(struct dmt_rx *rx, dmt_recvmsg_fn r, dmt_dontneed_fn d,
		       void *user)
{
	if (r)
		rx->recvmsg_fn = r;
	if (d)
		rx->dontneed_fn = d;
	rx->sys_user = user;
}

/* ---- release ---- */

DMT_EXPORT int dmt_rx_release(struct dmt_rx *rx, const struct dmt_frag *frags,
			      unsigned int n)
{
	struct dmt_tok_result res = { 0 };
	unsigned int copies = 0, copied_ok = 0;
	int ret;

	if (!rx || (n && !frags))
		return dmt_ret(-EINVAL);
	for (unsigned int i = 0; i < n; i++) {
		if (frags[i].flags & DMT_FRAG_COPIED) {
			copies++;
			copied_ok += (unsigned int)dmt_rx_copy_release(rx, &frags[i]);
		}
	}
	ret = dmt_tokens_release(rx->fd, frags, n, rx->dontneed_fn, rx->sys_user,
				 &res);
	rx->st.dontneed_calls += res.calls;
	rx->st.tokens_released += res.freed + copied_ok;
	rx->outstanding -= res.freed < rx->outstanding ? res.freed : rx->outstanding;
	if (ret < 0 && ret != -ENOENT)
		return dmt_fail(&rx->err, ret, "SO_DEVMEM_DONTNEED failed: %s (%llu "
			"of %llu tokens returned before it)", dmt_strerror(ret),
			(unsigned long long)res.freed,
			(unsigned long long)res.requested);
	if (ret == -ENOENT || copied_ok != copies)
		return dmt_fail(&rx->err, -ENOENT, "%llu of %llu fragments were not "
			"lent by this receiver (released twice, or from another "
			"socket): the kernel freed %llu of %llu tokens",
			(unsigned long long)(res.requested - res.freed +
					     copies - copied_ok),
			(unsigned long long)(res.requested + copies),
			(unsigned long long)res.freed,
			(unsigned long long)res.requested);
	return (int)(res.freed + copied_ok);
}

/* ---- receive ---- */

bool dmt_rx_relieved(struct dmt_rx *rx)
{
	uint64_t before = dmt_rx_outstanding(rx);

	rx->st.pressure++;
	return rx->pressure_fn && rx->pressure_fn(rx, before, rx->user) >= 0 &&
	       dmt_rx_outstanding(rx) < before;
}

static int pressure(struct dmt_rx *rx)
{
	while (dmt_rx_outstanding(rx) >= rx->max_outstanding) {
		uint64_t before = dmt_rx_outstanding(rx);

		if (!dmt_rx_relieved(rx))
			return dmt_fail(&rx->err, -ENOBUFS, "%llu fragments are lent "
				"(max_outstanding %u): release some with "
				"dmt_rx_release() before receiving more, or the "
				"bound page pool runs dry and the NIC drops packets",
				(unsigned long long)before, rx->max_outstanding);
	}
	return 0;
}

DMT_EXPORT ssize_t dmt_rx_recv(struct dmt_rx *rx, struct dmt_frag *frags,
			       unsigned int max, unsigned int *nfrags)
{
	unsigned int got = 0;
	ssize_t n;
	int ret;

	if (nfrags)
		*nfrags = 0;
	if (!rx || !frags || !max || !nfrags)
		return dmt_ret(-EINVAL);
	if (rx->eof)
		return 0;
	ret = pressure(rx);
	if (ret < 0)
		return ret;
	n = rx->eng->recv(rx, frags, max, &got);
	if (n == 0)
		rx->eof = true;
	if (n <= 0)
		return n;
	rx->st.frags += got;
	*nfrags = got;
	if (rx->frag_fn) {
		rx->frag_fn(rx, frags, got, rx->user);
		ret = dmt_rx_release(rx, frags, got);
		if (ret < 0)
			return ret;
	}
	return n;
}

/* ---- gather ---- */

static const void *linear_ptr(struct dmt_rx *rx, const struct dmt_frag *f)
{
	if (!rx->linear || f->off > rx->linear_size ||
	    f->len > rx->linear_size - f->off)
		return NULL;
	return rx->linear + f->off;
}

static int gather_check(struct dmt_rx *rx, const struct dmt_frag *frags,
			unsigned int n, uint64_t *total)
{
	*total = 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct dmt_frag *f = &frags[i];

		if (f->flags & DMT_FRAG_LINEAR) {
			if (!linear_ptr(rx, f))
				return dmt_fail(&rx->err, -EINVAL, "gather: linear "
					"fragment %u [%llu, +%u) is outside the "
					"linear area", i,
					(unsigned long long)f->off, f->len);
		} else if (f->off > dmt_buf_read_span(rx->buf) ||
			   f->len > dmt_buf_read_span(rx->buf) - f->off) {
			return dmt_fail(&rx->err, -EINVAL, "gather: fragment %u "
				"[%llu, +%u) is outside the %llu bytes of the "
				"dma-buf this buffer can read", i,
				(unsigned long long)f->off, f->len,
				(unsigned long long)dmt_buf_read_span(rx->buf));
		}
		*total += f->len;
	}
	return 0;
}

static bool direct_map(const struct dmt_buf *b)
{
	return b->map && !(b->ops && b->ops->read);
}

DMT_EXPORT ssize_t dmt_rx_gather(struct dmt_rx *rx, const struct dmt_frag *frags,
				 unsigned int n, void *dst, size_t dstlen)
{
	uint64_t total, pos = 0;
	bool direct;
	int ret;

	if (!rx || (n && (!frags || !dst)))
		return dmt_ret(-EINVAL);
	ret = gather_check(rx, frags, n, &total);
	if (ret < 0)
		return ret;
	if (total > dstlen)
		return dmt_fail(&rx->err, -ENOSPC, "gather: %llu bytes do not fit "
			"in %zu", (unsigned long long)total, dstlen);
	direct = direct_map(rx->buf);
	if (direct && (ret = dmt_buf_begin_cpu(rx->buf, DMT_SYNC_READ)) < 0)
		return ret;
	for (unsigned int i = 0; i < n; i++) {
		const struct dmt_frag *f = &frags[i];
		char *d = (char *)dst + pos;

		if (f->flags & DMT_FRAG_LINEAR) {
			memcpy(d, linear_ptr(rx, f), f->len);
		} else if (direct) {
			memcpy(d, (const char *)rx->buf->map + f->off, f->len);
		} else {
			ret = dmt_buf_read_any(rx->buf, f->off, d, f->len);
			if (ret < 0) {
				dmt_err_copy(&rx->err, &rx->buf->err);
				return ret;
			}
		}
		pos += f->len;
	}
	if (direct && (ret = dmt_buf_end_cpu(rx->buf, DMT_SYNC_READ)) < 0)
		return ret;
	return (ssize_t)pos;
}

DMT_EXPORT ssize_t dmt_rx_gather_buf(struct dmt_rx *rx,
				     const struct dmt_frag *frags,
				     unsigned int n, struct dmt_buf *dst,
				     uint64_t dst_off)
{
	uint64_t total, pos = 0;
	bool direct;
	int ret = 0;

	if (!rx || !dst || (n && !frags))
		return dmt_ret(-EINVAL);
	ret = gather_check(rx, frags, n, &total);
	if (ret < 0)
		return ret;
	if (!dmt_buf_range_ok(dst, dst_off, total))
		return dmt_fail(&rx->err, -ENOSPC, "gather: %llu bytes at %llu do not "
			"fit in the %zu-byte destination buffer",
			(unsigned long long)total, (unsigned long long)dst_off,
			dst->size);
	direct = direct_map(rx->buf);
	if (!direct && !rx->scratch) {
		rx->scratch = malloc(RX_SCRATCH);
		if (!rx->scratch)
			return dmt_fail(&rx->err, -ENOMEM, "out of memory");
	}
	if (direct && (ret = dmt_buf_begin_cpu(rx->buf, DMT_SYNC_READ)) < 0)
		return ret;
	for (unsigned int i = 0; i < n && ret >= 0; i++) {
		const struct dmt_frag *f = &frags[i];

		if (f->flags & DMT_FRAG_LINEAR) {
			ret = dmt_buf_write(dst, dst_off + pos, linear_ptr(rx, f),
					    f->len);
		} else if (direct) {
			ret = dmt_buf_write(dst, dst_off + pos,
					    (const char *)rx->buf->map + f->off,
					    f->len);
		} else {
			for (uint32_t done = 0; done < f->len && ret >= 0;) {
				uint32_t c = f->len - done < RX_SCRATCH ?
					     f->len - done : RX_SCRATCH;

				ret = dmt_buf_read_any(rx->buf, f->off + done,
						   rx->scratch, c);
				if (ret >= 0)
					ret = dmt_buf_write(dst, dst_off + pos + done,
							    rx->scratch, c);
				done += c;
			}
		}
		pos += f->len;
	}
	if (direct) {
		int r2 = dmt_buf_end_cpu(rx->buf, DMT_SYNC_READ);
		if (ret >= 0)
			ret = r2;
	}
	if (ret < 0) {
		dmt_err_copy(&rx->err, dst->err.err ? &dst->err : &rx->buf->err);
		return dmt_ret(ret);
	}
	return (ssize_t)pos;
}
