// SPDX-License-Identifier: MIT
/*
 * The copy and staged RX engines. Both lend fragments of a ring over the
 * buffer, with synthetic tokens that dmt_rx_release() gives back:
 *  copy    recv() straight into host memory, or into a bounce buffer and
 *          then dmt_buf_write() (udmabuf sync brackets, GPU runtimes)
 *  staged  recv() into two host bounce halves while a copy thread moves
 *          the previous half into the buffer (stage.c): for GPU memory
 */
#include <stdio.h>
#include <stdlib.h>

#include "rx.h"
#include "stage.h"

#define RX_BOUNCE_DEFAULT (256u << 10)
#define RX_STAGE_PIECE (32u << 20)	/* bytes per staged receive at most */

static int ring_alloc(struct dmt_rx *rx)
{
	rx->tok_head = rx->tok_tail = 1;
	rx->ring = calloc(rx->max_outstanding, sizeof(*rx->ring));
	if (!rx->ring)
		return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	return 0;
}

static int copy_setup(struct dmt_rx *rx, const struct dmt_rx_opts *o)
{
	size_t bounce = DMT_OPTS_OR(o, bounce_size, RX_BOUNCE_DEFAULT);

	if (!rx->buf->map && !(rx->buf->ops && rx->buf->ops->write))
		return dmt_err_set(&rx->err, -DMT_ERR_ENGINE, "the copy engine "
			"cannot write into this %s buffer (no CPU mapping, no "
			"provider copy)", dmt_buf_kind_name(rx->buf->kind));
	/* Host memory is received into directly; everything else (udmabuf
	 * with its sync brackets, GPU memory) goes through the bounce. */
	if (rx->buf->kind != DMT_BUF_HOST || !rx->buf->map) {
		rx->bounce_size = bounce;
		rx->bounce = malloc(bounce);
		if (!rx->bounce)
			return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	}
	return ring_alloc(rx);
}

static int staged_setup(struct dmt_rx *rx, const struct dmt_rx_opts *o)
{
	rx->stage = dmt_stage_new(rx->buf, DMT_OPTS_OR(o, stage_chunk, 0),
				  &rx->err);
	if (!rx->stage)
		return rx->err.err ? rx->err.err : -ENOMEM;
	return ring_alloc(rx);
}

static void copy_destroy(struct dmt_rx *rx)
{
	dmt_stage_free(rx->stage);
	rx->stage = NULL;
	free(rx->bounce);
	free(rx->ring);
	rx->bounce = NULL;
	rx->ring = NULL;
}

static uint64_t copy_outstanding(const struct dmt_rx *rx)
{
	return rx->tok_head - rx->tok_tail;
}

int dmt_rx_copy_release(struct dmt_rx *rx, const struct dmt_frag *f)
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

/* Contiguous free bytes of the ring; *at is where they start. The write
 * position only moves forward and wraps at the end of the buffer, so byte
 * x of the stream always lands at x mod the buffer size. */
static uint64_t ring_space(struct dmt_rx *rx, uint64_t *at)
{
	uint64_t size = rx->buf->size, tail;

	if (rx->wpos >= size)
		rx->wpos = 0;
	*at = rx->wpos;
	if (rx->tok_tail == rx->tok_head)
		return size - rx->wpos;
	tail = rx->ring[rx->tok_tail % rx->max_outstanding].off;
	return rx->wpos > tail ? size - rx->wpos : tail - rx->wpos;
}

/* Wait for ring space (the pressure callback); bytes free or -ENOBUFS. */
static int64_t ring_wait(struct dmt_rx *rx, uint64_t *at)
{
	uint64_t space = ring_space(rx, at);

	while (!space) {
		uint64_t before = copy_outstanding(rx);

		if (!dmt_rx_relieved(rx))
			return dmt_fail(&rx->err, -ENOBUFS, "the %zu-byte buffer is "
				"full of %llu lent fragments: release some with "
				"dmt_rx_release()", rx->buf->size,
				(unsigned long long)before);
		space = ring_space(rx, at);
	}
	return space > UINT32_MAX ? UINT32_MAX : (int64_t)space;
}

/* Lend [at, at+n) as one fragment. */
static void ring_lend(struct dmt_rx *rx, uint64_t at, size_t n,
		      struct dmt_frag *f)
{
	struct dmt_rx_copy_rec *r = &rx->ring[rx->tok_head % rx->max_outstanding];

	r->off = at;
	r->len = (uint32_t)n;
	r->released = false;
	f->off = at;
	f->len = (uint32_t)n;
	f->token = (uint32_t)rx->tok_head;
	f->binding = 0;
	f->flags = DMT_FRAG_COPIED;
	rx->tok_head++;
	rx->wpos = at + (uint64_t)n;
	rx->st.bytes += (uint64_t)n;
	rx->st.copied_bytes += (uint64_t)n;
	if (rx->tok_head - rx->tok_tail > rx->st.max_outstanding_seen)
		rx->st.max_outstanding_seen = rx->tok_head - rx->tok_tail;
}

static ssize_t copy_recv(struct dmt_rx *rx, struct dmt_frag *frags,
			 unsigned int max, unsigned int *nfrags)
{
	struct msghdr msg;
	struct iovec iov;
	int64_t space;
	uint64_t at;
	ssize_t n;
	int ret;

	(void)max;
	space = ring_wait(rx, &at);
	if (space < 0)
		return space;
	if (rx->bounce) {
		iov.iov_base = rx->bounce;
		iov.iov_len = (uint64_t)space < rx->bounce_size ? (size_t)space :
								  rx->bounce_size;
	} else {
		iov.iov_base = (char *)rx->buf->map + at;
		iov.iov_len = (size_t)space;
	}
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
	if (n == 0)
		return 0;
	if (rx->bounce) {
		ret = dmt_buf_write(rx->buf, at, rx->bounce, (size_t)n);
		if (ret < 0) {
			dmt_err_copy(&rx->err, &rx->buf->err);
			return dmt_ret(ret);
		}
	}
	ring_lend(rx, at, (size_t)n, &frags[0]);
	*nfrags = 1;
	return n;
}

static ssize_t staged_recv(struct dmt_rx *rx, struct dmt_frag *frags,
			   unsigned int max, unsigned int *nfrags)
{
	int64_t space;
	uint64_t at;
	ssize_t n;

	(void)max;
	space = ring_wait(rx, &at);
	if (space < 0)
		return space;
	if (space > RX_STAGE_PIECE)
		space = RX_STAGE_PIECE;
	n = dmt_stage_recv(rx->stage, rx->fd, at, (uint64_t)space, rx->nonblock,
			   &rx->st.recv_calls);
	if (n < 0) {
		if (n != -EAGAIN && n != -EINTR)
			dmt_err_copy(&rx->err, dmt_stage_last_error(rx->stage));
		return dmt_ret((int)n);
	}
	if (n == 0)
		return 0;
	ring_lend(rx, at, (size_t)n, &frags[0]);
	*nfrags = 1;
	return n;
}

const struct dmt_rx_engine dmt_rx_engine_copy = {
	.id = DMT_ENGINE_COPY,
	.setup = copy_setup,
	.recv = copy_recv,
	.outstanding = copy_outstanding,
	.destroy = copy_destroy,
};

const struct dmt_rx_engine dmt_rx_engine_staged = {
	.id = DMT_ENGINE_STAGED,
	.setup = staged_setup,
	.recv = staged_recv,
	.outstanding = copy_outstanding,
	.destroy = copy_destroy,
};
