// SPDX-License-Identifier: MIT
/*
 * devmemtcp client -> devmemtcp server over 127.0.0.1 for the engines
 * copy, zerocopy, auto (and uring when built): 64 MiB of the pattern
 * each, verified by the server, exit 0 on both ends. Plus the iovec
 * chunking path (-z), the stdin path, and IPv6 (::1).
 */
#include <devmemtcp.h>

#include "cli_util.h"

#define SIZE (64ull << 20)

int main(void)
{
	const char *engines[] = { "copy", "zerocopy", "auto", "uring" };
	char dir[64], pat[128];
	int fails = 0;
	double t0 = cu_now();

	cu_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		struct cu_pair p = { cu_launch_local, NULL, dir, "127.0.0.1",
				     engines[i], SIZE, 251 };

		if (!strcmp(engines[i], "uring") &&
		    !dmt_engine_built(DMT_ENGINE_URING)) {
			printf("uring engine not built: not tested\n");
			continue;
		}
		fails += cu_pair_run(&p);
	}
	{	/* 4 KiB iovecs, 1 MiB sends: 256 iovecs per sendmsg */
		struct cu_pair p = { cu_launch_local, NULL, dir, "127.0.0.1",
				     "zerocopy", SIZE, 7,
				     .extra = { "-z", "4K", "--msg-size", "1M" } };
		fails += cu_pair_run(&p);
	}
	{	/* stdin through the region ring (8 regions of 256 KiB) */
		struct cu_pair p = { cu_launch_local, NULL, dir, "127.0.0.1",
				     "zerocopy", 16ull << 20, 256,
				     .extra = { "--buffer-size", "2M" } };

		snprintf(pat, sizeof(pat), "%s/pattern", dir);
		cu_write_pattern(pat, p.size, p.v);
		p.stdin_file = pat;
		fails += cu_pair_run(&p);
	}
	{
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		struct sockaddr_in6 a = { .sin6_family = AF_INET6,
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		bool v6 = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

		if (fd >= 0)
			close(fd);
		if (v6) {
			struct cu_pair p = { cu_launch_local, NULL, dir, "::1",
					     "copy", 8ull << 20, 251 };
			fails += cu_pair_run(&p);
		} else {
			printf("no IPv6 loopback: IPv6 case not run\n");
		}
	}
	cu_rmdir(dir);
	printf("%.1f s\n", cu_now() - t0);
	T_CHECK(fails == 0, "%d transfers failed", fails);
	return T_PASS;
}
