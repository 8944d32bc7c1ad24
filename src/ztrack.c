// SPDX-License-Identifier: MIT
/* Completion tracker and cmsg helpers for zero-copy sends. */
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "uapi.h"
#include "ztrack.h"

static size_t pow2(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int dmt_ztrack_init(struct dmt_ztrack *z, size_t nrec, size_t nseg)
{
	memset(z, 0, sizeof(*z));
	nrec = pow2(nrec);
	nseg = pow2(nseg);
	z->rec = calloc(nrec, sizeof(*z->rec));
	z->seg = calloc(nseg, sizeof(*z->seg));
	if (!z->rec || !z->seg) {
		dmt_ztrack_fini(z);
		return -ENOMEM;
	}
	z->rmask = nrec - 1;
	z->smask = nseg - 1;
	return 0;
}

void dmt_ztrack_fini(struct dmt_ztrack *z)
{
	free(z->rec);
	free(z->seg);
	z->rec = NULL;
	z->seg = NULL;
}

/* Grow a ring indexed by absolute positions: element i moves to i & newmask. */
static int grow(void **ring, size_t *mask, uint64_t head, uint64_t tail,
		size_t elsz)
{
	size_t ncap = (*mask + 1) * 2;
	char *n = calloc(ncap, elsz);
	char *o = *ring;

	if (!n)
		return -ENOMEM;
	for (uint64_t i = head; i < tail; i++)
		memcpy(n + (i & (ncap - 1)) * elsz, o + (i & *mask) * elsz, elsz);
	free(o);
	*ring = n;
	*mask = ncap - 1;
	return 0;
}

int64_t dmt_ztrack_add(struct dmt_ztrack *z, const struct dmt_seg *segs,
		       unsigned int nseg)
{
	struct dmt_zrec *r;

	while (z->rtail - z->rhead > z->rmask)
		if (grow((void **)&z->rec, &z->rmask, z->rhead, z->rtail,
			 sizeof(*z->rec)))
			return -ENOMEM;
	while (z->stail - z->shead + nseg > z->smask + 1)
		if (grow((void **)&z->seg, &z->smask, z->shead, z->stail,
			 sizeof(*z->seg)))
			return -ENOMEM;
	r = &z->rec[z->rtail & z->rmask];
	r->id = z->next_id++;
	r->nseg = nseg;
	r->seg_start = z->stail;
	r->done = false;
	for (unsigned int i = 0; i < nseg; i++)
		z->seg[(z->stail + i) & z->smask] = segs[i];
	z->stail += nseg;
	z->rtail++;
	return r->id;
}

unsigned int dmt_ztrack_complete(struct dmt_ztrack *z, uint32_t lo,
				 uint32_t hi, bool copied)
{
	uint64_t n = dmt_ztrack_outstanding(z);
	uint32_t head_id, off_lo, off_hi, span;
	unsigned int newly = 0;

	z->notifications++;
	span = hi - lo + 1; /* u32 arithmetic: wrap-safe */
	if (n == 0) {
		z->stale += span;
		return 0;
	}
	head_id = z->rec[z->rhead & z->rmask].id;
	off_lo = lo - head_id;
	off_hi = hi - head_id;
	if (off_lo > off_hi) /* range starts before head: clip to head */
		off_lo = 0;
	for (uint64_t k = off_lo; k <= off_hi && k < n; k++) {
		struct dmt_zrec *r = &z->rec[(z->rhead + k) & z->rmask];
		if (!r->done) {
			r->done = true;
			newly++;
		}
	}
	z->stale += span - newly;
	z->completed += newly;
	if (copied) {
		z->copied += newly;
		z->copied_run += newly;
	} else if (newly) {
		z->copied_run = 0;
	}
	while (z->rhead < z->rtail && z->rec[z->rhead & z->rmask].done) {
		struct dmt_zrec *r = &z->rec[z->rhead & z->rmask];
		z->shead = r->seg_start + r->nseg;
		z->rhead++;
	}
	return newly;
}

bool dmt_ztrack_busy(const struct dmt_ztrack *z, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;

	for (uint64_t r = z->rhead; r < z->rtail; r++) {
		const struct dmt_zrec *rec = &z->rec[r & z->rmask];
		if (rec->done)
			continue;
		for (uint32_t i = 0; i < rec->nseg; i++) {
			const struct dmt_seg *s =
				&z->seg[(rec->seg_start + i) & z->smask];
			if (s->off < end && off < s->off + s->len)
				return true;
		}
	}
	return false;
}

int dmt_zc_parse(const struct msghdr *msg, uint32_t *lo, uint32_t *hi,
		 bool *copied)
{
	const struct cmsghdr *cm;

	if (msg->msg_flags & MSG_CTRUNC)
		return -EPROTO;
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (cm = CMSG_FIRSTHDR((struct msghdr *)msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, (struct cmsghdr *)cm)) {
		size_t room = msg->msg_controllen -
			      (size_t)((const char *)cm - (const char *)msg->msg_control);
		struct sock_extended_err ee;

		/* hostile bytes: a cmsg must fit in what was received */
		if (cm->cmsg_len < sizeof(*cm) || cm->cmsg_len > room)
			return -EPROTO;
		if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == SOL_IPV6 &&
		       cm->cmsg_type == IPV6_RECVERR)))
			continue;
		if (cm->cmsg_len < CMSG_LEN(sizeof(ee)))
			return -EPROTO;
		memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
		/* an errno the kernel cannot send is malformed, not -errno */
		if (ee.ee_errno > 4095)
			return -EPROTO;
		if (ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY)
			return ee.ee_errno ? -(int)ee.ee_errno : 0;
		if (ee.ee_errno)
			return -(int)ee.ee_errno;
		*lo = ee.ee_info;
		*hi = ee.ee_data;
		*copied = ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED;
		return 1;
	}
	return 0;
}
