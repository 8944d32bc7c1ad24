// SPDX-License-Identifier: MIT
/*
 * tier B: non-blocking use from the caller's own poll loop, for each
 * engine with completions (zerocopy; uring when built). The receiver stalls
 * first, so sends come back short or -EAGAIN; the loop polls dmt_tx_fd()
 * for dmt_tx_poll_events() and dmt_tx_completion_fd() (uring's ring; -1
 * for zerocopy, whose completions raise POLLERR on the socket) for its
 * events, reaps, and continues. The stream must arrive complete and in
 * order, the completions must all be reaped, and after the last send the
 * completions alone (POLLERR asked for nothing, or the ring) must wake the
 * loop until nothing is outstanding.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define V 251
#define TOTAL (32ull << 20)

static void run(struct dmt_ctx *ctx, enum dmt_engine eng)
{
	struct t_sink sink = { .v = V, .stall_ms = 300 };
	size_t L = (size_t)V * 1024;
	unsigned long long pos = 0, eagain = 0, shorts = 0, wakeups = 0;
	struct dmt_error err;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	short cev;
	int port = 0, cfd;

	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	buf = dmt_buf_new(DMT_BUF_HOST, L, NULL, &err);
	T_CHECK(buf, "%s", err.message);
	t_pattern_fill(dmt_buf_map(buf), L, V);
	DMT_OPTS(dmt_tx_opts, opts, .engine = eng, .nonblock = 1);
	tx = t_tx_loopback(ctx, buf, port, &opts, &err);
	T_CHECK(tx, "%s", err.message);
	cfd = dmt_tx_completion_fd(tx, &cev);
	T_CHECK(eng == DMT_ENGINE_URING ? cfd >= 0 && cev == POLLIN :
		cfd == -1 && cev == 0, "engine %s: completion fd %d events %d",
		dmt_engine_name(eng), cfd, cev);

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
			struct pollfd p[2] = {
				{ .fd = dmt_tx_fd(tx), .events = dmt_tx_poll_events(tx) },
				{ .fd = cfd, .events = cev },
			};
			eagain++;
			T_CHECK(poll(p, cfd >= 0 ? 2 : 1, 5000) > 0,
				"poll timed out: nothing woke the loop");
			T_CHECK(dmt_tx_reap(tx) >= 0, "reap");
			continue;
		}
		T_CHECK(n > 0, "send: %zd %s", n, dmt_tx_last_error(tx)->message);
		if ((size_t)n < len)
			shorts++;
		pos += (unsigned long long)n;
	}
	/* Drain the completions from the poll loop alone. */
	while (dmt_tx_outstanding(tx)) {
		/* the ring, or the socket: POLLERR comes unasked */
		struct pollfd p = { .fd = cfd >= 0 ? cfd : dmt_tx_fd(tx),
				    .events = cfd >= 0 ? cev : 0 };

		if (dmt_tx_reap(tx) > 0)
			continue;
		T_CHECK(poll(&p, 1, 5000) == 1, "%u completions outstanding and "
			"the completion fd did not wake", dmt_tx_outstanding(tx));
		wakeups++;
	}
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	printf("%s: EAGAIN %llu, short sends %llu, completion wakeups %llu, "
	       "received %llu\n", dmt_engine_name(eng), eagain, shorts, wakeups,
	       sink.got);
	T_CHECK(eagain + shorts > 0, "the stalled receiver never pushed back");
	T_CHECK(sink.got == TOTAL && sink.bad == 0, "got %llu bad %llu", sink.got,
		sink.bad);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

int main(void)
{
	struct dmt_ctx *ctx;

	ctx = t_ctx();
	run(ctx, DMT_ENGINE_ZEROCOPY);
	if (dmt_engine_built(DMT_ENGINE_URING))
		run(ctx, DMT_ENGINE_URING);
	else
		printf("uring engine not built: not tested\n");
	dmt_ctx_free(ctx);
	printf("tx_nonblock: ok\n");
	return T_PASS;
}
