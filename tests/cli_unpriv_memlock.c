// SPDX-License-Identifier: MIT
/*
 * tier B, unpriv: the client as the user nobody, without capabilities,
 * under a small locked-memory limit (RLIMIT_MEMLOCK; zero-copy sends and
 * registered io_uring buffers pin pages against it, per user):
 *  - the default client (engine auto) with `ulimit -l 64` delivers 256 MiB,
 *    five runs in a row, and its reason names the limit;
 *  - with the usual default of 8 MiB it delivers 256 MiB three times;
 *  - explicit uring and zerocopy with 64 KiB deliver every byte in order
 *    (smaller sends, waits for completions);
 *  - two uring clients at once share the user's 8 MiB;
 *  - explicit zerocopy and uring under 8 KiB, where no send can fit, fail
 *    at once with a sentence naming the limit and how to raise it;
 *  - doctor runs as nobody.
 */
#include <devmemtcp.h>

#include "unpriv.h"

static unsigned long long g_limit;

static pid_t launch_unpriv_client(void *ctx, int side, struct cu_exec *e)
{
	static struct t_unpriv u;
	struct cu_exec w = *e;

	(void)ctx;
	if (side == 1)
		return cu_spawn(e->argv, e->in, e->out, e->err);
	w.argv = t_unpriv_argv(&u, g_limit, e->argv);
	return cu_spawn(w.argv, w.in, w.out, w.err);
}

static int pair(const char *dir, unsigned long long limit, const char *engine,
		unsigned long long size, const char *expect_reason)
{
	struct cu_pair p = { launch_unpriv_client, NULL, dir, "127.0.0.1",
			     engine, size, 251 };
	char co[300];
	int bad;

	g_limit = limit;
	printf("memlock %llu KiB: ", limit >> 10);
	bad = cu_pair_run(&p);
	if (!bad && expect_reason) {
		char *out;

		snprintf(co, sizeof(co), "%s/client.out", dir);
		out = cu_slurp(co, NULL);
		if (!out || !cu_kv(out, "engine_reason") ||
		    !strstr(cu_kv(out, "engine_reason"), expect_reason)) {
			fprintf(stderr, "engine_reason lacks \"%s\":\n%s\n",
				expect_reason, out ? out : "");
			bad = 1;
		}
		free(out);
	}
	return bad;
}

/* The client must fail quickly, exit non-zero and name the limit. */
static int must_fail(const char *dir, const char *engine)
{
	struct t_unpriv u;
	char out[300], port[16];
	char *argv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p", port,
			 "--engine", (char *)engine, "--size", "1M", "-i", "0",
			 "--timeout", "5", "-V", NULL };
	int lfd, lport = 0, rc, bad = 0;
	double t0 = cu_now();
	char *text;
	pid_t pid;

	lfd = t_listen("127.0.0.1", &lport);	/* accepts, never reads */
	snprintf(port, sizeof(port), "%d", lport);
	snprintf(out, sizeof(out), "%s/fail.out", dir);
	pid = cu_spawn(t_unpriv_argv(&u, 8192, argv), NULL, out, NULL);
	rc = cu_wait(pid, 30);
	close(lfd);
	text = cu_slurp(out, NULL);
	if (rc <= 0 || rc >= 128 || !text || !strstr(text, "RLIMIT_MEMLOCK") ||
	    !strstr(text, "ulimit -l") || cu_now() - t0 > 5)
		bad = 1;
	printf("%s engine=%s memlock 8 KiB: exit %d in %.1f s\n", bad ? "FAIL" : "ok",
	       engine, rc, cu_now() - t0);
	if (bad)
		fprintf(stderr, "--- client output\n%s---\n", text ? text : "");
	free(text);
	return bad;
}

/* Two uring clients of the same user at once, sharing its limit. */
static int two_at_once(const char *dir)
{
	char d0[300], d1[300];
	int bad = 0, st;
	pid_t pid[2];

	snprintf(d0, sizeof(d0), "%s/a", dir);
	snprintf(d1, sizeof(d1), "%s/b", dir);
	T_CHECK(mkdir(d0, 0700) == 0 && mkdir(d1, 0700) == 0, "mkdir");
	fflush(NULL);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		T_CHECK(pid[i] >= 0, "fork");
		if (pid[i] == 0) {
			int r = pair(i ? d1 : d0, 8ull << 20, "uring",
				     128ull << 20, NULL);
			fflush(NULL);
			_exit(r);
		}
	}
	for (int i = 0; i < 2; i++)
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			bad = 1;
	return bad;
}

int main(void)
{
	char *doc[] = { (char *)t_cli(), "doctor", NULL };
	struct t_unpriv u;
	char dir[64], out[128];
	int fails = 0, rc;
	double t0 = cu_now();
	char *text;

	t_unpriv_require(t_cli());
	cu_tmpdir(dir, sizeof(dir));
	T_CHECK(chmod(dir, 0755) == 0, "chmod");
	for (int i = 0; i < 5; i++)
		fails += pair(dir, 64 << 10, "auto", 256ull << 20, "ulimit -l");
	for (int i = 0; i < 3; i++)
		fails += pair(dir, 8 << 20, "auto", 256ull << 20, NULL);
	fails += pair(dir, 64 << 10, "zerocopy", 32ull << 20, NULL);
	if (dmt_engine_built(DMT_ENGINE_URING)) {
		fails += pair(dir, 64 << 10, "uring", 32ull << 20, NULL);
		fails += two_at_once(dir);
		fails += must_fail(dir, "uring");
	}
	fails += must_fail(dir, "zerocopy");

	snprintf(out, sizeof(out), "%s/doctor.out", dir);
	rc = cu_wait(cu_spawn(t_unpriv_argv(&u, 64 << 10, doc), NULL, out, NULL), 60);
	text = cu_slurp(out, NULL);
	printf("doctor as nobody: exit %d, %zu bytes of report\n", rc,
	       text ? strlen(text) : 0);
	if (rc < 0 || rc >= 128 || !text || !text[0]) {
		fprintf(stderr, "--- doctor output\n%s---\n", text ? text : "");
		fails++;
	}
	free(text);
	cu_rmdir(dir);
	printf("%.1f s\n", cu_now() - t0);
	T_CHECK(fails == 0, "%d cases failed", fails);
	return T_PASS;
}
