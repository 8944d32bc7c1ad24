// SPDX-License-Identifier: MIT
/*
 * tier B: a server that never answers the handshake. A listener with a
 * full accept queue (backlog 0, one connection already waiting) drops
 * further SYNs, so a connect would retry for about two minutes. The
 * client must give up within its --timeout (2 s here, plus slack), exit
 * 1, name the cause, and print its report (--json checked by the
 * independent parser). It used to wait out the kernel's SYN retries.
 */
#include <arpa/inet.h>

#include "cli_fault.h"

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char dir[64], out[256], err[256], port[16], v[256];
	socklen_t al = sizeof(a);
	int lfd, first, st, bad = 0;
	char *e;
	double t;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	T_CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		listen(lfd, 0) == 0 &&
		getsockname(lfd, (struct sockaddr *)&a, &al) == 0, "listen: %s",
		strerror(errno));
	first = socket(AF_INET, SOCK_STREAM, 0);
	T_CHECK(connect(first, (struct sockaddr *)&a, sizeof(a)) == 0,
		"first connect: %s", strerror(errno));
	usleep(100000);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	t = cu_now();
	pid = cf_spawn(out, err, "client", "-s", "127.0.0.1", "-p", port,
		       "--size", "1M", "--timeout", "2", "-i", "0", "--json", NULL);
	st = cu_wait(pid, 20);
	t = cu_now() - t;
	e = cu_slurp(err, NULL);
	T_CHECK(e, "no stderr");
	if (st != 1 || t > 6 || !strstr(e, "no answer from the server") ||
	    cf_json(out, "result.complete", v, sizeof(v)) || strcmp(v, "false") ||
	    cf_json(out, "result.error", v, sizeof(v)) || !strstr(v, "no answer"))
		bad = 1;
	printf("%s: client exit %d after %.1f s: %s", bad ? "FAIL" : "ok", st, t,
	       e);
	if (bad)
		cf_dump("client stdout", out);
	free(e);
	close(first);
	close(lfd);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "the unanswered connect was not bounded");
	printf("cli_fault_connect: ok\n");
	return T_PASS;
}
