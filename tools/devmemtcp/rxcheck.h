/* SPDX-License-Identifier: MIT */
/*
 * The server's check of what it received: the ncdevmem pattern over the
 * fragments dmt_rx lends (in host memory, or read back from the buffer,
 * sampled for large transfers: struct sampler), and the report of one
 * connection (configuration and result sections, summary line).
 */
#ifndef DMT_CLI_RXCHECK_H
#define DMT_CLI_RXCHECK_H

#include <devmemtcp.h>

#include "common.h"

struct rxcheck {
	struct pat pat;
	struct sampler sm;	/* which stream bytes are checked */
	bool checking;		/* -v given and --validate not off */
	uint64_t checked;	/* bytes compared with the pattern */
	unsigned char *tmp;	/* copy-out space for read-back checks */
	char err[600];
};

int rxcheck_init(struct rxcheck *k, unsigned int v, enum val_mode m,
		 bool have_size, uint64_t size);
void rxcheck_free(struct rxcheck *k);
/* Check the fragments f[0..n) of rx, stream bytes from pos on, where the
 * sampler selects them. 0, or -1 with k->err (a read-back failed). */
int rxcheck_frags(struct rxcheck *k, struct dmt_rx *rx, struct dmt_buf *buf,
		  uint64_t pos, const struct dmt_frag *f, unsigned int n);
/* At the end of the stream (copy and staged engines, where stream byte x
 * lies at x mod the buffer size): the last 64 MiB the ring still holds
 * that were not checked yet (no --size). 0 or -1 with k->err. */
int rxcheck_tail(struct rxcheck *k, struct dmt_buf *buf, uint64_t total);
/* The smallest mismatching offset (sampled checks are out of order). */
uint64_t rxcheck_first_bad(const struct rxcheck *k);

/* The configuration keys every client's report starts with. */
void report_config(struct out *o, const struct server_cfg *c,
		   const char *listen);
/* The result section and summary line of one connection; err: NULL when
 * it succeeded. Fills res (may be NULL). */
void report_result(struct out *o, const struct rxcheck *k,
		   struct xfer_result *res, uint64_t bytes, double secs,
		   const struct cpu_snap *cd, bool peer_closed, const char *err);

#endif
