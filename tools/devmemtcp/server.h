/* SPDX-License-Identifier: MIT */
/*
 * devmemtcp server internals shared by server.c (the accept loop and the
 * run's configuration), server_streams.c (the data phase of a connection,
 * a test's parallel streams), server_report.c (a connection's report and
 * its result back to the client) and server_rx.c (the receive path over
 * the library's listener and receivers, and the check of what arrives).
 */
#ifndef DMT_CLI_SERVER_H
#define DMT_CLI_SERVER_H

#include <pthread.h>
#include <sys/socket.h>

#include <devmemtcp.h>

#include "common.h"
#include "session.h"

/* What lasts for the whole run: the listener and its buffer. */
struct rxrun {
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;	/* the listener's (first stream's) buffer */
	bool show_buf;		/* --buffer given, or staged: reported */
	char buf_why[1024];
	struct dmt_rx_listener *l;
	enum dmt_engine eng;	/* what connections get */
	enum val_mode vmode;
	char why[1400];		/* engine reason in the CLI's words */
	bool closing;		/* the NIC setup is undone: "nic:" lines */
	struct out *o;
};

struct srv {
	const struct server_cfg *c;
	struct rxrun *run;
	struct out o;
	struct pat pat;
	uint64_t bytes;
	struct dmt_buf *buf;	/* where copy/staged fragments land */
	bool own_buf;		/* a -P stream's own buffer */
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

/* ---- server_rx.c ---- */

/* The buffer for the run, or for a -P stream of a copy/staged run (want
 * COPY): --buffer (or host memory for staged, show), with -f a dma-buf to
 * bind, else a small host ring. NULL with why. */
struct dmt_buf *run_buffer(const struct server_cfg *c, enum dmt_engine want,
			   bool show, char *why, size_t whylen);
/* Buffer, context, listener (with -f: NIC setup and binding), the engine
 * line in the CLI's words. 0, or -1 with err filled. */
int run_open(struct rxrun *r, const struct server_cfg *c, char *err,
	     size_t errlen);
/* Free the listener (undo the NIC setup: "nic:" lines), context, buffer. */
void run_close(struct rxrun *r);
/* Receive on fd until the peer closes, checking what the sampler selects:
 * 0, or -errno with s->err filled. */
int rx_run(struct srv *s, int fd);
/* A receive slice ended without data, or a signal came: 0 to go on, or -1
 * with s->err saying why the run ends. */
int srv_idle(struct srv *s);

/* ---- server_streams.c ---- */

/* Free a -P stream other than the first (srv_gather's). */
void srv_clone_free(struct srv *s);
/* After the first connection of a test said it is one of n (-P): accept
 * the other n-1 into st[1..] within --timeout (10 s without), refusing
 * others. Returns how many streams the test has (1 + those gathered). */
unsigned int srv_gather(struct srv *s0, int lfd, struct srv **st,
			unsigned int n);
/* Run a test's n streams (a thread each, unless a one-shot server has
 * one), refusing newcomers on lfd (-1: none) and printing [SUM] interval
 * lines with -P meanwhile; then report each and the [SUM] closing line.
 * Returns how many failed. */
int srv_test(struct srv **st, unsigned int n, int lfd);

/* ---- server_report.c ---- */

/* The report of one connection (text lines or its JSON sections) and the
 * result sent back to the peer. Returns its status, 0 or 1. */
int srv_report(struct srv *s);

#endif
