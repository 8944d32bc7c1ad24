/* SPDX-License-Identifier: MIT */
/*
 * One direction of one connection, as the client and the server both run
 * it: a pattern sender over a dmt_tx (the client's forward stream, the
 * server's -R/--bidir stream) and a pattern receiver over a dmt_rx (the
 * client's -R/--bidir stream). Every wait is bounded by timeout_s and
 * ends on SIGINT/SIGTERM (cli_stop).
 */
#ifndef DMT_CLI_STREAM_H
#define DMT_CLI_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <devmemtcp.h>

#include "common.h"

#define SND_MAX_SEGS 1024	/* the kernel's UIO_MAXIOV, iovecs per sendmsg */

struct sender {
	struct dmt_tx *tx;
	struct dmt_buf *buf;
	uint64_t chunk;		/* -z: iovecs of at most this, 0: whole */
	uint64_t msg_size;	/* bytes per dmt_tx_send */
	int timeout_s;
	struct out_ivl *iv;	/* interval lines (may be NULL) */
	uint64_t sent;
	uint64_t L;		/* pattern bytes in buf (snd_fill_pattern) */
	struct dmt_seg segs[SND_MAX_SEGS];
	char err[1024];
};

/* Write the pattern of modulus v into buf: as much of it as size needs
 * (0: the whole buffer, for a timed run). 0 or -1 with err. */
int snd_fill_pattern(struct sender *sd, unsigned int v, uint64_t size);
/* Queue [off, off+len) of the buffer; gives up when nothing could be
 * queued for timeout_s, on an error or a signal. 0 or -1 with err. */
int snd_range(struct sender *sd, uint64_t off, uint64_t len);
/* Send the pattern: size bytes, or (size 0) for time_s seconds. */
int snd_pattern(struct sender *sd, uint64_t size, double time_s);
/* Wait for every completion, bounded. 0 or -1 with err. */
int snd_flush(struct sender *sd);

struct receiver {
	int fd;
	struct dmt_buf *buf;	/* host memory the rx copies into */
	struct dmt_rx *rx;
	struct pat pat;		/* v 0: not checked */
	int timeout_s;
	struct out_ivl *iv;
	uint64_t bytes;		/* pattern bytes received */
	char *trailer;		/* what followed the pattern (a result line) */
	size_t tlen;
	char engine[32];
	char err[1024];
};

/* Receive on fd (which stays the caller's) into a host buffer of
 * buf_size, checking the pattern of modulus v (0: count only). The one
 * place the CLI creates a dmt_rx for a client. 0 or -1 with err. */
int rcv_open(struct receiver *rv, int fd, uint64_t buf_size, unsigned int v,
	     int timeout_s);
/* Until the end of the stream: the pattern, then (after a NUL byte, which
 * the pattern never holds) the sender's result line into trailer. 0 at a
 * clean end, -1 with err. */
int rcv_run(struct receiver *rv);
void rcv_close(struct receiver *rv);

#endif
