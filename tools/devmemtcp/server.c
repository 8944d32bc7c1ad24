// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: accept one connection (or, with -K, one after another),
 * receive the stream, validate it against the ncdevmem pattern, report.
 *
 * The receive path is the library's: a dmt_rx_listener (the listening
 * socket and, with -f, the NIC setup and devmem binding; it picks the
 * engine and says why) and one dmt_rx per connection. This file maps the
 * options onto them, words their reasons in the CLI's terms, checks the
 * received fragments (rxcheck.c) and reports. Each connection is served by
 * serve_one() over its own struct conn; nothing is global.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"
#include "rxcheck.h"

#define COPY_BUF (1u << 20)	/* copy engine's own host ring (no --buffer) */
#define DMABUF_SIZE (64u << 20)	/* -f without --buffer: dma-buf to bind */
#define RX_SLICE_MS 250		/* a receive waits at most this long */
#define NFRAGS 256

/* What lasts for the whole run. */
struct srv {
	const struct server_cfg *c;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	bool show_buf;		/* --buffer given, or staged: reported */
	char buf_why[1024];
	struct dmt_rx_listener *l;
	bool closing;		/* the NIC setup is being undone: say so */
	struct out *o;		/* where "nic:" lines go */
	enum val_mode vmode;
	char why[1400];		/* engine reason in the CLI's words */
	char err[1400];
};

/* The library's words for what to change, in the CLI's. */
static void cli_words(const char *lib, char *out, size_t len)
{
	static const char *const map[][2] = {
		{ "dmt_rx_listen_opts.ifname", "-f IFNAME" },
		{ "dmt_rx_listen_opts.port, or the port of addr", "-p PORT" },
		{ "dmt_buf_new with DMT_BUF_UDMABUF, DMAHEAP, CUDA or ROCM, or "
		  "dmt_buf_import", "--buffer udmabuf, dmaheap, cuda or rocm" },
		{ "dmt_rx_listen_opts.nic_flags has DMT_NIC_F_NO_HDS",
		  "--no-setup was given" },
		{ "devmem binds through a dmt_ctx", "no netdev netlink family" },
	};
	size_t o = 0;

	while (*lib && o + 1 < len) {
		size_t i = 0;

		for (; i < sizeof(map) / sizeof(map[0]); i++) {
			size_t n = strlen(map[i][0]);

			if (!strncmp(lib, map[i][0], n)) {
				o += (size_t)snprintf(out + o, len - o, "%s", map[i][1]);
				lib += n;
				break;
			}
		}
		if (i == sizeof(map) / sizeof(map[0]))
			out[o++] = *lib++;
		if (o >= len)
			o = len - 1;
	}
	out[o] = '\0';
}

/* Lines the library logs while the NIC setup is undone (dmt_rx_listener_free):
 * "nic: " lines, as the setup's own summary is printed. */
static void srv_log(enum dmt_log_level lvl, const char *msg, void *user)
{
	struct srv *s = user;

	if (s->closing && lvl <= DMT_LOG_INFO)
		out_line(s->o, "nic: %s", msg);
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

/* The buffer: --buffer; with -f a dma-buf to bind (udmabuf, else a heap,
 * else host memory: the library then says why devmem cannot run); host
 * memory otherwise. */
static int srv_buffer(struct srv *s, enum dmt_engine want)
{
	const struct server_cfg *c = s->c;
	struct buf_choice host = { .kind = DMT_BUF_HOST };
	struct dmt_error e;

	s->show_buf = c->have_buf || want == DMT_ENGINE_STAGED;
	if (s->show_buf) {
		s->buf = alloc_buffer(c->have_buf ? &c->buf : &host,
				      (size_t)c->buf_size, s->buf_why,
				      sizeof(s->buf_why));
		if (!s->buf)
			snprintf(s->err, sizeof(s->err), "%s", s->buf_why);
		return s->buf ? 0 : -1;
	}
	if (c->ifname && want != DMT_ENGINE_COPY) {
		s->buf = dmt_buf_new(DMT_BUF_UDMABUF, DMABUF_SIZE, NULL, &e);
		if (!s->buf)
			s->buf = dmt_buf_new(DMT_BUF_DMAHEAP, DMABUF_SIZE, NULL, NULL);
		if (!s->buf)
			snprintf(s->buf_why, sizeof(s->buf_why), "no dma-buf: %s",
				 e.message);
	}
	if (!s->buf)
		s->buf = dmt_buf_new(DMT_BUF_HOST, COPY_BUF, NULL, &e);
	if (!s->buf)
		snprintf(s->err, sizeof(s->err), "%s", e.message);
	return s->buf ? 0 : -1;
}

/* Buffer, context, listener (and with -f the NIC setup). 0 or -1. */
static int srv_open(struct srv *s)
{
	const struct server_cfg *c = s->c;
	enum dmt_engine want = DMT_ENGINE_AUTO;
	struct sockaddr_storage ss, peer;
	socklen_t sl = 0, pl = 0;
	DMT_OPTS(dmt_ctx_opts, co, .log_fn = srv_log, .log_user = s,
		 .log_level = DMT_LOG_INFO);
	DMT_OPTS(dmt_rx_listen_opts, lo, .ifname = c->ifname, .nqueues = c->nq,
		 .queue_start = c->qstart, .backlog = 1);
	struct dmt_error e;
	char words[1200];

	if (c->engine)
		dmt_engine_from_name(c->engine, &want);
	if (srv_buffer(s, want) < 0)
		return -1;
	s->ctx = dmt_ctx_new(&co, NULL);	/* NULL: no devmem, and said so */
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
	s->l = dmt_rx_listen(s->ctx, s->buf, (struct sockaddr *)&ss, sl, &lo, &e);
	if (!s->l) {
		char a[80];

		cli_words(e.message, words, sizeof(words));
		if (want == DMT_ENGINE_DEVMEM && strstr(e.message, "devmem RX"))
			snprintf(s->err, sizeof(s->err), "%s", words);
		else
			snprintf(s->err, sizeof(s->err), "cannot listen on %s: %s%s",
				 addr_str((struct sockaddr *)&ss, a, sizeof(a)),
				 strerror(-e.err), e.err == -EADDRINUSE ?
				 " (another server on that port? pick another -p)" :
				 e.err == -EADDRNOTAVAIL ? " (no interface has that "
				 "address)" : "");
		return -1;
	}
	nic_lines(s->o, dmt_rx_listener_summary(s->l));
	cli_words(dmt_rx_listener_engine_reason(s->l), words, sizeof(words));
	if (s->buf_why[0] && !s->show_buf)
		snprintf(s->why, sizeof(s->why), "%s (%s)", words, s->buf_why);
	else if (s->show_buf && !dmt_buf_map(s->buf) && want == DMT_ENGINE_AUTO)
		snprintf(s->why, sizeof(s->why), "%s buffer: %s",
			 dmt_buf_kind_name(dmt_buf_kind(s->buf)), words);
	else
		snprintf(s->why, sizeof(s->why), "%s", words);
	/* validation: read-back from memory without a CPU mapping is sampled
	 * above 1 GiB (auto); host memory is checked in full */
	s->vmode = c->v ? c->val : VAL_OFF;
	if (s->vmode == VAL_AUTO && dmt_buf_map(s->buf))
		s->vmode = VAL_FULL;
	return 0;
}

static void srv_close(struct srv *s)
{
	s->closing = true;	/* the undo steps are logged: "nic:" lines */
	dmt_rx_listener_free(s->l);
	s->closing = false;
	dmt_ctx_free(s->ctx);
	dmt_buf_free(s->buf);
}

/* One connection's state: serve_one() needs nothing else. */
struct conn {
	const struct srv *s;
	const struct server_cfg *c;
	struct out o;
	struct rxcheck chk;
	struct dmt_rx *rx;
	uint64_t bytes;
	double idle_since;	/* last data (or the accept) */
	bool reported;		/* the result section is written */
	char err[1400];
};

/* A client's report; its checker once the listener knows the memory
 * (check: the validation mode is decided). */
static int conn_init(struct conn *k, const struct srv *s, bool check)
{
	k->s = s;
	k->c = s->c;
	k->bytes = 0;
	k->err[0] = '\0';
	k->reported = false;
	if (!check)
		out_init(&k->o, "server", s->c->json, s->c->quiet, s->c->interval);
	if (check && rxcheck_init(&k->chk, s->c->v, s->vmode, s->c->have_size,
			 s->c->size) < 0) {
		snprintf(k->err, sizeof(k->err), "out of memory");
		return -1;
	}
	return 0;
}

static void conn_fini(struct conn *k)
{
	dmt_rx_free(k->rx);	/* closes the socket */
	k->rx = NULL;
	rxcheck_free(&k->chk);
	out_free(&k->o);
}

/* A receive slice ended without data, or a signal came: 0 to go on, or -1
 * with k->err saying why the run ends (a signal, or --timeout). */
static int conn_idle(struct conn *k)
{
	if (cli_stop) {
		snprintf(k->err, sizeof(k->err), "interrupted by %s after %" PRIu64
			 " bytes", cli_stop_name(), k->bytes);
		return -1;
	}
	if (k->c->timeout_s && now_s() - k->idle_since >= k->c->timeout_s) {
		snprintf(k->err, sizeof(k->err), "no data for %d s (--timeout) "
			 "after %" PRIu64 " bytes: the peer stalled",
			 k->c->timeout_s, k->bytes);
		return -1;
	}
	return 0;
}

/* A receive error in words; returns n. */
static int recv_failed(struct conn *k, ssize_t n)
{
	int e = (int)-n;
	char words[1200];

	if (e < DMT_ERR_BASE && e != 525)	/* 525: ETOOSMALL, the kernel's */
		snprintf(k->err, sizeof(k->err), "recv failed after %" PRIu64
			 " bytes: %s%s", k->bytes, strerror(e), e == ECONNRESET ?
			 " (the peer reset the connection)" : e == ETIMEDOUT ?
			 " (the peer stopped answering: TCP keepalive gave up)" :
			 "");
	else {
		cli_words(dmt_rx_last_error(k->rx)->message, words, sizeof(words));
		snprintf(k->err, sizeof(k->err), "receive failed after %" PRIu64
			 " bytes: %s", k->bytes, words);
	}
	return (int)n;
}

/* Receive until the peer closes: 0, or -errno with k->err filled. */
static int conn_receive(struct conn *k)
{
	struct dmt_frag f[NFRAGS];
	unsigned int nf;
	ssize_t n;

	for (;;) {
		if (cli_stop && conn_idle(k))	/* data flowing: no EINTR */
			return -EINTR;
		n = dmt_rx_recv(k->rx, f, NFRAGS, &nf);
		if (n == 0)
			break;
		if (n == -EAGAIN || n == -EINTR) {
			if (conn_idle(k))
				return cli_stop ? -EINTR : -EAGAIN;
			continue;
		}
		if (n < 0)
			return recv_failed(k, n);
		k->idle_since = now_s();
		if (rxcheck_frags(&k->chk, k->rx, k->s->buf, k->bytes, f, nf) < 0) {
			snprintf(k->err, sizeof(k->err), "%s", k->chk.err);
			return -EIO;
		}
		k->bytes += (uint64_t)n;
		out_tick(&k->o, k->bytes);
		if (dmt_rx_release(k->rx, f, nf) < 0) {
			snprintf(k->err, sizeof(k->err), "%s",
				 dmt_rx_last_error(k->rx)->message);
			return -EIO;
		}
	}
	/* copy and staged: stream byte x lies at x mod the buffer size */
	if (dmt_rx_engine(k->rx) != DMT_ENGINE_DEVMEM &&
	    rxcheck_tail(&k->chk, k->s->buf, k->bytes) < 0) {
		snprintf(k->err, sizeof(k->err), "%s", k->chk.err);
		return -EIO;
	}
	return 0;
}

/* Engine figures of the connection, into the result section. */
static void conn_engine_kv(struct conn *k)
{
	DMT_OPTS(dmt_rx_stats, st);
	struct out *o = &k->o;

	dmt_rx_get_stats(k->rx, &st);
	if (dmt_rx_engine(k->rx) == DMT_ENGINE_STAGED) {
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
	} else if (dmt_rx_engine(k->rx) == DMT_ENGINE_DEVMEM) {
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

/* Receive, verdict, result section. Returns the exit status (0 or 1). */
static int serve_one(struct conn *k)
{
	const struct server_cfg *c = k->c;
	struct cpu_snap c0, c1, cd;
	int ret = 0, rr;
	double t0, secs;

	k->idle_since = now_s();
	cpu_snap_take(&c0);
	t0 = now_s();
	out_start(&k->o, t0, 0);
	rr = conn_receive(k);
	secs = now_s() - t0;
	cpu_snap_take(&c1);
	cpu_snap_delta(&c0, &c1, &cd);
	out_tick_final(&k->o, k->bytes);
	conn_engine_kv(k);
	if (rr < 0)
		ret = 1;
	if (!ret && k->chk.pat.mismatches) {
		snprintf(k->err, sizeof(k->err), "%" PRIu64 " mismatching bytes, "
			 "the first at offset %" PRIu64, k->chk.pat.mismatches,
			 rxcheck_first_bad(&k->chk));
		ret = 1;
	}
	if (!ret && !k->bytes) {
		snprintf(k->err, sizeof(k->err), "the peer closed the connection "
			 "without sending any data");
		ret = 1;
	}
	if (!ret && c->have_size && k->bytes != c->size) {
		snprintf(k->err, sizeof(k->err), "received %" PRIu64 " bytes, "
			 "expected %" PRIu64 " (--size)", k->bytes, c->size);
		ret = 1;
	}
	report_result(&k->o, &k->chk, c->res, k->bytes, secs, &cd, rr == 0,
		      ret ? k->err : NULL);
	k->reported = true;
	return ret;
}

/* Connections that completed their handshake while one was accepted are
 * refused with a reset (never accepted and left unread), each named. */
static void refuse_pending(const struct server_cfg *c, int lfd)
{
	int fl = fcntl(lfd, F_GETFL);

	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0)
		return;
	for (;;) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		struct sockaddr_storage p;
		socklen_t pl = sizeof(p);
		char a[80];
		int fd = accept4(lfd, (struct sockaddr *)&p, &pl, SOCK_CLOEXEC);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (!c->quiet)
			fprintf(stderr, "devmemtcp server: refused a second "
				"connection from %s: this server serves one "
				"connection at a time\n",
				addr_str((struct sockaddr *)&p, a, sizeof(a)));
	}
}

/* Wait (bounded by --timeout and signals) and accept: k->rx, or -1 with
 * k->err filled. */
static int conn_accept(struct conn *k, struct srv *s)
{
	struct pollfd p = { .fd = dmt_rx_listener_fd(s->l), .events = POLLIN };
	struct timeval tv = { .tv_usec = RX_SLICE_MS * 1000 };
	int one = 1, idle = 10, intvl = 5, cnt = 3, r, fd;
	struct dmt_error e;

	for (;;) {
		/* a signal that came before the wait (during NIC setup) */
		r = cli_stop ? -1 : poll(&p, 1, k->c->timeout_s ?
					 k->c->timeout_s * 1000 : -1);
		if (r < 0 && (cli_stop || errno != EINTR)) {
			snprintf(k->err, sizeof(k->err), cli_stop ? "interrupted by "
				 "%s while waiting for a connection" : "poll: %s",
				 cli_stop ? cli_stop_name() : strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(k->err, sizeof(k->err), "no connection within "
				 "%d s (--timeout)", k->c->timeout_s);
			return -1;
		}
		if (r < 0)
			continue;
		k->rx = dmt_rx_accept(s->l, NULL, NULL, &e);
		if (k->rx)
			break;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
			cli_words(e.message, k->err, sizeof(k->err));
			return -1;
		}
	}
	/* receives wait in slices, so that a signal or --timeout ends them
	 * whatever the engine does with EINTR; keepalive notices a peer that
	 * vanished (about 25 s) without --timeout */
	fd = dmt_rx_fd(k->rx);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return 0;
}

/* The configuration section of a client's report (each -K client gets
 * one); the demo's result record and ready pipe. */
static void conn_config(struct conn *k, const struct srv *s, bool first)
{
	const struct server_cfg *c = s->c;
	const char *kind = dmt_buf_kind_name(dmt_buf_kind(s->buf));
	const char *eng = dmt_engine_name(dmt_rx_listener_engine(s->l));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint32_t port32;
	char as[80];

	getsockname(dmt_rx_listener_fd(s->l), (struct sockaddr *)&ss, &sl);
	port32 = ntohs(ss.ss_family == AF_INET ?
		       ((struct sockaddr_in *)&ss)->sin_port :
		       ((struct sockaddr_in6 *)&ss)->sin6_port);
	report_config(&k->o, c, addr_str((struct sockaddr *)&ss, as, sizeof(as)));
	if (s->show_buf) {
		out_kv(&k->o, OUT_CONFIG, "buffer", true, "%s", kind);
		out_kv(&k->o, OUT_CONFIG, "buffer_size", false, "%zu",
		       dmt_buf_size(s->buf));
		out_kv(&k->o, OUT_CONFIG, "buffer_reason", true, "%s", s->buf_why);
		out_line(&k->o, "buffer: %s (%s)", kind, s->buf_why);
	}
	out_kv(&k->o, OUT_CONFIG, "engine", true, "%s", eng);
	out_kv(&k->o, OUT_CONFIG, "engine_reason", true, "%s", s->why);
	out_line(&k->o, "engine: %s (%s)", eng, s->why);
	fflush(stdout);
	if (c->res) {
		c->res->port = port32;
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng);
		snprintf(c->res->engine_reason, sizeof(c->res->engine_reason),
			 "%s", s->why);
		if (s->show_buf) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s", kind);
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", s->buf_why);
		}
	}
	if (c->ready_fd >= 0 && first) {
		/* the demo waits for this; a short write shows as EOF there */
		ssize_t w = write(c->ready_fd, &port32, sizeof(port32));
		(void)w;
	}
}

int server_run(const struct server_cfg *c)
{
	struct srv s = { .c = c };
	struct conn k = { 0 };
	int ret = 1, served = 0, failed = 0;

	conn_init(&k, &s, false);
	s.o = &k.o;
	if (srv_open(&s) < 0) {
		snprintf(k.err, sizeof(k.err), "%s", s.err);
		goto out;
	}
	if (conn_init(&k, &s, true) < 0)
		goto out;
	for (;;) {
		conn_config(&k, &s, !served);
		if (conn_accept(&k, &s) < 0) {
			if (served) {
				/* -K: a signal (or --timeout) between clients
				 * ends the server; the exit status is that of
				 * the clients served */
				if (!c->quiet)
					fprintf(stderr, "devmemtcp server: %s; served "
						"%d client%s, %d failed\n", k.err,
						served, served == 1 ? "" : "s",
						failed);
				k.reported = true;
				k.o.quiet = true;	/* no empty report */
				ret = failed ? 1 : 0;
				snprintf(k.err, sizeof(k.err), "%d of %d clients "
					 "failed", failed, served);
			}
			goto out;
		}
		refuse_pending(c, dmt_rx_listener_fd(s.l));
		if (!c->keep)	/* one-shot: later connections are refused */
			shutdown(dmt_rx_listener_fd(s.l), SHUT_RD);
		{
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			char as[80];

			getpeername(dmt_rx_fd(k.rx), (struct sockaddr *)&peer, &pl);
			out_kv(&k.o, OUT_CONFIG, "peer", true, "%s",
			       addr_str((struct sockaddr *)&peer, as, sizeof(as)));
		}
		ret = serve_one(&k);
		if (!c->keep || cli_stop)
			break;
		/* -K: this client's report ends; wait for the next one */
		served++;
		failed += ret != 0;
		if (ret && !c->quiet)
			run_error("server", "%s", k.err);
		out_finish(&k.o);
		conn_fini(&k);
		jout_next();	/* the next client's document */
		conn_init(&k, &s, false);
		if (conn_init(&k, &s, true) < 0)
			goto out;
		s.o = &k.o;
	}
	if (c->keep && (ret || failed))
		ret = 1;
out:
	if (ret && !k.err[0])
		snprintf(k.err, sizeof(k.err), "failed");
	if (ret && !k.reported) {	/* failed before receiving */
		out_kv(&k.o, OUT_RESULT, "complete", false, "false");
		out_kv(&k.o, OUT_RESULT, "error", true, "%s", k.err);
	}
	out_finish(&k.o);
	if (ret && !c->quiet)
		run_error("server", "%s", k.err);
	if (c->res) {
		snprintf(c->res->error, sizeof(c->res->error), "%s",
			 ret ? k.err : "");
		c->res->status = ret;
		c->res->done = true;
	}
	dmt_rx_free(k.rx);
	k.rx = NULL;
	srv_close(&s);	/* devmem: unbind, restore the NIC, say what */
	conn_fini(&k);
	return ret;
}
