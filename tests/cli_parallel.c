// SPDX-License-Identifier: MIT
/*
 * tier B: -P, -R and --bidir against devmemtcp's own server, over
 * loopback, with what the server sends back shown on the client:
 *  - a one-shot server serves a -P 3 test: three streams verified on
 *    both ends, the client's JSON (checked by dmt_jsoncheck) has three
 *    streams each carrying the server's verdict, the server exits 0;
 *  - a -K server then serves, one after another, -R (the client validates
 *    the server's pattern), --bidir (both ends validate), a -P 2 -t 3
 *    test (the client's CPU Utilization line has both ends' user/system
 *    split, its JSON cpu_utilization_percent; the server prints [SUM]
 *    interval lines) and a -t 2 test, during each of which another client is
 *    refused with a reset (named by the server, an error on that client,
 *    never accepted and dropped),
 *    and a -P 2 -t 30 client stopped by SIGINT, which still prints its
 *    per-stream and [SUM] lines and exits 1.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdbool.h>

#include "cli_fault.h"

static pid_t client(const char *out, const char *err, const char *port,
		    const char *a, const char *b, const char *c, const char *d,
		    const char *e)
{
	return cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port, "-v",
			"251", "-i", "0", "--timeout", "20", a, b, c, d, e, NULL);
}

static int check(bool ok, const char *what, const char *o, const char *e)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok) {
		cf_dump("stdout", o);
		cf_dump("stderr", e);
	}
	return !ok;
}

/* "CPU Utilization: local T% (U%u/S%s), remote T% (U%u/S%s)", as iperf3
 * prints it: each total the sum of its parts (to rounding). */
static bool cpu_line_ok(const char *o)
{
	const char *l = strstr(o, "CPU Utilization: local ");
	double t, u, s, rt, ru, rs;

	return l && sscanf(l, "CPU Utilization: local %lf%% (%lf%%u/%lf%%s), "
			   "remote %lf%% (%lf%%u/%lf%%s)", &t, &u, &s, &rt, &ru,
			   &rs) == 6 && fabs(t - u - s) <= 0.25 &&
	       fabs(rt - ru - rs) <= 0.25 && t > 0 && rt > 0;
}

/* The same figures in --json: cpu_utilization_percent. */
static bool cpu_json_ok(const char *file)
{
	static const char *const k[] = { "host_total", "host_user",
		"host_system", "remote_total", "remote_user", "remote_system" };
	double x[6];
	char path[96], v[64], *end;

	for (unsigned int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "cpu_utilization_percent.%s", k[i]);
		if (cf_json(file, path, v, sizeof(v)))
			return false;
		x[i] = strtod(v, &end);
		if (end == v || *end)
			return false;
	}
	return fabs(x[0] - x[1] - x[2]) <= 0.25 &&
	       fabs(x[3] - x[4] - x[5]) <= 0.25 && x[0] > 0 && x[3] > 0;
}

int main(void)
{
	char dir[64], so[256], se[256], co[256], ce[256], c2o[256], c2e[256];
	char lis[128], port[16], v[256];
	char *o, *e;
	int bad = 0, rc, rs;
	pid_t sp, cp, cp2;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(se, sizeof(se), "%s/server.err", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(ce, sizeof(ce), "%s/client.err", dir);
	snprintf(c2o, sizeof(c2o), "%s/client2.out", dir);
	snprintf(c2e, sizeof(c2e), "%s/client2.err", dir);

	/* one-shot server, -P 3 */
	sp = cf_spawn(so, se, "server", "-s", "127.0.0.1", "-p", "0", "-v", "251",
		      "-i", "0", "--timeout", "20", NULL);
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));
	rc = cu_wait(client(co, ce, port, "-P", "3", "--size", "8M", "--json"), 60);
	rs = cu_wait(sp, 20);
	o = cu_slurp(so, NULL);
	bad += check(rc == 0 && rs == 0 && o && cf_count(o, ", verified") == 3 &&
		     strstr(o, "stream=3\n") && strstr(o, "(3 streams, 0 failed)") &&
		     cf_json(co, "streams.#", v, sizeof(v)) == 0 && !strcmp(v, "3") &&
		     cf_json(co, "streams.2.server.verdict", v, sizeof(v)) == 0 &&
		     !strcmp(v, "verified") &&
		     cf_json(co, "streams.1.server.bytes", v, sizeof(v)) == 0 &&
		     !strcmp(v, "8388608") &&
		     cf_json(co, "result.bytes", v, sizeof(v)) == 0 &&
		     !strcmp(v, "25165824") &&
		     cf_json(co, "result.complete", v, sizeof(v)) == 0 &&
		     !strcmp(v, "true"),
		     "one-shot server, -P 3: three streams verified on both ends, "
		     "the client's JSON has each server verdict", co, so);
	free(o);
	bad += check(cpu_json_ok(co), "the client's JSON has iperf3's "
		     "cpu_utilization_percent for both ends, total = user + "
		     "system", co, so);

	/* the server's JSON with -P 2: one document per stream */
	{
		int pn = cu_free_port();
		char ps[16], cmd[512], out[64];

		snprintf(ps, sizeof(ps), "%d", pn);
		sp = cf_spawn(so, se, "server", "-s", "127.0.0.1", "-p", ps, "-v",
			      "251", "-i", "0", "--timeout", "20", "--json", NULL);
		T_CHECK(cu_wait_listen(pn, 10), "server did not listen");
		rc = cu_wait(client(co, ce, ps, "-P", "2", "--size", "4M", NULL),
			     60);
		rs = cu_wait(sp, 20);
		snprintf(cmd, sizeof(cmd), "'%s' --lines '%s'",
			 getenv("DMT_JSONCHECK"), so);
		bad += check(rc == 0 && rs == 0 && t_run(cmd, out, sizeof(out)) == 0
			     && atoi(out) == 2, "server --json, -P 2: two JSON "
			     "documents, one per stream", so, se);
		o = cu_slurp(so, NULL);
		bad += check(o && cf_count(o, "\"cpu_utilization_percent\"") == 2
			     && cf_count(o, "\"host_system\"") == 2,
			     "server --json: each document has its "
			     "cpu_utilization_percent", so, se);
		free(o);
	}

	/* -K server: -R, --bidir, a busy refusal, SIGINT */
	unlink(so);
	sp = cf_spawn(so, se, "server", "-K", "-s", "127.0.0.1", "-p", "0", "-v",
		      "251", "-i", "1", "--timeout", "20", NULL);
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));

	rc = cu_wait(client(co, ce, port, "-R", "--size", "8M", NULL, NULL), 60);
	o = cu_slurp(co, NULL);
	bad += check(rc == 0 && o && strstr(o, "receiver (here: verified)") &&
		     strstr(o, "server: sent") && cu_kv(o, "received") &&
		     !strcmp(cu_kv(o, "received"), "8388608"),
		     "-R: the client received and validated 8 MiB", co, ce);
	free(o);

	rc = cu_wait(client(co, ce, port, "--bidir", "--size", "8M", NULL, NULL),
		     60);
	o = cu_slurp(co, NULL);
	bad += check(rc == 0 && o && strstr(o, "receiver (here: verified)") &&
		     strstr(o, "receiver (server: verified)"),
		     "--bidir: both ends validated 8 MiB", co, ce);
	free(o);

	cp = client(co, ce, port, "-P", "2", "-t", "3", NULL);
	usleep(1200000);	/* the test runs */
	rc = cu_wait(client(c2o, c2e, port, "--size", "1M", NULL, NULL, NULL), 30);
	e = cu_slurp(c2e, NULL);
	bad += check(rc == 1 && e && (strstr(e, "reset") || strstr(e, "refused")),
		     "a client during a -P test is refused cleanly", c2o, c2e);
	free(e);
	rc = cu_wait(cp, 30);
	o = cu_slurp(co, NULL);
	bad += check(rc == 0 && o && strstr(o, "[SUM]") &&
		     cf_count(o, "receiver (server: verified)") == 2,
		     "-P 2 -t 3 on the -K server while refusing another", co, ce);
	bad += check(o && cpu_line_ok(o), "the client's CPU Utilization line "
		     "has the user/system split of both ends", co, ce);
	free(o);
	usleep(300000);	/* the server's report */
	o = cu_slurp(so, NULL);
	/* -i 1 over 3 s: [SUM] interval lines besides the closing one */
	bad += check(o && cf_count(o, "[SUM]") >= 3 &&
		     cf_count(o, "streams, 0 failed)") == 1,
		     "the -K server, -i 1: [SUM] interval lines of the two "
		     "streams, then the closing [SUM]", so, se);
	free(o);

	/* the same during a single stream */
	cp = client(co, ce, port, "-t", "2", NULL, NULL, NULL);
	usleep(800000);
	rc = cu_wait(client(c2o, c2e, port, "--size", "1M", NULL, NULL, NULL), 30);
	e = cu_slurp(c2e, NULL);
	bad += check(rc == 1 && e && (strstr(e, "reset") || strstr(e, "refused")),
		     "a client during a single-stream test is refused cleanly",
		     c2o, c2e);
	free(e);
	rc = cu_wait(cp, 30);
	o = cu_slurp(co, NULL);
	bad += check(rc == 0 && o && strstr(o, "receiver (server: verified)"),
		     "-t 2 on the -K server while refusing another", co, ce);
	free(o);

	cp2 = client(co, ce, port, "-P", "2", "-t", "30", NULL);
	usleep(1500000);
	kill(cp2, SIGINT);
	rc = cu_wait(cp2, 20);
	o = cu_slurp(co, NULL);
	e = cu_slurp(ce, NULL);
	bad += check(rc == 1 && o && e && strstr(o, "[SUM]") &&
		     strstr(o, "[  2]") && strstr(o, "summary: sent") &&
		     strstr(e, "interrupted by SIGINT"),
		     "SIGINT: the -P client still prints its summary, exit 1", co,
		     ce);
	free(o);
	free(e);

	usleep(300000);
	kill(sp, SIGINT);
	rs = cu_wait(sp, 20);
	e = cu_slurp(se, NULL);
	bad += check(rs >= 0 && e && strstr(e, "refused a connection from") &&
		     strstr(e, "served "), "the -K server named the refusal and "
		     "its count", so, se);
	free(e);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_parallel: ok\n");
	return T_PASS;
}
