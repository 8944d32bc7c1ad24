// SPDX-License-Identifier: MIT
/*
 * Tier A: `devmemtcp client --buffer cuda|rocm` on a host without the GPU
 * runtime fails with one line naming the cause, and a non-zero exit; a
 * malformed device suffix is a usage error (exit 2). The FAKE CUDA driver
 * (tests/fake_cuda.c) stands in for "a driver whose GPU cannot export
 * dma-bufs" and "no such device"; no GPU is used.
 */
#include <dlfcn.h>
#include <unistd.h>

#include "helpers.h"

static char out[8192];

/* stderr only; returns the exit status. */
static int cli(const char *env, const char *args, int port)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "(env -u DMT_CUDA_LIB -u DMT_ROCM_LIB %s %s "
		 "client -s 127.0.0.1 -p %d --size 1M -i 0 --timeout 2 %s "
		 "2>&1 1>/dev/null)", env, t_cli(), port, args);
	return t_run(cmd, out, sizeof(out));
}

static int nlines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void expect(const char *env, const char *args, int port, int rc_want,
		   const char *needle)
{
	int rc = cli(env, args, port);

	T_CHECK(rc_want ? rc == rc_want : rc != 0, "%s %s: exit %d (want %s%d): %s",
		env, args, rc, rc_want ? "" : "non-zero, not ", rc_want, out);
	T_CHECK(strstr(out, needle), "%s %s: stderr lacks \"%s\": %s", env, args,
		needle, out);
	T_CHECK(nlines(out) == 1, "%s %s: %d lines on stderr, want one: %s",
		env, args, nlines(out), out);
	printf("ok: %s %s -> exit %d: %s", env, args, rc, out);
}

int main(void)
{
	char env[512];
	int lfd, port = 0;
	void *h;

	T_SKIP_IF(access(t_cli(), X_OK) != 0, "the devmemtcp CLI (%s) is not "
		  "built", t_cli());
	lfd = t_listen("127.0.0.1", &port);	/* in case it connects first */

	h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		expect("", "--buffer cuda", port, 0, "--buffer cuda: libcuda.so.1 "
		       "not found: no NVIDIA driver on this host\n");
		expect("", "--buffer cuda:1", port, 0, "--buffer cuda: "
		       "libcuda.so.1 not found: no NVIDIA driver on this host\n");
	} else {
		printf("note: this host has libcuda.so.1; checking the missing-"
		       "driver message through DMT_CUDA_LIB\n");
		expect("DMT_CUDA_LIB=/nonexistent/libcuda.so.1", "--buffer cuda",
		       port, 0, "--buffer cuda: libcuda.so.1 not found: no NVIDIA "
		       "driver on this host");
	}
	h = dlopen("libhsa-runtime64.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		expect("", "--buffer rocm", port, 0, "--buffer rocm: "
		       "libhsa-runtime64.so.1 not found: no ROCm runtime on this "
		       "host\n");
	else
		expect("DMT_ROCM_LIB=/nonexistent/libhsa-runtime64.so.1",
		       "--buffer rocm", port, 0, "--buffer rocm: "
		       "libhsa-runtime64.so.1 not found: no ROCm runtime");

	/* usage errors: exit 2 */
	T_CHECK(cli("", "--buffer cuda:x", port) == 2, "cuda:x: %s", out);
	T_CHECK(nlines(out) == 1, "cuda:x: one line: %s", out);
	printf("ok: --buffer cuda:x -> exit 2: %s", out);

	/* a driver whose GPU cannot export dma-bufs (fake driver) */
	snprintf(env, sizeof(env), "DMT_CUDA_LIB=%s FAKE_CUDA_DMABUF=0",
		 FAKE_CUDA_LIB);
	expect(env, "--buffer cuda", port, 0, "needs the NVIDIA open kernel "
	       "modules (Turing or newer) and a kernel with dma-buf");
	snprintf(env, sizeof(env), "DMT_CUDA_LIB=%s", FAKE_CUDA_LIB);
	expect(env, "--buffer cuda:7", port, 0, "no CUDA device 7: this host "
	       "has 1");
	close(lfd);
	printf("PASS\n");
	return T_PASS;
}
