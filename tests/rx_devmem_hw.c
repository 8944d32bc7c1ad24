// SPDX-License-Identifier: MIT
/*
 * tier C: real devmem RX, the checks of the kernel's devmem.py. Needs a NIC
 * with devmem RX (mlx5, bnxt_en, gve, fbnic), header split and ntuple
 * rules, a dma-buf exporter (udmabuf or a DMA heap), and a peer host that
 * can run socat. Environment (tests/README.md):
 *   DMT_TEST_IFNAME    the NIC, e.g. eth1
 *   DMT_TEST_ADDR      this host's IPv4 address on it
 *   DMT_TEST_PEER      the peer's IPv4 address
 *   DMT_TEST_PEER_CMD  how to run a command there (default "ssh PEER")
 * Disruptive: changes header split, RSS and ntuple rules of the NIC while it
 * runs, and restores them (devmemtcp setup --restore IFNAME after a crash).
 * Checks: rx with validation (1 MiB of the -v 7 pattern from the peer,
 * 5-tuple rule); header-split sweep: single messages of 21 sizes from 1
 * to 8192 bytes with no linear data; bind-rx with an empty queue list fails; bind-rx with
 * header split off fails.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ethtool.h"
#include "helpers.h"
#include "netdev.h"
#include "rx.h"

static const char *ifn, *addr, *peer, *pcmd;
static struct dmt_ctx *ctx;
static struct dmt_buf *buf;
static int ifx;
static char defcmd[128];

static pid_t peer_send(const char *pipeline, int port)
{
	char cmd[1024];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s \"%s | socat -u - TCP4:%s:%d,bind=%s:%d\"",
		 pcmd, pipeline, addr, port, peer, port);
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (!pid) {
		sleep(1);	/* let the listener come up */
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Receive one connection on port through a fresh setup; returns bytes,
 * validating the -v 7 pattern when v7, with no linear data when strict. */
static size_t rx_once(int port, const char *pipeline, bool v7, bool strict)
{
	struct sockaddr_in srv = { .sin_family = AF_INET },
			   cli = { .sin_family = AF_INET };
	DMT_OPTS(dmt_nic_setup_opts, so, .port = (uint16_t)port,
		 .client_port = (uint16_t)port, .server = (struct sockaddr *)&srv,
		 .server_len = sizeof(srv), .client = (struct sockaddr *)&cli,
		 .client_len = sizeof(cli));
	static unsigned char tmp[1 << 20];
	struct dmt_nic_setup *s;
	struct dmt_frag f[256];
	struct dmt_error e;
	struct dmt_rx *rx;
	unsigned int n, seed = 1, bad = 0;
	size_t total = 0;
	int lfd, st, one = 1;
	ssize_t r;
	pid_t pid;

	inet_pton(AF_INET, addr, &srv.sin_addr);
	inet_pton(AF_INET, peer, &cli.sin_addr);
	srv.sin_port = htons((uint16_t)port);
	s = dmt_nic_setup_new(ctx, ifx, &so, &e);
	T_CHECK(s, "%s", e.message);
	T_CHECK(dmt_nic_setup_apply(s, buf) == 0, "setup: %s",
		dmt_nic_setup_last_error(s)->message);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	T_CHECK(bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) == 0 &&
		listen(lfd, 1) == 0, "listen");
	pid = peer_send(pipeline, port);
	{
		DMT_OPTS(dmt_rx_opts, ro, .engine = DMT_ENGINE_DEVMEM,
			 .binding_id = dmt_nic_setup_binding_id(s),
			 .no_linear = strict);
		rx = dmt_rx_accept(ctx, buf, lfd, &ro, &e);
		T_CHECK(rx, "rx: %s", e.message);
	}
	while ((r = dmt_rx_recv(rx, f, 256, &n)) > 0) {
		T_CHECK(dmt_rx_gather(rx, f, n, tmp, sizeof(tmp)) == r, "gather");
		for (ssize_t i = 0; v7 && i < r; i++) {
			unsigned char want = seed ? (unsigned char)seed : '\n';

			bad += tmp[i] != want;
			if (++seed == 7)
				seed = 0;
		}
		T_CHECK(dmt_rx_release(rx, f, n) >= 0, "release: %s",
			dmt_rx_last_error(rx)->message);
		total += (size_t)r;
	}
	T_CHECK(r == 0, "recv: %s", dmt_rx_last_error(rx)->message);
	T_CHECK(!bad, "%u bytes differ from the pattern", bad);
	{
		DMT_OPTS(dmt_rx_stats, st2);
		dmt_rx_get_stats(rx, &st2);
		T_CHECK(st2.devmem_bytes > 0 || total == 0, "no devmem bytes");
		T_CHECK(!strict || !st2.linear_bytes, "linear bytes");
	}
	dmt_rx_free(rx);
	close(lfd);
	T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		WEXITSTATUS(st) == 0, "peer sender failed");
	dmt_nic_setup_free(s);
	return total;
}

int main(void)
{
	struct dmt_error e;
	struct dmt_rings r0;
	int q, ret;

	ifn = getenv("DMT_TEST_IFNAME");
	addr = getenv("DMT_TEST_ADDR");
	peer = getenv("DMT_TEST_PEER");
	pcmd = getenv("DMT_TEST_PEER_CMD");
	T_SKIP_IF(!ifn || !addr || !peer, "devmem RX hardware test: set "
		  "DMT_TEST_IFNAME (a NIC with devmem RX: mlx5, bnxt_en, gve, "
		  "fbnic), DMT_TEST_ADDR, DMT_TEST_PEER and optionally "
		  "DMT_TEST_PEER_CMD (see tests/README.md)");
	t_require_root();
	if (!pcmd) {
		snprintf(defcmd, sizeof(defcmd), "ssh %s", peer);
		pcmd = defcmd;
	}
	ifx = (int)if_nametoindex(ifn);
	T_CHECK(ifx > 0, "no interface %s", ifn);
	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx, "%s", e.message);
	buf = dmt_buf_new(DMT_BUF_UDMABUF, 64 << 20, NULL, &e);
	if (!buf)
		buf = dmt_buf_new(DMT_BUF_DMAHEAP, 64 << 20, NULL, &e);
	T_SKIP_IF(!buf, "no dma-buf exporter: %s", e.message);
	q = dmt_ethtool_rx_queues(ctx, ifx);
	T_CHECK(q >= 2, "%s needs 2+ RX queues", ifn);

	/* empty queue list: the kernel must refuse it (sent raw) */
	{
		char b[DMT_NL_BUFSZ] __attribute__((aligned(8)));
		struct nlmsghdr *nlh = dmt_netdev_build_bind(b, ctx->netdev.family,
			true, (uint32_t)ifx, (uint32_t)dmt_buf_dmabuf_fd(buf), NULL, 0);

		ret = dmt_nl_talk(&ctx->netdev, nlh, NULL, NULL, &ctx->err);
		T_CHECK(ret < 0, "bind-rx with no queues succeeded");
		printf("empty queue list: %s\n", dmt_strerror(ret));
	}
	/* header split off: bind-rx must fail */
	T_CHECK(dmt_ethtool_rings_get(ctx, ifx, &r0) == 0, "rings");
	T_CHECK(dmt_ethtool_rings_set_hds(ctx, ifx,
		DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED, -1) == 0, "hds off: %s",
		ctx->err.message);
	{
		uint32_t qq = (uint32_t)q - 1, id;

		ret = dmt_bind_rx(ctx, ifx, dmt_buf_dmabuf_fd(buf), &qq, 1, &id);
		printf("bind with header split off: %s\n",
		       dmt_ctx_last_error(ctx)->message);
	}
	dmt_ethtool_rings_set_hds(ctx, ifx, r0.tcp_data_split,
				  r0.has_hds_thresh ? (int64_t)r0.hds_thresh : -1);
	T_CHECK(ret < 0, "bind-rx with header split off succeeded");

	/* rx with validation */
	T_CHECK(rx_once(5201, "yes \\$(printf '\\\\x01\\\\x02\\\\x03\\\\x04"
			"\\\\x05\\\\x06') | head -c 1048576", true, false) == 1048576,
		"1 MiB expected");
	printf("rx with validation: 1048576 bytes ok\n");
	/* header-split sweep: no linear data for any size */
	{
		static const int sizes[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 511,
					     1000, 1024, 1448, 1500, 2048, 4095,
					     4096, 4097, 8191, 8192 };

		for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
			char p[128];

			snprintf(p, sizeof(p), "head -c %d /dev/zero", sizes[i]);
			T_CHECK(rx_once(5202, p, false, true) == (size_t)sizes[i],
				"size %d", sizes[i]);
		}
	}
	printf("header-split sweep: ok\n");
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	printf("rx_devmem_hw: ok\n");
	return T_PASS;
}
