// SPDX-License-Identifier: MIT
/*
 * tier B: DMT_CUDA_LIB / DMT_ROCM_LIB name code to load, so a process
 * running with AT_SECURE (setuid, setgid, file capabilities: the setcap'd
 * binary the docs describe) must ignore them. This program copies itself
 * next to its binary, makes the copy setuid to the user nobody (as root:
 * real uid 0, effective uid nobody, so the kernel sets AT_SECURE) and runs
 * both with DMT_CUDA_LIB naming the fake CUDA runtime: the plain run loads
 * it and allocates, the secure run must not load it (this host has no
 * libcuda.so.1, so the allocation fails naming only that default).
 */
#include <pwd.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "gpu.h"

/* The child: report AT_SECURE, the library names and a CUDA allocation. */
static int child(void)
{
	struct dmt_error err = { 0 };
	struct dmt_buf *b;

	printf("secure=%lu\n", getauxval(AT_SECURE));
	printf("cuda_lib=%s\n", dmt_gpu_lib_name("DMT_CUDA_LIB", "libcuda.so.1"));
	printf("rocm_lib=%s\n", dmt_gpu_lib_name("DMT_ROCM_LIB",
						 "libhsa-runtime64.so.1"));
	b = dmt_buf_new(DMT_BUF_CUDA, 1 << 20, NULL, &err);
	printf("cuda_alloc=%s\n", b ? "ok" : "failed");
	printf("cuda_err=%s\n", b ? "" : err.message);
	dmt_buf_free(b);
	if (getauxval(AT_SECURE)) {
		/* A setuid process is not dumpable, and its environment
		 * (ASAN_OPTIONS) is not read: the sanitizer build's leak
		 * check at exit cannot stop the world there and aborts. */
		fflush(stdout);
		_exit(0);
	}
	return 0;
}

static char *run(const char *prog)
{
	static char out[4096];
	char cmd[1400];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "DMT_CUDA_LIB='%s' DMT_ROCM_LIB=/nonexistent/"
		 "evil.so '%s' child 2>&1", FAKE_CUDA_LIB, prog);
	f = popen(cmd, "r");
	T_CHECK(f, "popen");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

int main(int argc, char **argv)
{
	char self[1024], copy[1100], *out;
	struct passwd *pw;
	ssize_t n;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return child();
	t_require_root();
	pw = getpwnam("nobody");
	T_SKIP_IF(!pw, "no user nobody to make a setuid copy for");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	T_CHECK(n > 0, "readlink");
	self[n] = '\0';

	out = run(self);
	printf("plain run:\n%s", out);
	T_CHECK(strstr(out, "secure=0") && strstr(out, "cuda_lib=" FAKE_CUDA_LIB) &&
		strstr(out, "rocm_lib=/nonexistent/evil.so") &&
		strstr(out, "cuda_alloc=ok"), "the override is used without "
		"AT_SECURE");

	snprintf(copy, sizeof(copy), "%s.setuid", self);
	unlink(copy);
	{
		char cmd[2300];

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", self, copy);
		T_CHECK(system(cmd) == 0, "copy");
	}
	rc = chown(copy, pw->pw_uid, pw->pw_gid) == 0 &&
	     chmod(copy, 04755) == 0;
	if (!rc) {
		unlink(copy);
		T_CHECK(0, "setuid copy: %s", strerror(errno));
	}
	out = run(copy);
	unlink(copy);
	printf("setuid run:\n%s", out);
	T_SKIP_IF(strstr(out, "secure=0"), "the setuid copy ran without "
		  "AT_SECURE (file system mounted nosuid?)");
	T_CHECK(strstr(out, "secure=1"), "child ran");
	T_CHECK(strstr(out, "cuda_lib=libcuda.so.1") &&
		strstr(out, "rocm_lib=libhsa-runtime64.so.1"),
		"AT_SECURE: the overrides must be ignored");
	T_CHECK(strstr(out, "cuda_alloc=failed") && !strstr(out, FAKE_CUDA_LIB),
		"AT_SECURE: the fake runtime must not be loaded");
	printf("gpu_lib_secure: ok\n");
	return T_PASS;
}
