/* SPDX-License-Identifier: MIT */
/*
 * The uring engine's availability probe (tx_uring.c), on its own so that
 * doctor can ask it without the TX internals. Built only with liburing.
 */
#ifndef DMT_URING_PROBE_H
#define DMT_URING_PROBE_H

#include <stddef.h>

#ifdef DMT_HAVE_LIBURING
/* Can this process use io_uring SEND_ZC? 0, or -errno with why filled. */
int dmt_uring_probe(char *why, size_t whylen);
#endif

#endif
