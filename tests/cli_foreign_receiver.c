// SPDX-License-Identifier: MIT
/*
 * devmemtcp client against foreign receivers: socat and OpenBSD nc
 * listening on 127.0.0.1 and writing what they get to a file. The file
 * must be the ncdevmem pattern byte for byte (pattern path, with and
 * without -z chunking), or the exact stdin input (stdin path).
 */
#include "cli_util.h"

/* Start a listener writing to out; returns its pid (port known). */
static pid_t start_listener(const char *tool, int port, const char *out,
			    const char *log)
{
	char a[128], b[256], ps[16];
	pid_t pid;

	snprintf(ps, sizeof(ps), "%d", port);
	if (!strcmp(tool, "socat")) {
		snprintf(a, sizeof(a), "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port);
		snprintf(b, sizeof(b), "OPEN:%s,creat,trunc", out);
		char *argv[] = { "socat", "-u", a, b, NULL };
		pid = cu_spawn(argv, NULL, log, NULL);
	} else {
		char *argv[] = { "nc", "-l", "127.0.0.1", ps, NULL };
		pid = cu_spawn(argv, NULL, out, log);
	}
	T_CHECK(cu_wait_listen(port, 5), "%s did not listen on %d", tool, port);
	return pid;
}

static int run_case(const char *dir, const char *tool, const char *engine,
		    uint64_t size, unsigned int v, const char *chunk,
		    const char *stdin_file)
{
	char out[128], log[128], cout[128], ps[16], sz[32], vs[8];
	int port = cu_free_port(), rc, rl, n = 0;
	char *argv[24];
	int64_t bad;
	pid_t lp, cp;

	snprintf(out, sizeof(out), "%s/received", dir);
	snprintf(log, sizeof(log), "%s/listener.log", dir);
	snprintf(cout, sizeof(cout), "%s/client.out", dir);
	snprintf(ps, sizeof(ps), "%d", port);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	snprintf(vs, sizeof(vs), "%u", v);
	lp = start_listener(tool, port, out, log);
	argv[n++] = (char *)t_cli(); argv[n++] = "client";
	argv[n++] = "-s"; argv[n++] = "127.0.0.1";
	argv[n++] = "-p"; argv[n++] = ps;
	argv[n++] = "--engine"; argv[n++] = (char *)engine;
	argv[n++] = "-i"; argv[n++] = "0";
	if (!stdin_file) {
		argv[n++] = "-v"; argv[n++] = vs;
		argv[n++] = "--size"; argv[n++] = sz;
	}
	if (chunk) {
		argv[n++] = "-z"; argv[n++] = (char *)chunk;
	}
	argv[n] = NULL;
	cp = cu_spawn(argv, stdin_file, cout, NULL);
	rc = cu_wait(cp, 30);
	rl = cu_wait(lp, 10);
	if (stdin_file) {
		char cmd[400], o[256];
		snprintf(cmd, sizeof(cmd), "cmp '%s' '%s'", stdin_file, out);
		bad = t_run(cmd, o, sizeof(o)) == 0 ? -1 : 0;
	} else {
		bad = cu_check_pattern(out, size, v);
	}
	printf("%s %s engine=%s%s%s: client exit %d, %s exit %d, file %s\n",
	       rc == 0 && rl == 0 && bad < 0 ? "ok" : "FAIL", tool, engine,
	       chunk ? " -z " : "", chunk ? chunk : "", rc, tool, rl,
	       bad < 0 ? "identical" : "DIFFERS");
	if (rc != 0 || rl != 0 || bad >= 0) {
		char *c = cu_slurp(cout, NULL), *l = cu_slurp(log, NULL);
		fprintf(stderr, "first difference at %lld\n--- client\n%s--- %s\n%s\n",
			(long long)bad, c ? c : "", tool, l ? l : "");
		free(c);
		free(l);
		return 1;
	}
	return 0;
}

int main(void)
{
	bool socat = cu_have("socat"), nc = cu_have("nc");
	char dir[64], in[128];
	int fails = 0;

	T_SKIP_IF(!socat && !nc, "neither socat nor nc is installed "
		  "(apt-get install socat netcat-openbsd)");
	cu_tmpdir(dir, sizeof(dir));
	snprintf(in, sizeof(in), "%s/input", dir);
	{	/* stdin input that is not the pattern: arbitrary bytes */
		FILE *f = fopen(in, "wb");
		T_CHECK(f, "create input");
		for (unsigned int i = 0; i < (3u << 20) + 123; i++)
			fputc((int)((i * 2654435761u) >> 13) & 0xff, f);
		fclose(f);
	}
	if (socat) {
		fails += run_case(dir, "socat", "copy", 32ull << 20, 251, NULL, NULL);
		fails += run_case(dir, "socat", "zerocopy", 32ull << 20, 251, NULL, NULL);
		fails += run_case(dir, "socat", "auto", 16ull << 20, 256, "1000", NULL);
		fails += run_case(dir, "socat", "auto", 0, 0, NULL, in);
	} else {
		printf("socat not installed: socat cases not run\n");
	}
	if (nc) {
		fails += run_case(dir, "nc", "auto", 32ull << 20, 251, NULL, NULL);
		fails += run_case(dir, "nc", "copy", 0, 0, "4096", in);
	} else {
		printf("nc not installed: nc cases not run\n");
	}
	cu_rmdir(dir);
	T_CHECK(fails == 0, "%d cases failed", fails);
	return T_PASS;
}
