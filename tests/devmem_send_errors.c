// SPDX-License-Identifier: MIT
/*
 * tier B: the devmem engine's sendmsg against the real kernel. With no
 * devmem NIC here, a real binding cannot exist, so the engine is driven
 * with a binding id the kernel does not know: the kernel answers EINVAL
 * (host-facts §3), the library turns it into a sentence, and no data and
 * no completion id are consumed. Also checks id 0 ("no dmabuf") succeeds
 * as an ordinary zerocopy send, which shows the cmsg is parsed.
 */
#include <arpa/inet.h>
#include <unistd.h>

#include "helpers.h"
#include "tx.h"
#include "uapi.h"

int main(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct t_sink sink = { .v = 0 };
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	struct dmt_seg seg = { 0, 4096 };
	int port = 0;
	ssize_t n;

	ctx = t_ctx();
	T_SKIP_IF(!dmt_ctx_has_op(ctx, DMT_NETDEV_CMD_BIND_TX), "this kernel has no "
		  "bind-tx operation, so it does not know the devmem TX cmsg "
		  "(EINVAL for every id); tier V kernel_ops covers such kernels");
	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &err);
	T_CHECK(buf, "%s", err.message);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_ZEROCOPY);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &opts, &err);
	T_CHECK(tx, "%s", err.message);

	/* Turn it into a devmem sender with a binding the kernel lacks. */
	tx->eng = &dmt_engine_devmem;
	tx->binding = 12345;
	tx->iov_base_addr = 0;
	n = dmt_tx_send(tx, &seg, 1);
	printf("unknown binding: %zd: %s\n", n, dmt_tx_last_error(tx)->message);
	T_CHECK(n == -EINVAL && errno == EINVAL, "expected EINVAL, got %zd", n);
	T_CHECK(strstr(dmt_tx_last_error(tx)->message, "binding 12345 is unknown"),
		"message: %s", dmt_tx_last_error(tx)->message);
	T_CHECK(tx->st.bytes == 0 && dmt_tx_outstanding(tx) == 0,
		"nothing queued, no id consumed");

	/* id 0 means "no dma-buf": an ordinary zerocopy send of host memory */
	tx->binding = 0;
	tx->iov_base_addr = (uintptr_t)dmt_buf_map(buf);
	n = dmt_tx_send(tx, &seg, 1);
	T_CHECK(n == 4096, "id 0 send: %zd %s", n, dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_flush(tx, 5000) == 0, "flush");
	/* The failed send consumed no id: the first good one had id 0 and
	 * exactly one id completed. */
	T_CHECK(tx->zt.completed == 1 && tx->zt.next_id == 1, "ids: %llu %u",
		(unsigned long long)tx->zt.completed, tx->zt.next_id);
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	T_CHECK(sink.got == 4096, "received %llu", sink.got);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	close(sink.fd);
	printf("devmem_send_errors: ok\n");
	return T_PASS;
}
