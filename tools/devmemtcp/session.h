/* SPDX-License-Identifier: MIT */
/*
 * The devmemtcp client/server protocol: what travels on a connection
 * besides the stream of data (devmemtcp(1), PROTOCOL).
 *
 *  - The hello. A client that wants more than "receive my stream" (-P,
 *    -R, --bidir) first sends one line: a NUL byte, "DMT-HELLO 1 ", a
 *    JSON object, '\n'. The NUL byte is never a byte of the ncdevmem
 *    pattern (which starts 0x01), so a foreign sender's pattern is told
 *    apart at its first byte; other data would have to begin with the
 *    whole 13-byte tag to be mistaken for it. A plain client (one
 *    forward stream) sends no hello, so foreign receivers see only the
 *    pattern.
 *  - The result. The server writes its verdict back when the
 *    connection's data ends (what it received and checked, what it sent)
 *    as one line: a NUL byte, "DMT-RESULT 1 ", a JSON object, '\n', then
 *    closes. In the forward direction it is all the server ever sends;
 *    after reverse data (-R, --bidir) the NUL byte marks the end of the
 *    pattern, which never holds one.
 *
 * The JSON objects are built and parsed with jansson; unknown members
 * are ignored, so later versions may add members without a new number.
 */
#ifndef DMT_CLI_SESSION_H
#define DMT_CLI_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include <jansson.h>

#include "common.h"

struct sender;

#define SESS_HELLO_TAG "\0DMT-HELLO 1 "
#define SESS_HELLO_TAGLEN 13
#define SESS_RESULT_TAG "\0DMT-RESULT 1 "
#define SESS_RESULT_TAGLEN 14
#define SESS_LINE_MAX 65536	/* a hello or result line, tag included */
#define SESS_MAX_STREAMS 16	/* -P limit; also the server's cap */

/* Which way the data flows, seen from the client. */
enum sess_dir { SESS_FWD, SESS_REV, SESS_BIDIR };

struct sess_hello {
	bool present;		/* false: a plain stream (or a foreign sender) */
	enum sess_dir dir;
	unsigned int streams;	/* -P: connections in the test, 1.. */
	unsigned int stream;	/* this connection's index, 0.. */
	uint64_t cookie;	/* the same on every connection of one test */
	/* what the server sends with -R/--bidir */
	unsigned int v;		/* pattern modulus */
	uint64_t size;		/* bytes, 0: for time_s */
	double time_s;
	uint64_t msg_size;
};

/* The hello as one line (tag, JSON, '\n') in a malloc'd buffer; *len its
 * length (it holds a NUL byte). NULL when out of memory. */
char *sess_hello_line(const struct sess_hello *h, size_t *len);
/*
 * Server, right after accept: look at the first bytes without taking
 * them (MSG_PEEK) and, when they are a hello, read it off the socket.
 * Waits at most timeout_s (0: 30 s) and until SIGINT/SIGTERM (cli_stop).
 * Returns 0
 * (h->present says which), or -1 with err saying why (the peer sent a
 * broken hello, or nothing within the time). Data in device memory
 * cannot be peeked (EFAULT): it is taken as data.
 */
int sess_hello_read(int fd, int timeout_s, struct sess_hello *h, char *err,
		    size_t errlen);

/* What the server says about one connection, sent back to the client. */
struct sess_result {
	bool complete;
	const char *error;	/* NULL when complete */
	const char *verdict;	/* verified, not validated, MISMATCHES, ... */
	uint64_t bytes;		/* received (forward, --bidir) */
	double seconds;
	double cpu_s, cpu_pct;	/* process user+sys; % of the wall time */
	double cpu_user_pct, cpu_sys_pct;	/* its two parts, % of wall */
	const char *engine;	/* receive engine */
	const char *validation;	/* full, sampled, off */
	uint64_t checked, mismatches;
	/* -R, --bidir: what the server sent */
	bool sent_valid;
	uint64_t sent;
	const char *tx_engine;
	uint64_t retransmits;	/* TCP_INFO total_retrans of the server end */
};

/* The hello's JSON part (after the tag, before '\n') into h; 0, or -1
 * with err saying what is wrong. */
int sess_hello_parse(const char *js, size_t n, struct sess_hello *h,
		     char *err, size_t errlen);

/* Write the result line (tag, JSON, '\n') to fd: bounded by timeout_s
 * (0: 10 s). 0 or -errno (the client may be gone: nothing else to do). */
int sess_result_send(int fd, const struct sess_result *r, int timeout_s);

/* The server's own stream for -R and --bidir: the pattern the hello asks
 * for, sent on fd through a TX engine (auto, from host memory). */
struct sess_tx {
	struct sender *sd;
	pthread_t th;
	bool threaded;
	uint64_t size;
	double time_s;
	int ret;
	char engine[32];
};
/* Start sending (thread: in a thread of its own, for --bidir; else
 * here, to the end). 0, or -1 with t->sd->err. */
int sess_tx_run(struct sess_tx *t, int fd, const struct sess_hello *h,
		int timeout_s, struct out_ivl *iv, bool thread);
/* Wait for the sender (threaded) and flush it; its status, 0 or -1. */
int sess_tx_join(struct sess_tx *t);
/* Bytes sent, error text (empty when none). */
uint64_t sess_tx_sent(const struct sess_tx *t);
const char *sess_tx_error(const struct sess_tx *t);
void sess_tx_free(struct sess_tx *t);

/*
 * Parse what a receiver sent back: buf[0..len) starting at the tag.
 * Returns a new reference to the object, or NULL with why in err (not a
 * result: a foreign receiver's bytes; cut short; bad JSON).
 */
json_t *sess_result_parse(const char *buf, size_t len, char *err,
			  size_t errlen);

#endif
