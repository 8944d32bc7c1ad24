// SPDX-License-Identifier: MIT
/*
 * tier B: the receiver reads 1 MiB, then resets the connection
 * (close with SO_LINGER 0). Two cases: the fault
 * comes while the client is still sending (--size 1G), and after the client
 * queued its last byte (--size 3M, which the socket buffers hold). Either
 * way the client must exit 1 with a clear error within its --timeout and
 * print its report; what the receiver read must be the pattern from byte
 * 0, each byte once and in order. The second case used to exit 0: the
 * bytes sat in socket buffers when the receiver went away, unread.
 */
#include "cli_fault.h"

#define TAKE (1u << 20)

static int one(const char *dir, const char *engine, const char *size,
	       bool json)
{
	char out[256], err[256], file[256], port[16], v[256];
	struct cf_recv r = { .mode = CF_RST, .take = TAKE, .wait_s = 1.0,
			     .file = file };
	char *o, *e;
	double t0, dt;
	int64_t chk;
	int st, bad = 0;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(file, sizeof(file), "%s/received", dir);
	cf_recv_start(&r);
	snprintf(port, sizeof(port), "%d", r.port);
	t0 = cu_now();
	pid = cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port,
		       "--engine", engine, "--size", size, "--timeout", "5",
		       "-i", "0", json ? "--json" : NULL, NULL);
	st = cu_wait(pid, 30);
	dt = cu_now() - t0;
	cf_recv_stop(&r);
	o = cu_slurp(out, NULL);
	e = cu_slurp(err, NULL);
	T_CHECK(o && e, "outputs missing");
	chk = cu_check_pattern(file, TAKE, 256);
	if (st != 1 || dt > 10 || chk != -1 ||
	    !(strstr(e, "reset") || strstr(e, "Broken pipe")))
		bad = 1;
	if (json) {
		if (cf_json(out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") || cf_json(out, "result.bytes", v, sizeof(v)))
			bad = 1;
	} else if (!strstr(o, "complete=false") || !strstr(o, "summary:")) {
		bad = 1;
	}
	printf("%s engine=%s size=%s%s: exit %d after %.1f s, received file "
	       "%s: %s", bad ? "FAIL" : "ok", engine, size, json ? " --json" : "",
	       st, dt, chk == -1 ? "the pattern, 1 MiB" : "WRONG", e);
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
	char dir[64];
	int bad = 0;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	bad += one(dir, "copy", "1G", false);
	bad += one(dir, "auto", "1G", false);
	bad += one(dir, "copy", "3M", false);
	bad += one(dir, "zerocopy", "3M", false);
	bad += one(dir, "auto", "3M", true);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_fault_rst: ok\n");
	return T_PASS;
}
