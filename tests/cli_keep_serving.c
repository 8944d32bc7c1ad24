// SPDX-License-Identifier: MIT
/*
 * tier B: a server that keeps serving (-K, as iperf3 -s). One server
 * process serves two clients in a row, each verified (its own report:
 * bytes, mismatches=0, complete=true, "verified"), then a third that sends
 * the wrong pattern (its report says MISMATCHES); SIGINT between clients
 * ends it with exit 1 (one client failed) and a line naming how many were
 * served. Before -K the server exited after the first client, and the
 * second client's connect was refused.
 */
#include "cli_fault.h"

static int client(const char *dir, const char *port, const char *size,
		  const char *v)
{
	char out[256], err[256];

	snprintf(out, sizeof(out), "%s/client.out", dir);
	snprintf(err, sizeof(err), "%s/client.err", dir);
	return cu_wait(cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port,
				"-v", v, "--size", size, "-i", "0", "--timeout",
				"20", NULL), 30);
}

int main(void)
{
	char dir[64], so[256], se[256], lis[128], port[16];
	int r1, r2, r3, rs, bad = 0;
	char *o, *e;
	pid_t sp;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(se, sizeof(se), "%s/server.err", dir);
	sp = cf_spawn(so, se, "server", "-K", "-s", "127.0.0.1", "-p", "0", "-v",
		      "251", "-i", "0", "--timeout", "20", NULL);
	T_CHECK(sp > 0, "server did not start");
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));
	r1 = client(dir, port, "3M", "251");
	r2 = client(dir, port, "5M", "251");
	r3 = client(dir, port, "1M", "7");	/* wrong pattern for -v 251 */
	usleep(300000);	/* the server reports the third and waits again */
	kill(sp, SIGINT);
	rs = cu_wait(sp, 10);
	o = cu_slurp(so, NULL);
	e = cu_slurp(se, NULL);
	T_CHECK(o && e, "outputs missing");
	if (r1 != 0 || r2 != 0 || rs != 1)
		bad = 1;
	if (!strstr(o, "bytes=3145728\n") || !strstr(o, "bytes=5242880\n") ||
	    !strstr(o, "bytes=1048576\n") || cf_count(o, "complete=true") != 2 ||
	    cf_count(o, "complete=false") != 1 || cf_count(o, "mismatches=0\n") != 2 ||
	    cf_count(o, ", verified") != 2 || cf_count(o, "MISMATCHES") != 1 ||
	    cf_count(o, "listen=") != 4)	/* each served, and the wait after */
		bad = 1;
	if (!strstr(e, "served 3 clients, 1 failed"))
		bad = 1;
	printf("%s -K: clients exit %d %d %d (the third sent a wrong pattern), "
	       "server exit %d after SIGINT: %d verified, %d mismatching\n",
	       bad ? "FAIL" : "ok", r1, r2, r3, rs, cf_count(o, ", verified"),
	       cf_count(o, "MISMATCHES"));
	if (bad) {
		cf_dump("server stdout", so);
		cf_dump("server stderr", se);
	}
	free(o);
	free(e);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "the persistent server case failed");
	printf("cli_keep_serving: ok\n");
	return T_PASS;
}
