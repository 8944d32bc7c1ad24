// SPDX-License-Identifier: MIT
/*
 * tier B: a receiver that accepts and never reads. With every engine the
 * client must give up within its --timeout (here 2 s) with a clear error
 * naming the stall, exit 1, and still print its report (text and --json,
 * the JSON checked by the independent parser). It used to block in
 * sendmsg forever, --timeout or not.
 */
#include "cli_fault.h"

static int one(const char *dir, const char *engine, bool json)
{
	struct cf_recv r = { .mode = CF_NOREAD };
	char out[256], err[256], port[16], v[256];
	char *o, *e;
	double t0, dt;
	int st, bad = 0;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	cf_recv_start(&r);
	snprintf(port, sizeof(port), "%d", r.port);
	t0 = cu_now();
	pid = cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port,
		       "--engine", engine, "--size", "1G", "--timeout", "2",
		       "-i", "0", json ? "--json" : NULL, NULL);
	st = cu_wait(pid, 20);
	dt = cu_now() - t0;
	cf_recv_stop(&r);
	o = cu_slurp(out, NULL);
	e = cu_slurp(err, NULL);
	T_CHECK(o && e, "outputs missing");
	if (st != 1 || dt > 10 || !strstr(e, "no progress") ||
	    !strstr(e, "--timeout") || !strstr(e, "not reading"))
		bad = 1;
	if (json) {
		if (cf_json(out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") ||
		    cf_json(out, "result.error", v, sizeof(v)) ||
		    !strstr(v, "no progress"))
			bad = 1;
	} else if (!strstr(o, "complete=false") || !strstr(o, "summary:") ||
		   cf_count(o, "complete=") != 1) {
		bad = 1;
	}
	printf("%s engine=%s%s: exit %d after %.1f s: %s", bad ? "FAIL" : "ok",
	       engine, json ? " --json" : "", st, dt, e);
	if (bad) {
		cf_dump("client stdout", out);
		cf_dump("client stderr", err);
	}
	free(o);
	free(e);
	return bad;
}

int main(void)
{
	const char *engines[] = { "copy", "zerocopy", "uring", "auto" };
	char dir[64];
	int bad = 0;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		enum dmt_engine e;

		if (dmt_engine_from_name(engines[i], &e) == 0 &&
		    !dmt_engine_built(e)) {
			printf("engine %s not built: not tested\n", engines[i]);
			continue;
		}
		bad += one(dir, engines[i], false);
	}
	bad += one(dir, "auto", true);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_fault_noread: ok\n");
	return T_PASS;
}
