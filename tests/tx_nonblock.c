// SPDX-License-Identifier: MIT
/*
 * tier B: non-blocking use from the caller's own poll loop. The receiver
 * stalls first, so sends come back short or -EAGAIN; the loop waits on
 * dmt_tx_fd() for dmt_tx_poll_events(), reaps, and continues. The stream
 * must arrive complete and in order, and completions must all be reaped.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define V 251
#define TOTAL (32ull << 20)

int main(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct t_sink sink = { .v = V, .stall_ms = 300 };
	size_t L = (size_t)V * 1024;
	unsigned long long pos = 0, eagain = 0, shorts = 0, polls = 0;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	unsigned char *m;
	int port = 0;

	ctx = dmt_ctx_new(NULL, &err);
	T_SKIP_IF(!ctx, "no netdev family: %s", err.message);
	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	buf = dmt_buf_new(DMT_BUF_HOST, L, NULL, &err);
	T_CHECK(buf, "%s", err.message);
	m = dmt_buf_map(buf);
	for (size_t i = 0; i < L; i++)
		m[i] = t_pattern_byte(i, V);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_ZEROCOPY, .nonblock = 1);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &opts, &err);
	T_CHECK(tx, "%s", err.message);

	while (pos < TOTAL) {
		size_t off = (size_t)(pos % L), len = L - off;
		struct dmt_seg s;
		ssize_t n;

		if (len > TOTAL - pos)
			len = (size_t)(TOTAL - pos);
		s.off = off;
		s.len = len;
		n = dmt_tx_send(tx, &s, 1);
		if (n == -EAGAIN) {
			struct pollfd p = { .fd = dmt_tx_fd(tx),
					    .events = dmt_tx_poll_events(tx) };
			eagain++;
			T_CHECK(poll(&p, 1, 5000) >= 0, "poll");
			polls++;
			T_CHECK(dmt_tx_reap(tx) >= 0, "reap");
			continue;
		}
		T_CHECK(n > 0, "send: %zd %s", n, dmt_tx_last_error(tx)->message);
		if ((size_t)n < len)
			shorts++;
		pos += (unsigned long long)n;
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	printf("EAGAIN %llu, short sends %llu, polls %llu, received %llu\n",
	       eagain, shorts, polls, sink.got);
	T_CHECK(eagain + shorts > 0, "the stalled receiver never pushed back");
	T_CHECK(sink.got == TOTAL && sink.bad == 0, "got %llu bad %llu", sink.got,
		sink.bad);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	close(sink.fd);
	printf("tx_nonblock: ok\n");
	return T_PASS;
}
