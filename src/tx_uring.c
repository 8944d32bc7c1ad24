// SPDX-License-Identifier: MIT
/*
 * The uring TX engine: io_uring SEND_ZC (one segment, from the buffer
 * registered once as a fixed buffer when the kernel lets us) and
 * SENDMSG_ZC (several segments).
 *
 * Each request gives two CQEs: the result (bytes sent or -errno) with
 * IORING_CQE_F_MORE, then a notification (IORING_CQE_F_NOTIF) once the
 * kernel no longer reads the pages; with IORING_SEND_ZC_REPORT_USAGE its
 * res carries IORING_NOTIF_USAGE_ZC_COPIED when the data was copied.
 *
 * sendv keeps the generic contract (bytes queued or -errno): it submits
 * one request and waits for its result CQE, handling any notification
 * CQE met on the way. The tracker id a request will get (tx->zt.next_id)
 * is its user_data, so notifications map to records exactly as the error
 * queue's ids do for MSG_ZEROCOPY. A failed request that still announces
 * a notification (F_MORE) gets an empty record so that ids stay aligned.
 * Queue depth: one request in flight per sendv, so the submission queue
 * is small and fixed (URING_SQ_DEPTH); the completion queue is sized for
 * the notifications still to come (URING_CQ_MIN). Two independent sends on
 * one TCP socket may be reordered by io_uring (a poll-armed retry lets
 * the next request go first), so deeper queues would have to be linked
 * chains inside one sendv; tx.c gives one iovec batch per call, which
 * SENDMSG_ZC already covers in one request.
 */
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <poll.h>

#include "tx.h"
#include "uring_probe.h"
#include "uapi.h"

#define URING_TAG_SEND (1ULL << 40)	/* our requests: tag | tracker id */
#define URING_TAG_MASK (0xffffffULL << 40)
#define URING_TAG_NOP (2ULL << 40)	/* a discarded SQE */
#define URING_CQ_MIN 256
#define URING_SQ_DEPTH 8
#define URING_BATCH 32
#define URING_MAX_LEN 0x7ffff000u	/* the kernel's MAX_RW_COUNT */
#define URING_PH_MAX 64

struct uring_priv {
	struct io_uring ring;
	bool fixed;		/* buffer registered as fixed buffer 0 */
	bool report_usage;	/* IORING_SEND_ZC_REPORT_USAGE accepted */
	bool usage_probed;	/* a send with it succeeded once */
	struct msghdr msg;	/* SENDMSG_ZC header of the request in flight */
	/* the request in flight */
	uint32_t cur_id;
	const struct iovec *cur_iov;
	unsigned int cur_n;
	bool waiting;
	bool got_result;
	int result;
	bool early_notif;	/* its notification came before its result */
	bool early_copied;
	bool track_failed;	/* ENOMEM of our own tracker, not the kernel's */
	/* ids of failed requests whose notification is still to come: their
	 * (empty) records are kept out of the statistics */
	uint32_t ph[URING_PH_MAX];
	unsigned int nph;
};

static unsigned int complete_one(struct dmt_tx *tx, struct uring_priv *p,
				 uint32_t id, bool copied)
{
	unsigned int n;

	for (unsigned int i = 0; i < p->nph; i++) {
		if (p->ph[i] != id)
			continue;
		uint64_t run = tx->zt.copied_run;

		p->ph[i] = p->ph[--p->nph];
		n = dmt_ztrack_complete(&tx->zt, id, id, false);
		tx->zt.notifications--;
		tx->zt.completed -= n;
		tx->zt.copied_run = run;	/* a failed send says nothing */
		return 0;
	}
	return dmt_ztrack_complete(&tx->zt, id, id, copied);
}

/* The result CQE of the request in flight: record it in the tracker at
 * once, before any later CQE (its notification may be in the same batch). */
static void on_result(struct dmt_tx *tx, struct uring_priv *p,
		      const struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	int res = cqe->res;

	p->got_result = true;
	p->result = res;
	if (!more)
		return;	/* no notification will follow: nothing to track */
	if (res > 0) {
		if (dmt_tx_track(tx, p->cur_iov, p->cur_n, (size_t)res) < 0) {
			p->result = -ENOMEM;
			p->track_failed = true;
			return;
		}
	} else {
		/* placeholder so that the coming notification's id matches */
		if (dmt_ztrack_add(&tx->zt, NULL, 0) < 0) {
			p->result = -ENOMEM;
			p->track_failed = true;
			return;
		}
		if (p->nph < URING_PH_MAX)
			p->ph[p->nph++] = p->cur_id;
		else
			tx->st.zc_ids++;	/* counted like a send */
	}
	if (p->early_notif) {
		complete_one(tx, p, p->cur_id, p->early_copied);
		p->early_notif = false;
	}
}

static unsigned int on_cqe(struct dmt_tx *tx, struct uring_priv *p,
			   const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	uint32_t id = (uint32_t)ud;

	if ((ud & URING_TAG_MASK) != URING_TAG_SEND)
		return 0;	/* a NOP we discarded, or liburing's own */
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		bool copied = p->report_usage &&
			      ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED);
		if (p->waiting && !p->got_result && id == p->cur_id) {
			p->early_notif = true;
			p->early_copied = copied;
			return 0;
		}
		return complete_one(tx, p, id, copied);
	}
	if (p->waiting && !p->got_result && id == p->cur_id)
		on_result(tx, p, cqe);
	return 0;
}

/* Handle every CQE that is already there; returns the ids completed. */
static unsigned int drain(struct dmt_tx *tx, struct uring_priv *p)
{
	struct io_uring_cqe *cqes[URING_BATCH];
	unsigned int done = 0, n;

	do {
		n = io_uring_peek_batch_cqe(&p->ring, cqes, URING_BATCH);
		for (unsigned int i = 0; i < n; i++)
			done += on_cqe(tx, p, cqes[i]);
		io_uring_cq_advance(&p->ring, n);
	} while (n == URING_BATCH);
	return done;
}

static int uring_reap(struct dmt_tx *tx, int timeout_ms)
{
	struct uring_priv *p = tx->eng_priv;
	unsigned int done;

	done = drain(tx, p);
	if (!done && (IO_URING_READ_ONCE(*p->ring.sq.kflags) & IORING_SQ_TASKRUN)) {
		/* completions wait for us to enter the kernel (COOP_TASKRUN) */
		io_uring_get_events(&p->ring);
		done = drain(tx, p);
	}
	if (!done && timeout_ms > 0 && dmt_ztrack_outstanding(&tx->zt)) {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe_timeout(&p->ring, &cqe, &ts);

		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN)
			return dmt_err_set(&tx->err, ret, "io_uring wait: %s",
					   dmt_strerror(ret));
		done = drain(tx, p);
	}
	return (int)done;
}

static void prep(struct dmt_tx *tx, struct uring_priv *p,
		 struct io_uring_sqe *sqe, const struct iovec *iov,
		 unsigned int n, int flags)
{
	unsigned int zc = p->report_usage ? IORING_SEND_ZC_REPORT_USAGE : 0;

	if (n == 1) {
		size_t len = iov[0].iov_len < URING_MAX_LEN ? iov[0].iov_len :
							      URING_MAX_LEN;
		if (p->fixed)
			io_uring_prep_send_zc_fixed(sqe, tx->fd, iov[0].iov_base,
						    len, flags, zc, 0);
		else
			io_uring_prep_send_zc(sqe, tx->fd, iov[0].iov_base, len,
					      flags, zc);
	} else {
		p->msg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
					  .msg_iovlen = n };
		io_uring_prep_sendmsg_zc(sqe, tx->fd, &p->msg, (unsigned int)flags);
		sqe->ioprio |= (uint16_t)zc;
	}
	io_uring_sqe_set_data64(sqe, URING_TAG_SEND | p->cur_id);
}

/* Submit the prepared SQE and wait for its result CQE. */
static int submit_wait(struct dmt_tx *tx, struct uring_priv *p)
{
	struct io_uring_cqe *cqe;
	int ret;

	while (io_uring_sq_ready(&p->ring)) {
		tx->st.syscalls++;
		ret = io_uring_submit_and_wait(&p->ring, 1);
		if (ret >= 0 || !io_uring_sq_ready(&p->ring))
			break;
		if (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY) {
			drain(tx, p);	/* EBUSY: CQ overflow, make room */
			continue;
		}
		return ret;	/* not submitted: the caller discards it */
	}
	for (;;) {
		drain(tx, p);
		if (p->got_result)
			return 0;
		tx->st.syscalls++;
		ret = io_uring_wait_cqe(&p->ring, &cqe);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN)
			return ret;	/* should not happen; request in flight */
	}
}

static ssize_t uring_sendv(struct dmt_tx *tx, const struct iovec *iov,
			   unsigned int n, bool dontwait)
{
	struct uring_priv *p = tx->eng_priv;
	int flags = MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0);
	struct io_uring_sqe *sqe;
	int ret;

again:
	sqe = io_uring_get_sqe(&p->ring);
	if (!sqe)
		return -EBUSY;	/* cannot happen: we never leave SQEs behind */
	p->cur_id = tx->zt.next_id;
	p->cur_iov = iov;
	p->cur_n = n;
	p->waiting = true;
	p->got_result = false;
	p->early_notif = false;
	p->track_failed = false;
	prep(tx, p, sqe, iov, n, flags);
	ret = submit_wait(tx, p);
	p->waiting = false;
	if (ret < 0) {
		if (io_uring_sq_ready(&p->ring)) {
			/* never reached the kernel: make it a harmless NOP */
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, URING_TAG_NOP);
		}
		return dmt_err_set(&tx->err, ret, "io_uring submit: %s",
				   dmt_strerror(ret));
	}
	if (p->result == -EINVAL && p->report_usage && !p->usage_probed) {
		/* a kernel before 6.2 refuses the usage report flag */
		p->report_usage = false;
		goto again;
	}
	if (p->result > 0)
		p->usage_probed = true;
	if (p->result == -ENOMEM && !p->track_failed) {
		/* The kernel could not account the pages against
		 * RLIMIT_MEMLOCK: back-pressure like MSG_ZEROCOPY's ENOBUFS
		 * (reap, wait, retry); the send path gives up with ENOMEM. */
		tx->lock_err = -ENOMEM;
		return -ENOBUFS;
	}
	return p->result;
}

/*
 * Open a ring for SEND_ZC with the flags the engine uses; on failure say
 * why in one line. Shared by the engine and by doctor (dmt_uring_probe).
 */
static int ring_open(struct io_uring *ring, unsigned int depth, char *why,
		     size_t whylen)
{
	struct io_uring_params par = { .flags = IORING_SETUP_CQSIZE };
	struct io_uring_probe *probe;
	int ret;

	if (depth > 4096)
		depth = 4096;
	par.cq_entries = depth * 4 > URING_CQ_MIN ? depth * 4 : URING_CQ_MIN;
	/* Completions are posted when we next enter the kernel (which every
	 * send does) instead of interrupting the sender for each one: with
	 * many connections the cross-CPU kicks cost more than the sends.
	 * TASKRUN_FLAG tells a non-blocking reap when to enter. */
	par.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params(depth, ring, &par);
	if (ret == -EINVAL) { /* before 5.19 */
		memset(&par, 0, sizeof(par));
		par.flags = IORING_SETUP_CQSIZE;
		par.cq_entries = depth * 4 > URING_CQ_MIN ? depth * 4 : URING_CQ_MIN;
		ret = io_uring_queue_init_params(depth, ring, &par);
	}
	if (ret < 0) {
		snprintf(why, whylen, "io_uring unavailable: %s%s",
			 dmt_strerror(ret),
			 ret == -EPERM ? " (kernel.io_uring_disabled is set)" :
			 ret == -ENOSYS ? " (kernel built without io_uring)" :
			 ret == -ENOMEM ? " (locked-memory limit, ulimit -l / "
			 "RLIMIT_MEMLOCK, too low for the rings: raise it or "
			 "grant CAP_IPC_LOCK)" : "");
		return ret;
	}
	probe = io_uring_get_probe_ring(ring);
	if (!probe || !io_uring_opcode_supported(probe, IORING_OP_SEND_ZC) ||
	    !io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC)) {
		snprintf(why, whylen, "io_uring lacks SEND_ZC (needs Linux 6.0 "
			 "or newer)");
		io_uring_free_probe(probe);
		io_uring_queue_exit(ring);
		return -EOPNOTSUPP;
	}
	io_uring_free_probe(probe);
	return 0;
}

int dmt_uring_probe(char *why, size_t whylen)
{
	struct io_uring ring;
	int ret = ring_open(&ring, 2, why, whylen);

	if (ret == 0) {
		snprintf(why, whylen, "io_uring rings open and the kernel "
			 "offers SEND_ZC and SENDMSG_ZC");
		io_uring_queue_exit(&ring);
	}
	return ret;
}

static int uring_setup(struct dmt_tx *tx)
{
	unsigned int depth = URING_SQ_DEPTH;
	struct uring_priv *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(tx->reason, sizeof(tx->reason), "out of memory");
		return -ENOMEM;
	}
	ret = ring_open(&p->ring, depth, tx->reason, sizeof(tx->reason));
	if (ret < 0) {
		free(p);
		return ret;
	}
	p->report_usage = true;
	/* Register the CPU mapping once: single-segment sends then skip the
	 * per-request page pinning. Optional: without it SEND_ZC pins pages
	 * itself (e.g. above the 1 GiB limit). A registered buffer holds its
	 * pages against RLIMIT_MEMLOCK for the ring's life (and a ring's
	 * teardown runs late), so under a limit it is registered only when
	 * it takes at most half of it, leaving the rest to unregistered
	 * sends and to the user's other processes. */
	if (tx->buf->map && tx->buf->size && tx->buf->size <= (1UL << 30)) {
		struct iovec v = { .iov_base = tx->buf->map,
				   .iov_len = tx->buf->size };
		uint64_t lim = dmt_memlock_limit();

		if (lim == UINT64_MAX || tx->buf->size <= lim / 2)
			p->fixed = io_uring_register_buffers(&p->ring, &v, 1) == 0;
		if (!p->fixed && lim != UINT64_MAX)
			dmt_log(tx->ctx, DMT_LOG_INFO, "uring: the %zu KiB buffer "
				"is not registered (locked-memory limit %llu KiB): "
				"sends pin their pages one by one",
				tx->buf->size >> 10, (unsigned long long)lim >> 10);
	}
	tx->eng_priv = p;
	return 0;
}

static void uring_destroy(struct dmt_tx *tx)
{
	struct uring_priv *p = tx->eng_priv;

	if (!p)
		return;
	io_uring_queue_exit(&p->ring);
	free(p);
	tx->eng_priv = NULL;
}

/* A new buffer: drop the fixed registration of the old one and register
 * the new one when it qualifies (optional, as in setup). */
static int uring_set_buf(struct dmt_tx *tx, struct dmt_buf *buf)
{
	struct uring_priv *p = tx->eng_priv;

	if (p->fixed)
		io_uring_unregister_buffers(&p->ring);
	p->fixed = false;
	if (buf->map && buf->size && buf->size <= (1UL << 30)) {
		struct iovec v = { .iov_base = buf->map, .iov_len = buf->size };

		p->fixed = io_uring_register_buffers(&p->ring, &v, 1) == 0;
	}
	return 0;
}

static int uring_completion_fd(const struct dmt_tx *tx, short *events)
{
	const struct uring_priv *p = tx->eng_priv;

	*events = POLLIN;
	return p->ring.ring_fd;
}

const struct dmt_tx_engine dmt_engine_uring = {
	.id = DMT_ENGINE_URING,
	.tracks = true,
	.setup = uring_setup,
	.sendv = uring_sendv,
	.reap = uring_reap,
	.destroy = uring_destroy,
	.completion_fd = uring_completion_fd,
	.set_buf = uring_set_buf,
};
