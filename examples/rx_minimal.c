// SPDX-License-Identifier: MIT
/*
 * Minimal devmem TCP receive, the flow of the kernel's devmem.rst RX
 * example: a listener sets the NIC up (header split, RSS, a flow rule) and
 * binds a dma-buf to the RX queues; the accepted connection lends fragments
 * of that buffer, which are read and given back. Where devmem is
 * unavailable the library falls back (copy or staged) and says why; this
 * example prints that line.
 *
 *   example_rx_minimal PORT [IFNAME]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <devmemtcp.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct dmt_error err = { 0 };
	struct dmt_rx_listener *l;
	struct dmt_frag frags[64];
	unsigned long long total = 0;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_rx *rx;
	unsigned int n;
	ssize_t r = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [IFNAME]\n", argv[0]);
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));

	/* 1. A context owns the netlink socket, hence the binding (NULL
	 *    without the netdev family: the listener then falls back). */
	ctx = dmt_ctx_new(NULL, &err);
	/* 2. A dma-buf; udmabuf wraps host pages. Fall back to host memory. */
	buf = dmt_buf_new(DMT_BUF_UDMABUF, 64 << 20, NULL, &err);
	if (!buf)
		buf = dmt_buf_new(DMT_BUF_HOST, 4 << 20, NULL, &err);
	/* 3. Listen: NIC setup + bind-rx on IFNAME, undone by
	 *    dmt_rx_listener_free(). */
	DMT_OPTS(dmt_rx_listen_opts, lo, .ifname = argc > 2 ? argv[2] : NULL);
	l = buf ? dmt_rx_listen(ctx, buf, (struct sockaddr *)&a, sizeof(a), &lo,
				&err) : NULL;
	if (!l) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	printf("engine %s: %s\n", dmt_engine_name(dmt_rx_listener_engine(l)),
	       dmt_rx_listener_engine_reason(l));
	fflush(stdout);

	/* 4. One connection: fragments are lent; use them, give them back. */
	rx = dmt_rx_accept(l, NULL, NULL, &err);
	if (!rx) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	while ((r = dmt_rx_recv(rx, frags, 64, &n)) > 0) {
		total += (unsigned long long)r;	/* dmt_rx_gather() reads them */
		dmt_rx_release(rx, frags, n);
	}
	if (r < 0)
		fprintf(stderr, "%s\n", dmt_rx_last_error(rx)->message);
	printf("received %llu bytes\n", total);
	dmt_rx_free(rx);
out:
	dmt_rx_listener_free(l);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return r != 0;
}
