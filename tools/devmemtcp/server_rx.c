// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: the receive path. One dmt_rx_listener per run (the
 * listening socket; with -f the NIC setup and devmem binding; the engine and
 * its reason, in the library's words mapped here to the CLI's flags) and one
 * dmt_rx per connection, whose fragments are checked against the pattern:
 * in place in host memory, read back (sampled when large) from other memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "advice.h"
#include "server.h"

#define COPY_BUF (1u << 20)	/* copy engine's host ring (no --buffer) */
#define DMABUF_SIZE (64u << 20)	/* -f without --buffer: dma-buf to bind */
#define NFRAGS 256
#define CHECK_CHUNK (4u << 20)	/* copy-out piece for validation */

/* Check the bytes of stream [pos, pos+len) (in host memory at d) that the
 * sampler selects. */
static void srv_check_host(struct srv *s, uint64_t pos, const unsigned char *d,
			   size_t len)
{
	uint64_t x = pos, end;

	while (x < pos + len) {
		bool chk = sampler_at(&s->sm, x, &end);

		if (end > pos + len)
			end = pos + len;
		if (chk) {
			if (s->pat.pos != x)
				pat_seek(&s->pat, x);
			pat_check(&s->pat, d + (x - pos), (size_t)(end - x));
			s->checked += end - x;
		}
		x = end;
	}
}

/*
 * A receive slice (SO_RCVTIMEO, RX_SLICE_MS) ended without data, or a
 * signal came: 0 to go on receiving, or -1 with s->err saying why the run
 * ends (a signal, or no data for --timeout seconds).
 */
int srv_idle(struct srv *s)
{
	if (cli_stop) {
		snprintf(s->err, sizeof(s->err), "interrupted by %s after %" PRIu64
			 " bytes", cli_stop_name(), s->bytes);
		return -1;
	}
	if (s->c->timeout_s && now_s() - s->idle_since >= s->c->timeout_s) {
		snprintf(s->err, sizeof(s->err), "no data for %d s (--timeout) "
			 "after %" PRIu64 " bytes: the peer stalled",
			 s->c->timeout_s, s->bytes);
		return -1;
	}
	return 0;
}

/* A receive error in words; returns -e. */
static int recv_failed(struct srv *s, int e)
{
	snprintf(s->err, sizeof(s->err), "recv failed after %" PRIu64 " bytes: "
		 "%s%s", s->bytes, strerror(e), e == ECONNRESET ? " (the peer "
		 "reset the connection)" : e == ETIMEDOUT ? " (the peer stopped "
		 "answering: TCP keepalive gave up)" : "");
	return -e;
}

/*
 * Read back and check the bytes of stream [pos, pos+n), which lie at
 * buffer offset boff, where the sampler's answer is want (true: the bytes
 * selected now; false: those not checked yet, for the tail pass).
 */
static int srv_check_buf(struct srv *s, uint64_t pos, uint64_t n, uint64_t boff,
			 bool want)
{
	if (!s->tmp && !(s->tmp = malloc(CHECK_CHUNK))) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	uint64_t x = pos, end;

	while (x < pos + n) {
		bool chk = sampler_at(&s->sm, x, &end);

		if (end > pos + n)
			end = pos + n;
		while (chk == want && x < end) {
			size_t l = end - x < CHECK_CHUNK ? (size_t)(end - x) :
							   CHECK_CHUNK;

			if (dmt_buf_read(s->buf, (size_t)(boff + (x - pos)), s->tmp,
					 l) < 0) {
				snprintf(s->err, sizeof(s->err), "reading received "
					 "bytes back for validation: %.300s",
					 dmt_buf_last_error(s->buf)->message);
				return -EIO;
			}
			pat_seek(&s->pat, x);
			pat_check(&s->pat, s->tmp, l);
			s->checked += l;
			x += l;
		}
		x = end;
	}
	return 0;
}

/* At the end of the stream: the last 64 MiB (as far as the receive ring
 * still holds them) that were not checked yet, i.e. when the total was not
 * known in advance. */
static int srv_check_tail(struct srv *s)
{
	uint64_t B = dmt_buf_size(s->buf), T = s->bytes, keep = VAL_EDGE;

	if (keep > B)
		keep = B;
	if (keep > T)
		keep = T;
	for (uint64_t x = T - keep; x < T;) {
		uint64_t off = x % B, l = B - off;
		int ret;

		if (l > T - x)
			l = T - x;
		ret = srv_check_buf(s, x, l, off, false);
		if (ret < 0)
			return ret;
		x += l;
	}
	return 0;
}

/* ---- the receive path: the library's listener and receivers ---- */

/* What the library logs while the listener undoes the NIC setup: "nic:"
 * lines, like the setup's own summary. */
static void run_log(enum dmt_log_level lvl, const char *msg, void *user)
{
	struct rxrun *r = user;

	if (r->closing && lvl <= DMT_LOG_INFO)
		out_line(r->o, "nic: %s", msg);
}

static void nic_lines(struct out *o, const char *sum)
{
	while (sum && *sum) {
		const char *nl = strchr(sum, '\n');
		int n = nl ? (int)(nl - sum) : (int)strlen(sum);

		out_line(o, "nic: %.*s", n, sum);
		sum += n + (nl ? 1 : 0);
	}
}

/* The buffer: --buffer (or host memory for staged); with -f a dma-buf to
 * bind (udmabuf, else a heap, else host memory: the library then says why
 * devmem cannot run); a small host ring otherwise. NULL + why. */
struct dmt_buf *run_buffer(const struct server_cfg *c, enum dmt_engine want,
				  bool show, char *why, size_t whylen)
{
	struct buf_choice host = { .kind = DMT_BUF_HOST };
	struct dmt_buf *b = NULL;
	struct dmt_error e;

	if (show)
		return alloc_buffer(c->have_buf ? &c->buf : &host,
				    (size_t)c->buf_size, why, whylen);
	if (c->ifname && want != DMT_ENGINE_COPY) {
		b = dmt_buf_new(DMT_BUF_UDMABUF, DMABUF_SIZE, NULL, &e);
		if (!b)
			b = dmt_buf_new(DMT_BUF_DMAHEAP, DMABUF_SIZE, NULL, NULL);
		if (!b)
			snprintf(why, whylen, "no dma-buf: %s", e.message);
	}
	if (!b)
		b = dmt_buf_new(DMT_BUF_HOST, COPY_BUF, NULL, &e);
	if (!b)
		snprintf(why, whylen, "%s", e.message);
	return b;
}

/* Buffer, context, listener (with -f: NIC setup and binding). 0, or -1
 * with err filled. */
int run_open(struct rxrun *r, const struct server_cfg *c, char *err,
		    size_t errlen)
{
	enum dmt_engine want = DMT_ENGINE_AUTO;
	struct sockaddr_storage ss, peer;
	socklen_t sl = 0, pl = 0;
	DMT_OPTS(dmt_ctx_opts, co, .log_fn = run_log, .log_user = r,
		 .log_level = DMT_LOG_INFO);
	DMT_OPTS(dmt_rx_listen_opts, lo, .ifname = c->ifname, .nqueues = c->nq,
		 .queue_start = c->qstart, .backlog = 1);
	struct dmt_error e;
	char words[1200];

	if (c->engine)
		dmt_engine_from_name(c->engine, &want);
	r->show_buf = c->have_buf || want == DMT_ENGINE_STAGED;
	r->buf = run_buffer(c, want, r->show_buf, r->buf_why, sizeof(r->buf_why));
	if (!r->buf) {
		snprintf(err, errlen, "%s", r->buf_why);
		return -1;
	}
	r->ctx = dmt_ctx_new(&co, NULL);	/* NULL: no devmem, and said so */
	lo.engine = want;
	lo.nic_flags = (c->have_qstart ? DMT_NIC_F_QUEUE_START : 0) |
		       (c->no_setup ? DMT_NIC_F_NO_RSS | DMT_NIC_F_NO_RULE |
				      DMT_NIC_F_NO_HDS : 0);
	if (c->client && !parse_addr(c->client, c->port, AF_UNSPEC, &peer, &pl)) {
		lo.peer = (struct sockaddr *)&peer;
		lo.peer_len = pl;
		lo.peer_port = (uint16_t)c->port;	/* as ncdevmem */
	}
	parse_addr(c->addr, c->port, AF_UNSPEC, &ss, &sl);
	r->l = dmt_rx_listen(r->ctx, r->buf, (struct sockaddr *)&ss, sl, &lo, &e);
	if (!r->l) {
		char a[80];

		cli_advice(e.message, words, sizeof(words));
		if (want == DMT_ENGINE_DEVMEM && strstr(e.message, "devmem RX"))
			snprintf(err, errlen, "%s%s%s%s", words, r->buf_why[0] ?
				 " (" : "", r->buf_why, r->buf_why[0] ? ")" : "");
		else
			snprintf(err, errlen, "cannot listen on %s: %s%s",
				 addr_str((struct sockaddr *)&ss, a, sizeof(a)),
				 strerror(-e.err), e.err == -EADDRINUSE ?
				 " (another server on that port? pick another -p)" :
				 e.err == -EADDRNOTAVAIL ? " (no interface has that "
				 "address)" : "");
		return -1;
	}
	r->eng = dmt_rx_listener_engine(r->l);
	nic_lines(r->o, dmt_rx_listener_summary(r->l));
	cli_advice(dmt_rx_listener_engine_reason(r->l), words, sizeof(words));
	if (r->buf_why[0] && !r->show_buf)
		snprintf(r->why, sizeof(r->why), "%s (%s)", words, r->buf_why);
	else if (r->show_buf && !dmt_buf_map(r->buf) && want == DMT_ENGINE_AUTO)
		snprintf(r->why, sizeof(r->why), "%s buffer: %s",
			 dmt_buf_kind_name(dmt_buf_kind(r->buf)), words);
	else
		snprintf(r->why, sizeof(r->why), "%s", words);
	/* validation: read-back from memory without a CPU mapping is sampled
	 * above 1 GiB (auto); host memory is checked in full */
	r->vmode = c->v ? c->val : VAL_OFF;
	if (r->vmode == VAL_AUTO && dmt_buf_map(r->buf))
		r->vmode = VAL_FULL;
	return 0;
}

void run_close(struct rxrun *r)
{
	r->closing = true;	/* the undo steps are logged: "nic:" lines */
	dmt_rx_listener_free(r->l);
	r->closing = false;
	dmt_ctx_free(r->ctx);
	dmt_buf_free(r->buf);
}

/* Check the fragments f[0..n) (stream bytes from s->bytes on) where the
 * sampler selects them: host memory in place, other memory read back. */
static int rx_check(struct srv *s, struct dmt_rx *rx, const struct dmt_frag *f,
		    unsigned int n)
{
	const unsigned char *map = dmt_buf_kind(s->buf) == DMT_BUF_HOST ?
				   dmt_buf_map(s->buf) : NULL;
	uint64_t pos = s->bytes, end;

	for (unsigned int i = 0; s->checking && i < n; pos += f[i++].len) {
		if (!sampler_at(&s->sm, pos, &end) && end >= pos + f[i].len)
			continue;	/* no byte of it is checked */
		if (f[i].flags & DMT_FRAG_LINEAR)
			srv_check_host(s, pos, (const unsigned char *)
				       dmt_rx_linear(rx) + f[i].off, f[i].len);
		else if (map)
			srv_check_host(s, pos, map + f[i].off, f[i].len);
		else if (srv_check_buf(s, pos, f[i].len, f[i].off, true) < 0)
			return -1;
	}
	return 0;
}

/* Engine figures of the connection, into the result section. */
static void rx_engine_kv(struct srv *s, struct dmt_rx *rx)
{
	DMT_OPTS(dmt_rx_stats, st);
	struct out *o = &s->o;

	dmt_rx_get_stats(rx, &st);
	if (dmt_rx_engine(rx) == DMT_ENGINE_STAGED) {
		out_kv(o, OUT_RESULT, "stage_chunk", false, "%" PRIu64,
		       st.stage_chunk);
		out_kv(o, OUT_RESULT, "stage_chunks", false, "%" PRIu64,
		       st.stage_chunks);
		out_kv(o, OUT_RESULT, "stage_copy_s", false, "%.3f",
		       (double)st.stage_copy_ns / 1e9);
		out_kv(o, OUT_RESULT, "stage_net_wait_s", false, "%.3f",
		       (double)st.stage_net_wait_ns / 1e9);
		out_kv(o, OUT_RESULT, "stage_pinned", false, "%s",
		       st.stage_pinned ? "true" : "false");
	} else if (dmt_rx_engine(rx) == DMT_ENGINE_DEVMEM) {
		out_kv(o, OUT_RESULT, "devmem_bytes", false, "%" PRIu64,
		       st.devmem_bytes);
		out_kv(o, OUT_RESULT, "linear_bytes", false, "%" PRIu64,
		       st.linear_bytes);
		out_kv(o, OUT_RESULT, "tokens_released", false, "%" PRIu64,
		       st.tokens_released);
		out_kv(o, OUT_RESULT, "dontneed_calls", false, "%" PRIu64,
		       st.dontneed_calls);
		if (st.linear_bytes)
			out_line(o, "%" PRIu64 " bytes arrived in host memory "
				 "(header split not effective for this flow)",
				 st.linear_bytes);
	}
}

/* Receive on fd until the peer closes: 0, or -errno with s->err filled.
 * The receiver is the listener's; it lends fragments, checked here. */
int rx_run(struct srv *s, int fd)
{
	struct dmt_frag f[NFRAGS];
	struct dmt_error e;
	struct dmt_rx *rx;
	unsigned int nf;
	int ret = 0;
	ssize_t n;

	rx = dmt_rx_from_fd(s->run->l, s->run->eng == DMT_ENGINE_DEVMEM ? NULL :
			    s->buf, fd, NULL, &e);
	if (!rx) {
		cli_advice(e.message, s->err, sizeof(s->err));
		return e.err ? e.err : -EIO;
	}
	for (;;) {
		if (cli_stop && srv_idle(s)) {	/* data flowing: no EINTR */
			ret = -EINTR;
			break;
		}
		n = dmt_rx_recv(rx, f, NFRAGS, &nf);
		if (n == 0)
			break;
		if (n == -EAGAIN || n == -EINTR) {
			if (!srv_idle(s))
				continue;
			ret = cli_stop ? -EINTR : -EAGAIN;
			break;
		}
		if (n < 0 && -n < DMT_ERR_BASE && n != -525) {	/* 525: ETOOSMALL */
			ret = recv_failed(s, (int)-n);
			break;
		}
		if (n < 0) {
			char w[1200];

			cli_advice(dmt_rx_last_error(rx)->message, w, sizeof(w));
			snprintf(s->err, sizeof(s->err), "receive failed after %"
				 PRIu64 " bytes: %s", s->bytes, w);
			ret = (int)n;
			break;
		}
		s->idle_since = now_s();
		if (rx_check(s, rx, f, nf) < 0) {
			ret = -EIO;
			break;
		}
		/* atomic: the server's [SUM] lines (-P) read it meanwhile */
		__atomic_store_n(&s->bytes, s->bytes + (uint64_t)n,
				 __ATOMIC_RELAXED);
		out_tick(&s->o, s->bytes);
		if (dmt_rx_release(rx, f, nf) < 0) {
			snprintf(s->err, sizeof(s->err), "%s",
				 dmt_rx_last_error(rx)->message);
			ret = -EIO;
			break;
		}
	}
	/* copy and staged: stream byte x lies at x mod the buffer size */
	if (!ret && s->checking && dmt_rx_engine(rx) != DMT_ENGINE_DEVMEM)
		ret = srv_check_tail(s);
	rx_engine_kv(s, rx);
	dmt_rx_free(rx);	/* the socket stays: the report goes back on it */
	return ret;
}

