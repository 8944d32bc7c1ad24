// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: send N bytes (or SEC seconds) of the ncdevmem
 * validation pattern, or stdin, to a server through a libdevmemtcp TX
 * engine.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
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
#include "session.h"
#include "stream.h"

#define STDIN_REGIONS 8

static void client_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp client -s SERVER [-p PORT] [-c CLIENT] [--cport PORT]\n"
"                        [-v MOD] [-z CHUNK] [-f IFNAME] [--engine E]\n"
"                        [--size N | -t SEC] [-P N] [-R | --bidir]\n"
"                        [--buffer B] [--buffer-size N] [--msg-size N]\n"
"                        [-i SEC] [--format F] [-V] [--json]\n"
"  -s ADDR          server address or host name (IPv4 or IPv6, fe80::1%%eth0)\n"
"  -p PORT          server port (default %u)\n"
"  -c ADDR          client (source) address to bind; the source port is\n"
"                   -p's too (as ncdevmem: the server's -c flow rule)\n"
"  --cport PORT     source port to bind (0: any; -P N: PORT..PORT+N-1)\n"
"  -v MOD           validation pattern modulus 2..256 (with --size or -t;\n"
"                   default 256)\n"
"  -z N             split each send into iovecs of at most N bytes\n"
"  -f IFNAME        egress interface for devmem (default: route lookup)\n"
"  --engine E       auto|devmem|uring|zerocopy|copy|staged (default auto)\n"
"  --size N         send N bytes of the pattern (K/M/G suffixes); else stdin\n"
"  -t SEC           send the pattern for SEC seconds (instead of --size)\n"
"  -P N             N parallel streams (connections), each verified, 1..%d\n"
"  -R               reverse: the server sends, this client receives and\n"
"                   validates the pattern\n"
"  --bidir          both directions at once on each connection\n"
"  --buffer B       auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N] (default auto)\n"
"  --buffer-size N  send buffer size (default 8M)\n"
"  --msg-size N     bytes per send call (default 256K)\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --format F       units: a (auto, default), k|m|g (Kbits|Mbits|Gbits/sec),\n"
"                   K|M|G (KBytes|MBytes|GBytes/sec)\n"
"  -V, --verbose    also the configuration as key=value lines\n"
"  --timeout SEC    bound on every wait: connect, a send making no progress,\n"
"                   completions and the server's result at the end\n"
"                   (default 30)\n"
"  --json           one JSON document on stdout\n"
"  --json-stream    JSON lines: start, each interval, end\n", CLI_DEFAULT_PORT,
	SESS_MAX_STREAMS);
}

enum { O_ENGINE = 256, O_SIZE, O_BUFFER, O_BUFSIZE, O_MSGSIZE, O_JSON,
       O_TIMEOUT, O_JSON_STREAM, O_BIDIR, O_FORMAT, O_CPORT };

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
	{ "parallel", required_argument, NULL, 'P' },
	{ "reverse", no_argument, NULL, 'R' },
	{ "bidir", no_argument, NULL, O_BIDIR },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "verbose", no_argument, NULL, 'V' },
	{ "cport", required_argument, NULL, O_CPORT },
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

struct crun;

/* One connection (one per -P stream). */
struct cstream {
	struct crun *r;
	unsigned int id;	/* 1.. with -P, else 0 */
	struct dmt_buf *buf;	/* send buffer */
	struct sender sd;	/* forward, --bidir */
	struct receiver rv;	/* -R, --bidir */
	bool rv_open;
	struct out_ivl *ivs;	/* -P, -R, --bidir: its interval clocks */
	uint64_t retr;		/* TCP retransmits of this connection */
	pthread_t th, sth;
	bool th_started;
	bool done;		/* cs_run has ended (atomic) */
	int snd_ret, ret;
	double t0, t1;
	struct dmt_tx_stats st;
	int verdict;		/* dmt_tx_zerocopy_verdict */
	json_t *server;		/* the server's result, NULL when none */
	char server_note[300];	/* why there is none */
	char err[1200];
};

struct crun {
	const struct client_cfg *c;
	struct out o;
	struct dmt_ctx *ctx;
	unsigned int n;		/* streams */
	enum sess_dir dir;
	bool pattern;		/* --size or -t, not stdin */
	unsigned int v;
	uint64_t cookie;
	struct cstream s[SESS_MAX_STREAMS];
	char buf_why[1024];
};

static void cs_err(struct cstream *cs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cs_err(struct cstream *cs, const char *fmt, ...)
{
	va_list ap;

	if (cs->err[0])
		return;	/* the first cause is the one to say */
	va_start(ap, fmt);
	vsnprintf(cs->err, sizeof(cs->err), fmt, ap);
	va_end(ap);
}

static int stopped(struct cstream *cs, uint64_t done)
{
	if (!cli_stop)
		return 0;
	cs_err(cs, "interrupted by %s after %" PRIu64 " bytes", cli_stop_name(),
	       done);
	return -1;
}

/* stdin: a ring of regions; before a region is refilled, wait until the
 * kernel no longer reads it (its sends have completed). */
static int send_stdin(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	struct sender *sd = &cs->sd;
	size_t bsz = dmt_buf_size(cs->buf);
	unsigned char *map = dmt_buf_map(cs->buf), *tmp = NULL;
	uint64_t reg = bsz / STDIN_REGIONS, wp = 0, base = 0;
	unsigned int ri = 0;
	int ret = -1;

	if (reg < 4096)
		reg = bsz;
	if (!map && !(tmp = malloc(c->msg_size))) {
		cs_err(cs, "out of memory");
		return -1;
	}
	for (;;) {
		uint64_t want = reg - wp;
		ssize_t n;

		if (want > c->msg_size)
			want = c->msg_size;
		if (map) {
			dmt_buf_begin_cpu(cs->buf, DMT_SYNC_WRITE);
			n = read(STDIN_FILENO, map + base + wp, want);
			dmt_buf_end_cpu(cs->buf, DMT_SYNC_WRITE);
		} else {
			n = read(STDIN_FILENO, tmp, want);
			if (n > 0 && dmt_buf_write(cs->buf, base + wp, tmp,
						   (size_t)n) < 0) {
				cs_err(cs, "buffer write: %s",
				       dmt_buf_last_error(cs->buf)->message);
				goto out;
			}
		}
		if (n < 0 && errno == EINTR && !stopped(cs, sd->sent))
			continue;
		if (cs->err[0])
			goto out;
		if (n < 0) {
			cs_err(cs, "reading stdin: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (snd_range(sd, base + wp, (uint64_t)n) < 0) {
			cs_err(cs, "%s", sd->err);
			goto out;
		}
		wp += (uint64_t)n;
		if (wp == reg) {
			double end = now_s() + c->timeout_s;
			int w;

			ri = (ri + 1) % (unsigned int)(bsz / reg);
			base = ri * reg;
			wp = 0;
			while ((w = dmt_tx_wait_region(sd->tx, base, reg, 200)) ==
			       -ETIMEDOUT && !cli_stop && now_s() < end)
				;
			if (w < 0) {
				if (!stopped(cs, sd->sent))
					cs_err(cs, "waiting for region %u: %s%s", ri,
					       dmt_tx_last_error(sd->tx)->message,
					       w == -ETIMEDOUT ? " (--timeout)" : "");
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

static void not_taken(struct cstream *cs, int e)
{
	cs_err(cs, "the receiver did not take all %" PRIu64 " bytes: %s%s",
	       cs->sd.sent, strerror(e), e == ECONNRESET ? " (it reset the "
	       "connection: it died, or it was busy with another test)" : "");
}

/* The peer's result line (what it sent after our last byte) into
 * cs->server, or the reason there is none into server_note. */
static void take_result(struct cstream *cs, const char *buf, size_t len)
{
	if (!len) {
		snprintf(cs->server_note, sizeof(cs->server_note), "the %s sent "
			 "no result (not a devmemtcp server)", cs->r->dir ==
			 SESS_FWD ? "receiver" : "server");
		return;
	}
	cs->server = sess_result_parse(buf, len, cs->server_note,
				       sizeof(cs->server_note));
}

/*
 * Forward: after the last byte, close our direction and read what the
 * receiver sends back until it closes its own: a devmemtcp server's
 * result line, nothing from a foreign receiver. A reset instead means
 * that it did not read it all. Bounded by --timeout.
 */
static int confirm_delivery(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	int fd = dmt_tx_fd(cs->sd.tx);
	double end = now_s() + c->timeout_s;
	char *buf = malloc(SESS_LINE_MAX);
	size_t len = 0;
	int ret = -1;

	if (!buf) {
		cs_err(cs, "out of memory");
		return -1;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		if (errno == ENOTCONN)	/* the reset came first */
			not_taken(cs, ECONNRESET);
		else
			cs_err(cs, "closing the stream after %" PRIu64 " bytes: %s",
			       cs->sd.sent, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now_s();
		ssize_t n;

		if (stopped(cs, cs->sd.sent))
			goto out;
		if (left <= 0) {
			cs_err(cs, "the receiver did not close the connection within "
			       "%d s (--timeout) after the last byte: delivery of "
			       "the %" PRIu64 " bytes is not confirmed",
			       c->timeout_s, cs->sd.sent);
			goto out;
		}
		if (poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, buf + len, len < SESS_LINE_MAX ? SESS_LINE_MAX - len :
			 SESS_LINE_MAX, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {	/* past the limit: counted, not kept */
			len = len + (size_t)n < SESS_LINE_MAX ? len + (size_t)n :
			      SESS_LINE_MAX;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			continue;
		not_taken(cs, errno);
		goto out;
	}
	take_result(cs, buf, len);
	ret = 0;
out:
	free(buf);
	return ret;
}

/* The sending half: the pattern (or stdin), every completion. */
static int cs_send(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	int ret;

	if (cs->r->pattern)
		ret = snd_pattern(&cs->sd, c->have_size ? c->size : 0, c->time_s);
	else
		ret = send_stdin(cs);
	if (ret == 0)
		ret = snd_flush(&cs->sd);
	if (ret < 0)
		cs_err(cs, "%s", cs->sd.err);
	if (ret == 0 && c->have_size && cs->sd.sent != c->size) {
		cs_err(cs, "sent %" PRIu64 " of %" PRIu64 " bytes", cs->sd.sent,
		       c->size);
		ret = -1;
	}
	if (ret == 0 && dmt_tx_outstanding(cs->sd.tx)) {
		cs_err(cs, "%u sends still await their completion",
		       dmt_tx_outstanding(cs->sd.tx));
		ret = -1;
	}
	return ret;
}

static void *send_thread(void *arg)
{
	struct cstream *cs = arg;

	cs->snd_ret = cs_send(cs);
	/* --bidir: our half ends; the receiving half reads on */
	if (cs->snd_ret == 0)
		shutdown(dmt_tx_fd(cs->sd.tx), SHUT_WR);
	return NULL;
}

/* The receiving half (-R, --bidir): the pattern, then the server's
 * result after its NUL byte. */
static int cs_receive(struct cstream *cs)
{
	int ret = rcv_run(&cs->rv);

	if (ret < 0) {
		cs_err(cs, "%s", cs->rv.err);
		return -1;
	}
	take_result(cs, cs->rv.trailer, cs->rv.tlen);
	if (cs->rv.pat.mismatches) {
		cs_err(cs, "%" PRIu64 " received bytes do not match the pattern, "
		       "the first at offset %" PRIu64, cs->rv.pat.mismatches,
		       cs->rv.pat.nbad ? cs->rv.pat.bad[0].off : 0);
		return -1;
	}
	if (cs->r->c->have_size && cs->rv.bytes != cs->r->c->size) {
		cs_err(cs, "received %" PRIu64 " bytes, expected %" PRIu64,
		       cs->rv.bytes, cs->r->c->size);
		return -1;
	}
	return 0;
}

/* One connection's data phase, timed (a thread of its own with -P). */
static void *cs_run(void *arg)
{
	struct cstream *cs = arg;
	enum sess_dir dir = cs->r->dir;
	int ret = 0;

	cs->st.sz = sizeof(cs->st);
	cs->t0 = now_s();
	if (dir == SESS_FWD) {
		out_ivl_start(&cs->r->o.iv, cs->t0);
		if (cs->id)
			out_ivl_start(cs->sd.iv, cs->t0);
		ret = cs_send(cs);
		cs->t1 = now_s();
		if (ret == 0)
			ret = confirm_delivery(cs);
	} else if (dir == SESS_REV) {
		out_ivl_start(cs->rv.iv, cs->t0);
		ret = cs_receive(cs);
		cs->t1 = now_s();
	} else {
		out_ivl_start(cs->sd.iv, cs->t0);
		out_ivl_start(cs->rv.iv, cs->t0);
		if (pthread_create(&cs->sth, NULL, send_thread, cs)) {
			cs_err(cs, "cannot start the sending thread");
			ret = -1;
		} else {
			ret = cs_receive(cs);
			pthread_join(cs->sth, NULL);
			if (cs->snd_ret < 0)
				ret = -1;
		}
		cs->t1 = now_s();
	}
	if (cs->sd.iv)
		out_ivl_final(cs->sd.iv, cs->sd.sent);
	if (cs->rv.iv)
		out_ivl_final(cs->rv.iv, cs->rv.bytes);
	if (cs->sd.tx) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		dmt_tx_get_stats(cs->sd.tx, &cs->st);
		cs->verdict = dmt_tx_zerocopy_verdict(cs->sd.tx);
		if (!getsockopt(dmt_tx_fd(cs->sd.tx), IPPROTO_TCP, TCP_INFO, &ti,
				&tl))
			cs->retr = ti.tcpi_total_retrans;
	}
	cs->ret = ret ? 1 : 0;
	__atomic_store_n(&cs->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* -P: while the streams run, a [SUM] line per interval of what they
 * moved together; returns when every stream has ended. */
static void sum_lines(struct crun *r, double t0)
{
	double period = r->c->interval, last_t = t0;
	uint64_t last = 0;

	for (;;) {
		bool all = true;
		uint64_t tot = 0;
		double t;

		for (unsigned int i = 0; i < r->n; i++) {
			struct cstream *cs = &r->s[i];

			all &= !cs->th_started ||
			       __atomic_load_n(&cs->done, __ATOMIC_ACQUIRE);
			tot += __atomic_load_n(&cs->sd.sent, __ATOMIC_RELAXED) +
			       __atomic_load_n(&cs->rv.bytes, __ATOMIC_RELAXED);
		}
		if (all)
			return;
		t = now_s();
		if (period > 0 && t - last_t >= period) {
			out_sum(&r->o, last_t - t0, t - t0, tot - last);
			last_t = t;
			last = tot;
		}
		usleep(20000);
	}
}

/* The source address to bind (-c, --cport), for stream i. */
static bool source_addr(const struct client_cfg *c, int family, unsigned int i,
			struct sockaddr_storage *src, socklen_t *slen)
{
	unsigned int port = c->have_cport ? c->cport : c->client ? c->port : 0;

	if (!c->client && !port)
		return false;
	if (port)
		port += i;
	if (c->client)
		parse_addr(c->client, port, family, src, slen);
	else	/* --cport alone: the wildcard of the server's family */
		parse_addr(NULL, port, family, src, slen);
	return true;
}

/* Connect stream cs: buffer, pattern, tx, the hello. 0 or -1 with err. */
static int cs_open(struct cstream *cs, const struct sockaddr_storage *dst,
		   socklen_t dlen)
{
	struct crun *r = cs->r;
	const struct client_cfg *c = r->c;
	DMT_OPTS(dmt_tx_opts, to, .engine = c->engine, .ifname = c->ifname,
		 .max_iov = SND_MAX_SEGS, .nonblock = 1,
		 .connect_timeout_ms = c->timeout_s * 1000);
	struct sockaddr_storage src;
	socklen_t slen = 0;
	struct dmt_error err = { 0 };
	char why[1024];
	bool bind_src;

	if (!c->buf.kind && (c->engine == DMT_ENGINE_ZEROCOPY ||
			     c->engine == DMT_ENGINE_URING ||
			     c->engine == DMT_ENGINE_COPY || r->dir == SESS_REV)) {
		/* a CPU engine gains nothing from a dma-buf, and zero-copy
		 * ones cannot pin udmabuf or DMA-heap pages (-R sends
		 * nothing: the buffer only carries the hello's socket) */
		const struct buf_choice host = { .kind = DMT_BUF_HOST };

		cs->buf = alloc_buffer(&host, r->dir == SESS_REV ? 4096 :
				       c->buf_size, why, sizeof(why));
		if (cs->buf)
			snprintf(why, sizeof(why), "auto: host memory for the %s "
				 "engine", dmt_engine_name(c->engine));
	} else {
		cs->buf = alloc_buffer(&c->buf, c->buf_size, why, sizeof(why));
	}
	if (!cs->buf) {
		cs_err(cs, "buffer: %s", why);
		return -1;
	}
	if (cs->id <= 1) {
		snprintf(r->buf_why, sizeof(r->buf_why), "%s", why);
		if (c->res) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s",
				 dmt_buf_kind_name(dmt_buf_kind(cs->buf)));
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", why);
		}
	}
	cs->sd.buf = cs->buf;
	cs->sd.chunk = c->chunk;
	cs->sd.msg_size = c->msg_size;
	cs->sd.timeout_s = c->timeout_s;
	if (r->pattern && r->dir != SESS_REV &&
	    snd_fill_pattern(&cs->sd, r->v, c->have_size ? c->size : 0) < 0) {
		cs_err(cs, "%s", cs->sd.err);
		return -1;
	}
	bind_src = source_addr(c, dst->ss_family, cs->id ? cs->id - 1 : 0,
			       &src, &slen);
	cs->sd.tx = dmt_tx_connect(r->ctx, cs->buf, (const struct sockaddr *)dst,
				   dlen, bind_src ? (struct sockaddr *)&src : NULL,
				   slen, &to, &err);
	if (!cs->sd.tx) {
		cs_err(cs, "%s", err.message[0] ? err.message : dmt_strerror(-errno));
		return -1;
	}
	if (r->n > 1 || r->dir != SESS_FWD) {
		struct sess_hello h = {
			.present = true, .dir = r->dir, .streams = r->n,
			.stream = cs->id ? cs->id - 1 : 0, .cookie = r->cookie,
			.v = r->v, .size = c->have_size ? c->size : 0,
			.time_s = c->time_s, .msg_size = c->msg_size,
		};
		size_t len = 0, off = 0;
		char *l = sess_hello_line(&h, &len);
		double end = now_s() + c->timeout_s;
		int fd = dmt_tx_fd(cs->sd.tx);

		while (l && off < len && now_s() < end && !cli_stop) {
			ssize_t w = send(fd, l + off, len - off, MSG_NOSIGNAL);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
			else
				poll(&(struct pollfd){ .fd = fd, .events = POLLOUT },
				     1, 200);
		}
		free(l);
		if (off != len) {
			cs_err(cs, "sending the hello: %s", l ? strerror(errno) :
			       "out of memory");
			return -1;
		}
	}
	if (r->dir != SESS_FWD) {
		if (rcv_open(&cs->rv, dmt_tx_fd(cs->sd.tx), CLI_DEFAULT_BUF, r->v,
			     c->timeout_s) < 0) {
			cs_err(cs, "%s", cs->rv.err);
			return -1;
		}
		cs->rv_open = true;
		if (r->dir == SESS_REV)	/* nothing more to say: the hello */
			shutdown(dmt_tx_fd(cs->sd.tx), SHUT_WR);
	}
	/* interval clocks: the document's own for one forward stream */
	if (r->n == 1 && r->dir == SESS_FWD) {
		out_set_fd(&r->o, dmt_tx_fd(cs->sd.tx), true);
		cs->sd.iv = &r->o.iv;
	} else if (r->n == 1 && r->dir == SESS_REV) {
		out_set_fd(&r->o, dmt_tx_fd(cs->sd.tx), false);
		cs->rv.iv = &r->o.iv;
	} else {
		struct out_ivl *iv = cs->ivs = calloc(2, sizeof(*iv));

		if (!iv) {
			cs_err(cs, "out of memory");
			return -1;
		}
		if (r->dir != SESS_REV) {
			out_ivl_init(&r->o, &iv[0], cs->id ? cs->id : 1,
				     dmt_tx_fd(cs->sd.tx), true,
				     r->dir == SESS_BIDIR ? "TX" : NULL);
			cs->sd.iv = &iv[0];
		}
		if (r->dir != SESS_FWD) {
			out_ivl_init(&r->o, &iv[1], cs->id ? cs->id : 1,
				     dmt_tx_fd(cs->sd.tx), false,
				     r->dir == SESS_BIDIR ? "RX" : NULL);
			cs->rv.iv = &iv[1];
		}
	}
	return 0;
}

static void cs_free(struct cstream *cs)
{
	if (cs->rv_open)
		rcv_close(&cs->rv);
	dmt_tx_free(cs->sd.tx);
	dmt_buf_free(cs->buf);
	json_decref(cs->server);
	free(cs->ivs);
}

/* The configuration section (text lines only with -V). */
static void client_config(struct crun *r, const struct sockaddr_storage *dst)
{
	const struct client_cfg *c = r->c;
	struct out *o = &r->o;
	char as[80];

	out_kv(o, OUT_CONFIG, "server", true, "%s",
	       addr_str((const struct sockaddr *)dst, as, sizeof(as)));
	out_kv_str(o, OUT_CONFIG, "client", c->client);
	out_kv(o, OUT_CONFIG, "source", true, "%s", r->pattern ? "pattern" :
	       "stdin");
	if (c->have_size)
		out_kv(o, OUT_CONFIG, "size", false, "%" PRIu64, c->size);
	else	/* stdin or -t: no size (null in JSON) */
		out_kv_str(o, OUT_CONFIG, "size", NULL);
	if (c->time_s > 0)
		out_kv(o, OUT_CONFIG, "time", false, "%g", c->time_s);
	else
		out_kv_str(o, OUT_CONFIG, "time", NULL);
	out_kv(o, OUT_CONFIG, "streams", false, "%u", r->n);
	out_kv(o, OUT_CONFIG, "direction", true, "%s", r->dir == SESS_REV ?
	       "reverse" : r->dir == SESS_BIDIR ? "bidir" : "forward");
	if (r->pattern)
		out_kv(o, OUT_CONFIG, "validation", false, "%u", r->v);
	else	/* stdin: no pattern */
		out_kv_str(o, OUT_CONFIG, "validation", NULL);
	if (c->chunk)
		out_kv(o, OUT_CONFIG, "chunk_size", false, "%" PRIu64, c->chunk);
	else
		out_kv_str(o, OUT_CONFIG, "chunk_size", NULL);
	out_kv(o, OUT_CONFIG, "msg_size", false, "%" PRIu64, c->msg_size);
	out_kv(o, OUT_CONFIG, "buffer_size", false, "%" PRIu64, c->buf_size);
	out_kv(o, OUT_CONFIG, "engine_requested", true, "%s",
	       dmt_engine_name(c->engine));
	out_kv_str(o, OUT_CONFIG, "ifname", c->ifname);
	out_kv(o, OUT_CONFIG, "interval", false, "%g", c->interval);
	out_kv(o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);
}

static uint64_t jnum_u64(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		(uint64_t)json_integer_value(v) : 0;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* iperf3's closing lines: a sender and a receiver line per stream, the
 * same for [SUM] with -P, the CPU of both ends. */
/* CPU utilization as iperf3 reports it: user+sys of this process (and
 * of the server's, from its result) as % of the wall time, with the two
 * parts. The server's figure is its process's, the same for every stream
 * of one test, so the mean over the streams' results is that figure. */
struct cpu_util {
	double host_total, host_user, host_system;
	double remote_total, remote_user, remote_system;
	bool remote;		/* a devmemtcp server sent its figures */
};

static void cpu_util_get(const struct crun *r, const struct cpu_snap *cd,
			 double secs, struct cpu_util *u)
{
	unsigned int n = 0;

	memset(u, 0, sizeof(*u));
	if (secs > 0) {
		u->host_total = 100.0 * cd->proc_s / secs;
		u->host_user = 100.0 * cd->user_s / secs;
		u->host_system = 100.0 * cd->sys_s / secs;
	}
	for (unsigned int i = 0; i < r->n; i++) {
		json_t *sj = r->s[i].server;

		if (!sj || isnan(jnum(sj, "cpu_pct")) ||
		    isnan(jnum(sj, "cpu_user_pct")) ||
		    isnan(jnum(sj, "cpu_sys_pct")))
			continue;
		u->remote_total += jnum(sj, "cpu_pct");
		u->remote_user += jnum(sj, "cpu_user_pct");
		u->remote_system += jnum(sj, "cpu_sys_pct");
		n++;
	}
	u->remote = n > 0;
	if (n) {
		u->remote_total /= n;
		u->remote_user /= n;
		u->remote_system /= n;
	}
}

/* The cpu_utilization_percent object of the JSON document (iperf3's
 * names); the remote figures are null without a devmemtcp server. */
static json_t *cpu_util_json(const struct cpu_util *u)
{
	json_t *j = json_object();

	jout_set_num(j, "host_total", round(u->host_total * 10) / 10);
	jout_set_num(j, "host_user", round(u->host_user * 10) / 10);
	jout_set_num(j, "host_system", round(u->host_system * 10) / 10);
	if (u->remote) {
		jout_set_num(j, "remote_total", round(u->remote_total * 10) / 10);
		jout_set_num(j, "remote_user", round(u->remote_user * 10) / 10);
		jout_set_num(j, "remote_system",
			     round(u->remote_system * 10) / 10);
	} else {
		jout_set_null(j, "remote_total");
		jout_set_null(j, "remote_user");
		jout_set_null(j, "remote_system");
	}
	return j;
}

static void summary_lines(struct crun *r, double secs, uint64_t sent,
			  uint64_t rcvd, const struct cpu_util *u, uint64_t retr)
{
	struct out *o = &r->o;
	char amt[32], rate[32], id[8];

	out_text(o, "- - - - - - - - - - - - - - - - - - - - - - - - -");
	out_text(o, "[ ID] Interval           Transfer     Bitrate         Retr");
	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		double d = cs->t1 - cs->t0;
		const char *v = cs->server ? jstr(cs->server, "verdict") : NULL;

		snprintf(id, sizeof(id), "%3u", cs->id ? cs->id : 1);
		if (r->dir != SESS_REV)
			out_text(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s  %4" PRIu64
				 "  sender", id, d, fmt_bytes(amt, sizeof(amt),
				 (double)cs->sd.sent), fmt_rate(rate, sizeof(rate),
				 (double)cs->sd.sent, d), cs->retr);
		if (r->dir != SESS_FWD)
			out_text(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (here: %s)", id, d,
				 fmt_bytes(amt, sizeof(amt), (double)cs->rv.bytes),
				 fmt_rate(rate, sizeof(rate), (double)cs->rv.bytes,
					  d), cs->ret ? "FAILED" :
				 r->pattern ? "verified" : "counted");
		if (r->dir != SESS_REV && cs->server) {
			uint64_t b = jnum_u64(cs->server, "bytes");
			double sd_ = jnum(cs->server, "seconds");

			out_text(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (server: %s)", id, isnan(sd_) ? 0 : sd_,
				 fmt_bytes(amt, sizeof(amt), (double)b),
				 fmt_rate(rate, sizeof(rate), (double)b,
					  isnan(sd_) ? 0 : sd_), v ? v : "?");
		} else if (!cs->server) {	/* a foreign peer, or none */
			out_text(o, "[%s]   %s", id, cs->server_note[0] ?
				 cs->server_note : "no result from the other end "
				 "(the stream failed before it)");
		}
	}
	if (r->n > 1) {
		if (r->dir != SESS_REV)
			out_text(o, "[SUM]   0.00-%-6.2f sec  %-12s  %-15s  %4" PRIu64
				 "  sender", secs, fmt_bytes(amt, sizeof(amt),
				 (double)sent), fmt_rate(rate, sizeof(rate),
				 (double)sent, secs), retr);
		if (r->dir != SESS_FWD)
			out_text(o, "[SUM]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (here)", secs, fmt_bytes(amt, sizeof(amt),
				 (double)rcvd), fmt_rate(rate, sizeof(rate),
				 (double)rcvd, secs));
	}
	if (u->remote)
		out_text(o, "CPU Utilization: local %.1f%% (%.1f%%u/%.1f%%s), "
			 "remote %.1f%% (%.1f%%u/%.1f%%s)", u->host_total,
			 u->host_user, u->host_system, u->remote_total,
			 u->remote_user, u->remote_system);
	else
		out_text(o, "CPU Utilization: local %.1f%% (%.1f%%u/%.1f%%s), "
			 "remote unknown", u->host_total, u->host_user,
			 u->host_system);
}

/* Result section, summary lines, the demo's result. */
static void client_report(struct crun *r, const struct cpu_snap *cd,
			  double secs, int ret, const char *err)
{
	const struct client_cfg *c = r->c;
	struct out *o = &r->o;
	uint64_t sent = 0, rcvd = 0, sends = 0, syscalls = 0, partial = 0,
		 enobufs = 0, zc = 0, zcn = 0, zcc = 0, retr = 0;
	int verdict = -1;
	json_t *streams = json_array(), *server = NULL;
	char amt[32], rate[32];
	const char *sv = NULL;
	struct cpu_util cu;

	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		json_t *j = json_object();

		sent += cs->sd.sent;
		rcvd += cs->rv.bytes;
		sends += cs->st.sends;
		syscalls += cs->st.syscalls;
		partial += cs->st.partial;
		enobufs += cs->st.enobufs;
		zc += cs->st.zc_completed;
		zcn += cs->st.zc_notifications;
		zcc += cs->st.zc_copied;
		if (cs->sd.tx && (verdict < 0 || cs->verdict == 0))
			verdict = cs->verdict;
		jout_set_int(j, "stream", cs->id ? cs->id : 1);
		jout_set_u64(j, "sent", cs->sd.sent);
		jout_set_u64(j, "received", cs->rv.bytes);
		jout_set_num(j, "seconds", round((cs->t1 - cs->t0) * 1e6) / 1e6);
		jout_set_u64(j, "bits_per_second", cs->t1 > cs->t0 ? (uint64_t)
			     llround((double)(cs->sd.sent + cs->rv.bytes) * 8 /
				     (cs->t1 - cs->t0)) : 0);
		if (r->dir != SESS_FWD) {
			jout_set_u64(j, "mismatches", cs->rv.pat.mismatches);
			jout_set_str(j, "rx_engine", cs->rv.engine);
		}
		jout_set_bool(j, "complete", !cs->ret);
		jout_set_str(j, "error", cs->ret ? cs->err : NULL);
		if (cs->server) {
			json_object_set(j, "server", cs->server);
			if (!sv || strcmp(jstr(cs->server, "verdict") ?
					  jstr(cs->server, "verdict") : "", "verified"))
				sv = jstr(cs->server, "verdict");
		} else {
			jout_set_null(j, "server");
		}
		jout_set_u64(j, "retransmits", cs->retr);
		json_array_append_new(streams, j);
		retr += cs->retr;
	}
	if (r->n == 1 && r->s[0].server)
		server = json_incref(r->s[0].server);
	out_kv(o, OUT_RESULT, "bytes", false, "%" PRIu64, sent + rcvd);
	if (r->dir != SESS_FWD) {
		out_kv(o, OUT_RESULT, "sent", false, "%" PRIu64, sent);
		out_kv(o, OUT_RESULT, "received", false, "%" PRIu64, rcvd);
	}
	out_kv(o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)(sent + rcvd) / secs / 1e9 : 0);
	out_kv(o, OUT_RESULT, "bits_per_second", false, "%.0f",
	       secs > 0 ? (double)(sent + rcvd) * 8 / secs : 0);
	out_kv(o, OUT_RESULT, "retransmits", false, "%" PRIu64, retr);
	out_kv(o, OUT_RESULT, "cpu_s", false, "%.3f", cd->proc_s);
	out_kv(o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * cd->proc_s / secs : 0);
	out_kv(o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->proc_s, sent + rcvd));
	out_kv(o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->machine_s, sent + rcvd));
	out_kv(o, OUT_RESULT, "sends", false, "%" PRIu64, sends);
	out_kv(o, OUT_RESULT, "syscalls", false, "%" PRIu64, syscalls);
	out_kv(o, OUT_RESULT, "partial", false, "%" PRIu64, partial);
	out_kv(o, OUT_RESULT, "enobufs", false, "%" PRIu64, enobufs);
	out_kv(o, OUT_RESULT, "zc_completions", false, "%" PRIu64, zc);
	out_kv(o, OUT_RESULT, "zc_notifications", false, "%" PRIu64, zcn);
	out_kv(o, OUT_RESULT, "zc_copied", false, "%" PRIu64, zcc);
	out_kv(o, OUT_RESULT, "zc_copied_pct", false, "%.1f",
	       zc ? 100.0 * (double)zcc / (double)zc : 0.0);
	if (verdict < 0 && o->json)	/* no verdict: null, "-" in text */
		out_kv_str(o, OUT_RESULT, "zc", NULL);
	else
		out_kv(o, OUT_RESULT, "zc", true, "%s", verdict == 1 ? "y" :
		       verdict == 0 ? "n" : "-");
	if (r->dir != SESS_REV)	/* what the receiving end said */
		out_kv_str(o, OUT_RESULT, "server_verdict", sv ? sv : NULL);
	out_kv(o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(o, OUT_RESULT, "error", true, "%s", err);
	out_doc_set(o, "streams", streams);
	if (r->n == 1 && r->dir != SESS_REV)
		out_doc_set(o, "server", server ? server : json_null());
	else
		json_decref(server);
	cpu_util_get(r, cd, secs, &cu);
	out_doc_set(o, "cpu_utilization_percent", cpu_util_json(&cu));
	summary_lines(r, secs, sent, rcvd, &cu, retr);
	out_line(o, "summary: %s %s in %.2f s, %s, %.2f CPU s/GB (machine %.2f), "
		 "CPU %.1f%%, zc=%s%s%s%s", r->dir == SESS_FWD ? "sent" :
		 r->dir == SESS_REV ? "received" : "sent+received",
		 fmt_bytes(amt, sizeof(amt), (double)(sent + rcvd)), secs,
		 fmt_rate(rate, sizeof(rate), (double)(sent + rcvd), secs),
		 per_gb(cd->proc_s, sent + rcvd), per_gb(cd->machine_s, sent + rcvd),
		 secs > 0 ? 100.0 * cd->proc_s / secs : 0,
		 verdict == 1 ? "y" : verdict == 0 ? "n" : "-",
		 sv ? ", server: " : "", sv ? sv : "", ret ? " INCOMPLETE" : "");
	if (c->res) {
		c->res->bytes = sent;
		c->res->seconds = secs;
		c->res->cpu_s = cd->proc_s;
		c->res->sends = sends;
		c->res->syscalls = syscalls;
		c->res->zc_completed = zc;
		c->res->zc_copied = zcc;
		c->res->zc_verdict = verdict;
	}
}

/* Each stream's status, with the receiving end's word on it: 0, or 1
 * with the first failure's text in errbuf. */
static int verdicts(struct crun *r, char *errbuf, size_t len)
{
	int ret = 0;

	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		json_t *sc;

		/* the receiving end says the stream failed: so does this run */
		if (!cs->ret && cs->server && r->dir != SESS_REV &&
		    (sc = json_object_get(cs->server, "complete")) &&
		    json_is_false(sc)) {
			cs_err(cs, "the server reports: %s",
			       jstr(cs->server, "error") ? jstr(cs->server, "error") :
			       "the stream failed");
			cs->ret = 1;
		}
		if (cs->ret && !errbuf[0])
			snprintf(errbuf, len, "%s%.1300s",
				 r->n > 1 ? "a stream failed: " : "", cs->err);
		ret |= cs->ret;
	}
	return ret;
}

/* The engine in use and why: the first line a user sees. */
static void engine_lines(struct crun *r)
{
	const struct client_cfg *c = r->c;
	struct cstream *s0 = &r->s[0];
	const char *eng = dmt_engine_name(dmt_tx_engine(s0->sd.tx));
	const char *ewhy = dmt_tx_engine_reason(s0->sd.tx);

	out_kv(&r->o, OUT_CONFIG, "buffer", true, "%s",
	       dmt_buf_kind_name(dmt_buf_kind(s0->buf)));
	out_kv(&r->o, OUT_CONFIG, "buffer_reason", true, "%s", r->buf_why);
	if (r->dir == SESS_REV) {
		out_kv(&r->o, OUT_CONFIG, "engine", true, "%s",
		       s0->rv.engine);
		out_kv(&r->o, OUT_CONFIG, "engine_reason", true, "%s",
		       dmt_rx_engine_reason(s0->rv.rx));
		out_line(&r->o, "engine: %s receive (%s); the server sends",
			 s0->rv.engine, dmt_rx_engine_reason(s0->rv.rx));
	} else {
		out_kv(&r->o, OUT_CONFIG, "engine", true, "%s", eng);
		out_kv(&r->o, OUT_CONFIG, "engine_reason", true, "%s", ewhy);
		out_line(&r->o, "engine: %s (%s)%s%s", eng, ewhy,
			 r->dir == SESS_BIDIR ? "; receive: " : "",
			 r->dir == SESS_BIDIR ? s0->rv.engine : "");
	}
	if (out_verbose())
		out_line(&r->o, "buffer: %s (%s)",
			 dmt_buf_kind_name(dmt_buf_kind(s0->buf)),
			 r->buf_why);
	if (c->res) {
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng);
		snprintf(c->res->engine_reason,
			 sizeof(c->res->engine_reason), "%s", ewhy);
	}
}

int client_run(const struct client_cfg *c)
{
	DMT_OPTS(dmt_ctx_opts, co, .log_fn = log_warn, .log_level = DMT_LOG_WARN);
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct dmt_error err = { 0 };
	struct cpu_snap c0, c1, cd;
	char errbuf[1400] = "";
	double t0, t1;
	int ret = 1;
	bool reported = false;
	struct crun *r;

	r = calloc(1, sizeof(*r));
	if (!r)
		return run_error("client", "out of memory");
	r->c = c;
	r->n = c->streams > 1 ? c->streams : 1;
	r->dir = (enum sess_dir)c->dir;
	r->pattern = c->have_size || c->time_s > 0;
	r->v = c->v ? c->v : PAT_MAX_V;
	r->cookie = ((uint64_t)getpid() << 32) ^ (uint64_t)(now_s() * 1e6);
	for (unsigned int i = 0; i < r->n; i++) {
		r->s[i].r = r;
		r->s[i].id = r->n > 1 ? i + 1 : 0;
	}
	out_init(&r->o, "client", c->json, c->quiet, c->interval);
	parse_addr(c->server, c->port, AF_UNSPEC, &dst, &dlen);
	client_config(r, &dst);

	r->ctx = dmt_ctx_new(&co, &err);
	/* A kernel without the netdev family (before 6.12) has no devmem:
	 * the sender goes on without a context, with a fallback engine. */
	if (!r->ctx && err.err != -DMT_ERR_NO_FAMILY) {
		snprintf(errbuf, sizeof(errbuf), "cannot open the netdev netlink "
			 "context: %s", err.message);
		goto out;
	}
	for (unsigned int i = 0; i < r->n; i++) {
		if (cs_open(&r->s[i], &dst, dlen) < 0) {
			snprintf(errbuf, sizeof(errbuf), "%s%s", r->n > 1 ?
				 "stream: " : "", r->s[i].err);
			goto out;
		}
		if (stopped(&r->s[i], 0)) {
			snprintf(errbuf, sizeof(errbuf), "%s", r->s[i].err);
			goto out;
		}
	}
	engine_lines(r);
	cpu_snap_take(&c0);
	t0 = now_s();
	out_start(&r->o, t0, 0);
	if (r->n == 1) {
		cs_run(&r->s[0]);
	} else {
		for (unsigned int i = 0; i < r->n; i++)
			r->s[i].th_started = !pthread_create(&r->s[i].th, NULL,
							     cs_run, &r->s[i]);
		sum_lines(r, t0);
		for (unsigned int i = 0; i < r->n; i++) {
			if (r->s[i].th_started)
				pthread_join(r->s[i].th, NULL);
			else {
				cs_err(&r->s[i], "cannot start a thread");
				r->s[i].ret = 1;
			}
		}
	}
	t1 = now_s();
	cpu_snap_take(&c1);
	cpu_snap_delta(&c0, &c1, &cd);
	ret = verdicts(r, errbuf, sizeof(errbuf));
	client_report(r, &cd, t1 - t0, ret, errbuf);
	reported = true;
out:
	if (!reported) {	/* failed before sending: still say so */
		if (!errbuf[0])
			snprintf(errbuf, sizeof(errbuf), "failed");
		ret = 1;
		out_kv(&r->o, OUT_RESULT, "bytes", false, "0");
		out_kv(&r->o, OUT_RESULT, "complete", false, "false");
		out_kv_str(&r->o, OUT_RESULT, "error", errbuf);
	}
	out_finish(&r->o);
	if (ret && !c->quiet)
		run_error("client", "%s", errbuf);
	if (c->res) {
		snprintf(c->res->error, sizeof(c->res->error), "%s",
			 ret ? errbuf : "");
		c->res->status = ret;
		c->res->done = true;
	}
	for (unsigned int i = 0; i < r->n; i++)
		cs_free(&r->s[i]);
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
	while ((opt = getopt_long(argc, argv, ":s:c:p:v:z:f:i:t:P:RVh", client_opts,
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
		case 'P':
			if (parse_uint(optarg, 1, SESS_MAX_STREAMS, &u))
				return usage_error("client", "bad stream count '%s' "
						   "(-P): give 1..%d", optarg,
						   SESS_MAX_STREAMS);
			c.streams = (unsigned int)u;
			break;
		case 'R':
			if (c.dir == SESS_BIDIR)
				return usage_error("client", "-R and --bidir both "
						   "given: give one");
			c.dir = SESS_REV;
			break;
		case O_BIDIR:
			if (c.dir == SESS_REV)
				return usage_error("client", "-R and --bidir both "
						   "given: give one");
			c.dir = SESS_BIDIR;
			break;
		case 'V':
			out_set_verbose(true);
			break;
		case O_FORMAT:
			if (out_set_format(optarg))
				return usage_error("client", "bad format '%s' "
						   "(--format): give a, k, m, g, K, M "
						   "or G", optarg);
			break;
		case O_CPORT:
			if (parse_uint(optarg, 0, 65535, &u))
				return usage_error("client", "bad source port '%s' "
						   "(--cport): give 0..65535", optarg);
			c.cport = (unsigned int)u;
			c.have_cport = true;
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
	if (!c.have_size && !(c.time_s > 0) && (c.streams > 1 || c.dir))
		return usage_error("client", "%s sends the pattern: give --size N "
				   "or -t SEC (stdin is one forward stream)",
				   c.streams > 1 ? "-P" : c.dir == SESS_REV ? "-R" :
				   "--bidir");
	if (c.dir == SESS_REV && (c.engine != DMT_ENGINE_AUTO ||
				  (c.buf.kind && c.buf.kind != DMT_BUF_HOST)))
		return usage_error("client", "-R receives into host memory (the "
				   "server sends): --engine and --buffer choose "
				   "how to send; leave them out, or use --bidir");
	if (c.have_cport && c.cport && c.cport + (c.streams ? c.streams : 1) - 1 >
	    65535)
		return usage_error("client", "--cport %u with -P %u runs past port "
				   "65535: give a lower --cport", c.cport,
				   c.streams);
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
	if (c.chunk && (c.msg_size + c.chunk - 1) / c.chunk > SND_MAX_SEGS)
		return usage_error("client", "chunk size %" PRIu64 " (-z) splits "
				   "a %" PRIu64 "-byte send into more than %d "
				   "iovecs: raise -z or lower --msg-size",
				   c.chunk, c.msg_size, SND_MAX_SEGS);
	if (!buf_choice_gpu(&c.buf) &&
	    (ret = check_buffer_fits("client", c.buf_size)))
		return ret;
	signal(SIGPIPE, SIG_IGN);	/* a closed peer is an error, not a kill */
	cli_catch_stop();	/* SIGINT/SIGTERM: stop, report, exit 1 */
	return client_run(&c);
}
