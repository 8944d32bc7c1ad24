/* SPDX-License-Identifier: MIT */
/*
 * devmemtcp client internals shared by client.c (the run: connect the
 * streams, start and join them), client_send.c (the sending half and the
 * server's result), client_streams.c (one stream: connect, its data phase,
 * -R/--bidir receiving; the [SUM] interval lines of -P), client_report.c
 * (configuration, results, closing lines) and client_cli.c (options).
 */
#ifndef DMT_CLI_CLIENT_H
#define DMT_CLI_CLIENT_H

#include <pthread.h>
#include <sys/socket.h>

#include <devmemtcp.h>

#include "common.h"
#include "session.h"
#include "stream.h"

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


/* ---- client_send.c ---- */

/* The first failure of stream cs, in cs->err (later ones are dropped). */
void cs_err(struct cstream *cs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A signal came: -1 with cs->err saying so after done bytes, else 0. */
int stopped(struct cstream *cs, uint64_t done);
/* The peer's result line into cs->server, or why none into server_note. */
void take_result(struct cstream *cs, const char *buf, size_t len);
/* After the last byte: half-close, read the peer's result until it
 * closes, bounded by --timeout. 0 or -1 with cs->err. */
int confirm_delivery(struct cstream *cs);
/* The sending half: the pattern (or stdin), every completion. */
int cs_send(struct cstream *cs);
/* cs_send in a thread of its own (--bidir). */
void *send_thread(void *arg);

/* ---- client_streams.c ---- */

/* One connection's data phase, timed (a thread of its own with -P). */
void *cs_run(void *arg);
/* -P: a [SUM] line per interval while the streams run. */
void sum_lines(struct crun *r, double t0);
/* Connect stream cs: buffer, pattern, tx, the hello. 0 or -1 with err. */
int cs_open(struct cstream *cs, const struct sockaddr_storage *dst,
	    socklen_t dlen);
void cs_free(struct cstream *cs);

/* ---- client_report.c ---- */

/* The configuration section (text lines only with -V). */
void client_config(struct crun *r, const struct sockaddr_storage *dst);
/* Result section, closing lines, summary line, the demo's result. */
void client_report(struct crun *r, const struct cpu_snap *cd, double secs,
		   int ret, const char *err);
/* Each stream's status with the receiving end's word: 0, or 1 with the
 * first failure's text in errbuf. */
int verdicts(struct crun *r, char *errbuf, size_t len);
/* The engine in use and why: the first line a user sees. */
void engine_lines(struct crun *r);

#endif
