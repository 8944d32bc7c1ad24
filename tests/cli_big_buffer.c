// SPDX-License-Identifier: MIT
/*
 * tier B: a small send from a large buffer costs what is sent, not the
 * buffer. "--buffer-size 2G --size 1K" must finish quickly, touch little
 * memory (peak RSS well under the buffer) and report the send's own
 * throughput, not the pattern fill (it used to fill all 2 GiB, inside the
 * timed part). And a buffer the process cannot have must be refused up
 * front with one clear line (exit 2): more than RLIMIT_AS allows, and,
 * where the machine has less than 64 GiB available, more than
 * MemAvailable.
 */
#include <sys/resource.h>

#include "cli_fault.h"

/* Run the client with an optional RLIMIT_AS; exit status, peak RSS (KiB). */
static int run(char *const argv[], const char *out, const char *err,
	       rlim_t as, long *maxrss_kb, double *secs)
{
	struct rusage ru;
	double t0 = cu_now();
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct cu_exec e = { argv, NULL, out, err };

		if (as) {
			struct rlimit rl = { as, as };
			setrlimit(RLIMIT_AS, &rl);
		}
		_exit(cu_exec_fn(&e));
	}
	T_CHECK(wait4(pid, &st, 0, &ru) == pid, "wait4");
	*secs = cu_now() - t0;
	*maxrss_kb = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t mem_available(void)
{
	char *m = cu_slurp("/proc/meminfo", NULL);
	const char *k = m ? strstr(m, "MemAvailable:") : NULL;
	uint64_t v = k ? strtoull(k + 13, NULL, 10) << 10 : 0;

	free(m);
	return v;
}

int main(void)
{
	char dir[64], so[256], co[256], ce[256], port[16];
	char *sout, *cout, *cerr;
	long rss;
	double secs;
	int st, ss, bad = 0;
	pid_t sp;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(ce, sizeof(ce), "%s/client.err", dir);
	snprintf(port, sizeof(port), "%d", cu_free_port());
	T_SKIP_IF(mem_available() < (3ull << 30), "less than 3 GiB available "
		  "for the 2 GiB buffer");

	sp = cf_spawn(so, NULL, "server", "-s", "127.0.0.1", "-p", port, "-v",
		      "256", "--size", "1K", "-i", "0", "--timeout", "30", NULL);
	T_CHECK(cu_wait_listen(atoi(port), 10), "server did not listen");
	{
		char *argv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p",
				 port, "--buffer", "host", "--buffer-size", "2G",
				 "--engine", "copy", "--size", "1K", "-i", "0", NULL };

		st = run(argv, co, ce, 0, &rss, &secs);
	}
	ss = cu_wait(sp, 10);
	sout = cu_slurp(so, NULL);
	cout = cu_slurp(co, NULL);
	T_CHECK(sout && cout, "outputs missing");
	printf("--buffer-size 2G --size 1K: exit %d in %.2f s, peak RSS %ld KiB, "
	       "seconds=%s\n", st, secs, rss, cu_kv(cout, "seconds") ?
	       cu_kv(cout, "seconds") : "?");
	if (st != 0 || ss != 0 || secs > 5 || rss > 256 * 1024 || !cu_kv(cout, "seconds") ||
	    strtod(cu_kv(cout, "seconds"), NULL) > 0.5 || !strstr(sout, "verified")) {
		cf_dump("client stdout", co);
		cf_dump("client stderr", ce);
		cf_dump("server output", so);
		bad = 1;
	}
	free(sout);
	free(cout);

	{
		char *argv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p",
				 port, "--buffer-size", "2G", "--size", "1K", NULL };

		st = run(argv, co, ce, 1ull << 30, &rss, &secs);
		cerr = cu_slurp(ce, NULL);
		printf("--buffer-size 2G under a 1 GiB RLIMIT_AS: exit %d: %s", st,
		       cerr ? cerr : "");
		if (cerr && strstr(cerr, "AddressSanitizer"))
			printf("a sanitizer build cannot start under RLIMIT_AS (its "
			       "shadow memory): this case is not tested here\n");
		else if (st != 2 || !cerr || !strstr(cerr, "address-space limit") ||
			 cf_count(cerr, "\n") != 1)
			bad = 1;
		free(cerr);
	}
	if (mem_available() < (64ull << 30)) {
		char *argv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p",
				 port, "--buffer-size", "64G", "--size", "1K", NULL };

		st = run(argv, co, ce, 0, &rss, &secs);
		cerr = cu_slurp(ce, NULL);
		printf("--buffer-size 64G: exit %d: %s", st, cerr ? cerr : "");
		if (st != 2 || !cerr || !strstr(cerr, "MemAvailable") ||
		    cf_count(cerr, "\n") != 1)
			bad = 1;
		free(cerr);
	} else {
		printf("64 GiB or more available: the MemAvailable refusal is not "
		       "tested here\n");
	}
	cu_rmdir(dir);
	T_CHECK(bad == 0, "large-buffer checks failed");
	printf("cli_big_buffer: ok\n");
	return T_PASS;
}
