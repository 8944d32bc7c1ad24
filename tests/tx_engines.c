// SPDX-License-Identifier: MIT
/*
 * tier B: verified transfers through every fallback engine over loopback,
 * with the buffer rewritten region by region after dmt_tx_wait_region():
 * if a region were rewritten before its completion the receiver would see
 * the wrong bytes. Also checks the completion accounting and the verdict.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

#define V 251			/* prime modulus: every offset matters */
#define REGION (256 << 10)
#define NREG 4
#define TOTAL (64ull << 20)

static void fill_region(struct dmt_buf *b, unsigned int r, unsigned long long pos)
{
	static unsigned char tmp[REGION];

	for (unsigned int i = 0; i < REGION; i++)
		tmp[i] = t_pattern_byte(pos + i, V);
	T_CHECK(dmt_buf_write(b, (size_t)r * REGION, tmp, REGION) == 0, "write");
}

static void run(struct dmt_ctx *ctx, enum dmt_engine eng, unsigned int maxout)
{
	struct t_sink sink = { .v = V };
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	DMT_OPTS(dmt_tx_stats, st);
	DMT_OPTS(dmt_tx_opts, opts, .engine = eng, .max_outstanding = maxout);

	tx = t_sink_tx(ctx, &sink, (size_t)REGION * NREG, &opts, &buf);
	printf("requested %s -> engine %s: %s\n", dmt_engine_name(eng),
	       dmt_engine_name(dmt_tx_engine(tx)), dmt_tx_engine_reason(tx));
	if (eng != DMT_ENGINE_AUTO)
		T_CHECK(dmt_tx_engine(tx) == eng, "engine mismatch");
	else /* host memory: never devmem, and the reason says why */
		T_CHECK(dmt_tx_engine(tx) != DMT_ENGINE_DEVMEM &&
			strstr(dmt_tx_engine_reason(tx), "no dma-buf"),
			"auto reason: %s", dmt_tx_engine_reason(tx));

	for (unsigned long long pos = 0, k = 0; pos < TOTAL; pos += REGION, k++) {
		unsigned int r = (unsigned int)(k % NREG);
		struct dmt_seg seg = { (uint64_t)r * REGION, REGION };

		T_CHECK(dmt_tx_wait_region(tx, seg.off, seg.len, 10000) == 0,
			"wait region: %s", dmt_tx_last_error(tx)->message);
		T_CHECK(!dmt_tx_region_busy(tx, seg.off, seg.len), "still busy");
		fill_region(buf, r, pos);
		T_CHECK(dmt_tx_send(tx, &seg, 1) == REGION, "send: %s",
			dmt_tx_last_error(tx)->message);
		T_CHECK(!maxout || dmt_tx_outstanding(tx) <= maxout,
			"%u outstanding, cap %u", dmt_tx_outstanding(tx), maxout);
		if (dmt_tx_outstanding(tx)) {
			short ev;
			int cfd = dmt_tx_completion_fd(tx, &ev);

			/* completions wake the caller on the socket's error
			 * queue (POLLERR on dmt_tx_fd, no second fd), or on
			 * the io_uring ring */
			if (dmt_tx_engine(tx) != DMT_ENGINE_URING)
				T_CHECK(cfd == -1 && ev == 0,
					"no second fd wanted: %d %d", cfd, ev);
			else
				T_CHECK(cfd >= 0 && ev == POLLIN &&
					dmt_tx_engine(tx) == DMT_ENGINE_URING,
					"ring fd wanted");
		}
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_outstanding(tx) == 0, "outstanding after flush");
	T_CHECK(dmt_tx_get_stats(tx, &st) == 0, "stats");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	t_print_tx_stats(dmt_engine_name(dmt_tx_engine(tx)), &st);
	T_CHECK(sink.err == 0, "sink error %d", sink.err);
	T_CHECK(sink.got == TOTAL, "received %llu of %llu", sink.got, TOTAL);
	T_CHECK(sink.bad == 0, "%llu bad bytes, first at %llu", sink.bad,
		sink.first_bad);
	T_CHECK(st.bytes == TOTAL, "stats bytes");
	if (dmt_tx_engine(tx) == DMT_ENGINE_COPY) {
		T_CHECK(st.zc_ids == 0 && dmt_tx_zerocopy_verdict(tx) == -ENODATA,
			"copy engine has no completions");
	} else {
		T_CHECK(st.zc_ids >= TOTAL / REGION, "one id per send at least");
		T_CHECK(st.zc_completed == st.zc_ids, "every id completed");
		T_CHECK(st.zc_notifications >= 1 &&
			st.zc_notifications <= st.zc_completed, "notifications");
		/* local delivery always copies (host-facts §4) */
		T_CHECK(dmt_tx_zerocopy_verdict(tx) == 0 &&
			st.zc_copied == st.zc_completed, "loopback must report COPIED");
	}
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

/*
 * A small cap on sends awaiting completion, with a receiver that stalls
 * first and 4 KiB sends the caller never waits for: without the cap
 * hundreds would be outstanding. The send path must wait instead, memory
 * stays bounded, and every byte still arrives in order.
 */
static void run_capped(struct dmt_ctx *ctx, enum dmt_engine eng)
{
	struct t_sink sink = { .v = V, .stall_ms = 200 };
	size_t L = (size_t)V * 64;
	unsigned int peak = 0;
	struct dmt_error err;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int port = 0;

	DMT_OPTS(dmt_tx_opts, opts, .engine = eng, .max_outstanding = 16);
	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	buf = dmt_buf_new(DMT_BUF_HOST, L, NULL, &err);
	T_CHECK(buf, "%s", err.message);
	t_pattern_fill(dmt_buf_map(buf), L, V);
	tx = t_tx_loopback(ctx, buf, port, &opts, &err);
	T_CHECK(tx, "%s", err.message);
	for (unsigned long long pos = 0; pos < (8ull << 20);) {
		size_t off = (size_t)(pos % L), len = 4096;
		struct dmt_seg s;

		if (len > L - off)
			len = L - off;
		if (len > (8ull << 20) - pos)
			len = (size_t)((8ull << 20) - pos);
		s.off = off;
		s.len = len;
		T_CHECK(dmt_tx_send(tx, &s, 1) == (ssize_t)len, "send: %s",
			dmt_tx_last_error(tx)->message);
		if (dmt_tx_outstanding(tx) > peak)
			peak = dmt_tx_outstanding(tx);
		pos += len;
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	printf("%s, max_outstanding 16: peak %u outstanding, %llu bytes "
	       "verified\n", dmt_engine_name(eng), peak, sink.got);
	T_CHECK(peak <= 16, "peak %u above the cap", peak);
	T_CHECK(sink.got == (8ull << 20) && !sink.bad, "got %llu bad %llu",
		sink.got, sink.bad);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

int main(void)
{
	static const enum dmt_engine engines[] = {
		DMT_ENGINE_COPY, DMT_ENGINE_ZEROCOPY, DMT_ENGINE_URING,
		DMT_ENGINE_AUTO,
	};
	struct dmt_ctx *ctx;

	ctx = t_ctx();
	for (unsigned int i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		if (!dmt_engine_built(engines[i])) {
			printf("engine %s not built, not tested\n",
			       dmt_engine_name(engines[i]));
			continue;
		}
		run(ctx, engines[i], 0);
	}
	for (unsigned int i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (engines[i] != DMT_ENGINE_COPY && engines[i] != DMT_ENGINE_AUTO &&
		    dmt_engine_built(engines[i]))
			run_capped(ctx, engines[i]);
	dmt_ctx_free(ctx);
	printf("tx_engines: ok\n");
	return T_PASS;
}
