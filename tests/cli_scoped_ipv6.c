// SPDX-License-Identifier: MIT
/*
 * tier B: a transfer to a scoped IPv6 address (fe80::...%IFNAME). Client
 * and server in two private namespaces joined by veth; the server listens
 * on its link-local address with its scope, the client sends to it with
 * its own interface as the scope; 16 MiB must arrive verified. Scoped
 * addresses used to be refused as bad input.
 */
#include <devmemtcp.h>

#include "cli_util.h"
#include "netns.h"

static pid_t launch_ns(void *ctx, int side, struct cu_exec *e)
{
	pid_t pid = 0;

	T_CHECK(netpair_run(ctx, side, cu_exec_fn, e, &pid) == 0,
		"netpair_run failed");
	return pid;
}

/* Wait (10 s at most) until IFNAME of SIDE has a link-local address that
 * is no longer tentative; store it without its prefix length in OUT. */
static void link_local(struct netpair *np, int side, const char *f,
		       char *out, size_t outlen)
{
	for (int i = 0; i < 100 && !out[0]; i++) {
		char *argv[] = { "ip", "-6", "-o", "addr", "show", "dev",
				 np->ifname[side], "scope", "link", NULL };
		struct cu_exec e = { argv, NULL, f, NULL };
		char *t, *p;

		cu_wait(launch_ns(np, side, &e), 5);
		t = cu_slurp(f, NULL);
		if (t && (p = strstr(t, "inet6 fe80::")) && !strstr(t, "tentative")) {
			char *a = p + 6, *end = strchr(a, '/');

			if (end && end - a < (long)outlen)
				snprintf(out, outlen, "%.*s", (int)(end - a), a);
		}
		free(t);
		if (!out[0])
			usleep(100000);
	}
}

int main(void)
{
	char dir[64], f[256], ll[64] = "", srv[96];
	struct netpair np;
	int fails;

	t_require_root();
	T_SKIP_IF(!cu_have("ip"), "ip(8) not installed (iproute2)");
	t_netpair(&np);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(f, sizeof(f), "%s/ll", dir);
	/* Both link-local addresses must have finished duplicate address
	 * detection: a tentative address on either side cannot carry the
	 * handshake. Side 1's address is the server's. */
	for (int side = 1; side >= 0; side--) {
		char got[64] = "";

		link_local(&np, side, f, got, sizeof(got));
		if (side == 1)
			snprintf(ll, sizeof(ll), "%s", got);
		else if (!got[0])
			ll[0] = 0;
	}
	T_SKIP_IF(!ll[0], "no settled IPv6 link-local address on %s or %s within 10 s "
		  "(IPv6 disabled?)", np.ifname[0], np.ifname[1]);
	/* each side names the scope by its own interface */
	snprintf(srv, sizeof(srv), "%s%%%s", ll, np.ifname[0]);
	{
		char so[256], co[256], lis[128], port[8], ssrv[96];
		char *sargv[] = { (char *)t_cli(), "server", "-s", ssrv, "-p", "0",
				  "-v", "251", "--size", "16M", "-i", "0",
				  "--timeout", "20", NULL };
		char *cargv[] = { (char *)t_cli(), "client", "-s", srv, "-p", port,
				  "-v", "251", "--size", "16M", "-i", "0",
				  "--timeout", "20", "-V", NULL };
		struct cu_exec se = { sargv, NULL, so, NULL };
		struct cu_exec ce = { cargv, NULL, co, NULL };
		char *sout, *cout;
		int rs, rc;
		pid_t sp, cp;

		snprintf(ssrv, sizeof(ssrv), "%s%%%s", ll, np.ifname[1]);
		snprintf(so, sizeof(so), "%s/server.out", dir);
		snprintf(co, sizeof(co), "%s/client.out", dir);
		sp = launch_ns(&np, 1, &se);
		T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
			"server did not listen");
		snprintf(port, sizeof(port), "%d", cu_port_of(lis));
		cp = launch_ns(&np, 0, &ce);
		rc = cu_wait(cp, 30);
		rs = cu_wait(sp, 10);
		sout = cu_slurp(so, NULL);
		cout = cu_slurp(co, NULL);
		T_CHECK(sout && cout, "outputs missing");
		fails = rc != 0 || rs != 0 || !strstr(sout, "verified") ||
			!strstr(cout, srv + strlen(ll));
		printf("server %s (listen=%s): exit %d; client -s %s: exit %d\n",
		       ssrv, lis, rs, srv, rc);
		if (fails)
			fprintf(stderr, "--- server\n%s--- client\n%s---\n", sout,
				cout);
		free(sout);
		free(cout);
	}
	netpair_destroy(&np);
	cu_rmdir(dir);
	T_CHECK(!fails, "the scoped IPv6 transfer failed");
	printf("cli_scoped_ipv6: ok\n");
	return T_PASS;
}
