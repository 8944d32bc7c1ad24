// SPDX-License-Identifier: MIT
/*
 * Receive with gather: the stream arrives as fragments of the receive
 * buffer (devmem fragments scattered over the dma-buf, or the copy
 * engine's ring); dmt_rx_gather_buf() copies each batch, in stream order,
 * into a second buffer, which could be GPU memory just as well, and the
 * fragments are given back at once so the receive buffer never fills.
 * Here the gathered buffer is written to OUTFILE whenever it is full.
 *
 *   example_rx_gather PORT OUTFILE    (copy engine; listens on 127.0.0.1)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#define GATHER (4u << 20)

static int flush_out(struct dmt_buf *g, size_t len, int out)
{
	static unsigned char tmp[GATHER];

	if (dmt_buf_read(g, 0, tmp, len) < 0)
		return -1;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(out, tmp + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct dmt_buf *rbuf = NULL, *gbuf = NULL;
	unsigned long long total = 0;
	struct dmt_frag frags[256];
	struct dmt_error err;
	struct dmt_rx *rx = NULL;
	struct dmt_ctx *ctx;
	struct dmt_rx_listener *l = NULL;
	int out, ret = 1;
	size_t fill = 0;
	unsigned int n;
	ssize_t r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PORT OUTFILE\n", argv[0]);
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	rbuf = dmt_buf_new(DMT_BUF_HOST, 4u << 20, NULL, &err);
	if (rbuf)
		gbuf = dmt_buf_new(DMT_BUF_HOST, GATHER, NULL, &err);
	if (!rbuf || !gbuf) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	{
		DMT_OPTS(dmt_rx_listen_opts, lo, .engine = DMT_ENGINE_COPY);

		l = dmt_rx_listen(ctx, rbuf, (struct sockaddr *)&a, sizeof(a),
				  &lo, &err);
	}
	if (!l) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	printf("listening\n");
	fflush(stdout);
	rx = dmt_rx_accept(l, NULL, NULL, &err);
	if (!rx) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	printf("engine %s: %s\n", dmt_engine_name(dmt_rx_engine(rx)),
	       dmt_rx_engine_reason(rx));
	while ((r = dmt_rx_recv(rx, frags, 256, &n)) > 0) {
		if (fill + (size_t)r > GATHER) {	/* full: hand it on */
			if (flush_out(gbuf, fill, out) < 0) {
				perror("write");
				goto out;
			}
			fill = 0;
		}
		if (dmt_rx_gather_buf(rx, frags, n, gbuf, fill) != r ||
		    dmt_rx_release(rx, frags, n) < 0) {
			fprintf(stderr, "%s\n", dmt_rx_last_error(rx)->message);
			goto out;
		}
		fill += (size_t)r;
		total += (unsigned long long)r;
	}
	if (r < 0) {
		fprintf(stderr, "%s\n", dmt_rx_last_error(rx)->message);
		goto out;
	}
	if (flush_out(gbuf, fill, out) < 0) {
		perror("write");
		goto out;
	}
	printf("received %llu bytes\n", total);
	ret = 0;
out:
	dmt_rx_free(rx);
	dmt_rx_listener_free(l);
	dmt_buf_free(gbuf);
	dmt_buf_free(rbuf);
	dmt_ctx_free(ctx);
	if (close(out) < 0)
		ret = 1;
	return ret;
}
