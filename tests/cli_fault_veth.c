// SPDX-License-Identifier: MIT
/*
 * tier B: the link vanishes mid-transfer. devmemtcp client in one private
 * network namespace, devmemtcp server in the other (veth, 198.18.0.1 ->
 * .2); after 1 s of sending, the veth is deleted. The client must end
 * with a clear error within its --timeout (3 s, plus slack), the server
 * within its own (4 s): exit 1 both, and the server must not call the
 * transfer verified; the bytes it did receive must all match the
 * pattern, in order. The client used to block in sendmsg forever. The
 * namespaces (and the veth, if still there) go with the test.
 */
#include <devmemtcp.h>

#include "cli_fault.h"
#include "netns.h"

static int del_veth(void *arg)
{
	char *argv[] = { "ip", "link", "del", arg, NULL };

	execvp(argv[0], argv);
	return 127;
}

int main(void)
{
	char dir[64], so[256], co[256], ce[256], lis[128], out[4096];
	struct netpair np;
	struct cu_exec se, cex;
	char *sout, *cerr, *cout;
	double t;
	int st, ss, bad = 0;
	pid_t sp = 0, cp = 0;

	t_require_root();
	T_SKIP_IF(!cu_have("ip"), "ip(8) not installed (iproute2)");
	signal(SIGPIPE, SIG_IGN);
	t_netpair(&np);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(ce, sizeof(ce), "%s/client.err", dir);
	{
		char *sargv[] = { (char *)t_cli(), "server", "-s", np.addr[1], "-p",
				  "5201", "-v", "256", "--size", "100G", "-i", "0",
				  "--timeout", "4", NULL };
		char *cargv[] = { (char *)t_cli(), "client", "-s", np.addr[1], "-p",
				  "5201", "--size", "100G", "-i", "0", "--timeout",
				  "3", NULL };

		se = (struct cu_exec){ sargv, NULL, so, NULL };
		T_CHECK(netpair_run(&np, 1, cu_exec_fn, &se, &sp) == 0, "server");
		T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
			"server did not listen");
		cex = (struct cu_exec){ cargv, NULL, co, ce };
		T_CHECK(netpair_run(&np, 0, cu_exec_fn, &cex, &cp) == 0, "client");
	}
	usleep(1000000);
	T_CHECK(netpair_run(&np, 0, del_veth, np.ifname[0], NULL) == 0,
		"ip link del %s failed", np.ifname[0]);
	t = cu_now();
	st = cu_wait(cp, 15);
	t = cu_now() - t;
	ss = cu_wait(sp, 15);
	netpair_destroy(&np);
	sout = cu_slurp(so, NULL);
	cout = cu_slurp(co, NULL);
	cerr = cu_slurp(ce, NULL);
	T_CHECK(sout && cout && cerr, "outputs missing");
	if (st != 1 || t > 8 || !cerr[0] || !strstr(cout, "complete=false"))
		bad = 1;
	if (ss != 1 || strstr(sout, "verified") || !cu_kv(sout, "mismatches") ||
	    strcmp(cu_kv(sout, "mismatches"), "0") ||
	    !strtoull(cu_kv(sout, "bytes"), NULL, 10) ||
	    !strstr(sout, "the bytes received match the pattern"))
		bad = 1;
	printf("client exit %d %.1f s after the veth went: %s", st, t, cerr);
	{
		char e[256] = "?", b[32] = "?", m[32] = "?";

		cu_cp(e, sizeof(e), sout, "error");
		cu_cp(b, sizeof(b), sout, "bytes");
		cu_cp(m, sizeof(m), sout, "mismatches");
		printf("server exit %d: error=%s, bytes=%s, mismatches=%s\n", ss,
		       e, b, m);
	}
	if (bad) {
		cf_dump("client stdout", co);
		cf_dump("server output", so);
	}
	free(sout);
	free(cout);
	free(cerr);
	cu_rmdir(dir);
	T_CHECK(t_run("ip -o link show type veth", out, sizeof(out)) == 0,
		"ip link failed: %s", out);
	T_CHECK(!strstr(out, " dmt0") && !strstr(out, " dmt1"),
		"veth left in the root namespace: %s", out);
	T_CHECK(bad == 0, "the vanished link was not handled");
	printf("cli_fault_veth: ok\n");
	return T_PASS;
}
