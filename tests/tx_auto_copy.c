// SPDX-License-Identifier: MIT
/*
 * tier B: engine AUTO on loopback, where the kernel copies every zero-copy
 * send at delivery. Once its completions have shown that, large sends go
 * through plain send() (dmt_tx_opts.auto_copy_min) while 64 KiB ones stay
 * zero-copy; sends below auto_zc_min always use send(). The paths take
 * turns on one socket, so the receiver checks every byte and its order,
 * with each region rewritten only after dmt_tx_wait_region(). Also: both
 * switches are off when asked for, and an engine named explicitly is used
 * for every send.
 */
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"

#define V 251			/* prime modulus: every offset matters */
#define REGION (1u << 20)
#define NREG 4
#define SMALL (64u << 10)
#define TINY 4096

struct result {
	struct dmt_tx_stats st;
	unsigned long long large;	/* sends of a whole region */
	enum dmt_engine used;
	char reason[256];
};

static void fill_region(struct dmt_buf *b, unsigned int r, unsigned long long pos,
			size_t len)
{
	static unsigned char tmp[REGION];

	for (size_t i = 0; i < len; i++)
		tmp[i] = t_pattern_byte(pos + i, V);
	T_CHECK(dmt_buf_write(b, (size_t)r * REGION, tmp, len) == 0, "write");
}

/*
 * Send total bytes in steps of one region of `region` bytes: every third
 * step as pieces of `small` bytes, the others as one send.
 */
static void run(struct dmt_ctx *ctx, enum dmt_engine eng, uint64_t copy_min,
		uint64_t zc_min, size_t region, size_t small,
		unsigned long long total, struct result *res)
{
	struct t_sink sink = { .v = V };
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	DMT_OPTS(dmt_tx_opts, opts, .engine = eng, .auto_copy_min = copy_min,
		 .auto_zc_min = zc_min);
	memset(res, 0, sizeof(*res));
	res->st.sz = sizeof(res->st);
	tx = t_sink_tx(ctx, &sink, (size_t)REGION * NREG, &opts, &buf);
	res->used = dmt_tx_engine(tx);
	snprintf(res->reason, sizeof(res->reason), "%s", dmt_tx_engine_reason(tx));

	for (unsigned long long pos = 0, k = 0; pos < total; pos += region, k++) {
		unsigned int r = (unsigned int)(k % NREG);
		uint64_t off = (uint64_t)r * REGION;

		T_CHECK(dmt_tx_wait_region(tx, off, region, 10000) == 0,
			"wait region: %s", dmt_tx_last_error(tx)->message);
		fill_region(buf, r, pos, region);
		if (k % 3 == 2) {
			for (size_t o = 0; o < region; o += small) {
				struct dmt_seg s = { off + o, small };

				T_CHECK(dmt_tx_send(tx, &s, 1) == (ssize_t)small,
					"send: %s", dmt_tx_last_error(tx)->message);
			}
		} else {
			struct dmt_seg s = { off, region };

			T_CHECK(dmt_tx_send(tx, &s, 1) == (ssize_t)region,
				"send: %s", dmt_tx_last_error(tx)->message);
			res->large++;
		}
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_get_stats(tx, &res->st) == 0, "stats");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	t_print_tx_stats(dmt_engine_name(eng), &res->st);
	T_CHECK(sink.err == 0, "sink error %d", sink.err);
	T_CHECK(sink.got == total, "received %llu of %llu", sink.got, total);
	T_CHECK(sink.bad == 0, "%llu bad bytes, first at %llu", sink.bad,
		sink.first_bad);
	T_CHECK(res->st.zc_completed == res->st.zc_ids, "every id completed");
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

/*
 * After the switch one large send in 64 stays zero-copy, so that a path
 * that stops copying is noticed: any 128 large sends in a row hold exactly
 * two of them. (Loopback always copies, so the way back to zero-copy
 * cannot be shown here; tests/ztrack.c checks that a completion without
 * COPIED ends the run the switch depends on.)
 */
static void run_probe(struct dmt_ctx *ctx)
{
	struct t_sink sink = { .v = 0 };
	struct dmt_seg s = { 0, REGION };
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	DMT_OPTS(dmt_tx_stats, a);
	DMT_OPTS(dmt_tx_stats, b);
	tx = t_sink_tx(ctx, &sink, REGION, NULL, &buf);
	for (int i = 0; i < 40; i++)	/* learn: 32 COPIED completions */
		T_CHECK(dmt_tx_send(tx, &s, 1) == REGION, "send: %s",
			dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
	T_CHECK(dmt_tx_get_stats(tx, &a) == 0, "stats");
	for (int i = 0; i < 128; i++)
		T_CHECK(dmt_tx_send(tx, &s, 1) == REGION, "send: %s",
			dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
	T_CHECK(dmt_tx_get_stats(tx, &b) == 0, "stats");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	/* a zero-copy send cut short by a full socket continues with a
	 * second request (a second id), so count dmt_tx_send() calls */
	printf("after the switch, 128 sends of 1 MiB: %llu plain, %llu zero-copy "
	       "(%llu ids)\n", (unsigned long long)(b.copy_sends - a.copy_sends),
	       (unsigned long long)(b.sends - a.sends - (b.copy_sends - a.copy_sends)),
	       (unsigned long long)(b.zc_ids - a.zc_ids));
	T_CHECK(b.sends - a.sends == 128 && b.copy_sends - a.copy_sends == 126 &&
		b.zc_ids - a.zc_ids >= 2, "want 126 plain sends and 2 zero-copy "
		"probes");
	T_CHECK(sink.got == 168ull * REGION, "received %llu", sink.got);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

int main(void)
{
	const unsigned long long total = 96ull << 20;
	struct dmt_ctx *ctx;
	struct result r;

	ctx = t_ctx();

	/* default thresholds (16 KiB, 512 KiB), 1 MiB and 64 KiB sends mixed */
	run(ctx, DMT_ENGINE_AUTO, 0, 0, REGION, SMALL, total, &r);
	printf("auto -> %s (%s): %llu large sends, %llu by plain send()\n",
	       dmt_engine_name(r.used), r.reason, r.large,
	       (unsigned long long)r.st.copy_sends);
	T_CHECK(r.used == DMT_ENGINE_URING || r.used == DMT_ENGINE_ZEROCOPY,
		"auto picked %s", dmt_engine_name(r.used));
	T_CHECK(strstr(r.reason, "plain send() for small sends and, if the "
		       "kernel copies on this path, large ones"),
		"reason: %s", r.reason);
	/* 32 COPIED completions come within the first few steps; every
	 * large send after them is a plain send, 64 KiB ones never are */
	T_CHECK(r.st.copy_sends >= r.large / 2 && r.st.copy_sends < r.large,
		"%llu of %llu large sends plain", (unsigned long long)r.st.copy_sends,
		r.large);
	T_CHECK(r.st.zc_copied == r.st.zc_completed && r.st.zc_completed >= 32,
		"the switch needs 32 COPIED completions");
	T_CHECK(r.st.zc_ids + r.st.copy_sends >= r.st.sends,
		"every send is zero-copy or plain");

	/* a lower threshold moves 256 KiB sends too */
	run(ctx, DMT_ENGINE_AUTO, 256u << 10, 0, 256u << 10, SMALL, 32ull << 20, &r);
	printf("auto, auto_copy_min 256K, 256 KiB sends: %llu of %llu plain\n",
	       (unsigned long long)r.st.copy_sends, r.large);
	T_CHECK(r.st.copy_sends >= r.large / 2, "threshold 256K not applied");

	/* 4 KiB sends are plain from the first one; 1 MiB ones never switch,
	 * as the 4 KiB sends give no completions to judge the path by */
	run(ctx, DMT_ENGINE_AUTO, 0, 0, REGION, TINY, 32ull << 20, &r);
	printf("auto, 4 KiB and 1 MiB sends: %llu sends, %llu plain, %llu ids\n",
	       (unsigned long long)r.st.sends, (unsigned long long)r.st.copy_sends,
	       (unsigned long long)r.st.zc_ids);
	/* (a 1 MiB send cut short continues with a second request: >=) */
	T_CHECK(r.st.copy_sends == r.st.sends - r.large && r.st.zc_ids >= r.large,
		"4 KiB sends must be plain, 1 MiB ones zero-copy");

	/* both switched off */
	run(ctx, DMT_ENGINE_AUTO, DMT_TX_NEVER, DMT_TX_NEVER, REGION, TINY,
	    32ull << 20, &r);
	T_CHECK(r.st.copy_sends == 0 && r.st.zc_ids >= r.st.sends,
		"auto_copy_min and auto_zc_min DMT_TX_NEVER: %llu plain",
		(unsigned long long)r.st.copy_sends);
	T_CHECK(!strstr(r.reason, "plain send()"), "reason: %s", r.reason);

	run_probe(ctx);

	/* an engine named explicitly is kept for every send */
	run(ctx, DMT_ENGINE_ZEROCOPY, 0, 0, REGION, TINY, 32ull << 20, &r);
	T_CHECK(r.st.copy_sends == 0 && r.st.zc_ids >= r.st.sends,
		"zerocopy requested: %llu plain", (unsigned long long)r.st.copy_sends);
	if (dmt_engine_built(DMT_ENGINE_URING)) {
		run(ctx, DMT_ENGINE_URING, 0, 0, REGION, TINY, 32ull << 20, &r);
		T_CHECK(r.st.copy_sends == 0 && r.st.zc_ids >= r.st.sends,
			"uring requested: %llu plain",
			(unsigned long long)r.st.copy_sends);
	}
	dmt_ctx_free(ctx);
	printf("tx_auto_copy: ok\n");
	return T_PASS;
}
