// SPDX-License-Identifier: MIT
/*
 * tier B, unpriv: run another test program as the user nobody, without
 * capabilities, under RLIMIT_MEMLOCK = LIMIT bytes (what `ulimit -l`
 * sets), and pass its verdict on. CTest registers it as unpriv_<test> for
 * the tests that need no root (loopback transfers, buffers, netdev
 * queries, CLI errors):  t_unpriv_run LIMIT PROGRAM.
 */
#include "unpriv.h"

int main(int argc, char **argv)
{
	struct t_unpriv u;
	char *const args[] = { argc > 2 ? argv[2] : NULL, NULL };
	unsigned long long lim;
	pid_t pid;
	int rc;

	T_CHECK(argc == 3, "usage: %s LIMIT PROGRAM", argv[0]);
	lim = strtoull(argv[1], NULL, 0);
	T_CHECK(lim > 0, "bad limit %s", argv[1]);
	t_unpriv_require(argv[2]);
	printf("running %s as nobody, no capabilities, RLIMIT_MEMLOCK %llu KiB\n",
	       argv[2], lim >> 10);
	fflush(stdout);
	pid = fork();
	T_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execvp("setpriv", t_unpriv_argv(&u, lim, args));
		_exit(127);
	}
	rc = cu_wait(pid, 600);
	T_CHECK(rc == 0 || rc == T_SKIP, "%s exited %d as nobody", argv[2], rc);
	return rc;
}
