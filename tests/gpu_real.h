/* SPDX-License-Identifier: MIT */
/*
 * Tier C body shared by gpu_cuda_real and gpu_rocm_real: needs a real GPU
 * and its runtime (never the fake drivers: DMT_CUDA_LIB / DMT_ROCM_LIB are
 * cleared). Skips (77) with the reason when the runtime or a dma-buf
 * capable GPU is absent.
 *   1. allocate DMT_TEST_GPU_BYTES (default 1 GiB) on DMT_TEST_GPU_DEVICE
 *      (default 0) and export it; /proc/self/fdinfo/<fd> must show exp_name
 *      (a real dma-buf);
 *   2. send 1 GiB of a pattern over loopback from host memory (copy engine)
 *      and from the GPU buffer (AUTO: devmem fails on lo, so staged), each
 *      verified byte for byte by the receiver; print both throughputs;
 *   3. receive 1 GiB into a second GPU buffer with the staged RX engine and
 *      verify it by copying out.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "helpers.h"

struct real_rx {
	int lfd;
	const unsigned char *pat;
	uint64_t len;
	struct dmt_buf *into;	/* NULL: verify in host memory */
	uint64_t got;
	int bad;		/* first mismatch + 1 */
	char err[512];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *real_rx_main(void *arg)
{
	struct real_rx *r = arg;
	int c = accept(r->lfd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (r->into) {
		ssize_t n = t_rx_staged_fill(r->into, c, r->len, 0, NULL, r->err,
					     sizeof(r->err));

		if (n >= 0)
			r->got = (uint64_t)n;
	} else {
		static unsigned char b[1 << 20];
		ssize_t n;

		while (r->got < r->len && (n = recv(c, b, sizeof(b), 0)) > 0) {
			if (!r->bad && memcmp(b, r->pat + r->got, (size_t)n))
				r->bad = 1 + (int)(r->got >> 20);
			r->got += (uint64_t)n;
		}
	}
	close(c);
	return NULL;
}

/* One transfer of len bytes of buf over loopback; returns Gbit/s. */
static double real_xfer(struct dmt_ctx *ctx, struct dmt_buf *buf,
			enum dmt_engine eng, enum dmt_engine want_eng,
			const unsigned char *pat, uint64_t len,
			struct dmt_buf *into, const char *label)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	DMT_OPTS(dmt_tx_opts, to, .engine = eng);
	struct dmt_seg seg = { 0, len };
	struct real_rx r = { .pat = pat, .len = len, .into = into };
	struct dmt_error e;
	struct dmt_tx *tx;
	pthread_t thr;
	int port = 0;
	double t0, t;

	r.lfd = t_listen("127.0.0.1", &port);
	pthread_create(&thr, NULL, real_rx_main, &r);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &to, &e);
	T_CHECK(tx, "%s: %s", label, e.message);
	T_CHECK(dmt_tx_engine(tx) == want_eng, "%s: engine %s: %s", label,
		dmt_engine_name(dmt_tx_engine(tx)), dmt_tx_engine_reason(tx));
	printf("%s: engine %s (%s)\n", label, dmt_engine_name(dmt_tx_engine(tx)),
	       dmt_tx_engine_reason(tx));
	t0 = now_s();
	T_CHECK(dmt_tx_send(tx, &seg, 1) == (ssize_t)len, "%s: send: %s", label,
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_flush(tx, 30000) == 0, "%s: flush", label);
	dmt_tx_free(tx);
	pthread_join(thr, NULL);
	t = now_s() - t0;
	close(r.lfd);
	T_CHECK(r.got == len && !r.err[0], "%s: received %llu of %llu: %s", label,
		(unsigned long long)r.got, (unsigned long long)len, r.err);
	T_CHECK(!r.bad, "%s: data differs in MiB %d", label, r.bad - 1);
	printf("%s: %llu bytes in %.3f s = %.2f Gbit/s, verified\n", label,
	       (unsigned long long)len, t, (double)len * 8 / t / 1e9);
	return (double)len * 8 / t / 1e9;
}

static int run_real(enum dmt_buf_kind kind, const char *lib, const char *envvar)
{
	const char *s = getenv("DMT_TEST_GPU_BYTES");
	uint64_t len = s ? strtoull(s, NULL, 0) : (1ull << 30);
	DMT_OPTS(dmt_buf_opts, bo);
	struct dmt_buf *gpu, *gpu2, *host;
	char path[64], line[256];
	unsigned char *pat, *back;
	int found = 0;
	double g_host, g_tx, g_rx;
	struct dmt_error e;
	struct dmt_ctx *ctx;
	FILE *f;

	unsetenv(envvar);	/* the real runtime, never a fake one */
	T_SKIP_IF(!dlopen(lib, RTLD_NOW | RTLD_LOCAL), "%s not found: no %s "
		  "runtime on this host", lib, dmt_buf_kind_name(kind));
	s = getenv("DMT_TEST_GPU_DEVICE");
	bo.device = s ? atoi(s) : 0;
	gpu = dmt_buf_new(kind, len, &bo, &e);
	T_SKIP_IF(!gpu && (e.err == -ENODEV || e.err == -DMT_ERR_NO_EXPORTER ||
			   e.err == -EOPNOTSUPP), "%s", e.message);
	T_CHECK(gpu, "%s allocation: %s", dmt_buf_kind_name(kind), e.message);
	T_CHECK(!dmt_buf_map(gpu) && dmt_buf_dmabuf_fd(gpu) >= 0, "no dma-buf");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", dmt_buf_dmabuf_fd(gpu));
	f = fopen(path, "re");
	T_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "exp_name:", 9)) {
			found = 1;
			printf("dma-buf fd %d: %s", dmt_buf_dmabuf_fd(gpu), line);
		}
	fclose(f);
	T_CHECK(found, "%s has no exp_name: the exported fd is not a dma-buf",
		path);
	printf("dma-buf offset of the allocation: %llu\n",
	       (unsigned long long)dmt_buf_dmabuf_offset(gpu));

	pat = malloc(len);
	back = malloc(1 << 20);
	T_CHECK(pat && back, "out of host memory");
	for (uint64_t i = 0; i < len; i++)
		pat[i] = (unsigned char)((i % 253) ^ (i >> 20));
	T_CHECK(dmt_buf_write(gpu, 0, pat, len) == 0, "copy in: %s",
		dmt_buf_last_error(gpu)->message);
	for (uint64_t o = 0; o + (1 << 20) <= len; o += len / 7 & ~4095ull) {
		T_CHECK(dmt_buf_read(gpu, o, back, 1 << 20) == 0, "copy out");
		T_CHECK(!memcmp(back, pat + o, 1 << 20), "copy out differs at %llu",
			(unsigned long long)o);
		if (len / 7 < 4096)
			break;
	}

	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx, "context: %s", e.message);
	host = dmt_buf_new(DMT_BUF_HOST, len, NULL, &e);
	T_CHECK(host, "%s", e.message);
	T_CHECK(dmt_buf_write(host, 0, pat, len) == 0, "host fill");
	g_host = real_xfer(ctx, host, DMT_ENGINE_COPY, DMT_ENGINE_COPY, pat, len,
			   NULL, "host memory, copy engine");
	g_tx = real_xfer(ctx, gpu, DMT_ENGINE_AUTO, DMT_ENGINE_STAGED, pat, len,
			 NULL, "GPU memory, staged TX");
	gpu2 = dmt_buf_new(kind, len, &bo, &e);
	T_CHECK(gpu2, "second buffer: %s", e.message);
	g_rx = real_xfer(ctx, host, DMT_ENGINE_COPY, DMT_ENGINE_COPY, pat, len,
			 gpu2, "host -> staged RX into GPU memory");
	for (uint64_t o = 0; o < len; o += 1 << 20) {
		size_t n = len - o < (1 << 20) ? (size_t)(len - o) : 1 << 20;
		T_CHECK(dmt_buf_read(gpu2, o, back, n) == 0, "copy out");
		T_CHECK(!memcmp(back, pat + o, n), "staged RX data differs at %llu",
			(unsigned long long)o);
	}
	printf("RESULT %s: host copy %.2f Gbit/s, staged TX from GPU %.2f Gbit/s "
	       "(%.0f%%), staged RX into GPU %.2f Gbit/s (%.0f%%)\n",
	       dmt_buf_kind_name(kind), g_host, g_tx, 100 * g_tx / g_host, g_rx,
	       100 * g_rx / g_host);
	dmt_buf_free(gpu2);
	dmt_buf_free(host);
	dmt_buf_free(gpu);
	dmt_ctx_free(ctx);
	free(pat);
	free(back);
	return T_PASS;
}
