// SPDX-License-Identifier: MIT
/*
 * tier V: sending from real dma-buf memory (udmabuf, the system heap) when
 * devmem TX is not available. Their mappings are PFN maps: MSG_ZEROCOPY and
 * io_uring SEND_ZC cannot pin them and fail with EFAULT. The library must
 *  - in AUTO, pick the copy engine and say why (not uring, which failed at
 *    the first send before the fix);
 *  - refuse an explicit zero-copy engine with the cause and the fix;
 *  - if a zero-copy send still gets EFAULT (the probe said pinnable), go on
 *    with plain send() without losing or repeating a byte.
 * Every transfer is checked byte for byte by a loopback receiver.
 * Skips without /dev/udmabuf.
 */
#include <unistd.h>

#include "buffer.h"
#include "helpers.h"

#define SIZE (4u << 20)
#define SEG (96u << 10)	/* not a divisor of SIZE: a short last segment */
#define V 251

static void send_all(struct dmt_tx *tx)
{
	for (uint64_t off = 0; off < SIZE;) {
		struct dmt_seg s = { .off = off,
				     .len = SIZE - off < SEG ? SIZE - off : SEG };
		ssize_t n = dmt_tx_send(tx, &s, 1);
		T_CHECK(n > 0, "send at %llu: %s", (unsigned long long)off,
			dmt_tx_last_error(tx)->message);
		off += (uint64_t)n;
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
}

/* Move the whole buffer to a validating receiver; returns the engine. */
static enum dmt_engine transfer(struct dmt_ctx *ctx, struct dmt_buf *b,
				enum dmt_engine want, char *reason, size_t rlen,
				struct dmt_tx_stats *st)
{
	struct t_sink sink = { .v = V };
	DMT_OPTS(dmt_tx_opts, o, .engine = want);
	struct dmt_error err;
	struct dmt_tx *tx;
	enum dmt_engine e;
	int port = 0;

	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	tx = t_tx_loopback(ctx, b, port, &o, &err);
	T_CHECK(tx, "connect (%s): %s", dmt_engine_name(want), err.message);
	e = dmt_tx_engine(tx);
	send_all(tx);
	snprintf(reason, rlen, "%s", dmt_tx_engine_reason(tx));
	st->sz = sizeof(*st);
	T_CHECK(dmt_tx_get_stats(tx, st) == 0, "stats");
	dmt_tx_free(tx);
	t_sink_join(&sink);
	T_CHECK(sink.err == 0, "receiver: %s", strerror(sink.err));
	T_CHECK(sink.got == SIZE && sink.bad == 0,
		"receiver got %llu of %u bytes, %llu wrong (first at %llu)",
		sink.got, SIZE, sink.bad, sink.first_bad);
	return e;
}

static void check_kind(struct dmt_ctx *ctx, enum dmt_buf_kind kind)
{
	const char *kn = dmt_buf_kind_name(kind);
	enum dmt_engine zc[] = { DMT_ENGINE_ZEROCOPY, DMT_ENGINE_URING };
	struct dmt_tx_stats st;
	struct dmt_error err;
	char reason[256];
	struct dmt_buf *b;
	enum dmt_engine e;

	b = dmt_buf_new(kind, SIZE, NULL, &err);
	T_CHECK(b, "%s buffer: %s", kn, err.message);
	T_CHECK(dmt_buf_begin_cpu(b, DMT_SYNC_WRITE) == 0, "sync");
	t_pattern_fill(dmt_buf_map(b), SIZE, V);
	T_CHECK(dmt_buf_end_cpu(b, DMT_SYNC_WRITE) == 0, "sync");
	T_CHECK(dmt_buf_pinnable(b) == 0, "%s memory reported pinnable: is this "
		"kernel older than 6.12 (udmabuf without PFN maps)?", kn);

	/* AUTO: copy, with the reason */
	e = transfer(ctx, b, DMT_ENGINE_AUTO, reason, sizeof(reason), &st);
	printf("%s auto: %s (%s)\n", kn, dmt_engine_name(e), reason);
	T_CHECK(e == DMT_ENGINE_COPY, "auto picked %s for %s memory",
		dmt_engine_name(e), kn);
	T_CHECK(strstr(reason, "cannot be pinned") && strstr(reason, "using copy"),
		"reason: %s", reason);

	for (size_t i = 0; i < ARRAY_SIZE(zc); i++) {
		DMT_OPTS(dmt_tx_opts, o, .engine = zc[i]);
		const char *en = dmt_engine_name(zc[i]);
		struct dmt_tx *tx;
		int port = 0, lfd;

		if (!dmt_engine_built(zc[i]))
			continue;
		/* explicit: refused with the cause and the fix */
		lfd = t_listen("127.0.0.1", &port);
		tx = t_tx_loopback(ctx, b, port, &o, &err);
		close(lfd);
		T_CHECK(!tx && strstr(err.message, "cannot be pinned") &&
			strstr(err.message, "copy engine"),
			"explicit %s on %s memory: %s", en, kn,
			tx ? "accepted" : err.message);
		printf("%s %s: refused: %s\n", kn, en, err.message);

		/* the probe fooled: EFAULT at send time falls back */
		b->pin_state = 1;
		e = transfer(ctx, b, zc[i], reason, sizeof(reason), &st);
		b->pin_state = 0;
		printf("%s %s, probe bypassed: %s\n", kn, en, reason);
		t_print_tx_stats("  stats", &st);
		T_CHECK(e == zc[i], "engine %s", dmt_engine_name(e));
		T_CHECK(strstr(reason, "EFAULT") && strstr(reason, "copy from then on"),
			"reason: %s", reason);
		T_CHECK(st.bytes == SIZE && st.copy_sends > 0, "bytes %llu, plain "
			"sends %llu", (unsigned long long)st.bytes,
			(unsigned long long)st.copy_sends);
	}
	dmt_buf_free(b);
}

int main(void)
{
	struct dmt_ctx *ctx;

	T_SKIP_IF(access("/dev/udmabuf", R_OK | W_OK) != 0,
		  "no dma-buf exporter here (/dev/udmabuf: %s); tier V runs in "
		  "a kernel that has one: scripts/vm-test.sh 6.12", strerror(errno));
	ctx = t_ctx();
	check_kind(ctx, DMT_BUF_UDMABUF);
	if (access("/dev/dma_heap/system", R_OK) == 0)
		check_kind(ctx, DMT_BUF_DMAHEAP);
	dmt_ctx_free(ctx);
	printf("PASS\n");
	return T_PASS;
}
