// SPDX-License-Identifier: MIT
/*
 * tier B: SIGINT and SIGTERM on the demo mid-transfer (over loopback). The
 * demo must pass the signal on to its client and server, print its report
 * of what was done so far (with --json one valid document, checked by the
 * independent parser, pass false), and exit 130 or 143 within 8 s; the
 * server must have received exactly what the client sent, every byte
 * right. The demo used to kill both with SIGKILL and print no report.
 */
#include "cli_fault.h"

static int one(const char *dir, int sig, bool json)
{
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
	char out[256], err[256], v[256], cb[64] = "", sb[64] = "", sm[64] = "";
	char *o;
	double t;
	int st, bad = 0;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	pid = cf_spawn(out, err, "demo", "--loopback", "--size", "64G",
		       json ? "--json" : NULL, NULL);
	usleep(2500000);
	kill(pid, sig);
	t = cu_now();
	st = cu_wait(pid, 15);
	t = cu_now() - t;
	o = cu_slurp(out, NULL);
	T_CHECK(o, "output missing");
	if (st != 128 + sig || t > 8)
		bad = 1;
	if (json) {
		if (cf_json(out, "pass", v, sizeof(v)) || strcmp(v, "false") ||
		    cf_json(out, "note", v, sizeof(v)) || !strstr(v, name) ||
		    cf_json(out, "client.bytes", cb, sizeof(cb)) ||
		    cf_json(out, "server.bytes", sb, sizeof(sb)) ||
		    cf_json(out, "server.mismatches", sm, sizeof(sm)))
			bad = 1;
	} else {
		const char *k;

		if (!strstr(o, "demo: FAIL") || !strstr(o, name))
			bad = 1;
		unsigned long long b = 0, m = 1;

		/* "result: B bytes received in S s: ... Gbit/s), M mismatches" */
		if ((k = strstr(o, "result: ")) &&
		    sscanf(k, "result: %llu bytes received in %*f s: %*f GB/s "
			   "(%*f Gbit/s), %llu mismatches", &b, &m) == 2) {
			snprintf(sb, sizeof(sb), "%llu", b);
			snprintf(sm, sizeof(sm), "%llu", m);
		}
		/* the text report gives the client's count in its error line */
		if ((k = strstr(o, "client error: interrupted by ")) &&
		    (k = strstr(k, " after ")))
			snprintf(cb, sizeof(cb), "%llu", strtoull(k + 7, NULL, 10));
	}
	if (!strtoull(sb, NULL, 10) || strcmp(cb, sb) || strcmp(sm, "0"))
		bad = 1;
	printf("%s %s%s: exit %d %.1f s after the signal; client sent %s, "
	       "server received %s, mismatches %s\n", bad ? "FAIL" : "ok", name,
	       json ? " --json" : "", st, t, cb, sb, sm);
	if (bad) {
		cf_dump("demo stdout", out);
		cf_dump("demo stderr", err);
	}
	free(o);
	return bad;
}

int main(void)
{
	char dir[64];
	int bad = 0;

	cu_tmpdir(dir, sizeof(dir));
	bad += one(dir, SIGINT, true);
	bad += one(dir, SIGTERM, false);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_fault_sig_demo: ok\n");
	return T_PASS;
}
