// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: accept one connection (or, with -K, one after another;
 * with a client's -P, its parallel streams), receive the stream, validate
 * it against the ncdevmem pattern, report. This file is the accept loop
 * and the run's configuration; a test's streams are server_streams.c,
 * their reports server_report.c, the receive path server_rx.c.
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

/* The run's configuration, for each client's report (-K) and the demo's
 * result; returns the listening port. */
static uint32_t srv_config(struct srv *s, const struct rxrun *r,
			   const struct sockaddr_storage *ss)
{
	const struct server_cfg *c = s->c;
	const char *why = r->why, *eng = dmt_engine_name(r->eng);
	const char *kind = dmt_buf_kind_name(dmt_buf_kind(r->buf));
	uint32_t port32;
	char as[80];

	out_kv(&s->o, OUT_CONFIG | OUT_SHOW, "listen", true, "%s",
	       addr_str((const struct sockaddr *)ss, as, sizeof(as)));
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
	if (r->show_buf) {
		out_kv(&s->o, OUT_CONFIG, "buffer", true, "%s", kind);
		out_kv(&s->o, OUT_CONFIG, "buffer_size", false, "%zu",
		       dmt_buf_size(s->buf));
		out_kv(&s->o, OUT_CONFIG, "buffer_reason", true, "%s", r->buf_why);
		out_line(&s->o, "buffer: %s (%s)", kind, r->buf_why);
	}
	out_kv(&s->o, OUT_CONFIG, "engine", true, "%s", eng);
	out_kv(&s->o, OUT_CONFIG, "engine_reason", true, "%s", why);
	out_line(&s->o, "engine: %s (%s)", eng, why);
	fflush(stdout);
	port32 = ss->ss_family == AF_INET ?
		ntohs(((const struct sockaddr_in *)ss)->sin_port) :
		ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	if (c->res) {
		c->res->port = port32;
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng);
		snprintf(c->res->engine_reason, sizeof(c->res->engine_reason),
			 "%s", why);
		if (r->show_buf) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s",
				 kind);
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", r->buf_why);
		}
	}
	return port32;
}

/* -K: this client's report ends; the first stream's state made ready for
 * the next client. 0, or -1 with s->err filled. */
static int srv_next(struct srv *s, const struct rxrun *r)
{
	const struct server_cfg *c = s->c;

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
		return -1;
	}
	sampler_init(&s->sm, r->vmode, c->have_size, c->size);
	return 0;
}

/* Serve the client of the connection s just accepted: its hello, with -P
 * its other streams (st[1..], *n in all), the test and the reports. A
 * one-shot server stops listening (*lfd = -1). Returns how many streams
 * failed. */
static int srv_client(struct srv *s, struct srv **st, int *lfd,
		      unsigned int *n)
{
	const struct server_cfg *c = s->c;
	unsigned int want;
	char as[80];
	int tf = 0;

	/* hook: the client's hello, if it sent one (session.c) */
	if (sess_hello_read(s->fd, c->timeout_s, &s->hello, s->err,
			    sizeof(s->err)) < 0) {
		s->rr = -1;
		s->t0 = s->t1 = now_s();
		*n = 1;
		st[0] = s;
		return srv_report(s);
	}
	st[0] = s;
	want = s->hello.present ? s->hello.streams : 1;
	s->o.iv.id = s->hello.present && s->hello.streams > 1 ? 1 : 0;
	*n = s->hello.present ? srv_gather(s, *lfd, st, s->hello.streams) : 1;
	if (!c->keep) {
		/* one-shot: later connections are refused (the listener
		 * keeps its socket, and the NIC setup, until the end) */
		refuse_pending(s, *lfd);
		shutdown(*lfd, SHUT_RD);
		*lfd = -1;
	} else {
		refuse_pending(s, *lfd);
	}
	if (*n < want && !s->err[0])
		snprintf(s->err, sizeof(s->err), "%u of the %u parallel streams "
			 "arrived within the time", *n, s->hello.streams);
	out_kv(&s->o, OUT_CONFIG, "peer", true, "%s",
	       addr_str((struct sockaddr *)&s->peer, as, sizeof(as)));
	if (s->hello.present)
		out_kv(&s->o, OUT_CONFIG, "mode", true, "%s",
		       s->hello.dir == SESS_REV ? "reverse" :
		       s->hello.dir == SESS_BIDIR ? "bidir" : "forward");
	if (*n == want)
		return srv_test(st, *n, *lfd);
	for (unsigned int i = 0; i < *n; i++) {
		st[i]->rr = -1;	/* the client gives up: say so to all */
		if (i)
			snprintf(st[i]->err, sizeof(st[i]->err), "%s", s->err);
		st[i]->t0 = st[i]->t1 = now_s();
	}
	for (unsigned int i = 0; i < *n; i++)
		tf += srv_report(st[i]);
	return tf;
}

int server_run(const struct server_cfg *c)
{
	struct sockaddr_storage ss;
	struct rxrun r = { 0 };
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
	s->checking = r.vmode != VAL_OFF;
	sampler_init(&s->sm, r.vmode, c->have_size, c->size);
	lfd = dmt_rx_listener_fd(r.l);
	sl = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &sl);
next_client:	/* -K: each client gets its own report, configuration first */
	port32 = srv_config(s, &r, &ss);
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
	tf = srv_client(s, st, &lfd, &n);
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
		if (srv_next(s, &r) < 0)
			goto out;
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

