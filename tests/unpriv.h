/* SPDX-License-Identifier: MIT */
/*
 * The unprivileged tier: run a program as the user nobody, without
 * capabilities, under a small locked-memory limit (RLIMIT_MEMLOCK, what
 * `ulimit -l` sets), with util-linux's setpriv and prlimit. The caller is
 * root (tier B); the tests say why they skip otherwise.
 */
#ifndef DMT_TEST_UNPRIV_H
#define DMT_TEST_UNPRIV_H

#include <grp.h>
#include <pwd.h>

#include "cli_util.h"

struct t_unpriv {
	char uid[32], gid[32], memlock[64];
	char *argv[48];
};

/* Skip unless root with setpriv, prlimit and a nobody user exist, and
 * nobody can run prog (every directory above it searchable). */
static inline void t_unpriv_require(const char *prog)
{
	char cmd[1200];
	struct passwd *pw;

	T_SKIP_IF(geteuid() != 0, "the unprivileged tier starts as root to "
		  "drop to the user nobody (setpriv)");
	T_SKIP_IF(!cu_have("setpriv") || !cu_have("prlimit"),
		  "setpriv or prlimit missing: install util-linux");
	pw = getpwnam("nobody");
	T_SKIP_IF(!pw, "no user nobody on this machine");
	snprintf(cmd, sizeof(cmd), "setpriv --reuid=%u --regid=%u --clear-groups "
		 "--inh-caps=-all prlimit --memlock=65536:65536 sh -c "
		 "'test \"$(id -u)\" = %u && test \"$(ulimit -l)\" = 64 && "
		 "test -x \"$0\"' '%s'", (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid, (unsigned)pw->pw_uid, prog);
	T_SKIP_IF(system(cmd) != 0, "the user nobody cannot run %s (a directory "
		  "above it is not searchable by others): build in a "
		  "world-readable place to run the unprivileged tier", prog);
}

/* u->argv = setpriv ... prlimit --memlock=L:L argv... (NULL-terminated). */
static inline char **t_unpriv_argv(struct t_unpriv *u, unsigned long long memlock,
				   char *const argv[])
{
	struct passwd *pw = getpwnam("nobody");
	int n = 0;

	T_CHECK(pw, "no user nobody");
	snprintf(u->uid, sizeof(u->uid), "--reuid=%u", (unsigned)pw->pw_uid);
	snprintf(u->gid, sizeof(u->gid), "--regid=%u", (unsigned)pw->pw_gid);
	snprintf(u->memlock, sizeof(u->memlock), "--memlock=%llu:%llu", memlock,
		 memlock);
	u->argv[n++] = "setpriv";
	u->argv[n++] = u->uid;
	u->argv[n++] = u->gid;
	u->argv[n++] = "--clear-groups";
	u->argv[n++] = "--inh-caps=-all";
	u->argv[n++] = "prlimit";
	u->argv[n++] = u->memlock;
	for (int i = 0; argv[i] && n < 47; i++)
		u->argv[n++] = argv[i];
	u->argv[n] = NULL;
	return u->argv;
}

#endif
