// SPDX-License-Identifier: MIT
/*
 * tier B: SIGINT and SIGTERM on a server in the middle of a transfer, and
 * while it waits for a connection. The server must stop within 3 s, exit
 * 1, and print its report (text summary, or one valid --json document
 * checked by the independent parser) naming the signal, never "verified";
 * the bytes it received must all match the pattern. The client must end
 * with an error too (exit 1), not hang. The server used to die by the
 * signal with no report (except on the devmem path).
 */
#include "cli_fault.h"

static int one(const char *dir, int sig, bool json, bool idle)
{
	char out[256], err[256], cout[256], port[16], v[256];
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
	char *o, *e;
	pid_t sp, cp = 0;
	double t;
	int st, cs = 0, bad = 0;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(cout, sizeof(cout), "%s/client.out", dir);
	snprintf(port, sizeof(port), "%d", cu_free_port());
	sp = cf_spawn(out, err, "server", "-s", "127.0.0.1", "-p", port, "-v",
		      "256", "-i", "0", json ? "--json" : NULL, NULL);
	T_CHECK(cu_wait_listen(atoi(port), 10), "server did not listen");
	if (!idle)
		cp = cf_spawn(cout, NULL, "client", "-s", "127.0.0.1", "-p", port,
			      "--size", "100G", "--timeout", "30", "-i", "0", NULL);
	usleep(1000000);
	kill(sp, sig);
	t = cu_now();
	st = cu_wait(sp, 10);
	t = cu_now() - t;
	if (!idle)
		cs = cu_wait(cp, 10);
	o = cu_slurp(out, NULL);
	e = cu_slurp(err, NULL);
	T_CHECK(o && e, "outputs missing");
	if (st != 1 || t > 3 || !strstr(e, "interrupted by") || !strstr(e, name) ||
	    (!idle && cs != 1) || strstr(o, "verified"))
		bad = 1;
	if (json) {
		if (cf_json(out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") ||
		    cf_json(out, "result.error", v, sizeof(v)) || !strstr(v, name))
			bad = 1;
		if (!idle && (cf_json(out, "result.mismatches", v, sizeof(v)) ||
			      strcmp(v, "0") ||
			      cf_json(out, "result.bytes", v, sizeof(v)) ||
			      !strtoull(v, NULL, 10)))
			bad = 1;
	} else {
		if (cf_count(o, "complete=false") != 1 || cf_count(o, "error=") != 1)
			bad = 1;
		if (!idle && (!strstr(o, "summary:") || !cu_kv(o, "mismatches") ||
			      strcmp(cu_kv(o, "mismatches"), "0") ||
			      !strtoull(cu_kv(o, "bytes"), NULL, 10)))
			bad = 1;
	}
	printf("%s %s%s%s: server exit %d %.1f s after the signal, client exit "
	       "%d: %s", bad ? "FAIL" : "ok", name, json ? " --json" : "",
	       idle ? " (waiting for a connection)" : "", st, t, cs, e);
	if (bad) {
		cf_dump("server stdout", out);
		cf_dump("server stderr", err);
	}
	free(o);
	free(e);
	return bad;
}

int main(void)
{
	return cf_sig_cases(one, "cli_fault_sig_server");
}
