// SPDX-License-Identifier: MIT
/*
 * tier B: `devmemtcp selftest` on interfaces of this machine, none of
 * which can run devmem (lo, eth0 when present, a veth in a private
 * namespace): exit 3 ("cannot run"), every check listed as not run, with
 * doctor's reason for its direction (RX: no header split; TX: no netmem
 * TX), in one JSON document that a second parser reads; the table form
 * says the same. Usage errors exit 2.
 */
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "netns.h"

static const char *const rx_checks[] = { "bind-empty-queues", "bind-hds-off",
	"bind", "channel-shrink", "rx", "rx-hds" };
/* nccl-devmem needs both directions: doctor's TX reason comes first */
static const char *const tx_checks[] = { "tx", "tx-chunks", "nccl-devmem" };

static void jget(const char *file, const char *path, char *out, size_t len)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s'", getenv("DMT_JSONCHECK"),
		 file, path);
	st = t_run(cmd, out, len);
	T_CHECK(st == 0, "jsoncheck %s %s: exit %d: %s", file, path, st, out);
	out[strcspn(out, "\n")] = '\0';
}

static int selftest_on(void *arg)
{
	const char *ifn = arg;
	char cmd[512], out[16384], v[1024], path[64], file[] = "/tmp/dmt-st-XXXXXX";
	int st, fd = mkstemp(file);

	T_CHECK(fd >= 0, "mkstemp");
	close(fd);
	/* --buffer cuda adds nccl-devmem (the NCCL plugin's GPU paths) */
	snprintf(cmd, sizeof(cmd), "{ '%s' selftest %s --peer 198.18.0.2 --json "
		 "--timeout 5 --buffer cuda 2>/dev/null; } > %s", t_cli(), ifn, file);
	st = t_run(cmd, out, sizeof(out));
	T_CHECK(st == 3, "%s: exit %d, want 3 (cannot run): %s", ifn, st, out);
	jget(file, "checks.#", v, sizeof(v));
	T_CHECK(!strcmp(v, "9"), "%s: %s checks", ifn, v);
	jget(file, "verdict", v, sizeof(v));
	T_CHECK(!strcmp(v, "cannot_run"), "%s: verdict %s", ifn, v);
	jget(file, "exit", v, sizeof(v));
	T_CHECK(!strcmp(v, "3"), "%s: exit field %s", ifn, v);
	for (int i = 0; i < 9; i++) {
		bool rx = i < 6;

		snprintf(path, sizeof(path), "checks.%d.check", i);
		jget(file, path, v, sizeof(v));
		T_CHECK(!strcmp(v, rx ? rx_checks[i] : tx_checks[i - 6]),
			"%s: check %d is %s", ifn, i, v);
		snprintf(path, sizeof(path), "checks.%d.result", i);
		jget(file, path, v, sizeof(v));
		T_CHECK(!strcmp(v, "not_run"), "%s: check %d %s", ifn, i, v);
		snprintf(path, sizeof(path), "checks.%d.reason", i);
		jget(file, path, v, sizeof(v));
		T_CHECK(strstr(v, "doctor:") && strstr(v, ifn) &&
			strstr(v, rx ? "header split" : "netmem TX"),
			"%s: check %d reason: %s", ifn, i, v);
	}
	/* the table says the same */
	snprintf(cmd, sizeof(cmd), "'%s' selftest %s --peer 198.18.0.2", t_cli(),
		 ifn);
	st = t_run(cmd, out, sizeof(out));
	T_CHECK(st == 3 && strstr(out, "CANNOT RUN") && strstr(out, "not run") &&
		strstr(out, "tx-chunks") && !strstr(out, "nccl-devmem"),
		"%s table (host buffer: no nccl-devmem row): %d %s", ifn, st, out);
	unlink(file);
	printf("%s: cannot run, as it must be\n", ifn);
	return 0;
}

int main(void)
{
	static const char *const bad[] = {
		"selftest", "selftest lo", "selftest lo --peer ::1",
		"selftest lo --peer 10.0.0.1 --buffer host",
		"selftest lo --peer 10.0.0.1 --ssh nohost",
		"selftest nosuchif0 --peer 10.0.0.1",
		"selftest lo --peer 10.0.0.1 extra",
		"selftest lo --peer 10.0.0.1 --bogus",
	};
	struct netpair np;
	char cmd[512], out[4096];
	int ret;

	T_SKIP_IF(!getenv("DMT_JSONCHECK"), "DMT_JSONCHECK not set (run from "
		  "CTest)");
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(cmd, sizeof(cmd), "'%s' %s", t_cli(), bad[i]);
		ret = t_run(cmd, out, sizeof(out));
		T_CHECK(ret == 2 && strchr(out, '\n') == strrchr(out, '\n') &&
			strstr(out, "devmemtcp selftest:"),
			"usage error '%s': exit %d, output: %s", bad[i], ret, out);
	}
	/* with --json a usage error is the error document */
	{
		char file[] = "/tmp/dmt-st-XXXXXX", v[256];
		int fd = mkstemp(file);

		T_CHECK(fd >= 0, "mkstemp");
		close(fd);
		snprintf(cmd, sizeof(cmd), "{ '%s' selftest lo --json 2>/dev/null; "
			 "} > %s", t_cli(), file);
		ret = t_run(cmd, out, sizeof(out));
		T_CHECK(ret == 2, "--json usage error: exit %d", ret);
		jget(file, "exit_status", v, sizeof(v));
		T_CHECK(!strcmp(v, "2"), "exit_status %s", v);
		jget(file, "error", v, sizeof(v));
		T_CHECK(strstr(v, "--peer"), "error: %s", v);
		unlink(file);
	}
	t_require_root();
	selftest_on("lo");
	if (if_nametoindex("eth0"))
		selftest_on("eth0");
	else
		printf("no eth0 on this host: checked lo and a veth only\n");
	t_netpair(&np);
	ret = netpair_run(&np, 0, selftest_on, np.ifname[0], NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "veth: namespace child exited %d", ret);
	printf("cli_selftest: ok\n");
	return T_PASS;
}
