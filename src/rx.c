// SPDX-License-Identifier: MIT
/* RX object: devmem receive (recvmsg MSG_SOCK_DEVMEM, cmsg parsing,
 * batched token return, back-pressure) and the copy engine (plain recv
 * into the buffer through a bounce buffer), gather, stats. */
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rx.h"

#define RX_CTRL_DEFAULT 81920u		/* ~2000 cmsgs, like ncdevmem */
#define RX_CTRL_MAX (1u << 20)
#define RX_LINEAR_DEFAULT (256u << 10)
#define RX_BOUNCE_DEFAULT (256u << 10)
#define RX_SCRATCH 65536u

static ssize_t recvmsg_sys(void *user, int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	(void)user;
	n = recvmsg(fd, msg, flags);
	return n < 0 ? dmt_neg_errno() : n;
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

/* Control buffers hold whole devmem cmsgs: a multiple of their size, at
 * least one (a tail that cannot hold one is never used by the kernel). */
static size_t ctrl_round(size_t n)
{
	n -= n % DMT_RX_CMSG_SPACE;
	return n ? n : DMT_RX_CMSG_SPACE;
}

static int setup_devmem(struct dmt_rx *rx, size_t ctrl, size_t linear)
{
	rx->engine = DMT_ENGINE_DEVMEM;
	rx->ctrl_size = ctrl_round(ctrl);
	rx->ctrl_max = ctrl_round(ctrl > RX_CTRL_MAX ? ctrl : RX_CTRL_MAX);
	rx->linear_size = linear;
	rx->ctrl = malloc(rx->ctrl_size);
	if (!rx->linear)
		rx->linear = malloc(rx->linear_size);
	if (!rx->ctrl || !rx->linear)
		return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	return 0;
}

static int setup_copy(struct dmt_rx *rx, size_t bounce)
{
	rx->engine = DMT_ENGINE_COPY;
	rx->tok_head = rx->tok_tail = 1;
	rx->ring = calloc(rx->max_outstanding, sizeof(*rx->ring));
	if (!rx->ring)
		return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	/* Host memory is received into directly; everything else (udmabuf
	 * with its sync brackets, GPU memory) goes through the bounce. */
	if (rx->buf->kind != DMT_BUF_HOST || !rx->buf->map) {
		rx->bounce_size = bounce;
		rx->bounce = malloc(bounce);
		if (!rx->bounce)
			return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	}
	return 0;
}

DMT_EXPORT struct dmt_rx *dmt_rx_from_fd(struct dmt_ctx *ctx, struct dmt_buf *buf,
					 int fd, const struct dmt_rx_opts *opts,
					 struct dmt_error *err)
{
	enum dmt_engine want;
	struct dmt_rx *rx;
	size_t pages;
	uint32_t binding;
	const char *nbr;
	int ret;

	dmt_err_clear(err);
	if (!buf || fd < 0) {
		dmt_err_set(err, -EINVAL, "rx: a buffer and a connected socket "
			    "are required");
		errno = EINVAL;
		return NULL;
	}
	if (!DMT_OPTS_CHECK(opts, dmt_rx_opts, err))
		return NULL;
	want = DMT_OPTS_OR(opts, engine, DMT_ENGINE_AUTO);
	if (want != DMT_ENGINE_AUTO && want != DMT_ENGINE_DEVMEM &&
	    want != DMT_ENGINE_COPY) {
		dmt_err_set(err, -EINVAL, "rx: engine %s does not receive; use "
			    "auto, devmem or copy", dmt_engine_name(want));
		errno = EINVAL;
		return NULL;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	rx->ctx = ctx;
	rx->buf = buf;
	rx->fd = fd;
	rx->nonblock = DMT_OPTS_OR(opts, nonblock, 0);
	rx->no_linear = DMT_OPTS_OR(opts, no_linear, 0);
	rx->frag_fn = DMT_OPTS_OR(opts, frag_fn, NULL);
	rx->pressure_fn = DMT_OPTS_OR(opts, pressure_fn, NULL);
	rx->user = DMT_OPTS_OR(opts, user, NULL);
	rx->recvmsg_fn = recvmsg_sys;
	rx->dontneed_fn = dmt_dontneed_sys;
	rx->st.sz = sizeof(rx->st);
	pages = buf->size / dmt_page_size();
	rx->max_outstanding = DMT_OPTS_OR(opts, max_outstanding,
					   (unsigned int)(pages * 3 / 4 ? pages * 3 / 4 : 1));
	binding = DMT_OPTS_OR(opts, binding_id, 0);
	nbr = DMT_OPTS_OR(opts, no_binding_reason, NULL);

	if (want == DMT_ENGINE_DEVMEM || want == DMT_ENGINE_AUTO) {
		const char *why = NULL;

		if (buf->dmabuf_fd < 0)
			why = "the buffer is host memory, not a dma-buf";
		else if (!binding)
			why = nbr && nbr[0] ? nbr : "no RX binding id was given "
			      "(set up the NIC and bind-rx first)";
		if (!why) {
			ret = setup_devmem(rx, DMT_OPTS_OR(opts, ctrl_size,
							    RX_CTRL_DEFAULT),
					   DMT_OPTS_OR(opts, linear_size,
							RX_LINEAR_DEFAULT));
			if (ret < 0)
				return rx_fail(rx, ret, err);
			rx->binding = binding;
			rx->auto_engine = want == DMT_ENGINE_AUTO;
			snprintf(rx->reason, sizeof(rx->reason), "devmem RX binding "
				 "%u", binding);
		} else if (want == DMT_ENGINE_DEVMEM) {
			ret = buf->dmabuf_fd < 0 ? -DMT_ERR_NOT_DMABUF : -EINVAL;
			dmt_err_set(&rx->err, ret, "devmem RX cannot be used: %s%s",
				    why, buf->dmabuf_fd < 0 ? "; allocate it with "
				    "udmabuf, dmaheap, cuda or rocm, or use the copy "
				    "engine" : "");
			snprintf(rx->reason, sizeof(rx->reason), "%s", why);
			return rx_fail(rx, ret, err);
		} else {
			snprintf(rx->reason, sizeof(rx->reason), "%s; using copy",
				 why);
		}
	} else {
		snprintf(rx->reason, sizeof(rx->reason), "copy requested");
	}
	if (rx->engine != DMT_ENGINE_DEVMEM) {
		if (!buf->map && !(buf->ops && buf->ops->write))
			return rx_fail(rx, dmt_err_set(&rx->err, -DMT_ERR_ENGINE,
				"the copy engine cannot write into this %s buffer "
				"(no CPU mapping, no provider copy)",
				dmt_buf_kind_name(buf->kind)), err);
		ret = setup_copy(rx, DMT_OPTS_OR(opts, bounce_size,
						  RX_BOUNCE_DEFAULT));
		if (ret < 0)
			return rx_fail(rx, ret, err);
	}
	dmt_log(ctx, DMT_LOG_INFO, "rx engine %s: %s",
		dmt_engine_name(rx->engine), rx->reason);
	return rx;
}

DMT_EXPORT struct dmt_rx *dmt_rx_accept(struct dmt_ctx *ctx, struct dmt_buf *buf,
					int listen_fd,
					const struct dmt_rx_opts *opts,
					struct dmt_error *err)
{
	struct dmt_rx *rx;
	int fd, ret;

	/* EINTR goes back to the caller (a signal may mean "stop"). */
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		ret = dmt_neg_errno();
		dmt_err_set(err, ret, "accept failed: %s", dmt_strerror(ret));
		errno = -ret;
		return NULL;
	}
	rx = dmt_rx_from_fd(ctx, buf, fd, opts, err);
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
	/* Closing the socket makes the kernel free its tokens; with a
	 * borrowed socket they stay until the caller closes it. */
	if (rx->own_fd && rx->fd >= 0)
		close(rx->fd);
	free(rx->ctrl);
	free(rx->linear);
	free(rx->bounce);
	free(rx->ring);
	free(rx->scratch);
	free(rx);
}

DMT_EXPORT int dmt_rx_fd(const struct dmt_rx *rx)
{
	return rx->fd;
}

DMT_EXPORT enum dmt_engine dmt_rx_engine(const struct dmt_rx *rx)
{
	return rx->engine;
}

DMT_EXPORT const char *dmt_rx_engine_reason(const struct dmt_rx *rx)
{
	return rx->reason;
}

DMT_EXPORT uint32_t dmt_rx_binding_id(const struct dmt_rx *rx)
{
	return rx->binding;
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
	return rx->engine == DMT_ENGINE_COPY ? rx->tok_head - rx->tok_tail :
					       rx->outstanding;
}

DMT_EXPORT int dmt_rx_get_stats(const struct dmt_rx *rx,
				struct dmt_rx_stats *stats)
{
	size_t n;

	if (!rx || !stats || stats->sz < sizeof(size_t))
		return dmt_ret(-EINVAL);
	n = stats->sz < sizeof(rx->st) ? stats->sz : sizeof(rx->st);
	memcpy((char *)stats + sizeof(size_t), (const char *)&rx->st +
	       sizeof(size_t), n - sizeof(size_t));
	if (stats->sz >= offsetof(struct dmt_rx_stats, outstanding) +
			 sizeof(uint64_t))
		stats->outstanding = dmt_rx_outstanding(rx);
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

int dmt_rx_test_force_devmem(struct dmt_rx *rx, uint32_t binding, bool autom)
{
	free(rx->ring);
	rx->ring = NULL;
	free(rx->bounce);
	rx->bounce = NULL;
	rx->binding = binding;
	rx->auto_engine = autom;
	snprintf(rx->reason, sizeof(rx->reason), "devmem RX binding %u (test)",
		 binding);
	return setup_devmem(rx, RX_CTRL_DEFAULT, RX_LINEAR_DEFAULT);
}

/* ---- release ---- */

static int copy_release_one(struct dmt_rx *rx, const struct dmt_frag *f)
{
	uint64_t c = rx->tok_tail + (uint32_t)(f->token - (uint32_t)rx->tok_tail);
	struct dmt_rx_copy_rec *r;

	if (!rx->ring || c >= rx->tok_head)
		return 0;
	r = &rx->ring[c % rx->max_outstanding];
	if (r->released || r->off != f->off || r->len != f->len)
		return 0;
	r->released = true;
	while (rx->tok_tail < rx->tok_head &&
	       rx->ring[rx->tok_tail % rx->max_outstanding].released)
		rx->tok_tail++;
	return 1;
}

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
			copied_ok += (unsigned int)copy_release_one(rx, &frags[i]);
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

/* Back-pressure: ask the caller's callback to release fragments; true
 * when fewer are lent afterwards. */
static bool relieved(struct dmt_rx *rx)
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

		if (!relieved(rx))
			return dmt_fail(&rx->err, -ENOBUFS, "%llu fragments are lent "
				"(max_outstanding %u): release some with "
				"dmt_rx_release() before receiving more, or the "
				"bound page pool runs dry and the NIC drops packets",
				(unsigned long long)before, rx->max_outstanding);
	}
	return 0;
}

static void release_all(struct dmt_rx *rx, const struct dmt_frag *frags,
			unsigned int n)
{
	struct dmt_error keep = rx->err;

	dmt_rx_release(rx, frags, n);
	rx->err = keep;
}

/* Double the devmem control buffer, up to ctrl_max. true when it grew. */
static bool ctrl_grow(struct dmt_rx *rx)
{
	size_t grow = ctrl_round(rx->ctrl_size * 2 < rx->ctrl_max ?
				 rx->ctrl_size * 2 : rx->ctrl_max);
	char *p;

	if (rx->ctrl_size >= rx->ctrl_max || !(p = realloc(rx->ctrl, grow)))
		return false;
	rx->ctrl = p;
	rx->ctrl_size = grow;
	return true;
}

static ssize_t recv_devmem(struct dmt_rx *rx, struct dmt_frag *frags,
			   unsigned int max, unsigned int *nfrags)
{
	struct dmt_rx_parse_cfg cfg = {
		.binding = rx->binding,
		.base = rx->buf->dmabuf_off,
		.size = rx->buf->size,
		.dmabuf_size = rx->buf->dmabuf_size,
		.devmem_expected = !rx->auto_engine,
	};
	struct dmt_rx_parse_res res;
	uint64_t slots, acc;
	struct iovec iov;
	struct msghdr msg;
	ssize_t n;
	int ret;

	/* Every cmsg is one fragment and a dmabuf cmsg one token: the
	 * control buffer bounds both (the kernel stops at a cmsg that does
	 * not fit, with ETOOSMALL; every devmem kernel since 6.12 does). */
	slots = rx->max_outstanding - rx->outstanding;
	if (slots > max)
		slots = max;
retry:
	iov.iov_base = rx->linear;
	iov.iov_len = rx->linear_size;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = rx->ctrl;
	msg.msg_controllen = slots * DMT_RX_CMSG_SPACE < rx->ctrl_size ?
			     slots * DMT_RX_CMSG_SPACE : rx->ctrl_size;
	rx->st.recv_calls++;
	n = rx->recvmsg_fn(rx->sys_user, rx->fd, &msg,
			   MSG_SOCK_DEVMEM | (rx->nonblock ? MSG_DONTWAIT : 0));
	if (n == -DMT_ETOOSMALL) {
		rx->st.etoosmall++;
		if (msg.msg_controllen == rx->ctrl_size && ctrl_grow(rx))
			goto retry;
		return dmt_fail(&rx->err, -DMT_ETOOSMALL, "recvmsg: the %zu-byte "
			"control buffer cannot hold the next devmem cmsg "
			"(ETOOSMALL, errno 525): pass more fragment slots or a "
			"larger ctrl_size", (size_t)msg.msg_controllen);
	}
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR)
			return dmt_ret((int)n);
		if (n == -EFAULT)
			return dmt_fail(&rx->err, (int)n, "recvmsg(MSG_SOCK_DEVMEM): "
				"EFAULT: the linear area could not take the "
				"non-split bytes");
		return dmt_fail(&rx->err, (int)n, "recvmsg(MSG_SOCK_DEVMEM) failed: %s",
				   dmt_strerror((int)n));
	}
	if (n == 0) {
		rx->eof = true;
		return 0;
	}
	ret = dmt_rx_parse(&msg, (size_t)n, &cfg, frags, (unsigned int)slots,
			   &res, &rx->err);
	rx->outstanding += res.ndmabuf;
	if (rx->outstanding > rx->st.max_outstanding_seen)
		rx->st.max_outstanding_seen = rx->outstanding;
	rx->st.bytes += (uint64_t)n;
	rx->st.devmem_bytes += res.devmem_bytes;
	rx->st.linear_bytes += res.linear_bytes + res.plain_bytes;
	if (res.ctrunc)
		rx->st.ctrunc++;
	if (ret < 0) {
		release_all(rx, frags, res.nfrags);
		return dmt_ret(ret);
	}
	acc = res.linear_bytes + res.devmem_bytes;
	if (res.ndmabuf + res.nlinear && acc != (uint64_t)n) {
		release_all(rx, frags, res.nfrags);
		if (res.ctrunc) {
			ctrl_grow(rx);
			return dmt_fail(&rx->err, -EMSGSIZE, "recvmsg: MSG_CTRUNC: "
				"the kernel truncated the devmem cmsgs, %llu of %zd "
				"bytes have no fragment record and are lost; the "
				"control buffer is now %zu bytes (devmem kernels "
				"stop with ETOOSMALL instead of truncating; this "
				"kernel did not)",
				(unsigned long long)((uint64_t)n - acc), n,
				rx->ctrl_size);
		}
		return dmt_fail(&rx->err, -EPROTO, "recvmsg returned %zd bytes but "
			"its devmem cmsgs account for %llu", n,
			(unsigned long long)acc);
	}
	if (res.plain_bytes) {
		/* AUTO: the flow is not on the bound queues; hand the bytes
		 * over as linear data and say so once. */
		frags[0].off = 0;
		frags[0].len = (uint32_t)n;
		frags[0].token = 0;
		frags[0].binding = 0;
		frags[0].flags = DMT_FRAG_LINEAR;
		res.nfrags = 1;
		if (!strstr(rx->reason, "flow steering"))
			snprintf(rx->reason + strlen(rx->reason),
				 sizeof(rx->reason) - strlen(rx->reason),
				 "; flow steering: data arrives on queues without "
				 "the binding, received as linear bytes");
	}
	if (rx->no_linear && (res.linear_bytes || res.plain_bytes)) {
		release_all(rx, frags, res.nfrags);
		return dmt_fail(&rx->err, -DMT_ERR_HEADER_SPLIT, "%llu bytes landed "
			"in host memory (SCM_DEVMEM_LINEAR): header split is not "
			"working for this flow; enable tcp-data-split and set "
			"hds-thresh 0 (devmemtcp setup)",
			(unsigned long long)(res.linear_bytes + res.plain_bytes));
	}
	*nfrags = res.nfrags;
	return n;
}

/* Contiguous free bytes of the copy ring; *at is where they start. */
static uint64_t copy_space(struct dmt_rx *rx, uint64_t *at)
{
	uint64_t size = rx->buf->size, tail;

	if (rx->tok_tail == rx->tok_head) {
		rx->wpos = 0;
		*at = 0;
		return size;
	}
	tail = rx->ring[rx->tok_tail % rx->max_outstanding].off;
	if (rx->wpos > tail) {
		if (rx->wpos < size) {
			*at = rx->wpos;
			return size - rx->wpos;
		}
		rx->wpos = 0;
	}
	*at = rx->wpos;
	return tail - rx->wpos;
}

static ssize_t recv_copy(struct dmt_rx *rx, struct dmt_frag *frags,
			 unsigned int *nfrags)
{
	struct dmt_rx_copy_rec *r;
	struct msghdr msg;
	struct iovec iov;
	uint64_t at, space;
	ssize_t n;
	int ret;

	space = copy_space(rx, &at);
	while (!space) {
		uint64_t before = dmt_rx_outstanding(rx);

		if (!relieved(rx))
			return dmt_fail(&rx->err, -ENOBUFS, "the %zu-byte buffer is "
				"full of %llu lent fragments: release some with "
				"dmt_rx_release()", rx->buf->size,
				(unsigned long long)before);
		space = copy_space(rx, &at);
	}
	if (rx->bounce) {
		iov.iov_base = rx->bounce;
		iov.iov_len = space < rx->bounce_size ? space : rx->bounce_size;
	} else {
		iov.iov_base = (char *)rx->buf->map + at;
		iov.iov_len = space;
	}
	if (iov.iov_len > UINT32_MAX)
		iov.iov_len = UINT32_MAX;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	rx->st.recv_calls++;
	n = rx->recvmsg_fn(rx->sys_user, rx->fd, &msg,
			   rx->nonblock ? MSG_DONTWAIT : 0);
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR)
			return dmt_ret((int)n);
		return dmt_fail(&rx->err, (int)n, "recv failed: %s",
				   dmt_strerror((int)n));
	}
	if (n == 0) {
		rx->eof = true;
		return 0;
	}
	if (rx->bounce) {
		ret = dmt_buf_write(rx->buf, at, rx->bounce, (size_t)n);
		if (ret < 0) {
			dmt_err_copy(&rx->err, &rx->buf->err);
			return dmt_ret(ret);
		}
	}
	r = &rx->ring[rx->tok_head % rx->max_outstanding];
	r->off = at;
	r->len = (uint32_t)n;
	r->released = false;
	frags[0].off = at;
	frags[0].len = (uint32_t)n;
	frags[0].token = (uint32_t)rx->tok_head;
	frags[0].binding = 0;
	frags[0].flags = DMT_FRAG_COPIED;
	rx->tok_head++;
	rx->wpos = at + (uint64_t)n;
	rx->st.bytes += (uint64_t)n;
	rx->st.copied_bytes += (uint64_t)n;
	if (rx->tok_head - rx->tok_tail > rx->st.max_outstanding_seen)
		rx->st.max_outstanding_seen = rx->tok_head - rx->tok_tail;
	*nfrags = 1;
	return n;
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
	if (rx->engine == DMT_ENGINE_DEVMEM)
		n = recv_devmem(rx, frags, max, &got);
	else
		n = recv_copy(rx, frags, &got);
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
				     size_t dst_off)
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
		return dmt_fail(&rx->err, -ENOSPC, "gather: %llu bytes at %zu do not "
			"fit in the %zu-byte destination buffer",
			(unsigned long long)total, dst_off, dst->size);
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
