/* SPDX-License-Identifier: MIT */
/* Test helpers: exit codes, checks, root and namespace utilities. */
#ifndef DMT_TEST_HELPERS_H
#define DMT_TEST_HELPERS_H

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devmemtcp.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Fail the test with file:line and a message. */
#define T_CHECK(cond, ...)                                                    \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,         \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
			exit(T_FAIL);                                         \
		}                                                             \
	} while (0)

#define T_SKIP_IF(cond, ...)                                                  \
	do {                                                                  \
		if (cond) {                                                   \
			printf("SKIP: ");                                     \
			printf(__VA_ARGS__);                                  \
			printf("\n");                                         \
			exit(T_SKIP);                                         \
		}                                                             \
	} while (0)

/* Skip unless root (tier B). */
void t_require_root(void);
/* dmt_ctx_new(): skips when the kernel has no netdev netlink family,
 * fails the test on any other error. */
struct dmt_ctx *t_ctx(void);
struct netpair;
/* netpair_create() with the default MTU: skips where namespaces are not
 * permitted (EPERM, e.g. an unprivileged container), fails the test on
 * any other error. */
void t_netpair(struct netpair *np);
/* Path of the devmemtcp binary (DMT_CLI from CTest's environment). */
const char *t_cli(void);
/* Run a shell command, capture up to outlen bytes of stdout+stderr;
 * returns the exit status (or -1). */
int t_run(const char *cmd, char *out, size_t outlen);
/* Start a TCP listener on 127.0.0.1 (port 0: pick one); returns the fd
 * and stores the port. */
int t_listen(const char *addr, int *port);
/* Receive len bytes from fd with the staged RX engine into buf[0, len)
 * (the fragments stay lent until all arrived, so the ring fills the buffer
 * in stream order), then check end of stream. Bytes received, or -1; err
 * says what went wrong. st (may be NULL, sz set) receives the stats. */
ssize_t t_rx_staged_fill(struct dmt_buf *buf, int fd, uint64_t len,
			 size_t chunk, struct dmt_rx_stats *st, char *err,
			 size_t errlen);

#endif

/* ncdevmem validation pattern: byte at stream position pos for modulus v */
static inline unsigned char t_pattern_byte(unsigned long long pos, int v)
{
	int s = (int)((pos + 1) % (unsigned long long)v);

	return s ? (unsigned char)s : '\n';
}

/* Fill m[0..len) with the pattern, starting at stream position 0. */
static inline void t_pattern_fill(unsigned char *m, size_t len, int v)
{
	for (size_t i = 0; i < len; i++)
		m[i] = t_pattern_byte(i, v);
}

/* dmt_tx_connect() to 127.0.0.1:port. */
struct dmt_tx *t_tx_loopback(struct dmt_ctx *ctx, struct dmt_buf *buf,
			     int port, const struct dmt_tx_opts *opts,
			     struct dmt_error *err);
/* One line with a sender's counters, prefixed by label. */
void t_print_tx_stats(const char *label, const struct dmt_tx_stats *st);

/* A receiving end that reads a TCP stream until EOF and validates it. */
struct t_sink {
	int fd;			/* listening socket; accepts one connection */
	int v;			/* modulus; 0 = no validation */
	unsigned long long got;	/* bytes received */
	unsigned long long bad;	/* mismatching bytes */
	unsigned long long first_bad;
	int stall_ms;		/* sleep before reading (build up backlog) */
	int err;
};
/* Start the sink in a thread; t_sink_join waits for EOF. */
void t_sink_start(struct t_sink *s);
void t_sink_join(struct t_sink *s);
/* Run the sink body in the current thread (e.g. inside a namespace child). */
void *t_sink_main(void *arg);
/* Start sink on 127.0.0.1 and connect a sender to it over a new host
 * buffer of bufsize bytes (*buf); fails the test on error. */
struct dmt_tx *t_sink_tx(struct dmt_ctx *ctx, struct t_sink *sink,
			 size_t bufsize, const struct dmt_tx_opts *opts,
			 struct dmt_buf **buf);
