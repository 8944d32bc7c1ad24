// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: send N bytes (or SEC seconds) of the ncdevmem
 * validation pattern, or stdin, to a server through a libdevmemtcp TX
 * engine; with -P over parallel streams, with -R/--bidir receiving too.
 * This file is the run: connect the streams, start and join them, report
 * (client_streams.c, client_send.c, client_report.c; options in
 * client_cli.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
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
#include "client.h"
#include "common.h"
#include "json_out.h"
#include "session.h"
#include "stream.h"

static void log_warn(enum dmt_log_level lvl, const char *msg, void *user)
{
	(void)user;
	if (lvl <= DMT_LOG_WARN)
		fprintf(stderr, "devmemtcp client: %s: %s\n",
			lvl == DMT_LOG_ERROR ? "error" : "warning", msg);
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
