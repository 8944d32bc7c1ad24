// SPDX-License-Identifier: MIT
/*
 * Minimal devmem TCP transmit, the flow of the kernel's devmem.rst TX
 * example: get a dma-buf, bind it for TX on the egress device, send
 * (offset, length) segments of it, wait for the completions before reusing
 * the memory. Where devmem is unavailable the library falls back and says
 * why; this example prints that line.
 *
 *   example_tx_minimal 198.18.0.2 5201 [ifname]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devmemtcp.h>

int main(int argc, char **argv)
{
	struct dmt_error err = { 0 };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	const char msg[] = "hello from device memory\n";
	ssize_t n;
	int ret = 1;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s IPV4 PORT [IFNAME]\n", argv[0]);
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));

	/* 1. A context owns the netlink socket, hence the binding. */
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	/* 2. A dma-buf; udmabuf wraps host pages. Fall back to host memory. */
	buf = dmt_buf_new(DMT_BUF_UDMABUF, 1 << 20, NULL, &err);
	if (!buf) {
		fprintf(stderr, "note: %s\n", err.message);
		buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &err);
		if (!buf) {
			fprintf(stderr, "%s\n", err.message);
			goto out_ctx;
		}
	}
	/* 3. Fill it (CPU access is bracketed with DMA_BUF_IOCTL_SYNC). */
	if (dmt_buf_write(buf, 0, msg, sizeof(msg) - 1) < 0)
		goto out_buf;

	/* 4. Connect: bind-tx on the egress device, SO_ZEROCOPY, connect. */
	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_AUTO,
		 .ifname = argc > 3 ? argv[3] : NULL);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst),
			    NULL, 0, &opts, &err);
	if (!tx) {
		fprintf(stderr, "%s\n", err.message);
		goto out_buf;
	}
	printf("engine %s: %s\n", dmt_engine_name(dmt_tx_engine(tx)),
	       dmt_tx_engine_reason(tx));

	/* 5. Send bytes [0, len) of the buffer: iov_base is an offset. */
	struct dmt_seg seg = { .off = 0, .len = sizeof(msg) - 1 };
	n = dmt_tx_send(tx, &seg, 1);
	if (n < 0) {
		fprintf(stderr, "%s\n", dmt_tx_last_error(tx)->message);
		goto out_tx;
	}
	/* 6. The region may be rewritten only after its completion. */
	if (dmt_tx_wait_region(tx, 0, seg.len, 5000) < 0) {
		fprintf(stderr, "%s\n", dmt_tx_last_error(tx)->message);
		goto out_tx;
	}
	printf("sent %zd bytes\n", n);
	ret = 0;
out_tx:
	dmt_tx_free(tx);
out_buf:
	dmt_buf_free(buf);
out_ctx:
	dmt_ctx_free(ctx); /* releases the binding */
	return ret;
}
