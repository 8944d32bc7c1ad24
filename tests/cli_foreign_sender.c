// SPDX-License-Identifier: MIT
/*
 * Foreign senders (socat, OpenBSD nc) feeding devmemtcp server: a pattern
 * file validates (exit 0); a corrupted copy exits 1 and reports the
 * mismatching offsets; a truncated copy exits 1 for the size.
 */
#include "cli_util.h"

#define SIZE (16ull << 20)
#define V 251

static int run_case(const char *dir, const char *tool, const char *file,
		    int want_rc, const char *want1, const char *want2)
{
	char so[128], lis[128], ps[16], sz[32], target[64];
	char *sargv[] = { (char *)t_cli(), "server", "-l", "-s", "127.0.0.1",
			  "-p", "0", "-v", "251", "--size", sz, "--timeout", "20",
			  "-i", "0", NULL };
	char *out;
	int rs, rt, bad = 0;
	pid_t sp, tp;

	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(sz, sizeof(sz), "%llu", SIZE);
	unlink(so);	/* no stale listen= line from the previous case */
	sp = cu_spawn(sargv, NULL, so, NULL);
	T_CHECK(cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) == 0,
		"server did not listen");
	snprintf(ps, sizeof(ps), "%d", cu_port_of(lis));
	if (!strcmp(tool, "socat")) {
		snprintf(target, sizeof(target), "TCP:127.0.0.1:%s", ps);
		char *argv[] = { "socat", "-u", "STDIN", target, NULL };
		tp = cu_spawn(argv, file, "/dev/null", NULL);
	} else {
		char *argv[] = { "nc", "-N", "127.0.0.1", ps, NULL };
		tp = cu_spawn(argv, file, "/dev/null", NULL);
	}
	rt = cu_wait(tp, 30);
	rs = cu_wait(sp, 20);
	out = cu_slurp(so, NULL);
	T_CHECK(out, "no server output");
	if (rs != want_rc || rt != 0 || (want1 && !strstr(out, want1)) ||
	    (want2 && !strstr(out, want2)))
		bad = 1;
	printf("%s %s -> server: sender exit %d, server exit %d (want %d)%s%s\n",
	       bad ? "FAIL" : "ok", tool, rt, rs, want_rc, want1 ? ", shows " : "",
	       want1 ? want1 : "");
	if (bad)
		fprintf(stderr, "--- server output\n%s---\n", out);
	free(out);
	return bad;
}

int main(void)
{
	bool socat = cu_have("socat"), nc = cu_have("nc");
	char dir[64], good[128], corrupt[128], shortf[128];
	const char *tools[2];
	int nt = 0, fails = 0;

	T_SKIP_IF(!socat && !nc, "neither socat nor nc is installed "
		  "(apt-get install socat netcat-openbsd)");
	if (socat)
		tools[nt++] = "socat";
	if (nc)
		tools[nt++] = "nc";
	cu_tmpdir(dir, sizeof(dir));
	snprintf(good, sizeof(good), "%s/good", dir);
	snprintf(corrupt, sizeof(corrupt), "%s/corrupt", dir);
	snprintf(shortf, sizeof(shortf), "%s/short", dir);
	cu_write_pattern(good, SIZE, V);
	cu_write_pattern(corrupt, SIZE, V);
	cu_write_pattern(shortf, SIZE - 1000, V);
	{	/* flip bytes at three offsets */
		const long offs[] = { 1000, 5000000, (long)SIZE - 1 };
		FILE *f = fopen(corrupt, "r+b");
		T_CHECK(f, "open corrupt");
		for (int i = 0; i < 3; i++) {
			fseek(f, offs[i], SEEK_SET);
			fputc('X', f);
		}
		fclose(f);
	}
	for (int i = 0; i < nt; i++) {
		fails += run_case(dir, tools[i], good, 0, "mismatches=0\n",
				  "complete=true");
		fails += run_case(dir, tools[i], corrupt, 1, "mismatches=3\n",
				  "mismatch at offset 1000: got 0x58");
		fails += run_case(dir, tools[i], shortf, 1, "expected 16777216",
				  "mismatches=0\n");
	}
	{	/* the offsets list carries all three */
		fails += run_case(dir, tools[0], corrupt, 1,
				  "mismatch_offsets=1000,5000000,16777215", NULL);
	}
	cu_rmdir(dir);
	T_CHECK(fails == 0, "%d cases failed", fails);
	return T_PASS;
}
