// SPDX-License-Identifier: MIT
/*
 * Streaming through a ring of regions: the buffer is cut into NREG
 * regions; the producer fills region k % NREG only once the kernel is done
 * with what was last sent from it (dmt_tx_wait_region), sends it, and
 * moves on, so filling overlaps sending and nothing is rewritten while
 * the NIC may still read it. The data is the ncdevmem pattern of modulus
 * 251 (`devmemtcp server -v 251` checks it).
 *
 *   example_tx_ring IPV4 PORT BYTES [IFNAME]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <devmemtcp.h>

#define NREG 8
#define REG (256u << 10)

static unsigned char pattern(unsigned long long pos)
{
	unsigned int s = (unsigned int)((pos + 1) % 251);

	return s ? (unsigned char)s : '\n';
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	static unsigned char chunk[REG];
	unsigned long long total, pos = 0;
	struct dmt_error err = { 0 };
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int ret = 1;

	if (argc < 4 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s IPV4 PORT BYTES [IFNAME]\n", argv[0]);
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	total = strtoull(argv[3], NULL, 0);

	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	buf = dmt_buf_new(DMT_BUF_UDMABUF, NREG * REG, NULL, &err);
	if (!buf)
		buf = dmt_buf_new(DMT_BUF_HOST, NREG * REG, NULL, &err);
	if (!buf) {
		fprintf(stderr, "%s\n", err.message);
		goto out_ctx;
	}
	DMT_OPTS(dmt_tx_opts, opts, .ifname = argc > 4 ? argv[4] : NULL);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst),
			    NULL, 0, &opts, &err);
	if (!tx) {
		fprintf(stderr, "%s\n", err.message);
		goto out_buf;
	}
	printf("engine %s: %s\n", dmt_engine_name(dmt_tx_engine(tx)),
	       dmt_tx_engine_reason(tx));

	for (unsigned long long k = 0; pos < total; k++) {
		struct dmt_seg seg = { .off = (k % NREG) * REG, .len = REG };

		if (seg.len > total - pos)
			seg.len = total - pos;
		/* the region's previous send must be complete before rewriting */
		if (dmt_tx_wait_region(tx, seg.off, REG, 5000) < 0)
			goto fail;
		for (size_t i = 0; i < seg.len; i++)
			chunk[i] = pattern(pos + i);
		if (dmt_buf_write(buf, seg.off, chunk, seg.len) < 0) {
			fprintf(stderr, "%s\n", dmt_buf_last_error(buf)->message);
			goto out_tx;
		}
		if (dmt_tx_send(tx, &seg, 1) < 0)
			goto fail;
		pos += seg.len;
	}
	if (dmt_tx_flush(tx, 5000) < 0)
		goto fail;
	printf("sent %llu bytes through %d regions of %u KiB\n", pos, NREG,
	       REG >> 10);
	ret = 0;
	goto out_tx;
fail:
	fprintf(stderr, "%s\n", dmt_tx_last_error(tx)->message);
out_tx:
	dmt_tx_free(tx);
out_buf:
	dmt_buf_free(buf);
out_ctx:
	dmt_ctx_free(ctx);
	return ret;
}
