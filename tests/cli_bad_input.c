// SPDX-License-Identifier: MIT
/*
 * Bad flags and values: exit status 2, exactly one line on stderr that
 * names the cause, nothing attempted (each run is bounded to 10 s; none
 * may connect or wait).
 */
#include "cli_util.h"

struct bad {
	const char *args[12];
	const char *needle;	/* the cause, as the line must name it */
};

static const struct bad cases[] = {
	{ { "client", "-s", "127.0.0.1", "--engine", "warp" }, "engine 'warp'" },
	{ { "client", "-s", "127.0.0.1", "--size", "1M", "-z", "0" }, "chunk size '0'" },
	{ { "client", "-s", "999.1.1.1", "--size", "1M" }, "server address '999.1.1.1'" },
	{ { "client", "-s", "no host!", "--size", "1M" }, "server address 'no host!'" },
	{ { "client", "-s", "", "--size", "1M" }, "no server address" },
	{ { "client", "-s", "127.0.0.1", "--size", "garbage" }, "size 'garbage'" },
	{ { "client", "-s", "127.0.0.1", "--size", "0" }, "size '0'" },
	{ { "client", "-s", "127.0.0.1", "-p", "70000" }, "port '70000'" },
	{ { "client", "-s", "127.0.0.1", "-v", "300" }, "modulus '300'" },
	{ { "client", "-s", "127.0.0.1", "-v", "1" }, "modulus '1'" },
	{ { "client", "--size", "1M" }, "no server address" },
	{ { "client", "-s", "127.0.0.1", "--warp-drive" }, "unknown option '--warp-drive'" },
	{ { "client", "-s", "127.0.0.1", "-X" }, "unknown option '-X'" },
	{ { "client", "-s", "127.0.0.1", "-p" }, "needs a value" },
	{ { "client", "-s", "127.0.0.1", "-z", "100", "--msg-size", "1M" }, "more than 1024 iovecs" },
	{ { "client", "-s", "127.0.0.1", "--buffer", "floppy" }, "buffer 'floppy'" },
	{ { "client", "-s", "127.0.0.1", "--buffer-size", "12" }, "buffer size '12'" },
	{ { "client", "-s", "127.0.0.1", "-f", "nosuchif0" }, "interface 'nosuchif0'" },
	{ { "client", "-s", "127.0.0.1", "-c", "::1" }, "different families" },
	{ { "client", "-s", "127.0.0.1", "-i", "soon" }, "interval 'soon'" },
	{ { "client", "-s", "127.0.0.1", "extra" }, "unexpected argument 'extra'" },
	{ { "server", "--engine", "warp" }, "receive engine 'warp'" },
	{ { "server", "-v", "1" }, "modulus '1'" },
	{ { "server", "--size", "12Q" }, "size '12Q'" },
	{ { "server", "-s", "300.0.0.1" }, "listen address '300.0.0.1'" },
	{ { "server", "-p", "-3" }, "port '-3'" },
	{ { "server", "--timeout", "0" }, "timeout '0'" },
	{ { "server", "-p", "5999", "-f", "nosuchif0" }, "interface 'nosuchif0'" },
	{ { "server", "-p", "0", "-s", "" }, "empty listen address" },
	{ { "demo", "--size", "1K" }, "size '1K'" },
	{ { "demo", "--engine", "warp" }, "engine 'warp'" },
	{ { "demo", "--bogus" }, "unknown option '--bogus'" },
	{ { "nosuchcommand" }, "unknown command 'nosuchcommand'" },
};

int main(void)
{
	char dir[64], out[128], err[128];
	int failures = 0;

	cu_tmpdir(dir, sizeof(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[16] = { (char *)t_cli() };
		char *e;
		int n = 1, st, lines = 0;
		pid_t pid;

		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		pid = cu_spawn(argv, NULL, out, err);
		st = cu_wait(pid, 10);
		e = cu_slurp(err, NULL);
		T_CHECK(e, "no stderr file");
		for (char *c = e; *c; c++)
			lines += *c == '\n';
		if (st != 2 || lines != 1 || !strstr(e, cases[i].needle)) {
			fprintf(stderr, "case %zu (%s %s ...): exit %d, %d stderr "
				"lines, want exit 2, 1 line naming \"%s\"; stderr:\n%s",
				i, cases[i].args[0], cases[i].args[1] ?
				cases[i].args[1] : "", st, lines, cases[i].needle, e);
			failures++;
		} else {
			printf("ok %zu: %s", i, e);
		}
		free(e);
	}
	cu_rmdir(dir);
	T_CHECK(failures == 0, "%d of %zu cases failed", failures,
		sizeof(cases) / sizeof(cases[0]));
	return T_PASS;
}
