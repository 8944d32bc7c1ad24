// SPDX-License-Identifier: MIT
/*
 * devmemtcp client in one private network namespace, devmemtcp server in
 * another, joined by veth (198.18.0.1 -> 198.18.0.2): engines copy,
 * zerocopy, auto (and uring when built), 64 MiB each, verified; -c binds
 * the source address and the server's port as source port. The
 * namespaces are anonymous; the test checks none of its veths is left.
 */
#include <devmemtcp.h>

#include "cli_util.h"
#include "netns.h"

#define SIZE (64ull << 20)

static pid_t launch_ns(void *ctx, int side, struct cu_exec *e)
{
	pid_t pid = 0;

	T_CHECK(netpair_run(ctx, side, cu_exec_fn, e, &pid) == 0,
		"netpair_run failed");
	return pid;
}

int main(void)
{
	const char *engines[] = { "copy", "zerocopy", "auto", "uring" };
	struct netpair np;
	char dir[64], out[4096];
	int fails = 0;

	t_require_root();
	t_netpair(&np);
	cu_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		struct cu_pair p = { launch_ns, &np, dir, np.addr[1], engines[i],
				     SIZE, 251 };

		if (!strcmp(engines[i], "uring") &&
		    !dmt_engine_built(DMT_ENGINE_URING))
			continue;
		fails += cu_pair_run(&p);
	}
	{	/* -c binds the source address, -f names the egress device */
		struct cu_pair p = { launch_ns, &np, dir, np.addr[1], "auto",
				     16ull << 20, 13,
				     .extra = { "-c", np.addr[0], "-f", np.ifname[0] } };
		char so[128], lis[128] = "", peer[128] = "", *t;

		fails += cu_pair_run(&p);
		/* and, as ncdevmem does, the server's port as its source port,
		 * which the server's -c 5-tuple flow rule expects */
		snprintf(so, sizeof(so), "%s/server.out", dir);
		t = cu_slurp(so, NULL);
		T_CHECK(t, "server output missing");
		cu_cp(lis, sizeof(lis), t, "listen");	/* cu_kv's value is static */
		cu_cp(peer, sizeof(peer), t, "peer");
		T_CHECK(strcmp(lis, "?") && strcmp(peer, "?") &&
			cu_port_of(lis) > 0 && cu_port_of(lis) == cu_port_of(peer),
			"-c: the client's source port is not the server's (listen=%s "
			"peer=%s)", lis, peer);
		printf("ok -c: source port %d, the server's\n", cu_port_of(peer));
		free(t);
	}
	netpair_destroy(&np);
	cu_rmdir(dir);
	T_CHECK(t_run("ip -o link show type veth", out, sizeof(out)) == 0,
		"ip link failed: %s", out);
	T_CHECK(!strstr(out, " dmt0") && !strstr(out, " dmt1"),
		"veth left in the root namespace: %s", out);
	T_CHECK(fails == 0, "%d transfers failed", fails);
	return T_PASS;
}
