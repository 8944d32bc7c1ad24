// SPDX-License-Identifier: MIT
/*
 * Sending a file: the file is read into one half of the buffer while the
 * other half is on the wire (double buffering). Each half is refilled only
 * when its last send has completed (dmt_tx_wait_region), so a zero-copy
 * engine never sees its bytes change under it.
 *
 *   example_send_file IPV4 PORT FILE [IFNAME]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devmemtcp.h>

#define HALF (1u << 20)

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	static unsigned char chunk[HALF];
	struct dmt_error err = { 0 };
	unsigned long long sent = 0;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int fd, ret = 1;

	if (argc < 4 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s IPV4 PORT FILE [IFNAME]\n", argv[0]);
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		goto out_fd;
	}
	buf = dmt_buf_new(DMT_BUF_UDMABUF, 2 * HALF, NULL, &err);
	if (!buf)
		buf = dmt_buf_new(DMT_BUF_HOST, 2 * HALF, NULL, &err);
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

	for (unsigned int half = 0;; half ^= 1) {
		struct dmt_seg seg = { .off = half * HALF };
		ssize_t n;

		do
			n = read(fd, chunk, HALF);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", argv[3], strerror(errno));
			goto out_tx;
		}
		if (n == 0)
			break;
		seg.len = (uint64_t)n;
		if (dmt_tx_wait_region(tx, seg.off, HALF, 5000) < 0)
			goto fail;
		if (dmt_buf_write(buf, seg.off, chunk, seg.len) < 0) {
			fprintf(stderr, "%s\n", dmt_buf_last_error(buf)->message);
			goto out_tx;
		}
		if (dmt_tx_send(tx, &seg, 1) < 0)
			goto fail;
		sent += seg.len;
	}
	if (dmt_tx_flush(tx, 5000) < 0)
		goto fail;
	printf("sent %llu bytes of %s\n", sent, argv[3]);
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
out_fd:
	close(fd);
	return ret;
}
