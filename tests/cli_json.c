// SPDX-License-Identifier: MIT
/*
 * --json and -i: client and server each print exactly one JSON document
 * (checked by the independent parser dmt_jsoncheck), whose values match
 * the transfer; --json-stream prints JSON lines (start, intervals, end);
 * and the human interval lines appear, iperf3 style, when a transfer
 * outlasts the period, and not with -i 0.
 */
#include "cli_util.h"

#define SIZE (512ull << 20)

static const char *jc(const char *file, const char *path, char *out, size_t len)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s'", getenv("DMT_JSONCHECK"),
		 file, path);
	st = t_run(cmd, out, len);
	T_CHECK(st == 0, "jsoncheck %s %s: exit %d: %s", file, path, st, out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* Run a pair (the server in human mode, so its listen= line gives the
 * port); cflag: one more client argument or NULL. Outputs in
 * dir/{server,client}.out. */
static void pair(const char *dir, const char *cflag, const char *ival)
{
	char so[128], co[128], sz[32], port[16], lis[128];
	char *sargv[] = { (char *)t_cli(), "server", "-s", "127.0.0.1", "-p", "0",
			  "-v", "251", "--size", sz, "--timeout", "20", "-i", (char *)ival,
			  NULL };
	char *cargv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p", port,
			  "-v", "251", "--size", sz, "-i", (char *)ival,
			  "--engine", "zerocopy", (char *)cflag, NULL };
	pid_t sp, cp;
	int rs, rc;

	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(sz, sizeof(sz), "%llu", SIZE);
	unlink(so);
	sp = cu_spawn(sargv, NULL, so, "/dev/null");
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));
	cp = cu_spawn(cargv, NULL, co, "/dev/null");
	rc = cu_wait(cp, 40);
	rs = cu_wait(sp, 20);
	T_CHECK(rc == 0 && rs == 0, "client exit %d, server exit %d", rc, rs);
}

/* Interval lines: "[  1]  0.00-0.02  sec ... bits/sec ..."; the closing
 * sender/receiver lines of the summary are not intervals. */
static int interval_lines(const char *t)
{
	int n = 0;

	for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (!strncmp(line, "[  1] ", 6) && strstr(line, "bits/sec") &&
		    !strstr(line, "sender") && !strstr(line, "receiver"))
			n++;
	}
	return n;
}

int main(void)
{
	char dir[64], so[128], co[128], v[256], sz[32], *t;
	int lines;

	T_SKIP_IF(!getenv("DMT_JSONCHECK"), "DMT_JSONCHECK not set (run from CTest)");
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(sz, sizeof(sz), "%llu", SIZE);

	/* human, intervals every 20 ms */
	pair(dir, NULL, "0.02");
	t = cu_slurp(co, NULL);
	lines = interval_lines(t);
	printf("client printed %d interval lines\n", lines);
	T_CHECK(strstr(t, "[ ID] Interval") && lines >= 2,
		"no interval lines:\n%s", t);
	free(t);

	/* human, -i 0: none */
	pair(dir, NULL, "0");
	t = cu_slurp(co, NULL);
	T_CHECK(interval_lines(t) == 0 && strstr(t, "receiver (server: "
						       "verified)"),
		"-i 0 still printed intervals, or no server verdict:\n%s", t);
	free(t);

	/* JSON on the client (the server stays human so the test learns its
	 * port from listen=) */
	pair(dir, "--json", "0.02");
	T_CHECK(!strcmp(jc(co, "result.complete", v, sizeof(v)), "true"), "%s", v);
	T_CHECK(!strcmp(jc(co, "result.bytes", v, sizeof(v)), sz), "%s", v);
	T_CHECK(!strcmp(jc(co, "config.engine", v, sizeof(v)), "zerocopy"), "%s", v);
	T_CHECK(strlen(jc(co, "config.engine_reason", v, sizeof(v))) > 0, "reason");
	T_CHECK(!strcmp(jc(co, "result.zc", v, sizeof(v)), "n") ||
		!strcmp(v, "y"), "zc %s", v);
	T_CHECK(atoi(jc(co, "intervals.#", v, sizeof(v))) >= 2, "intervals %s", v);
	jc(co, "intervals.0.bits_per_second", v, sizeof(v));
	/* TCP_INFO per interval, the server's own result beside ours */
	T_CHECK(atoll(jc(co, "intervals.0.snd_cwnd", v, sizeof(v))) > 0, "cwnd %s", v);
	T_CHECK(atoll(jc(co, "intervals.0.rtt", v, sizeof(v))) >= 0, "rtt %s", v);
	jc(co, "intervals.0.retransmits", v, sizeof(v));
	T_CHECK(!strcmp(jc(co, "server.verdict", v, sizeof(v)), "verified"),
		"server verdict %s", v);
	T_CHECK(!strcmp(jc(co, "server.bytes", v, sizeof(v)), sz), "server bytes %s", v);
	T_CHECK(!strcmp(jc(co, "streams.0.server.mismatches", v, sizeof(v)), "0"),
		"%s", v);
	T_CHECK(atoll(jc(co, "result.bits_per_second", v, sizeof(v))) > 0, "%s", v);
	t = cu_slurp(co, NULL);
	T_CHECK(t[0] == '{' && strchr(t, '\n') == t + strlen(t) - 1,
		"client JSON is not one line:\n%s", t);
	free(t);
	printf("client JSON ok\n");

	/* --json-stream: JSON lines, start, intervals, end */
	pair(dir, "--json-stream", "0.02");
	{
		char cmd[512], out[256];
		const char *last;

		snprintf(cmd, sizeof(cmd), "'%s' --lines '%s'",
			 getenv("DMT_JSONCHECK"), co);
		T_CHECK(t_run(cmd, out, sizeof(out)) == 0 && atoi(out) >= 4,
			"--json-stream: not JSON lines (%s)", out);
		t = cu_slurp(co, NULL);
		last = strrchr(t, '\n');
		while (last > t && last[-1] != '\n')
			last--;
		T_CHECK(!strncmp(t, "{\"event\":\"start\",\"data\":{\"role\":"
				 "\"client\"", 40) &&
			strstr(t, "\n{\"event\":\"interval\",") &&
			!strncmp(last, "{\"event\":\"end\",", 15) &&
			strstr(last, "\"complete\":true"),
			"--json-stream: not start, intervals, end:\n%s", t);
		free(t);
		printf("client JSON stream ok (%d lines)\n", atoi(out));
	}

	/* JSON on the server: a mismatch-free transfer and its offsets */
	{
		int port = cu_free_port();
		char ps[16];
		char *sargv[] = { (char *)t_cli(), "server", "-s", "127.0.0.1",
				  "-p", ps, "-v", "251", "--size", sz, "--json",
				  "--timeout", "20", NULL };
		char *cargv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1",
				  "-p", ps, "-v", "251", "--size", sz, "-i", "0",
				  NULL };
		pid_t sp, cp;
		int rs, rc;

		snprintf(ps, sizeof(ps), "%d", port);
		sp = cu_spawn(sargv, NULL, so, "/dev/null");
		T_CHECK(cu_wait_listen(port, 10), "server did not listen");
		cp = cu_spawn(cargv, NULL, co, "/dev/null");
		rc = cu_wait(cp, 40);
		rs = cu_wait(sp, 20);
		T_CHECK(rc == 0 && rs == 0, "client %d server %d", rc, rs);
		T_CHECK(!strcmp(jc(so, "result.mismatches", v, sizeof(v)), "0"), "%s", v);
		T_CHECK(!strcmp(jc(so, "result.bytes", v, sizeof(v)), sz), "%s", v);
		T_CHECK(!strcmp(jc(so, "result.peer_closed", v, sizeof(v)), "true"), "%s", v);
		T_CHECK(!strcmp(jc(so, "result.mismatch_offsets.#", v, sizeof(v)), "0"),
			"%s", v);
		T_CHECK(!strcmp(jc(so, "role", v, sizeof(v)), "server"), "%s", v);
		printf("server JSON ok\n");
	}
	cu_rmdir(dir);
	return T_PASS;
}
