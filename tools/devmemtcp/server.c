// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: accept one connection (or, with -K, one after another),
 * receive the stream, validate it against the ncdevmem pattern, report. The receive path is a pluggable
 * engine (struct rx_engine): "copy" is plain recv() (into host memory, or
 * the CPU mapping of --buffer), "devmem" is devmem RX into a dma-buf, and
 * "staged" receives through host bounce buffers into memory without a CPU
 * mapping (GPU memory, --buffer cuda|rocm). Bytes in host memory go through
 * srv_deliver(); bytes that only exist in the buffer are read back with
 * dmt_buf_read() for validation (sampled for large transfers: struct
 * sampler, common.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"
#include "session.h"

#define RECV_SIZE (1u << 20)
#define STAGE_PIECE (32u << 20)	/* bytes per dmt_stage_recv() call */
#define CHECK_CHUNK (4u << 20)	/* copy-out piece for validation */
#define RX_SLICE_MS 250		/* a receive waits at most this long */

struct srv {
	const struct server_cfg *c;
	struct out o;
	struct pat pat;
	uint64_t bytes;
	struct dmt_buf *buf;	/* --buffer (or host for --engine staged) */
	char buf_why[1024];
	bool checking;		/* -v given and --validate not off */
	struct sampler sm;	/* which stream bytes are checked */
	uint64_t checked;	/* bytes compared with the pattern */
	unsigned char *tmp;	/* copy-out space for read-back checks */
	char why[1200];		/* engine reason, when composed here */
	double idle_since;	/* last data (or the accept) */
	bool reported;		/* the result section is written */
	char err[1200];
	/* the connection (one per stream with -P) */
	const struct rx_engine *eng;
	int fd;
	struct sockaddr_storage peer;
	struct sess_hello hello;	/* present: a devmemtcp client's */
	struct sess_tx tx;	/* -R, --bidir: the server's stream */
	struct out_ivl tx_iv;	/* --bidir: its interval lines */
	double t0, t1;
	struct cpu_snap c0, cd;
	int rr;			/* the data phase: 0 clean end, < 0 failed */
	pthread_t th;
	bool finished;		/* the stream's thread is done */
};

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

/* Every byte received into host memory goes through here, in stream order. */
static void srv_deliver(struct srv *s, const void *data, size_t len)
{
	if (s->checking)
		srv_check_host(s, s->bytes, data, len);
	s->bytes += len;
	out_tick(&s->o, s->bytes);
}

/*
 * A receive slice (SO_RCVTIMEO, RX_SLICE_MS) ended without data, or a
 * signal came: 0 to go on receiving, or -1 with s->err saying why the run
 * ends (a signal, or no data for --timeout seconds).
 */
static int srv_idle(struct srv *s)
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

/* Does any byte of stream [pos, pos+len) need checking? */
static bool srv_needs(const struct srv *s, uint64_t pos, uint64_t len)
{
	uint64_t end;

	if (!s->checking)
		return false;
	return sampler_at(&s->sm, pos, &end) || end < pos + len;
}

/*
 * Read back and check the bytes of stream [pos, pos+n), which lie at
 * buffer offset boff, where the sampler's answer is want (true: the bytes
 * selected now; false: those not checked yet, for the tail pass).
 */
static int srv_check_buf(struct srv *s, uint64_t pos, uint64_t n, uint64_t boff,
			 bool want)
{
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

/* A receive engine reads the connected socket fd until the peer closes,
 * handing every byte to srv_deliver(). Returns 0 on a clean close (EOF),
 * -errno otherwise with s->err filled. */
struct rx_engine {
	const char *name;
	const char *why;	/* reason line when chosen */
	int (*run)(struct srv *s, int fd);
};

/* copy: recv() into host memory: the CPU mapping of --buffer used as a
 * ring, or a private 1 MiB buffer. */
static int rx_copy_run(struct srv *s, int fd)
{
	unsigned char *map = s->buf ? dmt_buf_map(s->buf) : NULL;
	size_t bsz = map ? dmt_buf_size(s->buf) : RECV_SIZE;
	unsigned char *buf = map ? map : malloc(RECV_SIZE);

	if (!buf) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		size_t off = (size_t)(s->bytes % bsz);
		size_t want = bsz - off < RECV_SIZE ? bsz - off : RECV_SIZE;
		ssize_t n;
		int e;

		if (cli_stop && srv_idle(s)) {	/* data flowing: no EINTR */
			if (!map)
				free(buf);
			return -EINTR;
		}
		if (map)
			dmt_buf_begin_cpu(s->buf, DMT_SYNC_RW);
		n = recv(fd, buf + off, want, 0);
		e = errno;
		if (n > 0)
			srv_deliver(s, buf + off, (size_t)n);
		if (map)
			dmt_buf_end_cpu(s->buf, DMT_SYNC_RW);
		errno = e;
		if (n > 0) {
			s->idle_since = now_s();
			continue;
		}
		if (n == 0)
			break;
		if ((errno == EINTR || errno == EAGAIN) && !srv_idle(s))
			continue;
		if (errno == EINTR || errno == EAGAIN)
			e = cli_stop ? -EINTR : -EAGAIN;
		else
			e = recv_failed(s, errno);
		if (!map)
			free(buf);
		return e;
	}
	if (!map)
		free(buf);
	return 0;
}

/* ---- staged receive engine: recv -> host bounce -> buffer (GPU) ----
 * dmt_stage_recv() fills a ring over the whole buffer, STAGE_PIECE bytes
 * at a time; after each piece the bytes the sampler selects are read back
 * (dmt_buf_read) and checked, before the ring comes round to them again. */
static int rx_staged_run(struct srv *s, int fd)
{
	DMT_OPTS(dmt_stage_opts, so);
	DMT_OPTS(dmt_stage_stats, st);
	uint64_t B = dmt_buf_size(s->buf);
	struct dmt_stage *stg;
	struct dmt_error e;
	int ret = 0;

	stg = dmt_stage_new(s->buf, &so, &e);
	if (!stg) {
		snprintf(s->err, sizeof(s->err), "staging: %.300s", e.message);
		return e.err ? e.err : -ENOMEM;
	}
	for (;;) {
		uint64_t off = s->bytes % B, len = B - off;
		ssize_t n;

		if (len > STAGE_PIECE)
			len = STAGE_PIECE;
		if (cli_stop && srv_idle(s)) {
			ret = -EINTR;
			break;
		}
		n = dmt_stage_recv(stg, fd, off, len);
		if (n == 0)
			break;
		if ((n == -EAGAIN || n == -EINTR) && !srv_idle(s))
			continue;
		if (n < 0) {
			if (n != -EAGAIN && n != -EINTR)
				snprintf(s->err, sizeof(s->err), "receive failed "
					 "after %" PRIu64 " bytes: %.300s", s->bytes,
					 dmt_stage_last_error(stg)->message);
			ret = (int)n;
			break;
		}
		s->idle_since = now_s();
		if (s->checking) {
			ret = srv_check_buf(s, s->bytes, (uint64_t)n, off, true);
			if (ret < 0)
				break;
		}
		s->bytes += (uint64_t)n;
		out_tick(&s->o, s->bytes);
	}
	if (!ret && s->checking)
		ret = srv_check_tail(s);
	dmt_stage_get_stats(stg, &st);
	out_kv(&s->o, OUT_RESULT, "stage_chunk", false, "%zu",
	       dmt_stage_chunk(stg));
	out_kv(&s->o, OUT_RESULT, "stage_chunks", false, "%" PRIu64, st.chunks);
	out_kv(&s->o, OUT_RESULT, "stage_copy_s", false, "%.3f",
	       (double)st.copy_ns / 1e9);
	out_kv(&s->o, OUT_RESULT, "stage_net_wait_s", false, "%.3f",
	       (double)st.net_wait_ns / 1e9);
	out_kv(&s->o, OUT_RESULT, "stage_pinned", false, "%s",
	       st.pinned ? "true" : "false");
	dmt_stage_free(stg);
	return ret;
}

/* ---- devmem receive engine (ncdevmem -l -f IF -q N -t Q -c ADDR) ---- */

static struct {
	const char *ifname;	/* -f */
	unsigned int nq, start;	/* -q, -t */
	bool have_start;
	const char *client;	/* -c: 5-tuple rule */
	bool no_setup;		/* --no-setup: NIC configured by hand */
	uint32_t binding;	/* --no-setup: bind-rx done here, on ctx */
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	bool buf_borrowed;	/* buf is the server's --buffer */
	struct dmt_nic_setup *setup;
	char why[600];
} dm;

static void dm_lines(struct srv *s, const char *sum)
{
	while (sum && *sum) {
		const char *nl = strchr(sum, '\n');
		int n = nl ? (int)(nl - sum) : (int)strlen(sum);

		out_line(&s->o, "nic: %.*s", n, sum);
		sum += n + (nl ? 1 : 0);
	}
}

/* Before listening: buffer, NIC setup (or a plain bind with --no-setup),
 * (SIGINT/SIGTERM end the run loop, so the NIC is restored: cmd_server).
 * 0, or -1 with dm.why saying why devmem RX cannot be used here. */
static int dm_prepare(struct srv *s, const struct server_cfg *c)
{
	struct sockaddr_storage srv, cli;
	socklen_t sl = 0, cl = 0;
	struct dmt_error e;
	int ifx, ret;

	if (!dm.ifname) {
		snprintf(dm.why, sizeof(dm.why), "no interface given (-f IFNAME)");
		return -1;
	}
	ifx = (int)if_nametoindex(dm.ifname);
	if (!ifx) {
		snprintf(dm.why, sizeof(dm.why), "no interface %s", dm.ifname);
		return -1;
	}
	dm.ctx = dmt_ctx_new(NULL, &e);
	if (!dm.ctx) {
		snprintf(dm.why, sizeof(dm.why), "%s", e.message);
		return -1;
	}
	if (s->buf) {
		if (dmt_buf_dmabuf_fd(s->buf) < 0) {
			snprintf(dm.why, sizeof(dm.why), "the %s buffer is not a "
				 "dma-buf (use --buffer udmabuf, dmaheap, cuda or "
				 "rocm)", dmt_buf_kind_name(dmt_buf_kind(s->buf)));
			return -1;
		}
		dm.buf = s->buf;
		dm.buf_borrowed = true;
	}
	if (!dm.buf)
		dm.buf = dmt_buf_new(DMT_BUF_UDMABUF, 64u << 20, NULL, &e);
	if (!dm.buf) {
		struct dmt_error e2;

		dm.buf = dmt_buf_new(DMT_BUF_DMAHEAP, 64u << 20, NULL, &e2);
		if (!dm.buf) {	/* say the udmabuf reason: the usual one */
			snprintf(dm.why, sizeof(dm.why), "no dma-buf to receive "
				 "into: %s", e.message);
			return -1;
		}
	}
	if (dm.no_setup) {
		uint32_t q[1024];
		unsigned int nq = dm.nq ? dm.nq : 1;
		int rxq = 0;
		DMT_OPTS(dmt_nic_setup_opts, o0);

		(void)o0;
		if (!dm.have_start) {
			struct dmt_queue_info qi[256];
			int n = dmt_queue_dump(dm.ctx, ifx, qi, 256);

			for (int i = 0; i < n && i < 256; i++)
				rxq += qi[i].type == DMT_QUEUE_RX;
			dm.start = rxq > (int)nq ? (unsigned int)rxq - nq : 0;
		}
		for (unsigned int i = 0; i < nq && i < 1024; i++)
			q[i] = dm.start + i;
		ret = dmt_bind_rx(dm.ctx, ifx, dmt_buf_dmabuf_fd(dm.buf), q, nq,
				  &dm.binding);
		if (ret < 0) {
			snprintf(dm.why, sizeof(dm.why), "%s",
				 dmt_ctx_last_error(dm.ctx)->message);
			return -1;
		}
		out_line(&s->o, "nic: --no-setup: queues %u-%u bound, binding %u",
			 dm.start, dm.start + nq - 1, dm.binding);
	} else {
		DMT_OPTS(dmt_nic_setup_opts, o, .nqueues = dm.nq,
			 .queue_start = dm.start, .port = (uint16_t)c->port);

		if (dm.have_start)
			o.flags |= DMT_NIC_F_QUEUE_START;
		if (c->addr && !parse_addr(c->addr, c->port, AF_UNSPEC, &srv, &sl)) {
			o.server = (struct sockaddr *)&srv;
			o.server_len = sl;
		}
		if (dm.client && !parse_addr(dm.client, c->port, AF_UNSPEC, &cli,
					     &cl)) {
			o.client = (struct sockaddr *)&cli;
			o.client_len = cl;
			o.client_port = (uint16_t)c->port; /* as ncdevmem */
		}
		dm.setup = dmt_nic_setup_new(dm.ctx, ifx, &o, &e);
		if (!dm.setup) {
			snprintf(dm.why, sizeof(dm.why), "%s", e.message);
			return -1;
		}
		ret = dmt_nic_setup_apply(dm.setup, dm.buf);
		dm_lines(s, dmt_nic_setup_summary(dm.setup));
		if (ret < 0) {
			snprintf(dm.why, sizeof(dm.why), "%s",
				 dmt_nic_setup_last_error(dm.setup)->message);
			return -1;
		}
		dm.binding = dmt_nic_setup_binding_id(dm.setup);
	}
	return 0;
}

static void dm_cleanup(struct srv *s)
{
	if (dm.setup) {
		size_t before = strlen(dmt_nic_setup_summary(dm.setup));

		dmt_nic_setup_undo(dm.setup);
		dm_lines(s, dmt_nic_setup_summary(dm.setup) + before);
		dmt_nic_setup_free(dm.setup);
		dm.setup = NULL;
	}
	dmt_ctx_free(dm.ctx);	/* releases a --no-setup binding */
	if (!dm.buf_borrowed)
		dmt_buf_free(dm.buf);
	dm.buf = NULL;
	dm.buf_borrowed = false;
	dm.ctx = NULL;
}

static int rx_devmem_run(struct srv *s, int fd)
{
	DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_DEVMEM,
		 .binding_id = dm.binding);
	DMT_OPTS(dmt_rx_stats, st);
	unsigned char *tmp = malloc(RECV_SIZE);
	struct dmt_frag *f = malloc(1024 * sizeof(*f));
	struct dmt_error e;
	struct dmt_rx *rx = NULL;
	unsigned int nf;
	ssize_t n;
	int ret = 0;

	if (!tmp || !f) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	rx = dmt_rx_from_fd(dm.ctx, dm.buf, fd, &o, &e);
	if (!rx) {
		snprintf(s->err, sizeof(s->err), "%.300s", e.message);
		ret = e.err ? e.err : -EIO;
		goto out;
	}
	while ((n = cli_stop ? -EINTR : dmt_rx_recv(rx, f, 1024, &nf)) != 0) {
		if ((n == -EINTR || n == -EAGAIN) && !srv_idle(s))
			continue;
		if (n < 0) {
			if (n != -EINTR && n != -EAGAIN)
				snprintf(s->err, sizeof(s->err), "%.300s",
					 dmt_rx_last_error(rx)->message);
			ret = (int)n;
			break;
		}
		s->idle_since = now_s();
		/* gather in stream order, in pieces that fit tmp; fragments
		 * holding no byte to check are only counted */
		for (unsigned int i = 0; i < nf;) {
			unsigned int j = i;
			size_t len = 0;

			if (!srv_needs(s, s->bytes, f[i].len)) {
				s->bytes += f[i].len;
				i++;
				continue;
			}
			while (j < nf && len + f[j].len <= RECV_SIZE &&
			       srv_needs(s, s->bytes + len, f[j].len))
				len += f[j++].len;
			if (j == i || dmt_rx_gather(rx, f + i, j - i, tmp,
						    RECV_SIZE) != (ssize_t)len) {
				snprintf(s->err, sizeof(s->err), "gather: %.300s",
					 dmt_rx_last_error(rx)->message);
				ret = -EIO;
				goto out;
			}
			srv_deliver(s, tmp, len);
			i = j;
		}
		out_tick(&s->o, s->bytes);
		if (dmt_rx_release(rx, f, nf) < 0) {
			snprintf(s->err, sizeof(s->err), "%.300s",
				 dmt_rx_last_error(rx)->message);
			ret = -EIO;
			break;
		}
	}
	dmt_rx_get_stats(rx, &st);
	out_kv(&s->o, OUT_RESULT, "devmem_bytes", false, "%" PRIu64,
	       st.devmem_bytes);
	out_kv(&s->o, OUT_RESULT, "linear_bytes", false, "%" PRIu64,
	       st.linear_bytes);
	out_kv(&s->o, OUT_RESULT, "tokens_released", false, "%" PRIu64,
	       st.tokens_released);
	out_kv(&s->o, OUT_RESULT, "dontneed_calls", false, "%" PRIu64,
	       st.dontneed_calls);
	if (st.linear_bytes)
		out_line(&s->o, "%" PRIu64 " bytes arrived in host memory "
			 "(header split not effective for this flow)",
			 st.linear_bytes);
out:
	dmt_rx_free(rx);
	free(tmp);
	free(f);
	return ret;
}

static const struct rx_engine rx_engines[] = {
	{ "copy", "plain recv() into host memory", rx_copy_run },
	{ "devmem", "devmem RX into a dma-buf", rx_devmem_run },
	{ "staged", "recv() into host bounce buffers, copied into the buffer "
	  "by a second thread", rx_staged_run },
};

/* nomap: the buffer has no CPU mapping (GPU memory): auto stages. */
static const struct rx_engine *rx_pick(const char *name, bool nomap,
				       const char **why)
{
	if (!name || !strcmp(name, "auto")) {
		*why = "auto: plain recv() (no devmem interface given, -f)";
		return &rx_engines[dm.ifname ? 1 : nomap ? 2 : 0];
	}
	for (size_t i = 0; i < sizeof(rx_engines) / sizeof(rx_engines[0]); i++)
		if (!strcmp(name, rx_engines[i].name)) {
			*why = rx_engines[i].why;
			return &rx_engines[i];
		}
	return NULL;
}

static int listen_on(struct srv *s, struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, zero = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(s->err, sizeof(s->err), "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)ss, sl) < 0 || listen(fd, 1) < 0) {
		char a[80];

		snprintf(s->err, sizeof(s->err), "cannot listen on %s: %s%s",
			 addr_str((struct sockaddr *)ss, a, sizeof(a)),
			 strerror(errno), errno == EADDRINUSE ?
			 " (another server on that port? pick another -p)" :
			 errno == EADDRNOTAVAIL ? " (no interface has that "
			 "address)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One-shot: connections that completed their handshake while the first was
 * accepted are refused with a reset (never accepted and left unread), and
 * each is named on stderr; closing the listener then refuses later ones.
 */
static void refuse_pending(struct srv *s, int lfd)
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
		if (!s->c->quiet)
			fprintf(stderr, "devmemtcp server: refused a second "
				"connection from %s: this server serves one "
				"connection at a time\n",
				addr_str((struct sockaddr *)&p, a, sizeof(a)));
	}
}

static int accept_one(struct srv *s, int lfd, struct sockaddr_storage *peer)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	socklen_t pl = sizeof(*peer);
	int r, fd;

	for (;;) {
		/* a signal that came before the wait (during NIC setup) */
		r = cli_stop ? -1 : poll(&p, 1, s->c->timeout_s ?
					 s->c->timeout_s * 1000 : -1);
		if (cli_stop)
			errno = EINTR;
		if (r < 0 && errno == EINTR && cli_stop) {
			snprintf(s->err, sizeof(s->err), "interrupted by %s while "
				 "waiting for a connection", cli_stop_name());
			return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(s->err, sizeof(s->err), "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(s->err, sizeof(s->err), "no connection within "
				 "%d s (--timeout)", s->c->timeout_s);
			return -1;
		}
		fd = accept4(lfd, (struct sockaddr *)peer, &pl, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED) {
			snprintf(s->err, sizeof(s->err), "accept: %s",
				 strerror(errno));
			return -1;
		}
	}
}

/* ---- one connection: data phase (its own thread with -P), report ---- */

/* A stream of a -P test other than the first: the first's settings, its
 * own output, pattern state and buffer. NULL when out of memory or when
 * its buffer cannot be had (why in s0->err). */
static struct srv *srv_clone(struct srv *s0, unsigned int id)
{
	const struct server_cfg *c = s0->c;
	struct srv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->eng = s0->eng;
	s->checking = s0->checking;
	s->sm = s0->sm;
	out_init(&s->o, "server", c->json, c->quiet, c->interval);
	if (s->o.sec[OUT_CONFIG] && s0->o.sec[OUT_CONFIG])
		json_object_update(s->o.sec[OUT_CONFIG], s0->o.sec[OUT_CONFIG]);
	s->o.header_done = true;	/* the first stream printed it */
	s->o.iv.id = id;
	if (pat_init(&s->pat, c->v) < 0)
		goto fail;
	if (s0->buf) {	/* a ring per stream: they receive at once */
		struct buf_choice host = { .kind = DMT_BUF_HOST };

		s->buf = alloc_buffer(c->have_buf ? &c->buf : &host,
				      (size_t)c->buf_size, s->buf_why,
				      sizeof(s->buf_why));
		if (!s->buf) {
			snprintf(s0->err, sizeof(s0->err), "stream %u: %s", id,
				 s->buf_why);
			goto fail;
		}
	}
	if (s0->tmp && !(s->tmp = malloc(CHECK_CHUNK)))
		goto fail;
	return s;
fail:
	if (!s0->err[0])
		snprintf(s0->err, sizeof(s0->err), "out of memory");
	pat_free(&s->pat);
	out_free(&s->o);
	dmt_buf_free(s->buf);
	free(s->tmp);
	free(s);
	return NULL;
}

static void srv_clone_free(struct srv *s)
{
	if (!s)
		return;
	sess_tx_free(&s->tx);
	pat_free(&s->pat);
	out_free(&s->o);
	dmt_buf_free(s->buf);
	free(s->tmp);
	free(s);
}

/* The data phase of one connection: receive (the engine), send (-R), or
 * both (--bidir), timed. */
static void srv_data(struct srv *s)
{
	/* receives wait in slices, so that a signal or --timeout ends them
	 * whatever the engine does with EINTR; keepalive notices a peer that
	 * vanished (about 25 s) without --timeout */
	struct timeval tv = { .tv_usec = RX_SLICE_MS * 1000 };
	int one = 1, idle = 10, intvl = 5, cnt = 3, fd = s->fd;
	enum sess_dir dir = s->hello.present ? s->hello.dir : SESS_FWD;
	struct cpu_snap c1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	s->idle_since = now_s();
	cpu_snap_take(&s->c0);
	s->t0 = now_s();
	out_set_fd(&s->o, fd, dir == SESS_REV);
	out_start(&s->o, s->t0, 0);
	if (dir == SESS_REV) {
		s->rr = sess_tx_run(&s->tx, fd, &s->hello, s->c->timeout_s,
				    &s->o.iv, false);
		if (sess_tx_join(&s->tx) < 0)
			s->rr = -1;
	} else if (dir == SESS_BIDIR) {
		s->o.iv.tag = "RX";
		out_ivl_init(&s->o, &s->tx_iv, s->o.iv.id, fd, true, "TX");
		s->rr = -1;
		if (sess_tx_run(&s->tx, fd, &s->hello, s->c->timeout_s,
				&s->tx_iv, true) == 0)
			s->rr = s->eng->run(s, fd);
		if (sess_tx_join(&s->tx) < 0 && s->rr == 0)
			s->rr = -1;
	} else {
		s->rr = s->eng->run(s, fd);	/* hook: the receive engine */
	}
	s->t1 = now_s();
	cpu_snap_take(&c1);
	cpu_snap_delta(&s->c0, &c1, &s->cd);
	if (dir == SESS_REV) {
		out_tick_final(&s->o, sess_tx_sent(&s->tx));
	} else {
		out_tick_final(&s->o, s->bytes);
		if (dir == SESS_BIDIR)
			out_ivl_final(&s->tx_iv, sess_tx_sent(&s->tx));
	}
}

static void *srv_thread(void *arg)
{
	struct srv *s = arg;

	srv_data(s);
	__atomic_store_n(&s->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The report of one connection (text lines or its JSON sections), and
 * the result line sent back to the peer (session.c). Returns the
 * connection's status, 0 or 1. */
static int srv_report(struct srv *s)
{
	const struct server_cfg *c = s->c;
	enum sess_dir dir = s->hello.present ? s->hello.dir : SESS_FWD;
	bool recv = dir != SESS_REV, sends = dir != SESS_FWD;
	double secs = s->t1 - s->t0;
	uint64_t first_bad = 0, sent = sess_tx_sent(&s->tx);
	const char *vname;
	char verdict[1400], vs[160] = "", amt[32], rate[32], sid[16] = "";
	struct sess_result sr = { 0 };
	int ret = s->rr < 0 ? 1 : 0;

	if (ret && !s->err[0] && sends)
		snprintf(s->err, sizeof(s->err), "sending: %.1000s",
			 sess_tx_error(&s->tx));
	/* sampled checks may record offsets out of stream order */
	first_bad = s->pat.nbad ? s->pat.bad[0].off : 0;
	for (unsigned int i = 1; i < s->pat.nbad; i++)
		if (s->pat.bad[i].off < first_bad)
			first_bad = s->pat.bad[i].off;
	if (!ret && s->pat.mismatches) {
		snprintf(s->err, sizeof(s->err), "%" PRIu64 " mismatching bytes, "
			 "the first at offset %" PRIu64, s->pat.mismatches,
			 first_bad);
		ret = 1;
	}
	vname = !s->checking || !recv ? "off" : s->checked < s->bytes ?
		"sampled" : "full";
	if (!ret && recv && !s->bytes) {
		snprintf(s->err, sizeof(s->err), "the peer closed the connection "
			 "without sending any data");
		ret = 1;
	}
	if (!ret && recv && c->have_size && s->bytes != c->size) {
		snprintf(s->err, sizeof(s->err), "received %" PRIu64 " bytes, "
			 "expected %" PRIu64 " (--size)", s->bytes, c->size);
		ret = 1;
	}
	for (unsigned int i = 0; i < s->pat.nbad; i++) {
		out_line(&s->o, "mismatch at offset %" PRIu64 ": got 0x%02x, "
			 "expected 0x%02x", s->pat.bad[i].off, s->pat.bad[i].got,
			 s->pat.bad[i].want);
	}
	if (s->o.iv.id) {
		out_kv(&s->o, OUT_RESULT, "stream", false, "%u", s->o.iv.id);
		snprintf(sid, sizeof(sid), " [%3u]", s->o.iv.id);
	}
	out_kv(&s->o, OUT_RESULT, "bytes", false, "%" PRIu64, s->bytes);
	if (sends)
		out_kv(&s->o, OUT_RESULT, "sent", false, "%" PRIu64, sent);
	out_kv(&s->o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(&s->o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)s->bytes / secs / 1e9 : 0);
	out_kv(&s->o, OUT_RESULT, "bits_per_second", false, "%.0f",
	       secs > 0 ? (double)s->bytes * 8 / secs : 0);
	out_kv(&s->o, OUT_RESULT, "cpu_s", false, "%.3f", s->cd.proc_s);
	out_kv(&s->o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * s->cd.proc_s / secs : 0);
	out_kv(&s->o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.proc_s, s->bytes + sent));
	out_kv(&s->o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.machine_s, s->bytes + sent));
	out_kv(&s->o, OUT_RESULT, "validated", false, "%s",
	       s->checking && recv ? "true" : "false");
	out_kv(&s->o, OUT_RESULT, "validation_mode", true, "%s", vname);
	out_kv(&s->o, OUT_RESULT, "checked_bytes", false, "%" PRIu64, s->checked);
	out_kv(&s->o, OUT_RESULT, "mismatches", false, "%" PRIu64, s->pat.mismatches);
	{
		uint64_t offv[PAT_MAX_BAD];

		for (unsigned int i = 0; i < s->pat.nbad; i++)
			offv[i] = s->pat.bad[i].off;
		out_kv_u64s(&s->o, OUT_RESULT, "mismatch_offsets", offv,
			    s->pat.nbad);
	}
	out_kv(&s->o, OUT_RESULT, "peer_closed", false, "%s", s->rr == 0 ?
	       "true" : "false");
	out_kv(&s->o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(&s->o, OUT_RESULT, "error", true, "%s", s->err);
	/* a failed transfer is never "verified": say what happened, and
	 * whether the bytes that did arrive were right */
	snprintf(verdict, sizeof(verdict), "INCOMPLETE: %.1200s%s", s->err,
		 s->checking && s->bytes ? "; the bytes received match "
		 "the pattern" : "");
	if (!strcmp(vname, "sampled"))
		snprintf(vs, sizeof(vs), " (validation=sampled: %" PRIu64
			 " of %" PRIu64 " bytes checked)", s->checked, s->bytes);
	sr.verdict = s->pat.mismatches ? "MISMATCHES" : ret ? "INCOMPLETE" :
		     !recv ? "sent" : !s->checking ? "not validated" : "verified";
	if (recv)
		out_line(&s->o, "summary:%s received %s in %.2f s, %s, %.2f CPU "
			 "s/GB (machine %.2f), CPU %.1f%%, %s%s", sid, fmt_bytes(amt, sizeof(amt),
			 (double)s->bytes), secs, fmt_rate(rate, sizeof(rate),
			 (double)s->bytes, secs), per_gb(s->cd.proc_s, s->bytes +
			 sent), per_gb(s->cd.machine_s, s->bytes + sent),
			 secs > 0 ? 100.0 * s->cd.proc_s / secs : 0,
			 s->pat.mismatches ? "MISMATCHES" : ret ? verdict :
			 !s->checking ? "not validated" : "verified", vs);
	if (sends)
		out_line(&s->o, "summary:%s sent %s in %.2f s, %s, engine %s%s%s",
			 sid, fmt_bytes(amt, sizeof(amt), (double)sent), secs,
			 fmt_rate(rate, sizeof(rate), (double)sent, secs),
			 s->tx.engine[0] ? s->tx.engine : "-",
			 ret && !recv ? ", " : "", ret && !recv ? verdict : "");
	if (c->res) {
		c->res->bytes = s->bytes;
		c->res->seconds = secs;
		c->res->cpu_s = s->cd.proc_s;
		c->res->mismatches = s->pat.mismatches;
		c->res->first_bad = first_bad;
		c->res->checked = s->checked;
		snprintf(c->res->validation, sizeof(c->res->validation), "%s",
			 vname);
	}
	/* hook: the verdict back to the client (session.c); a foreign sender
	 * may read it or not, and one that is gone costs nothing */
	sr.complete = !ret;
	sr.error = s->err;
	sr.bytes = s->bytes;
	sr.seconds = secs;
	sr.cpu_s = s->cd.proc_s;
	sr.cpu_pct = secs > 0 ? 100.0 * s->cd.proc_s / secs : 0;
	sr.engine = recv ? s->eng->name : NULL;
	sr.validation = vname;
	sr.checked = s->checked;
	sr.mismatches = s->pat.mismatches;
	sr.sent_valid = sends;
	sr.sent = sent;
	sr.tx_engine = s->tx.engine[0] ? s->tx.engine : NULL;
	{
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (!getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
			sr.retransmits = ti.tcpi_total_retrans;
	}
	sess_result_send(s->fd, &sr, c->timeout_s);
	s->reported = true;
	return ret;
}

/* The server's status line between tests (-K), and the refusal of a
 * connection that cannot be served now. */
static void refuse_fd(struct srv *s, int fd, const struct sockaddr_storage *p,
		      const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char a[80];

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if (!s->c->quiet)
		fprintf(stderr, "devmemtcp server: refused a connection from %s: "
			"%s\n", addr_str((const struct sockaddr *)p, a, sizeof(a)),
			why);
}

/*
 * After the first connection of a test said it is one of n (-P): accept
 * the other n-1, each with a hello of the same cookie, within --timeout
 * (10 s without). Others are refused. Returns how many were gathered.
 */
static unsigned int srv_gather(struct srv *s0, int lfd, struct srv **st,
			       unsigned int n)
{
	double end = now_s() + (s0->c->timeout_s ? s0->c->timeout_s : 10);
	unsigned int have = 1;

	while (have < n && now_s() < end && !cli_stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct sess_hello h;
		char err[300];
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (sess_hello_read(fd, 5, &h, err, sizeof(err)) < 0 ||
		    !h.present || h.cookie != s0->hello.cookie ||
		    h.streams != n) {
			refuse_fd(s0, fd, &peer, "a test of parallel streams is "
				  "starting; this server runs one test at a time");
			continue;
		}
		st[have] = srv_clone(s0, have + 1);
		if (!st[have]) {
			refuse_fd(s0, fd, &peer, s0->err);
			continue;
		}
		st[have]->fd = fd;
		st[have]->hello = h;
		st[have]->peer = peer;
		have++;
	}
	return have;
}

/*
 * Run a test's streams and report each. One stream of a one-shot server
 * runs here; otherwise each in a thread, while this one refuses
 * newcomers on the listener (-K: one test at a time). Returns how many
 * failed.
 */
static int srv_test(struct srv **st, unsigned int n, int lfd)
{
	unsigned int started = 0;
	int failed = 0;

	if (n == 1 && lfd < 0) {
		srv_data(st[0]);
	} else {
		for (; started < n; started++) {
			/* -K reuses the first stream's state */
			__atomic_store_n(&st[started]->finished, false,
					 __ATOMIC_RELEASE);
			if (pthread_create(&st[started]->th, NULL, srv_thread,
					   st[started]))
				break;
		}
		for (unsigned int i = started; i < n; i++) {
			snprintf(st[i]->err, sizeof(st[i]->err), "cannot start "
				 "a thread for stream %u", i + 1);
			st[i]->rr = -1;
		}
		for (;;) {	/* busy: refuse, never leave one waiting */
			unsigned int done = 0;

			for (unsigned int i = 0; i < started; i++)
				done += __atomic_load_n(&st[i]->finished,
							__ATOMIC_ACQUIRE);
			if (done == started)
				break;
			if (lfd >= 0) {
				struct pollfd p = { .fd = lfd, .events = POLLIN };
				struct sockaddr_storage peer;
				socklen_t pl = sizeof(peer);
				int fd;

				if (poll(&p, 1, 100) > 0 &&
				    (fd = accept4(lfd, (struct sockaddr *)&peer,
						  &pl, SOCK_CLOEXEC)) >= 0)
					refuse_fd(st[0], fd, &peer, "a test is "
						  "running; this server runs one "
						  "test at a time");
			} else {
				usleep(100000);
			}
		}
		for (unsigned int i = 0; i < started; i++)
			pthread_join(st[i]->th, NULL);
	}
	for (unsigned int i = 0; i < n; i++) {
		int r = srv_report(st[i]);

		failed += r != 0;
		if (i) {	/* each stream its own report; the first's ends
				 * as a single connection's does */
			if (r && !st[i]->c->quiet)
				run_error("server", "stream %u: %s", i + 1,
					  st[i]->err);
			out_finish(&st[i]->o);
			jout_next();
		}
	}
	if (n > 1) {	/* iperf3's [SUM]: the streams together */
		uint64_t b = 0;
		double secs = 0;
		char amt[32], rate[32];

		for (unsigned int i = 0; i < n; i++) {
			b += st[i]->bytes + sess_tx_sent(&st[i]->tx);
			if (st[i]->t1 - st[i]->t0 > secs)
				secs = st[i]->t1 - st[i]->t0;
		}
		out_text(&st[0]->o, "[SUM]   0.00-%-6.2f sec  %-12s  %s  (%u streams, "
			 "%d failed)", secs, fmt_bytes(amt, sizeof(amt), (double)b),
			 fmt_rate(rate, sizeof(rate), (double)b, secs), n, failed);
	}
	return failed;
}

int server_run(const struct server_cfg *c)
{
	struct sockaddr_storage ss;
	const struct rx_engine *eng;
	const char *why = "", *kind = "";
	enum val_mode vmode;
	bool nomap = false;
	char as[80];
	int lfd = -1, ret = 1, served = 0, failed = 0, tf = 0;
	unsigned int n = 0;
	uint32_t port32;
	socklen_t sl;
	struct srv *s, *st[SESS_MAX_STREAMS] = { 0 };

	s = calloc(1, sizeof(*s));
	if (!s)
		return run_error("server", "out of memory");
	s->c = c;
	s->fd = -1;
	out_init(&s->o, "server", c->json, c->quiet, c->interval);
	if (pat_init(&s->pat, c->v) < 0) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	if (c->have_buf || (c->engine && !strcmp(c->engine, "staged"))) {
		struct buf_choice host = { .kind = DMT_BUF_HOST };

		s->buf = alloc_buffer(c->have_buf ? &c->buf : &host,
				      (size_t)c->buf_size, s->buf_why,
				      sizeof(s->buf_why));
		if (!s->buf) {
			snprintf(s->err, sizeof(s->err), "%s", s->buf_why);
			goto out;
		}
		nomap = !dmt_buf_map(s->buf);
		kind = dmt_buf_kind_name(dmt_buf_kind(s->buf));
	}
	eng = rx_pick(c->engine, nomap, &why);
	if (!eng) {
		snprintf(s->err, sizeof(s->err), "unknown receive engine");
		goto out;
	}
	if (nomap && eng->run == rx_copy_run) {
		snprintf(s->err, sizeof(s->err), "the %s buffer has no CPU "
			 "mapping: the copy engine cannot receive into it (use "
			 "--engine staged or auto)", kind);
		goto out;
	}
	if (eng->run == rx_devmem_run) {
		if (dm_prepare(s, c) < 0) {
			dm_cleanup(s);
			if (c->engine && !strcmp(c->engine, "devmem")) {
				snprintf(s->err, sizeof(s->err), "devmem RX: %.300s",
					 dm.why);
				goto out;
			}
			eng = &rx_engines[nomap ? 2 : 0];
			why = dm.why;	/* auto: the reason for the fallback */
			if (nomap) {
				snprintf(s->why, sizeof(s->why), "%s buffer: devmem "
					 "RX unavailable (%.600s); staging through "
					 "host memory", kind, dm.why);
				why = s->why;
			}
		} else {
			why = "devmem RX into a dma-buf";
		}
	} else if (nomap && eng->run == rx_staged_run &&
		   (!c->engine || !strcmp(c->engine, "auto"))) {
		snprintf(s->why, sizeof(s->why), "%s buffer: devmem RX unavailable "
			 "(no interface given, -f IFNAME); staging through host "
			 "memory", kind);
		why = s->why;
	}
	s->eng = eng;
	/* validation: read-back from memory without a CPU mapping is sampled
	 * above 1 GiB (auto); host memory is checked in full */
	vmode = c->v ? c->val : VAL_OFF;
	if (vmode == VAL_AUTO && !nomap)
		vmode = VAL_FULL;
	s->checking = vmode != VAL_OFF;
	sampler_init(&s->sm, vmode, c->have_size, c->size);
	if (s->checking && s->buf && eng->run == rx_staged_run) {
		s->tmp = malloc(CHECK_CHUNK);
		if (!s->tmp) {
			snprintf(s->err, sizeof(s->err), "out of memory");
			goto out;
		}
	}
	parse_addr(c->addr, c->port, AF_UNSPEC, &ss, &sl);
	lfd = listen_on(s, &ss, sl);
	if (lfd < 0)
		goto out;
	sl = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &sl);
next_client:	/* -K: each client gets its own report, configuration first */
	out_kv(&s->o, OUT_CONFIG | OUT_SHOW, "listen", true, "%s",
	       addr_str((struct sockaddr *)&ss, as, sizeof(as)));
	/* absent values (no pattern, no --size, no --timeout) are null */
	if (c->v)
		out_kv(&s->o, OUT_CONFIG, "validation", false, "%u", c->v);
	else
		out_kv_str(&s->o, OUT_CONFIG, "validation", NULL);
	if (c->have_size)
		out_kv(&s->o, OUT_CONFIG, "size", false, "%" PRIu64, c->size);
	else
		out_kv_str(&s->o, OUT_CONFIG, "size", NULL);
	out_kv(&s->o, OUT_CONFIG, "interval", false, "%g", c->interval);
	if (c->timeout_s)
		out_kv(&s->o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);
	else
		out_kv_str(&s->o, OUT_CONFIG, "timeout", NULL);
	out_kv(&s->o, OUT_CONFIG, "validate", true, "%s",
	       val_mode_name(c->v ? c->val : VAL_OFF));
	if (s->buf) {
		out_kv(&s->o, OUT_CONFIG, "buffer", true, "%s", kind);
		out_kv(&s->o, OUT_CONFIG, "buffer_size", false, "%zu",
		       dmt_buf_size(s->buf));
		out_kv(&s->o, OUT_CONFIG, "buffer_reason", true, "%s", s->buf_why);
		out_line(&s->o, "buffer: %s (%s)", kind, s->buf_why);
	}
	out_kv(&s->o, OUT_CONFIG, "engine", true, "%s", eng->name);
	out_kv(&s->o, OUT_CONFIG, "engine_reason", true, "%s", why);
	out_line(&s->o, "engine: %s (%s)", eng->name, why);
	fflush(stdout);
	port32 = ss.ss_family == AF_INET ?
		ntohs(((struct sockaddr_in *)&ss)->sin_port) :
		ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (c->res) {
		c->res->port = port32;
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng->name);
		snprintf(c->res->engine_reason, sizeof(c->res->engine_reason),
			 "%s", why);
		if (s->buf) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s",
				 kind);
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", s->buf_why);
		}
	}
	if (c->ready_fd >= 0 && !served) {
		/* the demo waits for this; a short write shows as EOF there */
		ssize_t w = write(c->ready_fd, &port32, sizeof(port32));
		(void)w;
	}

	s->fd = accept_one(s, lfd, &s->peer);
	if (s->fd < 0 && served) {
		/* -K: a signal (or --timeout) between clients ends the
		 * server; the exit status is that of the clients served */
		if (!c->quiet)
			fprintf(stderr, "devmemtcp server: %s; served %d "
				"client%s, %d failed\n", s->err, served,
				served == 1 ? "" : "s", failed);
		s->reported = true;
		s->o.quiet = true;	/* no empty report */
		ret = failed ? 1 : 0;
		snprintf(s->err, sizeof(s->err), "%d of %d clients failed",
			 failed, served);
		goto out;
	}
	if (s->fd < 0)
		goto out;
	/* hook: the client's hello, if it sent one (session.c) */
	if (sess_hello_read(s->fd, c->timeout_s, &s->hello, s->err,
			    sizeof(s->err)) < 0) {
		s->rr = -1;
		s->t0 = s->t1 = now_s();
		n = 1;
		st[0] = s;
		tf = srv_report(s);
		goto after_test;
	}
	st[0] = s;
	s->o.iv.id = s->hello.present && s->hello.streams > 1 ? 1 : 0;
	n = s->hello.present ? srv_gather(s, lfd, st, s->hello.streams) : 1;
	if (!c->keep) {
		refuse_pending(s, lfd);
		close(lfd);
		lfd = -1;
	} else {
		refuse_pending(s, lfd);
	}
	if (n < (s->hello.present ? s->hello.streams : 1) && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%u of the %u parallel streams "
			 "arrived within the time", n, s->hello.streams);
	out_kv(&s->o, OUT_CONFIG, "peer", true, "%s",
	       addr_str((struct sockaddr *)&s->peer, as, sizeof(as)));
	if (s->hello.present)
		out_kv(&s->o, OUT_CONFIG, "mode", true, "%s",
		       s->hello.dir == SESS_REV ? "reverse" :
		       s->hello.dir == SESS_BIDIR ? "bidir" : "forward");
	if (n < (s->hello.present ? s->hello.streams : 1)) {
		for (unsigned int i = 0; i < n; i++)
			st[i]->rr = -1;	/* the client gives up: say so to all */
		for (unsigned int i = 1; i < n; i++)
			snprintf(st[i]->err, sizeof(st[i]->err), "%s", s->err);
		for (unsigned int i = 0; i < n; i++)
			st[i]->t0 = st[i]->t1 = now_s();
		for (unsigned int i = 0; i < n; i++)
			tf += srv_report(st[i]);
	} else {
		tf = srv_test(st, n, lfd);
	}
after_test:
	served += (int)n;
	failed += tf;
	if (tf && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%d of %u parallel streams "
			 "failed", tf, n);
	ret = failed ? 1 : 0;
	for (unsigned int i = 1; i < n; i++) {
		if (st[i]->fd >= 0)
			close(st[i]->fd);
		srv_clone_free(st[i]);
		st[i] = NULL;
	}
	if (c->keep && lfd >= 0 && !cli_stop) {
		/* -K: this client's report ends; wait for the next one */
		if (tf && !c->quiet)
			run_error("server", "%s", s->err);
		tf = 0;
		out_finish(&s->o);
		out_free(&s->o);
		jout_next();	/* the next client's document */
		close(s->fd);
		s->fd = -1;
		s->bytes = s->checked = 0;
		s->err[0] = '\0';
		s->reported = false;
		sess_tx_free(&s->tx);
		memset(&s->hello, 0, sizeof(s->hello));
		pat_free(&s->pat);
		out_init(&s->o, "server", c->json, c->quiet, c->interval);
		if (pat_init(&s->pat, c->v) < 0) {
			snprintf(s->err, sizeof(s->err), "out of memory");
			goto out;
		}
		sampler_init(&s->sm, vmode, c->have_size, c->size);
		goto next_client;
	}
out:
	if (ret && !s->err[0])
		snprintf(s->err, sizeof(s->err), "failed");
	if (ret && !s->reported) {	/* failed before receiving */
		out_kv(&s->o, OUT_RESULT, "complete", false, "false");
		out_kv(&s->o, OUT_RESULT, "error", true, "%s", s->err);
	}
	out_finish(&s->o);
	if (ret && !c->quiet)
		run_error("server", "%s", s->err);
	if (c->res) {
		snprintf(c->res->error, sizeof(c->res->error), "%s",
			 ret ? s->err : "");
		c->res->status = ret;
		c->res->done = true;
	}
	if (s->fd >= 0)
		close(s->fd);
	if (lfd >= 0)
		close(lfd);
	dm_cleanup(s);	/* devmem: unbind, restore the NIC, say what */
	sess_tx_free(&s->tx);
	dmt_buf_free(s->buf);
	free(s->tmp);
	pat_free(&s->pat);
	out_free(&s->o);
	free(s);
	return ret;
}

static void server_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp server [-l] [-s ADDR] [-p PORT] [-v MOD] [--size N]\n"
"                        [--engine E] [--buffer B] [--buffer-size N]\n"
"                        [--validate M] [-1|--once|-K] [-i SEC] [--timeout SEC]\n"
"                        [--format F] [-V] [--json]\n"
"  -l               listen (accepted for ncdevmem compatibility)\n"
"  -s ADDR          address or host name to listen on (default: all, IPv6\n"
"                   and IPv4; fe80::1%%eth0 for a scoped address)\n"
"  -p PORT          port (default %u; 0 picks one, printed as listen=)\n"
"  -v MOD           validate the ncdevmem pattern of modulus 2..256 (0: off)\n"
"  --size N         expected bytes; fewer or more is a failure\n"
"  --engine E       receive engine: auto|devmem|staged|copy (default auto:\n"
"                   devmem with -f when the NIC allows it, else copy, or\n"
"                   staged for GPU memory)\n"
"  --buffer B       receive into auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N]\n"
"                   (default: host memory of the engine's own)\n"
"  --buffer-size N  receive buffer size (default 64M)\n"
"  --validate M     auto|full|sampled|off (default auto: data read back from\n"
"                   GPU memory is sampled above 1 GiB, the rest in full)\n"
"  -f IFNAME        devmem RX on this NIC (set up, bound, restored on exit)\n"
"  -q N             RX queues to bind (default 1)\n"
"  -t Q             first RX queue to bind (default: the last N)\n"
"  -c ADDR          client address: 5-tuple flow rule (peer binds -p too)\n"
"  --no-setup       NIC configured by hand: only bind-rx\n"
"  -1, --once       serve one connection, then exit (the default)\n"
"  -K, --keep-serving  serve one client after another until SIGINT/SIGTERM\n"
"                   (iperf3 -s); a report per client\n"
"                   (a client's -P streams, -R and --bidir: see devmemtcp(1))\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --format F       units: a (auto, default), k|m|g (Kbits|Mbits|Gbits/sec),\n"
"                   K|M|G (KBytes|MBytes|GBytes/sec)\n"
"  -V, --verbose    also the configuration as key=value lines\n"
"  --timeout SEC    give up after SEC without a connection or data (default:\n"
"                   wait for a connection; a vanished peer is noticed by\n"
"                   TCP keepalive in about 25 s)\n"
"  --json           one JSON document on stdout\n"
"  --json-stream    JSON lines: start, each interval, end\n", CLI_DEFAULT_PORT);
}

enum { O_ENGINE = 256, O_SIZE, O_JSON, O_ONCE, O_TIMEOUT, O_NO_SETUP,
       O_BUFFER, O_BUFSIZE, O_VALIDATE, O_JSON_STREAM, O_FORMAT };

static const struct option server_opts[] = {
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "json-stream", no_argument, NULL, O_JSON_STREAM },
	{ "once", no_argument, NULL, O_ONCE },
	{ "keep-serving", no_argument, NULL, 'K' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "no-setup", no_argument, NULL, O_NO_SETUP },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "buffer-size", required_argument, NULL, O_BUFSIZE },
	{ "validate", required_argument, NULL, O_VALIDATE },
	{ "interval", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "verbose", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *optarg_kind(const struct buf_choice *b)
{
	return b->kind == DMT_BUF_CUDA ? "cuda" : "rocm";
}

int cmd_server(int argc, char **argv)
{
	struct server_cfg c = {
		.port = CLI_DEFAULT_PORT, .interval = 1, .ready_fd = -1,
		.buf_size = CLI_DEFAULT_RX_BUF,
	};
	bool have_val = false, json_stream = false;
	const char *nic_opt = NULL;	/* an option that only -f uses */
	struct sockaddr_storage ss;
	const char *why;
	socklen_t sl;
	uint64_t u;
	int opt, ret;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":ls:p:v:i:hf:q:t:c:1KV", server_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			break;
		case '1':
		case O_ONCE:
			c.keep = false;
			break;
		case 'K':
			c.keep = true;
			break;
		case 'V':
			out_set_verbose(true);
			break;
		case O_FORMAT:
			if (out_set_format(optarg))
				return usage_error("server", "bad format '%s' "
						   "(--format): give a, k, m, g, K, M "
						   "or G", optarg);
			break;
		case 's':
			c.addr = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 65535, &u))
				return usage_error("server", "bad port '%s' (-p): "
						   "give 0..65535", optarg);
			c.port = (unsigned int)u;
			break;
		case 'v':
			if (parse_uint(optarg, 0, PAT_MAX_V, &u) || u == 1)
				return usage_error("server", "bad validation modulus "
						   "'%s' (-v): give 2..256, or 0 for "
						   "none", optarg);
			c.v = (unsigned int)u;
			break;
		case 'i':
			if ((ret = opt_interval("server", optarg, &c.interval)))
				return ret;
			break;
		case 'f':
			dm.ifname = optarg;
			break;
		case 'q':
		case 't':
			if (parse_uint(optarg, opt == 'q' ? 1 : 0, 1023, &u))
				return usage_error("server", "bad queue %s '%s' "
						   "(-%c): give %s", opt == 'q' ?
						   "count" : "index", optarg, opt,
						   opt == 'q' ? "1..1023" : "0..1023");
			nic_opt = opt == 'q' ? "-q" : "-t";
			if (opt == 'q')
				dm.nq = (unsigned int)u;
			else
				dm.start = (unsigned int)u;
			dm.have_start |= opt == 't';
			break;
		case 'c':
			if (parse_addr(optarg, 0, AF_UNSPEC, &ss, &sl))
				return usage_error("server", "bad client address "
						   "'%s' (-c): give an IPv4 or IPv6 "
						   "address", optarg);
			dm.client = optarg;
			nic_opt = "-c";
			break;
		case O_NO_SETUP:
			dm.no_setup = true;
			nic_opt = "--no-setup";
			break;
		case O_ENGINE:
			if (!rx_pick(optarg, false, &why))
				return usage_error("server", "unknown receive engine "
						   "'%s' (--engine): use auto, devmem, "
						   "staged or copy", optarg);
			c.engine = optarg;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("server", optarg, &c.buf)))
				return ret;
			c.have_buf = true;
			break;
		case O_BUFSIZE:
			if ((ret = opt_buffer_size("server", optarg, &c.buf_size)))
				return ret;
			break;
		case O_VALIDATE:
			if (parse_validate(optarg, &c.val))
				return usage_error("server", "unknown validation '%s'"
						   " (--validate): use auto, full, "
						   "sampled or off", optarg);
			have_val = true;
			break;
		case O_SIZE:
			if (parse_size(optarg, &c.size))
				return usage_error("server", "bad size '%s' (--size):"
						   " give bytes with an optional K/M/G "
						   "suffix", optarg);
			c.have_size = true;
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_JSON_STREAM:
			c.json = json_stream = true;
			break;
		case O_TIMEOUT:
			if ((ret = opt_timeout("server", optarg, &c.timeout_s)))
				return ret;
			break;
		case 'h':
			return help_out("server", server_usage);
		default:
			return getopt_error("server", opt, argv);
		}
	}
	jout_set(c.json, json_stream);
	if (optind < argc)
		return extra_args_error("server", argc, argv);
	if (c.engine && !strcmp(c.engine, "copy") && c.have_buf &&
	    buf_choice_gpu(&c.buf))
		return usage_error("server", "--engine copy receives into host "
				   "memory, and --buffer %s has no CPU mapping: use "
				   "--engine staged or auto", optarg_kind(&c.buf));
	if (have_val && c.val != VAL_OFF && !c.v)
		return usage_error("server", "--validate %s needs the pattern to "
				   "check: add -v MOD", val_mode_name(c.val));
	if (dm.ifname && !if_nametoindex(dm.ifname))
		return usage_error("server", "no interface '%s' (-f): see 'ip "
				   "link' for the names", dm.ifname);
	if (nic_opt && !dm.ifname)
		return usage_error("server", "%s configures devmem RX on a NIC and "
				   "means nothing without one: add -f IFNAME, or "
				   "leave %s out", nic_opt, nic_opt);
	if (c.engine && !strcmp(c.engine, "devmem") && !dm.ifname)
		return usage_error("server", "--engine devmem needs the NIC: add "
				   "-f IFNAME");
	if (dm.ifname && !dm.no_setup && !c.port)
		return usage_error("server", "devmem RX with -f needs a fixed port "
				   "for the flow rule: give -p PORT");
	if (c.addr && !c.addr[0])
		return usage_error("server", "empty listen address (-s ''): give "
				   "an address, or leave -s out to listen on all");
	if (c.addr && parse_addr(c.addr, c.port, AF_UNSPEC, &ss, &sl))
		return usage_error("server", "bad listen address '%s' (-s): give "
				   "an IPv4 or IPv6 address of this host or a host "
				   "name that resolves", c.addr);
	if (c.have_buf && !buf_choice_gpu(&c.buf) &&
	    (ret = check_buffer_fits("server", c.buf_size)))
		return ret;
	cli_catch_stop();	/* SIGINT/SIGTERM: stop, report, restore, exit 1 */
	return server_run(&c);
}
