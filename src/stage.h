/* SPDX-License-Identifier: MIT */
/* Staging pipeline internals shared by stage.c and the staged TX engine. */
#ifndef DMT_STAGE_H
#define DMT_STAGE_H

#include <sys/types.h>
#include <sys/uio.h>

#include "buffer.h"

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

#endif
