// SPDX-License-Identifier: MIT
/*
 * tier C: real devmem TX. Needs a NIC whose driver has netmem TX, a dma-buf
 * exporter (udmabuf or a DMA heap) and a receiver on a peer host:
 *   DMT_TEST_IFNAME=eth1 DMT_TEST_PEER=192.0.2.2 DMT_TEST_PEER_PORT=5201
 * On the peer, before running: socat -u TCP-LISTEN:5201,reuseaddr OPEN:/tmp/rx,creat
 * (or 'devmemtcp server -p 5201 -v 251 --size 67108864').
 * Checks: the devmem engine is chosen, 64 MiB are sent in -z 3-like odd
 * segments, every completion arrives and none is COPIED (real zero-copy).
 */
#include <arpa/inet.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define V 251

int main(void)
{
	const char *ifn = getenv("DMT_TEST_IFNAME");
	const char *peer = getenv("DMT_TEST_PEER");
	const char *port = getenv("DMT_TEST_PEER_PORT");
	struct sockaddr_in dst = { .sin_family = AF_INET };
	size_t L = (size_t)V * 4096;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	unsigned char *m;

	T_SKIP_IF(!ifn || !peer, "devmem hardware test: set DMT_TEST_IFNAME "
		  "(a NIC with netmem TX: mlx5, bnxt_en, gve, fbnic) and "
		  "DMT_TEST_PEER (an IPv4 receiver, see the file header)");
	T_CHECK(inet_pton(AF_INET, peer, &dst.sin_addr) == 1, "DMT_TEST_PEER");
	dst.sin_port = htons((uint16_t)(port ? atoi(port) : 5201));
	ctx = dmt_ctx_new(NULL, &err);
	T_CHECK(ctx, "%s", err.message);
	buf = dmt_buf_new(DMT_BUF_UDMABUF, L, NULL, &err);
	if (!buf)
		buf = dmt_buf_new(DMT_BUF_DMAHEAP, L, NULL, &err);
	T_SKIP_IF(!buf, "no dma-buf exporter: %s", err.message);
	m = malloc(L);
	t_pattern_fill(m, L, V);
	T_CHECK(dmt_buf_write(buf, 0, m, L) == 0, "fill");
	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_DEVMEM, .ifname = ifn);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &opts, &err);
	T_CHECK(tx, "devmem connect: %s", err.message);
	printf("engine %s: %s\n", dmt_engine_name(dmt_tx_engine(tx)),
	       dmt_tx_engine_reason(tx));
	for (unsigned long long pos = 0; pos < (64ull << 20);) {
		struct dmt_seg s[3];
		size_t off = (size_t)(pos % L);
		unsigned int n = 0;
		uint64_t chunk = 0;

		/* three odd-sized segments per send, as ncdevmem -z 3 drifts */
		while (n < 3 && off < L) {
			size_t len = 3 * 4096 + 1;
			if (len > L - off)
				len = L - off;
			s[n].off = off;
			s[n].len = len;
			off += len;
			chunk += len;
			n++;
		}
		T_CHECK(dmt_tx_send(tx, s, n) == (ssize_t)chunk, "send: %s",
			dmt_tx_last_error(tx)->message);
		pos += chunk;
	}
	T_CHECK(dmt_tx_flush(tx, 30000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_zerocopy_verdict(tx) == 1, "completions were COPIED: "
		"not real device-memory transmission");
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	free(m);
	printf("tx_devmem_hw: ok (verify the peer's data with -v %d)\n", V);
	return T_PASS;
}
