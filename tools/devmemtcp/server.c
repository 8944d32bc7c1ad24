// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: accept one connection (or, with -K, one after another;
 * with a client's -P, its parallel streams), receive the stream, validate
 * it against the ncdevmem pattern, report.
 *
 * The receive path is the library's: one dmt_rx_listener for the run (the
 * listening socket and, with -f, the NIC setup and devmem binding; it picks
 * the engine and says why, words this file maps to the CLI's flags) and one
 * dmt_rx per connection (rx_run). Bytes in host memory are checked in place;
 * bytes that only exist in the buffer are read back with dmt_buf_read()
 * (sampled for large transfers: struct sampler). Each connection's state is
 * its struct srv (a thread each with -P); nothing is global.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "server.h"

#define RX_SLICE_MS 250		/* a receive waits at most this long */

/*
 * One-shot: connections that completed their handshake while the first was
 * accepted are refused with a reset (never accepted and left unread), and
 * each is named on stderr; shutting the listener down (one-shot) then
 * refuses later ones.
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
	s->run = s0->run;
	s->checking = s0->checking;
	s->sm = s0->sm;
	out_init(&s->o, "server", c->json, c->quiet, c->interval);
	if (s->o.sec[OUT_CONFIG] && s0->o.sec[OUT_CONFIG])
		json_object_update(s->o.sec[OUT_CONFIG], s0->o.sec[OUT_CONFIG]);
	s->o.header_done = true;	/* the first stream printed it */
	s->o.iv.id = id;
	if (pat_init(&s->pat, c->v) < 0)
		goto fail;
	s->buf = s0->buf;	/* devmem: the bound buffer, shared */
	if (s0->run->eng != DMT_ENGINE_DEVMEM) {
		/* copy and staged: a ring per stream, they receive at once */
		s->buf = run_buffer(c, DMT_ENGINE_COPY, s0->run->show_buf,
				    s->buf_why, sizeof(s->buf_why));
		s->own_buf = true;
		if (!s->buf) {
			snprintf(s0->err, sizeof(s0->err), "stream %u: %s", id,
				 s->buf_why);
			goto fail;
		}
	}
	return s;
fail:
	if (!s0->err[0])
		snprintf(s0->err, sizeof(s0->err), "out of memory");
	pat_free(&s->pat);
	out_free(&s->o);
	if (s->own_buf)
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
	if (s->own_buf)
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
			s->rr = rx_run(s, fd);
		if (sess_tx_join(&s->tx) < 0 && s->rr == 0)
			s->rr = -1;
	} else {
		s->rr = rx_run(s, fd);	/* hook: the receive engine */
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
	sr.cpu_user_pct = secs > 0 ? 100.0 * s->cd.user_s / secs : 0;
	sr.cpu_sys_pct = secs > 0 ? 100.0 * s->cd.sys_s / secs : 0;
	sr.engine = recv ? dmt_engine_name(s->run->eng) : NULL;
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
	struct rxrun r = { 0 };
	const char *why, *kind = "", *eng;
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
	s->run = &r;
	s->fd = -1;
	out_init(&s->o, "server", c->json, c->quiet, c->interval);
	r.o = &s->o;
	if (pat_init(&s->pat, c->v) < 0) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	if (run_open(&r, c, s->err, sizeof(s->err)) < 0)
		goto out;
	s->buf = r.buf;
	why = r.why;
	eng = dmt_engine_name(r.eng);
	kind = dmt_buf_kind_name(dmt_buf_kind(r.buf));
	s->checking = r.vmode != VAL_OFF;
	sampler_init(&s->sm, r.vmode, c->have_size, c->size);
	lfd = dmt_rx_listener_fd(r.l);
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
	if (r.show_buf) {
		out_kv(&s->o, OUT_CONFIG, "buffer", true, "%s", kind);
		out_kv(&s->o, OUT_CONFIG, "buffer_size", false, "%zu",
		       dmt_buf_size(s->buf));
		out_kv(&s->o, OUT_CONFIG, "buffer_reason", true, "%s", r.buf_why);
		out_line(&s->o, "buffer: %s (%s)", kind, r.buf_why);
	}
	out_kv(&s->o, OUT_CONFIG, "engine", true, "%s", eng);
	out_kv(&s->o, OUT_CONFIG, "engine_reason", true, "%s", why);
	out_line(&s->o, "engine: %s (%s)", eng, why);
	fflush(stdout);
	port32 = ss.ss_family == AF_INET ?
		ntohs(((struct sockaddr_in *)&ss)->sin_port) :
		ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (c->res) {
		c->res->port = port32;
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng);
		snprintf(c->res->engine_reason, sizeof(c->res->engine_reason),
			 "%s", why);
		if (r.show_buf) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s",
				 kind);
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", r.buf_why);
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
		/* one-shot: later connections are refused (the listener
		 * keeps its socket, and the NIC setup, until the end) */
		refuse_pending(s, lfd);
		shutdown(lfd, SHUT_RD);
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
		sampler_init(&s->sm, r.vmode, c->have_size, c->size);
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
	run_close(&r);	/* the listener: unbind, restore the NIC, say what */
	sess_tx_free(&s->tx);
	free(s->tmp);
	pat_free(&s->pat);
	out_free(&s->o);
	free(s);
	return ret;
}

