// SPDX-License-Identifier: MIT
/*
 * tier B: time-based client runs (-t SEC, as iperf3's -t). A client sending
 * the pattern for 1 s to a validating server on loopback must run about
 * 1 s (at least 1 s, well under the timeout), send bytes that the server
 * receives all of and verifies against the pattern, both ending complete,
 * and report its CPU utilization (cpu_pct, user+sys % of wall time);
 * -t with --size, and -t 0 or -t x, are usage errors (exit 2).
 */
#include "cli_fault.h"

static int usage_case(const char *dir, const char *a, const char *b,
		      const char *c, const char *want)
{
	char out[256], err[256];
	char *e;
	int st, bad;

	snprintf(out, sizeof(out), "%s/uout", dir);
	snprintf(err, sizeof(err), "%s/uerr", dir);
	st = cu_wait(cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", "9",
			      a, b, c, NULL), 10);
	e = cu_slurp(err, NULL);
	bad = st != 2 || !e || !strstr(e, want);
	printf("%s client %s %s %s: exit %d: %s", bad ? "FAIL" : "ok", a, b,
	       c ? c : "", st, e ? e : "(no stderr)\n");
	free(e);
	return bad;
}

int main(void)
{
	char dir[64], so[256], se[256], co[256], ce[256], lis[128], port[16];
	char *sout, *cout;
	const char *k;
	double t0, wall, secs, cpu;
	unsigned long long cb = 0, sb = 0;
	int rs, rc, bad = 0;
	pid_t sp, cp;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(se, sizeof(se), "%s/server.err", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(ce, sizeof(ce), "%s/client.err", dir);

	sp = cf_spawn(so, se, "server", "-s", "127.0.0.1", "-p", "0", "-v", "251",
		      "-i", "0", "--timeout", "20", NULL);
	T_CHECK(sp > 0, "server did not start");
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));
	t0 = cu_now();
	cp = cf_spawn(co, ce, "client", "-s", "127.0.0.1", "-p", port, "-v",
		      "251", "-t", "1", "-i", "0.25", "--timeout", "20",
		      "--msg-size", "64K", "-V", NULL);
	rc = cu_wait(cp, 30);
	wall = cu_now() - t0;
	rs = cu_wait(sp, rc == 0 ? 20 : 2);
	sout = cu_slurp(so, NULL);
	cout = cu_slurp(co, NULL);
	T_CHECK(sout && cout, "outputs missing");
	if ((k = cu_kv(cout, "bytes")))
		cb = strtoull(k, NULL, 10);
	if ((k = cu_kv(sout, "bytes")))
		sb = strtoull(k, NULL, 10);
	secs = (k = cu_kv(cout, "seconds")) ? strtod(k, NULL) : -1;
	if (rc != 0 || rs != 0 || cb == 0 || cb != sb)
		bad = 1;
	if (!(k = cu_kv(sout, "mismatches")) || strcmp(k, "0"))
		bad = 1;
	if (!(k = cu_kv(sout, "complete")) || strcmp(k, "true") ||
	    !(k = cu_kv(cout, "complete")) || strcmp(k, "true"))
		bad = 1;
	if (!(k = cu_kv(cout, "time")) || strcmp(k, "1"))
		bad = 1;	/* the configuration says the duration */
	/* CPU utilization as iperf3 gives it: user+sys of the process over
	 * the wall time; a 1 s loopback send keeps a CPU busy, and one
	 * thread cannot exceed 100% by much */
	cpu = (k = cu_kv(cout, "cpu_pct")) ? strtod(k, NULL) : -1;
	if (cpu <= 1.0 || cpu > 150.0 || !cu_kv(sout, "cpu_pct") ||
	    !strstr(cout, "%, zc="))
		bad = 1;
	/* the timed part lasts at least 1 s and ends within one send after */
	if (secs < 1.0 || secs > 3.0 || wall > 10.0)
		bad = 1;
	printf("%s -t 1: client exit %d, %llu bytes in %.3f s (wall %.2f s, CPU "
	       "%.1f%%); server exit %d, %llu bytes, mismatches %s\n",
	       bad ? "FAIL" : "ok", rc, cb, secs, wall, cpu, rs, sb,
	       cu_kv(sout, "mismatches") ?
	       cu_kv(sout, "mismatches") : "?");
	if (bad) {
		cf_dump("server stdout", so);
		cf_dump("server stderr", se);
		cf_dump("client stdout", co);
		cf_dump("client stderr", ce);
	}
	free(sout);
	free(cout);

	bad += usage_case(dir, "-t", "1", "--size=1M", "--size and -t");
	bad += usage_case(dir, "-t", "0", NULL, "bad time '0' (-t)");
	bad += usage_case(dir, "-t", "x", NULL, "bad time 'x' (-t)");
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_time: ok\n");
	return T_PASS;
}
