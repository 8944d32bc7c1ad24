// SPDX-License-Identifier: MIT
/*
 * Tier B: the staged engine over real TCP on loopback, with "GPU" buffers
 * from the FAKE CUDA driver (tests/fake_cuda.c; no GPU is involved):
 *  - AUTO on a cuda buffer tries devmem, records why it failed and stages
 *    (reason "cuda buffer: devmem unavailable (...); staging through host
 *    memory");
 *  - segments in arbitrary order arrive byte for byte, received with
 *    the staged RX engine into a second cuda buffer and checked
 *    by copying out;
 *  - a CPU engine is refused for a buffer without a CPU mapping;
 *  - the staged engine also works for host buffers when asked for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "helpers.h"

#define MiB (1u << 20)

struct rx {
	int lfd;
	struct dmt_buf *buf;
	uint64_t len;
	ssize_t got;
	struct dmt_rx_stats st;
	char err[512];
};

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	int c = accept(r->lfd, NULL, NULL);

	r->got = -1;
	if (c >= 0) {
		r->st.sz = sizeof(r->st);
		r->got = t_rx_staged_fill(r->buf, c, r->len, 1 * MiB, &r->st,
					  r->err, sizeof(r->err));
		close(c);
	}
	return NULL;
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i % 251) ^ seed ^ (i >> 16));
}

/* Send segs of buf to a staged receiver; check byte for byte. */
static void run(struct dmt_ctx *ctx, struct dmt_buf *buf,
		const unsigned char *pat, enum dmt_engine eng,
		const struct dmt_seg *segs, unsigned int nseg, const char *label)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	DMT_OPTS(dmt_tx_opts, to, .engine = eng);
	struct dmt_error e;
	struct rx r = { 0 };
	uint64_t total = 0, at = 0;
	unsigned char *got;
	struct dmt_tx *tx;
	pthread_t thr;
	int port = 0;

	for (unsigned int i = 0; i < nseg; i++)
		total += segs[i].len;
	r.lfd = t_listen("127.0.0.1", &port);
	r.len = total;
	r.buf = dmt_buf_new(DMT_BUF_CUDA, total, NULL, &e);
	T_CHECK(r.buf, "receive buffer: %s", e.message);
	pthread_create(&thr, NULL, rx_main, &r);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &to, &e);
	T_CHECK(tx, "%s: connect: %s", label, e.message);
	T_CHECK(dmt_tx_engine(tx) == DMT_ENGINE_STAGED, "%s: engine %s (%s)",
		label, dmt_engine_name(dmt_tx_engine(tx)),
		dmt_tx_engine_reason(tx));
	printf("%s: engine staged: %s\n", label, dmt_tx_engine_reason(tx));
	T_CHECK(dmt_tx_send(tx, segs, nseg) == (ssize_t)total, "%s: send: %s",
		label, dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_outstanding(tx) == 0 && !dmt_tx_region_busy(tx, 0, total),
		"staged sends must leave nothing outstanding");
	T_CHECK(dmt_tx_flush(tx, 1000) == 0, "flush");
	{
		DMT_OPTS(dmt_tx_stats, ts);
		dmt_tx_get_stats(tx, &ts);
		T_CHECK(ts.bytes == total, "stats bytes %llu != %llu",
			(unsigned long long)ts.bytes, (unsigned long long)total);
	}
	dmt_tx_free(tx);
	pthread_join(thr, NULL);
	close(r.lfd);
	T_CHECK(r.got == (ssize_t)total && !r.err[0], "%s: received %zd of %llu: %s",
		label, r.got, (unsigned long long)total, r.err);
	T_CHECK(r.st.copied_bytes == total && r.st.stage_chunks >= total / MiB,
		"recv stats: copied %llu chunks %llu",
		(unsigned long long)r.st.copied_bytes,
		(unsigned long long)r.st.stage_chunks);
	got = malloc(total);
	T_CHECK(dmt_buf_read(r.buf, 0, got, total) == 0, "copy out");
	for (unsigned int i = 0; i < nseg; i++) {
		T_CHECK(!memcmp(got + at, pat + segs[i].off, segs[i].len),
			"%s: segment %u (off %llu len %llu) differs", label, i,
			(unsigned long long)segs[i].off,
			(unsigned long long)segs[i].len);
		at += segs[i].len;
	}
	free(got);
	dmt_buf_free(r.buf);
	printf("ok: %s: %llu bytes in %u segments, verified byte for byte\n",
	       label, (unsigned long long)total, nseg);
}

int main(void)
{
	size_t size = 32 * MiB;
	struct dmt_seg segs[] = {
		{ 20 * MiB, 5 * MiB + 3 },
		{ 0, 9 * MiB },
		{ 1, 4097 },
		{ size - 100, 100 },
		{ 9 * MiB + 11, 3 * MiB },
	};
	struct dmt_seg seg_all = { 0, size };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	DMT_OPTS(dmt_tx_opts, copy, .engine = DMT_ENGINE_COPY);
	struct dmt_buf *gpu, *host;
	struct dmt_error e;
	struct dmt_ctx *ctx;
	unsigned char *pat;
	int lfd, port = 0;

	setenv("DMT_CUDA_LIB", FAKE_CUDA_LIB, 1);
	printf("NOTE: cuda buffers come from a FAKE CUDA driver (%s); no GPU\n",
	       FAKE_CUDA_LIB);
	ctx = dmt_ctx_new(NULL, &e);
	T_SKIP_IF(!ctx && e.err == -DMT_ERR_NO_FAMILY, "%s", e.message);
	T_CHECK(ctx, "context: %s", e.message);
	gpu = dmt_buf_new(DMT_BUF_CUDA, size, NULL, &e);
	T_CHECK(gpu, "cuda buffer: %s", e.message);
	pat = malloc(size);
	fill(pat, size, 0x5a);
	T_CHECK(dmt_buf_write(gpu, 0, pat, size) == 0, "fill");

	/* AUTO: devmem is tried on lo (and fails: lo has no netmem TX and the
	 * fake dma-buf is a memfd), then staging, with the reason. */
	run(ctx, gpu, pat, DMT_ENGINE_AUTO, segs, sizeof(segs) / sizeof(segs[0]),
	    "cuda auto");
	{
		struct sockaddr_in d2 = { .sin_family = AF_INET };
		struct dmt_tx *tx;
		int p2 = 0, l2 = t_listen("127.0.0.1", &p2);
		DMT_OPTS(dmt_tx_opts, ao, .engine = DMT_ENGINE_AUTO);

		inet_pton(AF_INET, "127.0.0.1", &d2.sin_addr);
		d2.sin_port = htons((uint16_t)p2);
		tx = dmt_tx_connect(ctx, gpu, (struct sockaddr *)&d2, sizeof(d2),
				    NULL, 0, &ao, &e);
		T_CHECK(tx, "%s", e.message);
		T_CHECK(strstr(dmt_tx_engine_reason(tx), "cuda buffer: devmem "
			       "unavailable (") &&
			strstr(dmt_tx_engine_reason(tx), "); staging through host "
			       "memory"), "reason: %s", dmt_tx_engine_reason(tx));
		dmt_tx_free(tx);
		close(l2);
	}
	/* explicit */
	run(ctx, gpu, pat, DMT_ENGINE_STAGED, &seg_all, 1, "cuda staged");

	/* a CPU engine cannot send from GPU memory: refused, with the cause */
	lfd = t_listen("127.0.0.1", &port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	T_CHECK(!dmt_tx_connect(ctx, gpu, (struct sockaddr *)&dst, sizeof(dst),
				NULL, 0, &copy, &e), "copy engine on GPU memory");
	T_CHECK(e.err == -DMT_ERR_ENGINE && strstr(e.message, "no CPU mapping"),
		"refusal: %d %s", e.err, e.message);
	printf("ok: copy engine refused: %s\n", e.message);
	close(lfd);

	/* the staged engine on host memory, when asked for */
	host = dmt_buf_new(DMT_BUF_HOST, size, NULL, &e);
	T_CHECK(host, "%s", e.message);
	T_CHECK(dmt_buf_write(host, 0, pat, size) == 0, "fill host");
	run(ctx, host, pat, DMT_ENGINE_STAGED, segs, 3, "host staged");
	dmt_buf_free(host);

	dmt_buf_free(gpu);
	dmt_ctx_free(ctx);
	free(pat);
	printf("PASS (staged engine verified with the fake CUDA driver)\n");
	return T_PASS;
}
