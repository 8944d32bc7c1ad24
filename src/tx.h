/* SPDX-License-Identifier: MIT */
/* TX object internals and the engine interface (one file per engine). */
#ifndef DMT_TX_H
#define DMT_TX_H

#include <sys/uio.h>

#include "buffer.h"
#include "ztrack.h"

struct dmt_tx;

struct dmt_tx_engine {
	enum dmt_engine id;
	bool tracks;	/* completions must arrive before reuse */
	/* Prepare the engine on tx->fd (before connect for devmem). 0 or
	 * -errno with tx->reason saying why it cannot be used. */
	int (*setup)(struct dmt_tx *tx);
	/* One send syscall over iov (iov_base = buffer offsets, not pointers).
	 * Returns bytes queued (> 0) or -errno. Records the completion id
	 * itself when it tracks. */
	ssize_t (*sendv)(struct dmt_tx *tx, const struct iovec *iov,
			 unsigned int n, bool dontwait);
	/* Drain completions; wait up to timeout_ms for the first (0: no
	 * wait). Returns ids completed or -errno. */
	int (*reap)(struct dmt_tx *tx, int timeout_ms);
	void (*destroy)(struct dmt_tx *tx);
	/* Where completions signal readiness, when not on the socket's error
	 * queue (uring: the ring fd, POLLIN). NULL: the socket, POLLERR. */
	int (*completion_fd)(const struct dmt_tx *tx, short *events);
	/* tx->buf is about to become buf (nothing outstanding): update what
	 * the engine keeps about the buffer. NULL: nothing to do. */
	int (*set_buf)(struct dmt_tx *tx, struct dmt_buf *buf);
};

extern const struct dmt_tx_engine dmt_engine_devmem;
extern const struct dmt_tx_engine dmt_engine_zerocopy;
extern const struct dmt_tx_engine dmt_engine_copy;
extern const struct dmt_tx_engine dmt_engine_staged;	/* tx_staged.c */
#ifdef DMT_HAVE_LIBURING
extern const struct dmt_tx_engine dmt_engine_uring;
#endif

struct dmt_tx {
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	int fd;
	bool own_fd;
	bool nonblock;
	const struct dmt_tx_engine *eng;
	unsigned int max_iov;
	unsigned int reap_batch;	/* reap once per this many sends */
	unsigned int since_reap;	/* sends since the last reap */
	unsigned int max_outstanding;	/* tracker capacity in sends */
	uint64_t auto_copy_min;		/* AUTO: plain send() from this size
					 * on a copying path (0: never) */
	uint64_t auto_zc_min;		/* AUTO: plain send() below this size
					 * (0: never) */
	bool auto_copy_logged;
	bool want_auto;			/* the caller asked for AUTO */
	uint64_t memlock;		/* RLIMIT_MEMLOCK in bytes as it applies
					 * to pinned zero-copy pages; UINT64_MAX:
					 * unlimited or CAP_IPC_LOCK */
	uint64_t zc_cap;		/* bytes per zero-copy send syscall
					 * under that limit (0: no cap) */
	uint64_t zc_cap_max;		/* what zc_cap grows back to */
	bool memlock_logged;
	int lock_err;			/* the engine's own errno for the last
					 * locked-memory refusal (uring: ENOMEM) */
	bool enobufs_wait;		/* nonblock: ENOBUFS returned -EAGAIN;
					 * only a completion lets sends go on */
	int pending_err;		/* an error met after bytes were queued:
					 * the next dmt_tx_send() returns it */
	unsigned int enobufs_giveup_ms;	/* ENOBUFS / locked memory: give up
					 * after this long without progress */
	bool zc_fault;			/* a zero-copy send got EFAULT (memory
					 * that cannot be pinned): copy from
					 * then on */
	unsigned int auto_probe;	/* AUTO: large sends since a zero-copy one */
	int ifindex;			/* devmem egress device */
	uint32_t binding;		/* devmem binding id */
	void *eng_priv;			/* engine state (uring) */
	uintptr_t iov_base_addr;	/* offset 0 of the buffer in iov_base */
	struct dmt_ztrack zt;
	struct iovec *iov;		/* scratch, scratch_cap entries */
	struct dmt_seg *segs;		/* scratch, scratch_cap entries */
	unsigned int scratch_cap;	/* grows to what sends need, <= max_iov */
	struct dmt_tx_stats st;
	char reason[384];
	struct dmt_error err;
};

/* The devmem engine's control message (tx.c): a control buffer for one
 * SCM_DEVMEM_DMABUF cmsg carrying a u32 binding id. */
#define DMT_DEVMEM_CMSG_SPACE CMSG_SPACE(sizeof(uint32_t))
/* Attach the devmem cmsg (binding id) to msg using cbuf
 * (DMT_DEVMEM_CMSG_SPACE bytes, 8-byte aligned). */
void dmt_devmem_cmsg_build(struct msghdr *msg, void *cbuf, uint32_t id);

/* Convert a segment list into iovecs of buffer offsets (shared with
 * engines that need pointers: they add tx->buf->map themselves). */
int dmt_tx_wait_fd(struct dmt_tx *tx, short events, int timeout_ms);
/* Make the scratch arrays hold n (capped at max_iov) entries. */
int dmt_tx_scratch(struct dmt_tx *tx, unsigned int n);
/* Record a completed send syscall in the tracker (engines that track). */
int dmt_tx_track(struct dmt_tx *tx, const struct iovec *iov, unsigned int n,
		 size_t bytes);
/* Read the socket error queue (MSG_ERRQUEUE) until empty. */
int dmt_tx_reap_errqueue(struct dmt_tx *tx, int timeout_ms);
/* RLIMIT_MEMLOCK in bytes as the kernel applies it to pages pinned by
 * zero-copy sends and registered io_uring buffers: UINT64_MAX when
 * unlimited or when the process has CAP_IPC_LOCK (no accounting then). */
uint64_t dmt_memlock_limit(void);
/* Below this limit AUTO does not pick a zero-copy engine. */
#define DMT_ZC_MEMLOCK_MIN (1ull << 20)

#endif
