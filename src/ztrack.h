/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy completion tracking: one record per send syscall (one
 * completion id), holding the buffer segments it covered. Completions are
 * inclusive id ranges with 32-bit wrap; records retire in order.
 * Also the error-queue completion parser. Pure, tier-A testable.
 */
#ifndef DMT_ZTRACK_H
#define DMT_ZTRACK_H

#include <sys/socket.h>

#include "internal.h"

struct dmt_zrec {
	uint32_t id;
	uint32_t nseg;
	uint64_t seg_start;	/* absolute index into the segment ring */
	bool done;
};

struct dmt_ztrack {
	struct dmt_zrec *rec;
	uint64_t rhead, rtail;	/* absolute indices, rtail - rhead records */
	size_t rmask;
	struct dmt_seg *seg;
	uint64_t shead, stail;
	size_t smask;
	uint32_t next_id;	/* id the kernel gives the next send */
	uint64_t completed;	/* ids completed */
	uint64_t copied;	/* of which with the COPIED flag */
	uint64_t copied_run;	/* ids completed with COPIED since the last
				 * one completed without */
	uint64_t notifications;	/* ranges received */
	uint64_t stale;		/* ids reported that were not outstanding */
};

int dmt_ztrack_init(struct dmt_ztrack *z, size_t nrec, size_t nseg);
void dmt_ztrack_fini(struct dmt_ztrack *z);
/* Record a send covering segs; returns its id or -ENOMEM. */
int64_t dmt_ztrack_add(struct dmt_ztrack *z, const struct dmt_seg *segs,
		       unsigned int nseg);
/* Apply the inclusive range [lo, hi]; returns the ids newly completed. */
unsigned int dmt_ztrack_complete(struct dmt_ztrack *z, uint32_t lo,
				 uint32_t hi, bool copied);
static inline unsigned int dmt_ztrack_outstanding(const struct dmt_ztrack *z)
{
	return (unsigned int)(z->rtail - z->rhead);
}
/* 1 when a send of nseg segments fits without growing the rings. */
static inline bool dmt_ztrack_room(const struct dmt_ztrack *z, unsigned int nseg)
{
	return z->rtail - z->rhead <= z->rmask &&
	       z->stail - z->shead + nseg <= z->smask + 1;
}
/* 1 if [off, off+len) overlaps a segment of an outstanding send. */
bool dmt_ztrack_busy(const struct dmt_ztrack *z, uint64_t off, uint64_t len);

/* Error-queue notification parsing. Returns 1 and fills lo/hi/copied for a
 * zero-copy completion, 0 for a message that is not one, -errno when the
 * queue reported a socket error (ee_errno), -EPROTO on MSG_CTRUNC. */
int dmt_zc_parse(const struct msghdr *msg, uint32_t *lo, uint32_t *hi,
		 bool *copied);

#endif
