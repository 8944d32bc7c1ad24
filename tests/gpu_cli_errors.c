// SPDX-License-Identifier: MIT
/*
 * Tier A: `devmemtcp client|server|demo|bench --buffer cuda|rocm` on a host
 * without the GPU runtime fails with one line naming the cause, and exit 1;
 * a malformed device suffix is a usage error (exit 2). The FAKE CUDA driver
 * (tests/fake_cuda.c) stands in for "a driver whose GPU cannot export
 * dma-bufs" and "no such device"; no GPU is used. The server, demo and
 * bench fail before they listen, create namespaces or fork their roles.
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

/* Any subcommand line; stderr only; returns the exit status. */
static int cli_any(const char *env, const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "(env -u DMT_CUDA_LIB -u DMT_ROCM_LIB %s "
		 "timeout 20 %s %s 2>&1 1>/dev/null)", env, t_cli(), args);
	return t_run(cmd, out, sizeof(out));
}

static void expect_any(const char *env, const char *args, int rc_want,
		       const char *needle)
{
	int rc = cli_any(env, args);

	T_CHECK(rc == rc_want, "%s %s: exit %d (want %d): %s", env, args, rc,
		rc_want, out);
	T_CHECK(strstr(out, needle), "%s %s: stderr lacks \"%s\": %s", env, args,
		needle, out);
	T_CHECK(nlines(out) == 1, "%s %s: %d lines on stderr, want one: %s",
		env, args, nlines(out), out);
	printf("ok: %s %s -> exit %d: %s", env, args, rc, out);
}

/* server, demo and bench: the same one-line message, exit 1; exit 2 for
 * a malformed --buffer. */
static void roles(const char *env, const char *buf, const char *msg)
{
	static const char *const pre[] = {
		"server -s 127.0.0.1 -p 0 -v 251 -i 0 --timeout 2 --buffer",
		"demo --loopback --size 1M --buffer",
		"bench -q --reps 1 --bytes 1M --sizes 64K --buffer",
	};
	char args[256];

	for (int i = 0; i < 3; i++) {
		snprintf(args, sizeof(args), "%s %s", pre[i], buf);
		expect_any(env, args, 1, msg);
		snprintf(args, sizeof(args), "%s cuda:x", pre[i]);
		expect_any(env, args, 2, "cuda:x");
	}
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
		roles("", "cuda", "--buffer cuda: libcuda.so.1 not found: no "
		      "NVIDIA driver on this host\n");
	} else {
		printf("note: this host has libcuda.so.1; checking the missing-"
		       "driver message through DMT_CUDA_LIB\n");
		expect("DMT_CUDA_LIB=/nonexistent/libcuda.so.1", "--buffer cuda",
		       port, 0, "--buffer cuda: libcuda.so.1 not found: no NVIDIA "
		       "driver on this host");
		roles("DMT_CUDA_LIB=/nonexistent/libcuda.so.1", "cuda",
		      "--buffer cuda: libcuda.so.1 not found: no NVIDIA driver "
		      "on this host");
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
	roles(env, "cuda:7", "no CUDA device 7: this host has 1");
	close(lfd);
	printf("PASS\n");
	return T_PASS;
}
