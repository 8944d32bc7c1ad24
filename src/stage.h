/* SPDX-License-Identifier: MIT */
/*
 * Staging pipeline (stage.c): moves bytes between a stream socket and a
 * buffer the CPU cannot map (GPU memory) through two host bounce halves and
 * a copy thread. Internal: the staged engines use it, TX (tx_staged.c) and
 * RX (rx_copy.c).
 */
#ifndef DMT_STAGE_H
#define DMT_STAGE_H

#include <sys/types.h>
#include <sys/uio.h>

#include "buffer.h"

struct dmt_stage;

struct dmt_stage_stats {
	uint64_t sent;		/* bytes sent from the bounce halves */
	uint64_t received;	/* bytes received into the bounce halves */
	uint64_t from_device;	/* bytes copied buffer -> bounce */
	uint64_t to_device;	/* bytes copied bounce -> buffer */
	uint64_t chunks;	/* chunk copies made by the copy thread */
	uint64_t copy_ns;	/* time the copy thread spent copying */
	uint64_t net_wait_ns;	/* time the socket side waited for the copies */
	bool pinned;		/* bounce halves pinned by the GPU runtime */
};

#define DMT_STAGE_CHUNK_DEFAULT (4u << 20)
#define DMT_STAGE_CHUNK_MAX (1ull << 30)

/* buf is borrowed and must outlive the stage. chunk: bytes per bounce half
 * (0: default; page rounded, at most DMT_STAGE_CHUNK_MAX). NULL + errno. */
struct dmt_stage *dmt_stage_new(struct dmt_buf *buf, size_t chunk,
				struct dmt_error *err);
/* Stops the copy thread, unpins and frees the bounce halves. NULL is ok. */
void dmt_stage_free(struct dmt_stage *st);
size_t dmt_stage_chunk(const struct dmt_stage *st);
const struct dmt_error *dmt_stage_last_error(const struct dmt_stage *st);
void dmt_stage_get_stats(const struct dmt_stage *st, struct dmt_stage_stats *o);

/*
 * Send the byte ranges iov[0..n) of the stage's buffer (iov_base holds
 * buffer OFFSETS, not pointers) on the stream socket fd, copying them out
 * of the device through the two bounce halves: the copy of chunk k+1 runs
 * on the copy thread while chunk k is being sent. With dontwait, stops at
 * the first EAGAIN. Returns bytes sent (> 0) or -errno when none was;
 * *syscalls is increased by the send calls made.
 */
ssize_t dmt_stage_sendv(struct dmt_stage *st, int fd, const struct iovec *iov,
			unsigned int n, bool dontwait, uint64_t *syscalls);
/*
 * Receive up to len bytes from fd into [off, off+len) of the buffer: the
 * copy of chunk k into the device runs while chunk k+1 is received. Waits
 * for the first byte only (unless dontwait), then takes what the socket
 * holds: stops at len bytes, when the socket is empty, at end of stream,
 * or at the first error (EAGAIN with dontwait or a receive timeout). Returns the bytes that reached the buffer (never
 * drops bytes it took from the socket), 0 at end of stream before any
 * byte, or -errno (socket error before any byte; any device copy failure).
 * *syscalls is increased by the recv calls made.
 */
ssize_t dmt_stage_recv(struct dmt_stage *st, int fd, uint64_t off, uint64_t len,
		       bool dontwait, uint64_t *syscalls);

#endif
