// SPDX-License-Identifier: MIT
/*
 * tier B: the commands validate alike. A missing interface is exit 2 in
 * every command that takes one; the server's NIC-only options (-q, -t, -c,
 * --no-setup) without -f are usage errors, not ignored; staged is named
 * wherever TX engines are listed; setup without CAP_NET_ADMIN (run as
 * nobody) says "run as root or with CAP_NET_ADMIN" before any complaint
 * about the interface's queue counts; the client's -P, -R, --bidir,
 * --format and --cport refuse what they cannot do. (Before: the server ignored -q/-t/-c/
 * --no-setup without -f, engine lists left staged out, and setup as an
 * unprivileged user first complained that lo's RX queues cannot be told.)
 */
#include "cli_fault.h"

#include <grp.h>

/* Run devmemtcp ARGS (as uid 65534 when nobody); exit status, stderr in
 * err (and stdout appended). */
static int run(bool nobody, char *err, size_t errlen, char *const args[])
{
	char out[] = "/tmp/dmt-cli-validation-XXXXXX";
	char *argv[16] = { (char *)t_cli() };
	int fd = mkstemp(out), st, n = 1;
	pid_t pid;
	char *t;

	T_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	while (n < 15 && args[n - 1]) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			       setresuid(65534, 65534, 65534)))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	st = cu_wait(pid, 20);
	close(fd);
	t = cu_slurp(out, NULL);
	snprintf(err, errlen, "%s", t ? t : "");
	free(t);
	unlink(out);
	return st;
}

static int expect(bool nobody, int want_st, const char *want, const char *not,
		  char *const args[])
{
	char err[4096];
	int st = run(nobody, err, sizeof(err), args);
	int bad = st != want_st || !strstr(err, want) || (not && strstr(err, not));

	printf("%s %s%s %s ...: exit %d: %s", bad ? "FAIL" : "ok",
	       nobody ? "(as nobody) " : "", args[0], args[1] ? args[1] : "", st,
	       err[0] ? err : "(no output)\n");
	return bad;
}

#define A(...) ((char *const[]){ __VA_ARGS__, NULL })

int main(void)
{
	int bad = 0;

	T_CHECK(geteuid() == 0, "needs root (tier B)");
	/* a missing interface: exit 2 everywhere */
	bad += expect(false, 2, "no interface 'nosuch0'", NULL,
		      A("client", "-s", "127.0.0.1", "-f", "nosuch0", "--size", "1K"));
	bad += expect(false, 2, "no interface 'nosuch0'", NULL,
		      A("server", "-f", "nosuch0"));
	bad += expect(false, 2, "no interface 'nosuch0'", NULL,
		      A("setup", "nosuch0", "--port", "5201"));
	bad += expect(false, 2, "no interface 'nosuch0'", NULL,
		      A("selftest", "nosuch0", "--peer", "198.18.0.2"));
	bad += expect(false, 2, "nosuch0", NULL, A("doctor", "nosuch0"));
	/* the server's NIC-only options need -f */
	bad += expect(false, 2, "-q configures devmem RX on a NIC", NULL,
		      A("server", "-q", "2"));
	bad += expect(false, 2, "-t configures devmem RX on a NIC", NULL,
		      A("server", "-t", "0"));
	bad += expect(false, 2, "-c configures devmem RX on a NIC", NULL,
		      A("server", "-c", "198.18.0.2"));
	bad += expect(false, 2, "--no-setup configures devmem RX on a NIC", NULL,
		      A("server", "--no-setup"));
	/* the iperf3-style options: what they need, what they exclude */
	bad += expect(false, 2, "-P sends the pattern: give --size N or -t SEC",
		      NULL, A("client", "-s", "127.0.0.1", "-P", "2"));
	bad += expect(false, 2, "bad stream count '17' (-P): give 1..16", NULL,
		      A("client", "-s", "127.0.0.1", "-P", "17", "-t", "1"));
	bad += expect(false, 2, "-R and --bidir both given", NULL,
		      A("client", "-s", "127.0.0.1", "-R", "--bidir", "-t", "1"));
	bad += expect(false, 2, "-R receives into host memory", NULL,
		      A("client", "-s", "127.0.0.1", "-R", "-t", "1", "--engine",
			"zerocopy"));
	bad += expect(false, 2, "bad format 'x' (--format)", NULL,
		      A("client", "-s", "127.0.0.1", "--format", "x"));
	bad += expect(false, 2, "bad format 'q' (--format)", NULL,
		      A("server", "--format", "q"));
	bad += expect(false, 2, "runs past port 65535", NULL,
		      A("client", "-s", "127.0.0.1", "--cport", "65535", "-P", "2",
			"-t", "1"));
	/* staged is listed with the engines */
	bad += expect(false, 2, "copy or staged", NULL,
		      A("client", "-s", "127.0.0.1", "--engine", "bogus"));
	bad += expect(false, 0, "zerocopy|copy|staged", NULL, A("client", "--help"));
	bad += expect(false, 2, "staged is the client's", NULL,
		      A("demo", "--engine", "bogus"));
	bad += expect(false, 2, "engine staged is not for demo", NULL,
		      A("demo", "--engine", "staged"));
	/* an interface name longer than the kernel's is bad input, never cut
	 * to a shorter name (restore used to answer 'no journal', exit 0/1) */
	bad += expect(false, 2, "is not an interface name", NULL,
		      A("setup", "--restore", "abcdefghijklmnopqrstuvwxyz"));
	/* setup: the privilege before the queue counts */
	bad += expect(true, 1, "run as root or with CAP_NET_ADMIN", "queues",
		      A("setup", "lo", "--port", "5201"));
	bad += expect(true, 1, "run as root or with CAP_NET_ADMIN", NULL,
		      A("setup", "--restore"));
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_validation: ok\n");
	return T_PASS;
}
