// SPDX-License-Identifier: MIT
/*
 * Tier A: the CUDA provider against a FAKE driver (tests/fake_cuda.c, not
 * NVIDIA's libcuda): allocation, export, copies in and out, staging through
 * the copy thread, and every failure branch. Proves the library's code
 * paths and messages, not that a real GPU works (gpu_cuda_real does that).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "gpu.h"
#include "helpers.h"
#include "fake_gpu.h"
#include "nicsetup.h"

static void (*get_stats)(struct fake_cuda_stats *);

/* A NIC whose bind refuses the PCIe-mapped export with ENOTSUPP (524), as
 * the NVIDIA driver does on topologies without a direct PCIe path. */
static int nic_binds;
static unsigned long long (*last_flags)(void);
static int n_rings(void *u, struct dmt_ctx *c, int i, struct dmt_rings *r)
{
	(void)u; (void)c; (void)i;
	memset(r, 0, sizeof(*r));
	return 0;
}
static int n_channels(void *u, struct dmt_ctx *c, int i, struct dmt_channels *ch)
{
	(void)u; (void)c; (void)i;
	memset(ch, 0, sizeof(*ch));
	ch->combined = 4;
	return 0;
}
static int n_feat(void *u, struct dmt_ctx *c, int i, const char *n, bool *a,
		  bool *f)
{
	(void)u; (void)c; (void)i; (void)n;
	*a = true;
	*f = false;
	return 0;
}
static int n_rss(void *u, struct dmt_ctx *c, int i, struct dmt_rss *r)
{
	(void)u; (void)c; (void)i;
	memset(r, 0, sizeof(*r));
	return -EOPNOTSUPP;
}
static int n_bind(void *u, struct dmt_ctx *c, int i, int fd, const uint32_t *q,
		  unsigned int n, uint32_t *id)
{
	(void)u; (void)i; (void)fd; (void)q; (void)n;
	nic_binds++;
	if (last_flags() == 1) {
		dmt_err_set(&c->err, -524, "bind-rx: ENOTSUPP (PCIe mapping)");
		return -524;
	}
	*id = 5;
	return 0;
}
static void n_unbind(void *u)
{
	(void)u;
}
static const struct dmt_nic_ops pcie_nic = {
	.rings_get = n_rings, .channels_get = n_channels,
	.feature_get = n_feat, .rss_get = n_rss, .bind_rx = n_bind,
	.unbind = n_unbind,
};

static unsigned long long flags_now(void)
{
	struct fake_cuda_stats s;

	get_stats(&s);
	return s.last_export_flags;
}

/* ENOTSUPP (524) at bind time after a PCIe-flagged export: the setup
 * exports again without the flag, on the same fd number, and binds. */
static void test_pcie_refused_at_bind(void)
{
	char jdir[] = "/tmp/dmt-cuda-XXXXXX";
	DMT_OPTS(dmt_nic_setup_opts, o, .flags = DMT_NIC_F_NO_HDS |
		 DMT_NIC_F_NO_RSS | DMT_NIC_F_NO_RULE, .journal_dir = jdir);
	struct dmt_nic_setup *s;
	struct dmt_ctx *ctx = t_ctx();
	struct dmt_error e;
	struct dmt_buf *b;
	int fd;

	T_CHECK(mkdtemp(jdir), "mkdtemp");
	last_flags = flags_now;
	b = dmt_buf_new(DMT_BUF_CUDA, 1 << 20, NULL, &e);
	T_CHECK(b, "%s", e.message);
	T_CHECK(flags_now() == 1, "export with the PCIe flag first");
	fd = dmt_buf_dmabuf_fd(b);
	s = dmt_nic_setup_new_ops(ctx, 1, &o, &pcie_nic, NULL, &e);
	T_CHECK(s, "%s", e.message);
	T_CHECK(dmt_nic_setup_apply(s, b) == 0, "apply after a 524: %s",
		dmt_nic_setup_last_error(s)->message);
	T_CHECK(nic_binds == 2 && flags_now() == 0, "retried once with a plain "
		"export (%d binds, flags %llu)", nic_binds, flags_now());
	T_CHECK(dmt_buf_dmabuf_fd(b) == fd && fcntl(fd, F_GETFD) >= 0,
		"same fd number");
	T_CHECK(strstr(dmt_nic_setup_summary(s), "errno 524"), "%s",
		dmt_nic_setup_summary(s));
	T_CHECK(dmt_cuda_reexport_plain(b, &e) == 0, "nothing left to retry");
	dmt_nic_setup_free(s);
	dmt_buf_free(b);
	dmt_ctx_free(ctx);
	rmdir(jdir);
	T_CHECK(strstr(dmt_strerror(-524), "ENOTSUPP"), "524 in words");
	printf("ok: ENOTSUPP at bind time retried with a plain export\n");
}

static struct fake_cuda_stats fstats(void)
{
	struct fake_cuda_stats s;

	get_stats(&s);
	return s;
}

static void reset_env(void)
{
	unsetenv("FAKE_CUDA_DEVICES");
	unsetenv("FAKE_CUDA_DMABUF");
	unsetenv("FAKE_CUDA_NO_PCIE_FLAG");
	unsetenv("FAKE_CUDA_EXPORT_ERR");
	unsetenv("FAKE_CUDA_MISALIGN");
	unsetenv("FAKE_CUDA_OOM");
	unsetenv("FAKE_CUDA_COPY_ERR");
	setenv("DMT_CUDA_LIB", FAKE_CUDA_LIB, 1);
}

static struct dmt_buf *cuda_new(size_t size, int device, const char *busid,
				struct dmt_error *e)
{
	DMT_OPTS(dmt_buf_opts, o, .device = device, .pci_bus_id = busid);

	return dmt_buf_new(DMT_BUF_CUDA, size, &o, e);
}

/* Expect failure with err and a message containing needle; no leaks. */
static void expect_fail(size_t size, int device, const char *busid, int err,
			const char *needle)
{
	struct dmt_error e;
	struct dmt_buf *b = cuda_new(size, device, busid, &e);

	T_CHECK(!b, "allocation unexpectedly succeeded (want \"%s\")", needle);
	T_CHECK(e.err == err, "err %d (%s), want %d: %s", e.err,
		dmt_strerror(e.err), err, e.message);
	T_CHECK(errno == -err, "errno %d, want %d", errno, -err);
	T_CHECK(strstr(e.message, needle), "message \"%s\" lacks \"%s\"",
		e.message, needle);
	if (get_stats) {
		struct fake_cuda_stats s = fstats();
		T_CHECK(s.live_allocs == 0 && s.ctx_refs == 0,
			"leak after failure: %d allocations, %d context refs",
			s.live_allocs, s.ctx_refs);
	}
	printf("ok: fails clearly: %s\n", e.message);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 7 + seed + (i >> 12)) & 0xff);
}

/* The exported fd must be the fake's memfd and hold exactly the buffer. */
static void check_export(struct dmt_buf *b, const unsigned char *want,
			 size_t len)
{
	int fd = dmt_buf_dmabuf_fd(b);
	char path[64], target[256] = "";
	unsigned char *got = malloc(len);
	ssize_t n;

	T_CHECK(fd >= 0, "no dma-buf fd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	T_CHECK(n > 0 && strstr(target, "memfd:fake-cuda-dmabuf"),
		"fd %d is \"%s\", not the fake driver's memfd", fd, target);
	T_CHECK(lseek(fd, 0, SEEK_END) == (off_t)dmt_buf_size(b),
		"exported size %lld != buffer size %zu",
		(long long)lseek(fd, 0, SEEK_END), dmt_buf_size(b));
	T_CHECK(pread(fd, got, len, 0) == (ssize_t)len, "pread: %s",
		strerror(errno));
	T_CHECK(!memcmp(got, want, len), "exported bytes differ from the "
		"written pattern: the export does not start at the buffer");
	free(got);
}

static void test_roundtrip(const char *label)
{
	size_t req = (1u << 20) + 1, size;
	struct fake_cuda_stats s0 = fstats(), s1;
	struct dmt_error e;
	struct dmt_buf *b = cuda_new(req, 0, NULL, &e);
	unsigned char *pat, *back;

	T_CHECK(b, "%s: %s", label, e.message);
	size = dmt_buf_size(b);
	T_CHECK(size >= req && size % (size_t)sysconf(_SC_PAGESIZE) == 0,
		"size %zu not page rounded", size);
	T_CHECK(dmt_buf_kind(b) == DMT_BUF_CUDA, "kind");
	T_CHECK(dmt_buf_map(b) == NULL, "GPU memory must not be CPU-mapped");
	T_CHECK(dmt_buf_dmabuf_offset(b) == 0, "CUDA exports start at 0");
	pat = malloc(size);
	back = malloc(size);
	fill(pat, size, 3);
	T_CHECK(dmt_buf_write(b, 0, pat, size) == 0, "write: %s",
		dmt_buf_last_error(b)->message);
	/* an unaligned partial rewrite */
	fill(pat + 4097, 1000, 99);
	T_CHECK(dmt_buf_write(b, 4097, pat + 4097, 1000) == 0, "write part");
	memset(back, 0, size);
	T_CHECK(dmt_buf_read(b, 0, back, size) == 0, "read: %s",
		dmt_buf_last_error(b)->message);
	T_CHECK(!memcmp(back, pat, size), "copy out differs from copy in");
	T_CHECK(dmt_buf_read(b, 1, back, 10) == 0 && !memcmp(back, pat + 1, 10),
		"unaligned read");
	T_CHECK(dmt_buf_write(b, size - 1, pat, 2) == -EINVAL,
		"write past the end accepted");
	T_CHECK(dmt_buf_read(b, size + 1, back, 0) == -EINVAL,
		"read past the end accepted");
	check_export(b, pat, size);
	s1 = fstats();
	T_CHECK(s1.live_allocs == s0.live_allocs + 1 && s1.ctx_refs == s0.ctx_refs + 1,
		"allocation/context not accounted");
	dmt_buf_free(b);
	s1 = fstats();
	T_CHECK(s1.live_allocs == s0.live_allocs && s1.ctx_refs == s0.ctx_refs,
		"free leaked: %d allocations, %d context refs", s1.live_allocs,
		s1.ctx_refs);
	free(pat);
	free(back);
	printf("ok: %s: allocate %zu, export, copy in/out, free\n", label, size);
}

struct pump {
	struct dmt_rx *rx;
	unsigned char *dst;
	uint64_t len;
	ssize_t ret;
};

/* Receive len bytes with the staged RX engine, gathered out of the GPU
 * buffer into dst in stream order. */
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

/* GPU -> socket -> GPU through the staged TX and RX engines with small
 * chunks on the receive side, so both copy threads run many chunks (and
 * must push the CUDA context themselves). */
static void test_stage_pair(void)
{
	size_t size = 8u << 20;
	DMT_OPTS(dmt_tx_opts, to, .engine = DMT_ENGINE_STAGED);
	DMT_OPTS(dmt_rx_opts, ro, .engine = DMT_ENGINE_STAGED,
		 .stage_chunk = 64 << 10);
	DMT_OPTS(dmt_rx_stats, rs);
	struct dmt_error e;
	struct dmt_buf *a = cuda_new(size, 0, NULL, &e), *b;
	struct dmt_frag f[4];
	struct dmt_tx *tx;
	struct dmt_rx *rx;
	unsigned char *pat, *back;
	struct dmt_seg seg;
	struct pump p;
	unsigned int n;
	pthread_t thr;
	int sv[2];

	T_CHECK(a, "%s", e.message);
	b = cuda_new(size, 0, NULL, &e);
	T_CHECK(b, "%s", e.message);
	pat = malloc(size);
	back = malloc(size);
	fill(pat, size, 11);
	T_CHECK(dmt_buf_write(a, 0, pat, size) == 0, "write");
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
		"socketpair");
	tx = dmt_tx_from_fd(NULL, a, sv[0], &to, &e);
	T_CHECK(tx && dmt_tx_engine(tx) == DMT_ENGINE_STAGED, "staged tx: %s",
		e.message);
	rx = dmt_rx_from_fd(NULL, b, sv[1], &ro, &e);
	T_CHECK(rx && dmt_rx_engine(rx) == DMT_ENGINE_STAGED, "staged rx: %s",
		e.message);
	T_CHECK(fstats().registered == 2, "bounce halves not registered with "
		"the driver (cuMemHostRegister): %d", fstats().registered);
	/* send 5 MiB + 123 from offset 1000 of a */
	seg = (struct dmt_seg){ .off = 1000, .len = (5u << 20) + 123 };
	p = (struct pump){ .rx = rx, .dst = back, .len = seg.len };
	pthread_create(&thr, NULL, pump_recv, &p);
	T_CHECK(dmt_tx_send(tx, &seg, 1) == (ssize_t)seg.len,
		"staged send: %s", dmt_tx_last_error(tx)->message);
	pthread_join(thr, NULL);
	T_CHECK(p.ret == (ssize_t)seg.len, "staged recv got %zd: %s", p.ret,
		dmt_rx_last_error(rx)->message);
	T_CHECK(!memcmp(back, pat + 1000, seg.len), "staged bytes differ");
	T_CHECK(dmt_rx_get_stats(rx, &rs) == 0 && rs.stage_pinned == 1 &&
		rs.copied_bytes == seg.len && rs.stage_chunk == 64 << 10 &&
		rs.stage_chunks >= seg.len / (64 << 10),
		"recv stats: pinned %u copied %llu chunks %llu", rs.stage_pinned,
		(unsigned long long)rs.copied_bytes,
		(unsigned long long)rs.stage_chunks);
	/* a device copy failure is reported, not swallowed */
	setenv("FAKE_CUDA_COPY_ERR", "999", 1);
	seg = (struct dmt_seg){ .off = 0, .len = 4096 };
	T_CHECK(dmt_tx_send(tx, &seg, 1) < 0, "send with a failing copy "
		"succeeded");
	T_CHECK(strstr(dmt_tx_last_error(tx)->message, "cuMemcpyDtoH"),
		"copy failure message: %s", dmt_tx_last_error(tx)->message);
	unsetenv("FAKE_CUDA_COPY_ERR");
	/* end of stream */
	dmt_tx_free(tx);
	close(sv[0]);
	T_CHECK(dmt_rx_recv(rx, f, 4, &n) == 0, "recv at EOF");
	dmt_rx_free(rx);
	close(sv[1]);
	T_CHECK(fstats().registered == 0, "bounce halves not unregistered");
	dmt_buf_free(a);
	dmt_buf_free(b);
	free(pat);
	free(back);
	printf("ok: staged GPU -> socket -> GPU of %llu bytes in %u-byte chunks\n",
	       (unsigned long long)p.len, 64u << 10);
}

int main(void)
{
	struct fake_cuda_stats s;
	struct dmt_gpu_probe pr;
	struct dmt_error e;
	struct dmt_buf *b;
	void *h;

	printf("NOTE: this test drives a FAKE CUDA driver (%s), not a GPU\n",
	       FAKE_CUDA_LIB);
	/* no driver */
	setenv("DMT_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
	expect_fail(4096, 0, NULL, -DMT_ERR_GPU, "DMT_BUF_CUDA: libcuda.so.1 not "
		    "found: no NVIDIA driver on this host");
	/* a driver without dma-buf export */
	setenv("DMT_CUDA_LIB", FAKE_CUDA_OLD_LIB, 1);
	expect_fail(4096, 0, NULL, -DMT_ERR_GPU, "too old for dma-buf export");

	reset_env();
	h = dlopen(FAKE_CUDA_LIB, RTLD_NOW | RTLD_LOCAL);
	T_CHECK(h, "cannot load the fake driver: %s", dlerror());
	*(void **)&get_stats = dlsym(h, "fake_cuda_get_stats");
	T_CHECK(get_stats, "fake driver lacks fake_cuda_get_stats");

	test_roundtrip("default");
	s = fstats();
	T_CHECK(s.last_export_flags == 1, "export did not ask for the PCIe "
		"mapping type (flags %llu)", s.last_export_flags);

	test_pcie_refused_at_bind();

	setenv("FAKE_CUDA_NO_PCIE_FLAG", "1", 1);
	s = fstats();
	test_roundtrip("driver without the PCIe mapping flag");
	T_CHECK(fstats().export_calls == s.export_calls + 2 &&
		fstats().last_export_flags == 0,
		"no retry without the flag (%d calls, flags %llu)",
		fstats().export_calls - s.export_calls,
		fstats().last_export_flags);
	reset_env();

	setenv("FAKE_CUDA_MISALIGN", "1", 1);
	test_roundtrip("driver returning unaligned pointers");
	reset_env();

	setenv("FAKE_CUDA_DEVICES", "2", 1);
	b = cuda_new(4096, 1, NULL, &e);
	T_CHECK(b, "device 1: %s", e.message);
	dmt_buf_free(b);
	b = cuda_new(4096, 0, "0000:02:00.0", &e);
	T_CHECK(b, "bus id: %s", e.message);
	dmt_buf_free(b);
	printf("ok: device by index and by PCI bus id\n");
	expect_fail(4096, 3, NULL, -ENODEV, "no CUDA device 3: this host has 2");
	expect_fail(4096, 0, "0000:09:00.0", -ENODEV,
		    "no CUDA device at PCI bus id 0000:09:00.0");
	reset_env();

	setenv("FAKE_CUDA_DEVICES", "0", 1);
	expect_fail(4096, 0, NULL, -ENODEV, "no CUDA device");
	reset_env();

	setenv("FAKE_CUDA_DMABUF", "0", 1);
	expect_fail(4096, 0, NULL, -DMT_ERR_NO_EXPORTER, "needs the NVIDIA open "
		    "kernel modules (Turing or newer) and a kernel with dma-buf");
	reset_env();

	setenv("FAKE_CUDA_EXPORT_ERR", "801", 1);
	expect_fail(4096, 0, NULL, -EOPNOTSUPP, "dma-buf export refused: "
		    "CUDA_ERROR_NOT_SUPPORTED");
	reset_env();

	setenv("FAKE_CUDA_OOM", "1", 1);
	expect_fail(64u << 20, 0, NULL, -ENOMEM, "out of device memory");
	reset_env();

	/* copy failures carry the driver's error */
	b = cuda_new(4096, 0, NULL, &e);
	T_CHECK(b, "%s", e.message);
	setenv("FAKE_CUDA_COPY_ERR", "999", 1);
	T_CHECK(dmt_buf_write(b, 0, "x", 1) == -DMT_ERR_GPU, "failing copy");
	T_CHECK(strstr(dmt_buf_last_error(b)->message, "cuMemcpyHtoD"),
		"message: %s", dmt_buf_last_error(b)->message);
	reset_env();
	dmt_buf_free(b);
	printf("ok: copy failures name cuMemcpyHtoD\n");

	/* the doctor probe */
	T_CHECK(dmt_cuda_probe(0, &pr) == 0, "probe: %s", pr.message);
	T_CHECK(pr.lib_found == 1 && pr.ndevices == 1 && pr.dmabuf_supported == 1 &&
		pr.export_ok == 1 && pr.pcie_mapping == 1 &&
		pr.driver_version == 12040 && strstr(pr.device_name, "Fake"),
		"probe fields: lib %d n %d dmabuf %d export %d pcie %d",
		pr.lib_found, pr.ndevices, pr.dmabuf_supported, pr.export_ok,
		pr.pcie_mapping);
	setenv("FAKE_CUDA_DMABUF", "0", 1);
	T_CHECK(dmt_cuda_probe(0, &pr) == -DMT_ERR_NO_EXPORTER &&
		pr.dmabuf_supported == 0 && pr.export_ok == -1 &&
		strstr(pr.message, "open kernel modules"), "probe without "
		"dma-buf: %s", pr.message);
	reset_env();
	setenv("DMT_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
	T_CHECK(dmt_cuda_probe(0, &pr) < 0 && pr.lib_found == 0 &&
		pr.ndevices == -1, "probe without a driver");
	reset_env();
	s = fstats();
	T_CHECK(s.live_allocs == 0 && s.ctx_refs == 0, "probe leaked");
	printf("ok: probe\n");

	test_stage_pair();
	s = fstats();
	T_CHECK(s.live_allocs == 0 && s.ctx_refs == 0 && s.registered == 0,
		"leaks at the end: %d allocations, %d context refs, %d pins",
		s.live_allocs, s.ctx_refs, s.registered);
	printf("PASS (fake CUDA driver only; no GPU was used)\n");
	return T_PASS;
}
