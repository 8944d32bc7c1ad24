/* SPDX-License-Identifier: MIT */
/* Buffer object internals, shared with the providers (GPU ones included). */
#ifndef DMT_BUFFER_H
#define DMT_BUFFER_H

#include "internal.h"

struct dmt_buf;

/* Provider hooks. NULL read/write: memcpy through map with sync brackets. */
struct dmt_buf_ops {
	void (*destroy)(struct dmt_buf *b);
	int (*write)(struct dmt_buf *b, uint64_t off, const void *src,
		     size_t len);
	int (*read)(struct dmt_buf *b, uint64_t off, void *dst, size_t len);
};

struct dmt_buf {
	enum dmt_buf_kind kind;
	size_t size;
	int dmabuf_fd;		/* -1 for host memory */
	int memfd;		/* backing memfd (host, udmabuf), else -1 */
	void *map;		/* CPU mapping, NULL if none */
	size_t map_len;
	uint64_t dmabuf_off;	/* offset of the allocation in the dma-buf */
	uint64_t dmabuf_size;	/* the dma-buf's real size (lseek SEEK_END),
				 * which may exceed dmabuf_off + size (ROCm
				 * granule rounding, a larger import); 0:
				 * unknown or no dma-buf */
	int pin_state;		/* dmt_buf_pinnable(): 0 not probed, 1 yes, -1 no */
	const struct dmt_buf_ops *ops;
	void *priv;		/* provider state */
	struct dmt_error err;
};

/* GPU providers (gpu_cuda.c, gpu_rocm.c): fill b (size already page
 * rounded) or return -errno with e explaining. */
int dmt_cuda_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e);
int dmt_rocm_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e);

/*
 * Can the kernel pin the pages of the CPU mapping (get_user_pages), as
 * MSG_ZEROCOPY and io_uring SEND_ZC must? Not for dma-buf mappings that
 * are PFN maps (udmabuf and the system heap since Linux 6.12): their sends
 * fail with EFAULT. Probed once (vmsplice of one byte into a pipe takes
 * the same page references); when the probe cannot run, the rule decides:
 * a dma-buf mapping is not pinnable, host memory is. 1 yes, 0 no.
 */
int dmt_buf_pinnable(struct dmt_buf *b);

/* Range check shared by every user of (off, len) on a buffer. */
static inline bool dmt_buf_range_ok(const struct dmt_buf *b, uint64_t off,
				    uint64_t len)
{
	return off <= b->size && len <= b->size - off;
}

/* Bytes from the buffer's start to the end of its dma-buf that the NIC may
 * fill (RX fragments are bounded by this, not by the requested size). */
static inline uint64_t dmt_buf_dmabuf_span(const struct dmt_buf *b)
{
	if (b->dmabuf_size > b->dmabuf_off &&
	    b->dmabuf_size - b->dmabuf_off > b->size)
		return b->dmabuf_size - b->dmabuf_off;
	return b->size;
}

/* Bytes the library can read from the buffer's start: the dma-buf span for
 * providers that read through their runtime, the CPU mapping otherwise. */
uint64_t dmt_buf_read_span(const struct dmt_buf *b);
/* dmt_buf_read() up to dmt_buf_read_span() instead of the size (RX
 * fragments in the dma-buf beyond the requested size). */
int dmt_buf_read_any(struct dmt_buf *b, uint64_t off, void *dst, size_t len);
/* The real size of a dma-buf fd (lseek SEEK_END, position restored), or 0. */
uint64_t dmt_dmabuf_real_size(int fd);

#endif
