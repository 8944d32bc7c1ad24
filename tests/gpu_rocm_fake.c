// SPDX-License-Identifier: MIT
/*
 * Tier A: the ROCm provider against a FAKE HSA runtime (tests/fake_hsa.c,
 * not AMD's ROCr): agent and pool selection, allocation, export with a
 * non-zero offset (which dmt_buf_dmabuf_offset() must report), copies,
 * staging, the failure branches. No GPU is used.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "gpu.h"
#include "helpers.h"
#include "fake_gpu.h"

static void (*get_stats)(struct fake_hsa_stats *);

static struct fake_hsa_stats fstats(void)
{
	struct fake_hsa_stats s;

	get_stats(&s);
	return s;
}

static void reset_env(void)
{
	unsetenv("FAKE_HSA_GPUS");
	unsetenv("FAKE_HSA_EXPORT_OFFSET");
	unsetenv("FAKE_HSA_EXPORT_ERR");
	setenv("DMT_ROCM_LIB", FAKE_HSA_LIB, 1);
}

static struct dmt_buf *rocm_new(size_t size, int device, const char *busid,
				struct dmt_error *e)
{
	DMT_OPTS(dmt_buf_opts, o, .device = device, .pci_bus_id = busid);

	return dmt_buf_new(DMT_BUF_ROCM, size, &o, e);
}

static void check_clean(void)
{
	struct fake_hsa_stats s;

	if (!get_stats)
		return;
	s = fstats();
	T_CHECK(!s.refs && !s.live_allocs && !s.locked && !s.open_exports,
		"leak: %d runtime refs, %d allocations, %d locks, %d exports",
		s.refs, s.live_allocs, s.locked, s.open_exports);
}

static void expect_fail(int device, const char *busid, int err,
			const char *needle)
{
	struct dmt_error e;
	struct dmt_buf *b = rocm_new(4096, device, busid, &e);

	T_CHECK(!b, "allocation unexpectedly succeeded (want \"%s\")", needle);
	T_CHECK(e.err == err, "err %d, want %d: %s", e.err, err, e.message);
	T_CHECK(strstr(e.message, needle), "message \"%s\" lacks \"%s\"",
		e.message, needle);
	check_clean();
	printf("ok: fails clearly: %s\n", e.message);
}

static void roundtrip(uint64_t want_off, const char *label)
{
	size_t req = (1u << 20) + 1, size;
	struct dmt_error e;
	struct dmt_buf *b = rocm_new(req, 0, NULL, &e);
	unsigned char *pat, *back;
	char path[64], target[256] = "";
	int fd;

	T_CHECK(b, "%s: %s", label, e.message);
	size = dmt_buf_size(b);
	T_CHECK(!dmt_buf_map(b), "GPU memory must not be CPU-mapped");
	T_CHECK(dmt_buf_dmabuf_offset(b) == want_off, "%s: dma-buf offset %llu, "
		"want %llu", label, (unsigned long long)dmt_buf_dmabuf_offset(b),
		(unsigned long long)want_off);
	pat = malloc(size);
	back = malloc(size);
	for (size_t i = 0; i < size; i++)
		pat[i] = (unsigned char)(i * 13 + (i >> 10));
	T_CHECK(dmt_buf_write(b, 0, pat, size) == 0, "write: %s",
		dmt_buf_last_error(b)->message);
	T_CHECK(dmt_buf_read(b, 0, back, size) == 0 && !memcmp(back, pat, size),
		"copy out differs");
	fd = dmt_buf_dmabuf_fd(b);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	T_CHECK(readlink(path, target, sizeof(target) - 1) > 0 &&
		strstr(target, "memfd:fake-hsa-vram"), "fd is %s", target);
	/* the buffer's byte 0 sits at the reported offset of the export */
	memset(back, 0, size);
	T_CHECK(pread(fd, back, size, (off_t)dmt_buf_dmabuf_offset(b)) ==
		(ssize_t)size && !memcmp(back, pat, size),
		"%s: bytes at the export offset are not the buffer", label);
	dmt_buf_free(b);
	check_clean();
	free(pat);
	free(back);
	printf("ok: %s: allocate, export (offset %llu), copy in/out, free\n",
	       label, (unsigned long long)want_off);
}

struct pump {
	struct dmt_rx *rx;
	unsigned char *dst;
	uint64_t len;
	ssize_t ret;
};

/* The staged RX engine, gathered out of the GPU buffer in stream order. */
static void *pump_recv(void *arg)
{
	struct pump *p = arg;
	struct dmt_frag f[16];
	uint64_t got = 0;
	unsigned int n;
	ssize_t r;

	while (got < p->len && (r = dmt_rx_recv(p->rx, f, 16, &n)) > 0) {
		if (dmt_rx_gather(p->rx, f, n, p->dst + got, p->len - got) != r ||
		    dmt_rx_release(p->rx, f, n) != (int)n)
			break;
		got += (uint64_t)r;
	}
	p->ret = (ssize_t)got;
	return NULL;
}

static void stage_pair(void)
{
	size_t size = 4u << 20;
	DMT_OPTS(dmt_tx_opts, to, .engine = DMT_ENGINE_STAGED);
	DMT_OPTS(dmt_rx_opts, ro, .engine = DMT_ENGINE_STAGED,
		 .stage_chunk = 256 << 10);
	DMT_OPTS(dmt_rx_stats, rs);
	struct dmt_error e;
	struct dmt_buf *a = rocm_new(size, 0, NULL, &e), *b;
	unsigned char *pat = malloc(size), *back = malloc(size);
	struct dmt_seg seg = { .off = 0, .len = size };
	struct dmt_tx *tx;
	struct dmt_rx *rx;
	struct pump p;
	pthread_t thr;
	int sv[2];

	T_CHECK(a, "%s", e.message);
	b = rocm_new(size, 0, NULL, &e);
	T_CHECK(b, "%s", e.message);
	for (size_t i = 0; i < size; i++)
		pat[i] = (unsigned char)(i ^ (i >> 8));
	T_CHECK(dmt_buf_write(a, 0, pat, size) == 0, "write");
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "sp");
	tx = dmt_tx_from_fd(NULL, a, sv[0], &to, &e);
	T_CHECK(tx, "staged tx: %s", e.message);
	rx = dmt_rx_from_fd(NULL, b, sv[1], &ro, &e);
	T_CHECK(rx && dmt_rx_engine(rx) == DMT_ENGINE_STAGED, "staged rx: %s",
		e.message);
	T_CHECK(fstats().locked == 2, "bounce halves not locked "
		"(hsa_amd_memory_lock): %d", fstats().locked);
	p = (struct pump){ .rx = rx, .dst = back, .len = size };
	pthread_create(&thr, NULL, pump_recv, &p);
	T_CHECK(dmt_tx_send(tx, &seg, 1) == (ssize_t)size, "send: %s",
		dmt_tx_last_error(tx)->message);
	pthread_join(thr, NULL);
	T_CHECK(p.ret == (ssize_t)size, "recv %zd: %s", p.ret,
		dmt_rx_last_error(rx)->message);
	T_CHECK(!memcmp(back, pat, size), "staged bytes differ");
	T_CHECK(dmt_rx_get_stats(rx, &rs) == 0 && rs.stage_pinned == 1, "pinned");
	dmt_tx_free(tx);
	dmt_rx_free(rx);
	close(sv[0]);
	close(sv[1]);
	dmt_buf_free(a);
	dmt_buf_free(b);
	check_clean();
	free(pat);
	free(back);
	printf("ok: staged ROCm -> socket -> ROCm of %zu bytes\n", size);
}

int main(void)
{
	struct dmt_gpu_probe pr;
	struct dmt_error e;
	struct dmt_buf *b;
	void *h;

	printf("NOTE: this test drives a FAKE HSA runtime (%s), not a GPU\n",
	       FAKE_HSA_LIB);
	setenv("DMT_ROCM_LIB", "/nonexistent/libhsa-runtime64.so.1", 1);
	expect_fail(0, NULL, -DMT_ERR_GPU, "DMT_BUF_ROCM: libhsa-runtime64.so.1 "
		    "not found: no ROCm runtime on this host");
	setenv("DMT_ROCM_LIB", FAKE_HSA_OLD_LIB, 1);
	expect_fail(0, NULL, -DMT_ERR_NO_EXPORTER, "too old for dma-buf export");

	reset_env();
	h = dlopen(FAKE_HSA_LIB, RTLD_NOW | RTLD_LOCAL);
	T_CHECK(h, "%s", dlerror());
	*(void **)&get_stats = dlsym(h, "fake_hsa_get_stats");
	T_CHECK(get_stats, "fake runtime lacks fake_hsa_get_stats");

	roundtrip(0, "default");
	setenv("FAKE_HSA_EXPORT_OFFSET", "1", 1);
	roundtrip(64 << 10, "export covering more than the allocation");
	reset_env();

	setenv("FAKE_HSA_GPUS", "2", 1);
	b = rocm_new(4096, 1, NULL, &e);
	T_CHECK(b, "device 1: %s", e.message);
	dmt_buf_free(b);
	b = rocm_new(4096, 0, "0000:02:00.0", &e);
	T_CHECK(b, "bus id: %s", e.message);
	dmt_buf_free(b);
	printf("ok: GPU by index and by PCI bus id\n");
	expect_fail(3, NULL, -ENODEV, "no ROCm GPU 3: this host has 2");
	expect_fail(0, "0000:09:00.0", -ENODEV, "no ROCm GPU at PCI bus id "
		    "0000:09:00.0");
	expect_fail(0, "zz", -EINVAL, "is not a PCI bus id");
	reset_env();
	setenv("FAKE_HSA_GPUS", "0", 1);
	expect_fail(0, NULL, -ENODEV, "no ROCm GPU on this host");
	reset_env();
	setenv("FAKE_HSA_EXPORT_ERR", "4096", 1);
	expect_fail(0, NULL, -DMT_ERR_GPU, "hsa_amd_portable_export_dmabuf failed");
	reset_env();

	T_CHECK(dmt_rocm_probe(0, &pr) == 0 && pr.export_ok == 1 &&
		pr.ndevices == 1 && pr.lib_found == 1 &&
		!strcmp(pr.device_name, "gfx-fake-0"), "probe: %s", pr.message);
	check_clean();
	printf("ok: probe\n");

	stage_pair();
	printf("PASS (fake HSA runtime only; no GPU was used)\n");
	return T_PASS;
}
