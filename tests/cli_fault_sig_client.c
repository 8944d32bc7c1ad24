// SPDX-License-Identifier: MIT
/*
 * tier B: SIGINT and SIGTERM on a client in the middle of a transfer
 * (into a reading devmemtcp server, and blocked on a receiver that never
 * reads). The client must stop within 3 s of the signal, exit 1, and
 * print its report: the text summary, or with --json one valid document
 * (checked by the independent parser) whose error names the signal. The
 * server must have received exactly the bytes the client reports as sent,
 * all matching the pattern, in order. It used to die by the signal with
 * no report at all.
 */
#include "cli_fault.h"

static int one(const char *dir, int sig, bool json, bool noread)
{
	char out[256], err[256], sout[256], port[16], v[256], sb[64] = "";
	struct cf_recv r = { .mode = CF_NOREAD };
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
	pid_t pid, sp = 0;
	char *o = NULL, *e = NULL, *so = NULL;
	double t;
	int st, ss = 0, bad = 0;
	unsigned long long sent = 0;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(sout, sizeof(sout), "%s/server.out", dir);
	if (noread) {
		cf_recv_start(&r);
		snprintf(port, sizeof(port), "%d", r.port);
	} else {
		snprintf(port, sizeof(port), "%d", cu_free_port());
		sp = cf_spawn(sout, NULL, "server", "-s", "127.0.0.1", "-p", port,
			      "-v", "256", "--size", "100G", "-i", "0", NULL);
		T_CHECK(cu_wait_listen(atoi(port), 10), "server did not listen");
	}
	pid = cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port,
		       "--size", "100G", "--timeout", "30", "-i", "0",
		       json ? "--json" : NULL, NULL);
	usleep(1000000);
	kill(pid, sig);
	t = cu_now();
	st = cu_wait(pid, 10);
	t = cu_now() - t;
	if (noread)
		cf_recv_stop(&r);
	else
		ss = cu_wait(sp, 10);
	o = cu_slurp(out, NULL);
	e = cu_slurp(err, NULL);
	T_CHECK(o && e, "outputs missing");
	if (st != 1 || t > 3 || !strstr(e, "interrupted by") || !strstr(e, name))
		bad = 1;
	if (json) {
		if (cf_json(out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") ||
		    cf_json(out, "result.error", v, sizeof(v)) || !strstr(v, name) ||
		    cf_json(out, "result.bytes", v, sizeof(v)))
			bad = 1;
		else
			sent = strtoull(v, NULL, 10);
	} else {
		const char *k = cu_kv(o, "bytes");

		if (!strstr(o, "summary:") || cf_count(o, "complete=false") != 1 ||
		    !k)
			bad = 1;
		else
			sent = strtoull(k, NULL, 10);
	}
	if (!sent)
		bad = 1;
	if (!noread) {
		/* the server got exactly what the client sent, all of it right */
		so = cu_slurp(sout, NULL);
		T_CHECK(so, "server output missing");
		cu_cp(sb, sizeof(sb), so, "bytes");
		if (ss != 1 || strtoull(sb, NULL, 10) != sent ||
		    !cu_kv(so, "mismatches") || strcmp(cu_kv(so, "mismatches"), "0") ||
		    strstr(so, "verified"))
			bad = 1;
	}
	printf("%s %s%s%s: client exit %d %.1f s after the signal, sent %llu; "
	       "%s%s%s: %s", bad ? "FAIL" : "ok", name, json ? " --json" : "",
	       noread ? " (receiver not reading)" : "", st, t, sent,
	       noread ? "" : "server received ", sb, noread ? "" : "", e);
	if (bad) {
		cf_dump("client stdout", out);
		cf_dump("client stderr", err);
		if (!noread)
			cf_dump("server output", sout);
	}
	free(o);
	free(e);
	free(so);
	return bad;
}

int main(void)
{
	return cf_sig_cases(one, "cli_fault_sig_client");
}
