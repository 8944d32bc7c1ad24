// SPDX-License-Identifier: MIT
/*
 * rx_minimal: receive one TCP stream into device memory with libdevmemtcp.
 *
 *   rx_minimal IFNAME PORT     devmem RX on IFNAME (root, a devmem NIC,
 *                              udmabuf); falls back to the copy engine
 *   rx_minimal - PORT          copy engine only (runs anywhere)
 *
 * Steps: NIC setup (header split, RSS, flow rule) + bind-rx, accept,
 * receive fragments, look at them (here: a checksum through gather),
 * give the tokens back, undo the NIC setup.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>

#include <devmemtcp.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct dmt_nic_setup *setup = NULL;
	struct dmt_frag frags[256];
	static unsigned char tmp[1 << 20];
	unsigned long long total = 0, sum = 0;
	struct dmt_buf *buf = NULL;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_rx *rx;
	unsigned int n;
	int lfd, one = 1;
	ssize_t r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IFNAME|- PORT\n", argv[0]);
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	/* 1. memory to receive into: a dma-buf if possible */
	if (strcmp(argv[1], "-"))
		buf = dmt_buf_new(DMT_BUF_UDMABUF, 64 << 20, NULL, &err);
	if (buf) {
		/* 2. NIC setup + bind-rx, undone by dmt_nic_setup_free() */
		DMT_OPTS(dmt_nic_setup_opts, so, .port = ntohs(a.sin_port));

		setup = dmt_nic_setup_new(ctx, (int)if_nametoindex(argv[1]), &so,
					  &err);
		if (setup && dmt_nic_setup_apply(setup, buf) < 0) {
			fprintf(stderr, "setup: %s\n",
				dmt_nic_setup_last_error(setup)->message);
			dmt_nic_setup_free(setup);
			setup = NULL;
		}
		printf("%s", setup ? dmt_nic_setup_summary(setup) : "");
	} else {
		buf = dmt_buf_new(DMT_BUF_HOST, 4 << 20, NULL, &err);
	}
	if (!buf) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	/* 3. accept one connection and receive on it */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0) {
		perror("listen");
		return 1;
	}
	{
		DMT_OPTS(dmt_rx_opts, ro,
			 .binding_id = dmt_nic_setup_binding_id(setup),
			 .no_binding_reason = setup ? NULL : "NIC setup failed");

		rx = dmt_rx_accept(ctx, buf, lfd, &ro, &err);
	}
	if (!rx) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	printf("engine %s: %s\n", dmt_engine_name(dmt_rx_engine(rx)),
	       dmt_rx_engine_reason(rx));
	/* 4. fragments are lent: use them, then give them back */
	while ((r = dmt_rx_recv(rx, frags, 256, &n)) > 0) {
		if (dmt_rx_gather(rx, frags, n, tmp, sizeof(tmp)) == r)
			for (ssize_t i = 0; i < r; i++)
				sum += tmp[i];
		if (dmt_rx_release(rx, frags, n) < 0)
			fprintf(stderr, "%s\n", dmt_rx_last_error(rx)->message);
		total += (unsigned long long)r;
	}
	if (r < 0)
		fprintf(stderr, "%s\n", dmt_rx_last_error(rx)->message);
	printf("%llu bytes, byte sum %llu\n", total, sum);
	dmt_rx_free(rx);
	close(lfd);
	/* 5. unbind and restore the NIC */
	dmt_nic_setup_free(setup);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return r < 0;
}
