// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: the streams of one test. The data phase of one
 * connection (receive, send with -R, both with --bidir), and with a
 * client's -P the gathering of its parallel streams, a thread each, the
 * [SUM] interval lines while they run and the [SUM] closing line.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
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
	srv_clone_free(s);
	return NULL;
}

void srv_clone_free(struct srv *s)
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

/* The refusal of a connection that cannot be served now. */
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
unsigned int srv_gather(struct srv *s0, int lfd, struct srv **st,
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

/* What a test's streams moved so far: received and sent, all together. */
static uint64_t srv_moved(struct srv **st, unsigned int n)
{
	uint64_t b = 0;

	for (unsigned int i = 0; i < n; i++)
		b += __atomic_load_n(&st[i]->bytes, __ATOMIC_RELAXED) +
		     sess_tx_sent(&st[i]->tx);
	return b;
}

/*
 * While the first `started` of a test's n streams run: refuse newcomers
 * on lfd (-1: none), never leaving one waiting, and with -P print a
 * [SUM] line per interval of what the streams moved together, as the
 * client does. Returns when every started stream has finished.
 */
static void srv_wait(struct srv **st, unsigned int started, unsigned int n,
		     int lfd)
{
	double period = st[0]->c->interval, t0 = now_s(), last_t = t0;
	uint64_t last = 0;

	for (;;) {
		unsigned int done = 0;
		double t;

		for (unsigned int i = 0; i < started; i++)
			done += __atomic_load_n(&st[i]->finished,
						__ATOMIC_ACQUIRE);
		if (done == started)
			return;
		t = now_s();
		if (n > 1 && period > 0 && t - last_t >= period) {
			uint64_t tot = srv_moved(st, n);

			out_sum(&st[0]->o, last_t - t0, t - t0, tot - last);
			last_t = t;
			last = tot;
		}
		if (lfd >= 0) {
			struct pollfd p = { .fd = lfd, .events = POLLIN };
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			int fd;

			if (poll(&p, 1, 50) > 0 &&
			    (fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
					  SOCK_CLOEXEC)) >= 0)
				refuse_fd(st[0], fd, &peer, "a test is running; "
					  "this server runs one test at a time");
		} else {
			usleep(50000);
		}
	}
}

/*
 * Run a test's streams and report each. One stream of a one-shot server
 * runs here; otherwise each in a thread, while this one refuses
 * newcomers on the listener (-K: one test at a time). Returns how many
 * failed.
 */
int srv_test(struct srv **st, unsigned int n, int lfd)
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
		srv_wait(st, started, n, lfd);
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
		uint64_t b = srv_moved(st, n);
		double secs = 0;
		char amt[32], rate[32];

		for (unsigned int i = 0; i < n; i++) {
			if (st[i]->t1 - st[i]->t0 > secs)
				secs = st[i]->t1 - st[i]->t0;
		}
		out_line(&st[0]->o, "[SUM]   0.00-%-6.2f sec  %-12s  %s  (%u streams, "
			 "%d failed)", secs, fmt_bytes(amt, sizeof(amt), (double)b),
			 fmt_rate(rate, sizeof(rate), (double)b, secs), n, failed);
	}
	return failed;
}
