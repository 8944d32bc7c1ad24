// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: send N bytes (or SEC seconds) of the ncdevmem
 * validation pattern, or stdin, to a server through a libdevmemtcp TX
 * engine.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"

#define MAX_SEGS 1024	/* the kernel's UIO_MAXIOV, iovecs per sendmsg */
#define STDIN_REGIONS 8

static void client_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp client -s SERVER [-p PORT] [-c CLIENT] [-v MOD] [-z CHUNK]\n"
"                        [-f IFNAME] [--engine E] [--size N | -t SEC]\n"
"                        [--buffer B]"
"                        [--buffer-size N] [--msg-size N] [-i SEC] [--json]\n"
"  -s ADDR          server address or host name (IPv4 or IPv6, fe80::1%%eth0)\n"
"  -p PORT          server port (default %u)\n"
"  -c ADDR          client (source) address to bind\n"
"  -v MOD           validation pattern modulus 2..256 (with --size or -t;\n"
"                   default 256)\n"
"  -z N             split each send into iovecs of at most N bytes\n"
"  -f IFNAME        egress interface for devmem (default: route lookup)\n"
"  --engine E       auto|devmem|uring|zerocopy|copy|staged (default auto)\n"
"  --size N         send N bytes of the pattern (K/M/G suffixes); else stdin\n"
"  -t SEC           send the pattern for SEC seconds (instead of --size)\n"
"  --buffer B       auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N] (default auto)\n"
"  --buffer-size N  send buffer size (default 8M)\n"
"  --msg-size N     bytes per send call (default 256K)\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --timeout SEC    bound on every wait: connect, a send making no progress,\n"
"                   completions and the receiver's close at the end (default 30)\n"
"  --json           one JSON document on stdout\n"
"  --json-stream    JSON lines: start, each interval, end\n", CLI_DEFAULT_PORT);
}

enum { O_ENGINE = 256, O_SIZE, O_BUFFER, O_BUFSIZE, O_MSGSIZE, O_JSON,
       O_TIMEOUT, O_JSON_STREAM };

static const struct option client_opts[] = {
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "buffer-size", required_argument, NULL, O_BUFSIZE },
	{ "msg-size", required_argument, NULL, O_MSGSIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "json-stream", no_argument, NULL, O_JSON_STREAM },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "interval", required_argument, NULL, 'i' },
	{ "time", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void log_warn(enum dmt_log_level lvl, const char *msg, void *user)
{
	(void)user;
	if (lvl <= DMT_LOG_WARN)
		fprintf(stderr, "devmemtcp client: %s: %s\n",
			lvl == DMT_LOG_ERROR ? "error" : "warning", msg);
}

/* Split [off, off+len) into segments of at most chunk bytes. */
static unsigned int make_segs(struct dmt_seg *segs, uint64_t off, uint64_t len,
			      uint64_t chunk)
{
	unsigned int n = 0;

	while (len && n < MAX_SEGS) {
		uint64_t l = chunk && chunk < len ? chunk : len;

		segs[n].off = off;
		segs[n].len = l;
		off += l;
		len -= l;
		n++;
	}
	return n;
}

struct run;
static void errf(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct run {
	const struct client_cfg *c;
	struct out o;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	struct dmt_seg segs[MAX_SEGS];
	uint64_t sent;
	bool reported;		/* the result section is written */
	char err[1024];
};

static void errf(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* Why the run stops early: a signal, with what was sent so far. */
static int stopped(struct run *r)
{
	if (!cli_stop)
		return 0;
	errf(r, "interrupted by %s after %" PRIu64 " bytes", cli_stop_name(),
	     r->sent);
	return -1;
}

/*
 * Wait at most ms for the sender to be able to go on: the socket writable
 * or a completion to reap (the tx is non-blocking, so the waits are ours,
 * bounded, and a signal ends them).
 */
static void tx_wait(struct run *r, int ms)
{
	short cev = 0;
	int cfd = dmt_tx_completion_fd(r->tx, &cev);
	struct pollfd p[2] = {
		{ .fd = dmt_tx_fd(r->tx), .events = dmt_tx_poll_events(r->tx) },
		{ .fd = cfd, .events = cev },
	};

	poll(p, cfd >= 0 && cfd != p[0].fd ? 2 : 1, ms);
	dmt_tx_reap(r->tx);
}

/* Queue [off, off+len) of the buffer. Gives up when nothing could be
 * queued for --timeout seconds (the receiver is not reading) or on a
 * signal. */
static int send_range(struct run *r, uint64_t off, uint64_t len)
{
	double stall = now_s(), limit = r->c->timeout_s;
	uint64_t done = 0;

	while (done < len) {
		unsigned int n = make_segs(r->segs, off + done, len - done,
					   r->c->chunk);
		ssize_t s;

		if (stopped(r))
			return -1;
		s = dmt_tx_send(r->tx, r->segs, n);
		if (s > 0) {
			done += (uint64_t)s;
			r->sent += (uint64_t)s;
			out_tick(&r->o, r->sent);
			stall = now_s();
			continue;
		}
		if (s == -EAGAIN) {
			double left = limit - (now_s() - stall);

			if (left <= 0) {
				errf(r, "send made no progress for %d s (--timeout)"
				     " after %" PRIu64 " bytes: the receiver is "
				     "not reading, or the path to it is gone",
				     r->c->timeout_s, r->sent);
				return -1;
			}
			tx_wait(r, left > 0.2 ? 200 : (int)(left * 1000) + 1);
			continue;
		}
		{
			const struct dmt_error *e = dmt_tx_last_error(r->tx);

			errf(r, "send failed after %" PRIu64 " bytes: %s", r->sent,
			     e->message[0] ? e->message : dmt_strerror((int)s));
		}
		return -1;
	}
	return 0;
}

/* Wait for every completion, at most --timeout, in slices so that a
 * signal ends the wait. */
static int flush_bounded(struct run *r)
{
	double end = now_s() + r->c->timeout_s;

	for (;;) {
		int ret = dmt_tx_flush(r->tx, 200);

		if (ret == 0)
			return 0;
		if (stopped(r))
			return -1;
		if (ret != -ETIMEDOUT || now_s() >= end) {
			errf(r, "completions: %s%s",
			     dmt_tx_last_error(r->tx)->message,
			     ret == -ETIMEDOUT ? " (--timeout)" : "");
			return -1;
		}
	}
}

static int not_taken(struct run *r, int e)
{
	errf(r, "the receiver did not take all %" PRIu64 " bytes: %s%s", r->sent,
	     strerror(e), e == ECONNRESET ? " (it reset the connection: it "
	     "died, or, if a one-shot server, served another sender)" : "");
	return -1;
}

/*
 * After the last byte: close our direction and wait for the receiver to
 * close its own (it does once it has read everything). A reset instead
 * means that it did not read it all: a one-shot server that served
 * another sender, a receiver that died. Bounded by --timeout.
 */
static int confirm_delivery(struct run *r)
{
	int fd = dmt_tx_fd(r->tx);
	double end = now_s() + r->c->timeout_s;
	char junk[4096];

	if (shutdown(fd, SHUT_WR) < 0) {
		if (errno == ENOTCONN)	/* the reset came first */
			return not_taken(r, ECONNRESET);
		errf(r, "closing the stream after %" PRIu64 " bytes: %s",
		     r->sent, strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now_s();
		ssize_t n;

		if (stopped(r))
			return -1;
		if (left <= 0) {
			errf(r, "the receiver did not close the connection within "
			     "%d s (--timeout) after the last byte: delivery of "
			     "the %" PRIu64 " bytes is not confirmed",
			     r->c->timeout_s, r->sent);
			return -1;
		}
		if (poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n > 0 || errno == EAGAIN || errno == EINTR)
			continue;
		return not_taken(r, errno);
	}
}

/* Pattern: the buffer holds L bytes of pattern (L a multiple of v), so
 * sending from offset (pos mod L) continues the stream without rewriting.
 * Only what the transfer uses is written (a 1 KiB send from a 4 GiB
 * buffer writes 1 KiB), before the clock starts. */
static int fill_pattern(struct run *r, unsigned int v, uint64_t *Lp)
{
	size_t bsz = dmt_buf_size(r->buf);
	uint64_t L = (bsz / v) * v, need = (r->c->size + v - 1) / v * v;
	struct pat p;
	unsigned char *tmp;

	if (L == 0) {
		errf(r, "buffer of %zu bytes is smaller "
			 "than the pattern period %u", bsz, v);
		return -1;
	}
	if (r->c->have_size && need < L)	/* -t: the whole buffer */
		L = need;
	if (pat_init(&p, v) < 0 || !(tmp = malloc(1u << 20))) {
		errf(r, "out of memory");
		return -1;
	}
	for (uint64_t o = 0; o < L; o += 1u << 20) {
		size_t n = L - o < (1u << 20) ? (size_t)(L - o) : 1u << 20;

		if (stopped(r))
			break;
		pat_fill(&p, tmp, n);
		if (dmt_buf_write(r->buf, o, tmp, n) < 0) {
			errf(r, "filling the buffer: %s",
				 dmt_buf_last_error(r->buf)->message);
			break;
		}
	}
	free(tmp);
	pat_free(&p);
	*Lp = L;
	return r->err[0] ? -1 : 0;
}

static int send_pattern(struct run *r, uint64_t L)
{
	const struct client_cfg *c = r->c;
	uint64_t msg = c->msg_size;

	double t_end;

	if (msg > L)
		msg = L;
	out_start(&r->o, now_s(), 0);
	t_end = now_s() + c->time_s;
	/* --size: until N bytes; -t: until SEC seconds have passed (the
	 * last send is whole, so the run ends within one send of SEC) */
	while (c->have_size ? r->sent < c->size : now_s() < t_end) {
		uint64_t off = r->sent % L;
		uint64_t n = c->have_size ? c->size - r->sent : msg;

		if (n > msg)
			n = msg;
		if (n > L - off)
			n = L - off;	/* a send never crosses the wrap */
		if (send_range(r, off, n) < 0)
			return -1;
	}
	return 0;
}

/* stdin: a ring of regions; before a region is refilled, wait until the
 * kernel no longer reads it (its sends have completed). */
static int send_stdin(struct run *r)
{
	const struct client_cfg *c = r->c;
	size_t bsz = dmt_buf_size(r->buf);
	unsigned char *map = dmt_buf_map(r->buf), *tmp = NULL;
	uint64_t reg = bsz / STDIN_REGIONS, wp = 0, base = 0;
	unsigned int ri = 0;

	if (reg < 4096)
		reg = bsz;
	if (!map && !(tmp = malloc(c->msg_size))) {
		errf(r, "out of memory");
		return -1;
	}
	out_start(&r->o, now_s(), 0);
	for (;;) {
		uint64_t want = reg - wp;
		ssize_t n;

		if (want > c->msg_size)
			want = c->msg_size;
		if (map) {
			dmt_buf_begin_cpu(r->buf, DMT_SYNC_WRITE);
			n = read(STDIN_FILENO, map + base + wp, want);
			dmt_buf_end_cpu(r->buf, DMT_SYNC_WRITE);
		} else {
			n = read(STDIN_FILENO, tmp, want);
			if (n > 0 && dmt_buf_write(r->buf, base + wp, tmp,
						   (size_t)n) < 0) {
				errf(r, "buffer write: %s",
					 dmt_buf_last_error(r->buf)->message);
				free(tmp);
				return -1;
			}
		}
		if (n < 0 && errno == EINTR && !stopped(r))
			continue;
		if (r->err[0]) {
			free(tmp);
			return -1;
		}
		if (n < 0) {
			errf(r, "reading stdin: %s",
				 strerror(errno));
			free(tmp);
			return -1;
		}
		if (n == 0)
			break;
		if (send_range(r, base + wp, (uint64_t)n) < 0) {
			free(tmp);
			return -1;
		}
		wp += (uint64_t)n;
		if (wp == reg) {
			ri = (ri + 1) % (unsigned int)(bsz / reg);
			base = ri * reg;
			wp = 0;
			double end = now_s() + c->timeout_s;
			int w;

			while ((w = dmt_tx_wait_region(r->tx, base, reg, 200)) ==
			       -ETIMEDOUT && !cli_stop && now_s() < end)
				;
			if (w < 0) {
				if (!stopped(r))
					errf(r, "waiting for region %u: %s%s", ri,
					     dmt_tx_last_error(r->tx)->message,
					     w == -ETIMEDOUT ? " (--timeout)" : "");
				free(tmp);
				return -1;
			}
		}
	}
	free(tmp);
	return 0;
}

static void fill_res(struct xfer_result *res, const char *key, const char *v)
{
	char *d = NULL;
	size_t n = 0;

	if (!strcmp(key, "engine")) { d = res->engine; n = sizeof(res->engine); }
	else if (!strcmp(key, "engine_reason")) { d = res->engine_reason; n = sizeof(res->engine_reason); }
	else if (!strcmp(key, "buffer")) { d = res->buffer; n = sizeof(res->buffer); }
	else if (!strcmp(key, "buffer_reason")) { d = res->buffer_reason; n = sizeof(res->buffer_reason); }
	else if (!strcmp(key, "error")) { d = res->error; n = sizeof(res->error); }
	if (d)
		snprintf(d, n, "%s", v);
}

int client_run(const struct client_cfg *c)
{
	DMT_OPTS(dmt_ctx_opts, co, .log_fn = log_warn, .log_level = DMT_LOG_WARN);
	DMT_OPTS(dmt_tx_opts, to, .engine = c->engine, .ifname = c->ifname,
		 .max_iov = MAX_SEGS, .nonblock = 1,
		 .connect_timeout_ms = c->timeout_s * 1000);
	DMT_OPTS(dmt_tx_stats, st);
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen = 0;
	struct dmt_error err = { 0 };
	struct cpu_snap c0, c1, cd;
	char why[1024], as[80];
	unsigned int v = c->v ? c->v : PAT_MAX_V;
	uint64_t L = 0;
	double t0, t1, secs;
	int ret = 1, verdict;
	bool pattern = c->have_size || c->time_s > 0;
	struct run *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return run_error("client", "out of memory");
	r->c = c;
	out_init(&r->o, "client", c->json, c->quiet, c->interval);
	parse_addr(c->server, c->port, AF_UNSPEC, &dst, &dlen);
	if (c->client)
		parse_addr(c->client, 0, dst.ss_family, &src, &slen);

	out_kv(&r->o, OUT_CONFIG, "server", true, "%s",
	       addr_str((struct sockaddr *)&dst, as, sizeof(as)));
	out_kv_str(&r->o, OUT_CONFIG, "client", c->client);
	out_kv(&r->o, OUT_CONFIG, "source", true, "%s", pattern ? "pattern" : "stdin");
	if (c->have_size)
		out_kv(&r->o, OUT_CONFIG, "size", false, "%" PRIu64, c->size);
	else	/* stdin or -t: no size (null in JSON) */
		out_kv_str(&r->o, OUT_CONFIG, "size", NULL);
	if (c->time_s > 0)
		out_kv(&r->o, OUT_CONFIG, "time", false, "%g", c->time_s);
	else
		out_kv_str(&r->o, OUT_CONFIG, "time", NULL);
	if (pattern)
		out_kv(&r->o, OUT_CONFIG, "validation", false, "%u", v);
	else	/* stdin: no pattern */
		out_kv_str(&r->o, OUT_CONFIG, "validation", NULL);
	if (c->chunk)
		out_kv(&r->o, OUT_CONFIG, "chunk_size", false, "%" PRIu64, c->chunk);
	else
		out_kv_str(&r->o, OUT_CONFIG, "chunk_size", NULL);
	out_kv(&r->o, OUT_CONFIG, "msg_size", false, "%" PRIu64, c->msg_size);
	out_kv(&r->o, OUT_CONFIG, "buffer_size", false, "%" PRIu64, c->buf_size);
	out_kv(&r->o, OUT_CONFIG, "engine_requested", true, "%s", dmt_engine_name(c->engine));
	out_kv_str(&r->o, OUT_CONFIG, "ifname", c->ifname);
	out_kv(&r->o, OUT_CONFIG, "interval", false, "%g", c->interval);
	out_kv(&r->o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);

	r->ctx = dmt_ctx_new(&co, &err);
	/* A kernel without the netdev family (before 6.12) has no devmem:
	 * the sender goes on without a context, with a fallback engine. */
	if (!r->ctx && err.err != -DMT_ERR_NO_FAMILY) {
		errf(r, "cannot open the netdev netlink "
			 "context: %s", err.message);
		goto out;
	}
	if (!c->buf.kind && (c->engine == DMT_ENGINE_ZEROCOPY ||
			     c->engine == DMT_ENGINE_URING ||
			     c->engine == DMT_ENGINE_COPY)) {
		/* a CPU engine gains nothing from a dma-buf, and zero-copy
		 * ones cannot pin udmabuf or DMA-heap pages */
		const struct buf_choice host = { .kind = DMT_BUF_HOST };
		r->buf = alloc_buffer(&host, c->buf_size, why, sizeof(why));
		if (r->buf)
			snprintf(why, sizeof(why), "auto: host memory for the %s "
				 "engine", dmt_engine_name(c->engine));
	} else {
		r->buf = alloc_buffer(&c->buf, c->buf_size, why, sizeof(why));
	}
	if (!r->buf) {
		errf(r, "buffer: %s", why);
		goto out;
	}
	out_kv(&r->o, OUT_CONFIG, "buffer", true, "%s",
	       dmt_buf_kind_name(dmt_buf_kind(r->buf)));
	out_kv(&r->o, OUT_CONFIG, "buffer_reason", true, "%s", why);
	out_line(&r->o, "buffer: %s (%s)", dmt_buf_kind_name(dmt_buf_kind(r->buf)),
		 why);
	if (c->res) {
		fill_res(c->res, "buffer", dmt_buf_kind_name(dmt_buf_kind(r->buf)));
		fill_res(c->res, "buffer_reason", why);
	}
	if (pattern && fill_pattern(r, v, &L) < 0)
		goto out;
	r->tx = dmt_tx_connect(r->ctx, r->buf, (struct sockaddr *)&dst, dlen,
			       c->client ? (struct sockaddr *)&src : NULL, slen,
			       &to, &err);
	if (!r->tx) {
		errf(r, "%s", err.message[0] ?
			 err.message : dmt_strerror(-errno));
		goto out;
	}
	if (stopped(r))
		goto out;
	out_kv(&r->o, OUT_CONFIG, "engine", true, "%s",
	       dmt_engine_name(dmt_tx_engine(r->tx)));
	out_kv(&r->o, OUT_CONFIG, "engine_reason", true, "%s",
	       dmt_tx_engine_reason(r->tx));
	out_line(&r->o, "engine: %s (%s)", dmt_engine_name(dmt_tx_engine(r->tx)),
		 dmt_tx_engine_reason(r->tx));
	if (c->res) {
		fill_res(c->res, "engine", dmt_engine_name(dmt_tx_engine(r->tx)));
		fill_res(c->res, "engine_reason", dmt_tx_engine_reason(r->tx));
	}

	cpu_snap_take(&c0);
	t0 = now_s();
	ret = pattern ? send_pattern(r, L) : send_stdin(r);
	if (ret == 0)
		ret = flush_bounded(r);
	t1 = now_s();
	cpu_snap_take(&c1);
	cpu_snap_delta(&c0, &c1, &cd);
	out_tick_final(&r->o, r->sent);
	dmt_tx_get_stats(r->tx, &st);
	verdict = dmt_tx_zerocopy_verdict(r->tx);
	secs = t1 - t0;

	if (ret == 0 && c->have_size && r->sent != c->size) {
		errf(r, "sent %" PRIu64 " of %" PRIu64
			 " bytes", r->sent, c->size);
		ret = -1;
	}
	if (ret == 0 && dmt_tx_outstanding(r->tx)) {
		errf(r, "%u sends still await their "
			 "completion", dmt_tx_outstanding(r->tx));
		ret = -1;
	}
	if (ret == 0)
		ret = confirm_delivery(r);
	ret = ret == 0 ? 0 : 1;

	out_kv(&r->o, OUT_RESULT, "bytes", false, "%" PRIu64, r->sent);
	out_kv(&r->o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(&r->o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)r->sent / secs / 1e9 : 0);
	out_kv(&r->o, OUT_RESULT, "throughput_Gbps", false, "%.3f",
	       secs > 0 ? (double)r->sent * 8 / secs / 1e9 : 0);
	out_kv(&r->o, OUT_RESULT, "cpu_s", false, "%.3f", cd.proc_s);
	out_kv(&r->o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * cd.proc_s / secs : 0);
	out_kv(&r->o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(cd.proc_s, r->sent));
	out_kv(&r->o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(cd.machine_s, r->sent));
	out_kv(&r->o, OUT_RESULT, "sends", false, "%" PRIu64, st.sends);
	out_kv(&r->o, OUT_RESULT, "syscalls", false, "%" PRIu64, st.syscalls);
	out_kv(&r->o, OUT_RESULT, "partial", false, "%" PRIu64, st.partial);
	out_kv(&r->o, OUT_RESULT, "enobufs", false, "%" PRIu64, st.enobufs);
	out_kv(&r->o, OUT_RESULT, "zc_completions", false, "%" PRIu64, st.zc_completed);
	out_kv(&r->o, OUT_RESULT, "zc_notifications", false, "%" PRIu64,
	       st.zc_notifications);
	out_kv(&r->o, OUT_RESULT, "zc_copied", false, "%" PRIu64, st.zc_copied);
	out_kv(&r->o, OUT_RESULT, "zc_copied_pct", false, "%.1f",
	       st.zc_completed ? 100.0 * (double)st.zc_copied /
	       (double)st.zc_completed : 0.0);
	if (verdict < 0 && r->o.json)	/* no verdict: null, "-" in text */
		out_kv_str(&r->o, OUT_RESULT, "zc", NULL);
	else
		out_kv(&r->o, OUT_RESULT, "zc", true, "%s", verdict == 1 ? "y" :
		       verdict == 0 ? "n" : "-");
	out_kv(&r->o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(&r->o, OUT_RESULT, "error", true, "%s", r->err);
	out_line(&r->o, "summary: sent %" PRIu64 " bytes in %.2f s, %.2f GB/s "
		 "(%.2f Gbit/s), %.2f CPU s/GB (machine %.2f), CPU %.1f%%, "
		 "zc=%s%s",
		 r->sent, secs, secs > 0 ? (double)r->sent / secs / 1e9 : 0,
		 secs > 0 ? (double)r->sent * 8 / secs / 1e9 : 0,
		 per_gb(cd.proc_s, r->sent), per_gb(cd.machine_s, r->sent),
		 secs > 0 ? 100.0 * cd.proc_s / secs : 0,
		 verdict == 1 ? "y" : verdict == 0 ? "n" : "-",
		 ret ? " INCOMPLETE" : "");
	if (c->res) {
		c->res->bytes = r->sent;
		c->res->seconds = secs;
		c->res->cpu_s = cd.proc_s;
		c->res->sends = st.sends;
		c->res->syscalls = st.syscalls;
		c->res->zc_completed = st.zc_completed;
		c->res->zc_copied = st.zc_copied;
		c->res->zc_verdict = verdict;
	}
	r->reported = true;
out:
	if (r->err[0] && !ret)
		ret = 1;
	if (!r->err[0] && ret)
		errf(r, "failed");
	if (!r->reported) {	/* failed before sending: still say so */
		out_kv(&r->o, OUT_RESULT, "bytes", false, "0");
		out_kv(&r->o, OUT_RESULT, "complete", false, "false");
		out_kv_str(&r->o, OUT_RESULT, "error", r->err);
	}
	out_finish(&r->o);
	if (ret && !c->quiet)
		run_error("client", "%s", r->err);
	if (c->res) {
		fill_res(c->res, "error", r->err);
		c->res->status = ret;
		c->res->done = true;
	}
	dmt_tx_free(r->tx);
	dmt_buf_free(r->buf);
	dmt_ctx_free(r->ctx);
	out_free(&r->o);
	free(r);
	return ret;
}

int cmd_client(int argc, char **argv)
{
	struct client_cfg c = {
		.port = CLI_DEFAULT_PORT, .engine = DMT_ENGINE_AUTO,
		.buf_size = CLI_DEFAULT_BUF, .msg_size = CLI_DEFAULT_MSG,
		.interval = 1, .timeout_s = 30,
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t u;
	int opt, ret;
	bool json_stream = false;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:c:p:v:z:f:i:t:h", client_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 's':
			c.server = optarg;
			break;
		case 'c':
			c.client = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &u))
				return usage_error("client", "bad port '%s' (-p): "
						   "give 1..65535", optarg);
			c.port = (unsigned int)u;
			break;
		case 'v':
			if (parse_uint(optarg, 2, PAT_MAX_V, &u))
				return usage_error("client", "bad validation modulus "
						   "'%s' (-v): give 2..256", optarg);
			c.v = (unsigned int)u;
			break;
		case 'z':
			if (parse_size(optarg, &c.chunk) || c.chunk == 0)
				return usage_error("client", "bad chunk size '%s' "
						   "(-z): give a size > 0, e.g. 4096 "
						   "or 64K", optarg);
			break;
		case 'f':
			c.ifname = optarg;
			break;
		case 'i':
			if ((ret = opt_interval("client", optarg, &c.interval)))
				return ret;
			break;
		case 't':
			if (parse_seconds(optarg, &c.time_s) || c.time_s <= 0)
				return usage_error("client", "bad time '%s' (-t): "
						   "give seconds > 0, e.g. 10 or "
						   "0.5", optarg);
			break;
		case O_ENGINE:
			if ((ret = opt_tx_engine("client", optarg, true, &c.engine)))
				return ret;
			break;
		case O_SIZE:
			if (parse_size(optarg, &c.size) || c.size == 0)
				return usage_error("client", "bad size '%s' (--size):"
						   " give bytes > 0 with an optional "
						   "K/M/G suffix", optarg);
			c.have_size = true;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("client", optarg, &c.buf)))
				return ret;
			break;
		case O_BUFSIZE:
			if ((ret = opt_buffer_size("client", optarg, &c.buf_size)))
				return ret;
			break;
		case O_MSGSIZE:
			if (parse_size(optarg, &c.msg_size) || c.msg_size == 0 ||
			    c.msg_size > (1ull << 30))
				return usage_error("client", "bad message size '%s' "
						   "(--msg-size): give 1..1G", optarg);
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_JSON_STREAM:
			c.json = json_stream = true;
			break;
		case O_TIMEOUT:
			if ((ret = opt_timeout("client", optarg, &c.timeout_s)))
				return ret;
			break;
		case 'h':
			return help_out("client", client_usage);
		default:
			return getopt_error("client", opt, argv);
		}
	}
	jout_set(c.json, json_stream);
	if (optind < argc)
		return extra_args_error("client", argc, argv);
	if (!c.server || !c.server[0])
		return usage_error("client", "no server address: give -s ADDR");
	if (c.have_size && c.time_s > 0)
		return usage_error("client", "--size and -t both given: give one, "
				   "a byte count or a duration");
	if (parse_addr(c.server, c.port, AF_UNSPEC, &ss, &sl))
		return usage_error("client", "bad server address '%s' (-s): give "
				   "an IPv4 or IPv6 address or a host name that "
				   "resolves", c.server);
	if (c.client) {
		struct sockaddr_storage cs;
		socklen_t cl;

		if (parse_addr(c.client, 0, AF_UNSPEC, &cs, &cl))
			return usage_error("client", "bad client address '%s' "
					   "(-c): give an IPv4 or IPv6 address",
					   c.client);
		if (cs.ss_family != ss.ss_family)
			return usage_error("client", "client address '%s' and "
					   "server address '%s' are of different "
					   "families: use both IPv4 or both IPv6",
					   c.client, c.server);
	}
	if (c.ifname && !if_nametoindex(c.ifname))
		return usage_error("client", "no interface '%s' (-f): see 'ip "
				   "link' for the names", c.ifname);
	if (c.chunk && (c.msg_size + c.chunk - 1) / c.chunk > MAX_SEGS)
		return usage_error("client", "chunk size %" PRIu64 " (-z) splits "
				   "a %" PRIu64 "-byte send into more than %d "
				   "iovecs: raise -z or lower --msg-size",
				   c.chunk, c.msg_size, MAX_SEGS);
	if (!buf_choice_gpu(&c.buf) &&
	    (ret = check_buffer_fits("client", c.buf_size)))
		return ret;
	signal(SIGPIPE, SIG_IGN);	/* a closed peer is an error, not a kill */
	cli_catch_stop();	/* SIGINT/SIGTERM: stop, report, exit 1 */
	return client_run(&c);
}
