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
	struct cf_run c;
	char v[256];
	int bad = 0;

	cf_client_run(&r, dir, engine, "1G", "2", json, 20, &c);
	if (c.st != 1 || c.dt > 10 || !strstr(c.e, "no progress") ||
	    !strstr(c.e, "--timeout") || !strstr(c.e, "not reading"))
		bad = 1;
	if (json) {
		if (cf_json(c.out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") ||
		    cf_json(c.out, "result.error", v, sizeof(v)) ||
		    !strstr(v, "no progress"))
			bad = 1;
	} else if (!strstr(c.o, "complete=false") || !strstr(c.o, "summary:") ||
		   cf_count(c.o, "complete=") != 1) {
		bad = 1;
	}
	printf("%s engine=%s%s: exit %d after %.1f s: %s", bad ? "FAIL" : "ok",
	       engine, json ? " --json" : "", c.st, c.dt, c.e);
	if (bad) {
		cf_dump("client stdout", c.out);
		cf_dump("client stderr", c.err);
	}
	free(c.o);
	free(c.e);
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
