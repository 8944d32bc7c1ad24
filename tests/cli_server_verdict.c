// SPDX-License-Identifier: MIT
/*
 * tier B: what the server says when the transfer failed. A connection
 * closed without data (with and without --size), a stream shorter than --size, and a stream cut by
 * a reset must each exit 1 with an error saying what happened, never
 * "verified", and in text mode print complete= and error= once each. (The
 * server used to print "0 bytes verified" and exit 0 for an empty
 * connection, "verified" for a short or reset stream, and complete=/error=
 * twice.)
 */
#include <arpa/inet.h>

#include "cli_fault.h"

enum how { EMPTY, SHORT, RESET };

static int one(const char *dir, enum how how, bool size, const char *want)
{
	static const char *names[] = { "empty connection", "short stream",
				       "reset stream" };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	char out[256], err[256], port[16];
	unsigned char data[1000];
	char *o, *e;
	int st, fd, bad = 0;
	pid_t sp;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(port, sizeof(port), "%d", cu_free_port());
	sp = cf_spawn(out, err, "server", "-s", "127.0.0.1", "-p", port, "-v",
		      "256", "-i", "0", "--timeout", "10", size ? "--size" : NULL,
		      "4096", NULL);
	T_CHECK(cu_wait_listen(atoi(port), 10), "server did not listen");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((uint16_t)atoi(port));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	T_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		strerror(errno));
	if (how != EMPTY) {
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = oracle_byte(i, 256);
		T_CHECK(send(fd, data, sizeof(data), 0) == (ssize_t)sizeof(data),
			"send");
		usleep(300000);	/* let the server read them */
	}
	if (how == RESET)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	st = cu_wait(sp, 15);
	o = cu_slurp(out, NULL);
	e = cu_slurp(err, NULL);
	T_CHECK(o && e, "outputs missing");
	if (st != 1 || strstr(o, "verified") || !strstr(e, want) ||
	    cf_count(o, "complete=false") != 1 || cf_count(o, "error=") != 1 ||
	    !strstr(o, "INCOMPLETE") ||
	    (how != EMPTY && !strstr(o, "the bytes received match the pattern")))
		bad = 1;
	printf("%s %s%s: exit %d: %s", bad ? "FAIL" : "ok", names[how],
	       size ? " (--size 4096)" : "", st, e);
	if (bad) {
		cf_dump("server stdout", out);
		cf_dump("server stderr", err);
	}
	free(o);
	free(e);
	return bad;
}

int main(void)
{
	char dir[64];
	int bad = 0;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	bad += one(dir, EMPTY, false, "without sending any data");
	bad += one(dir, EMPTY, true, "without sending any data");
	bad += one(dir, SHORT, true, "received 1000 bytes, expected 4096");
	bad += one(dir, RESET, false, "reset");
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("cli_server_verdict: ok\n");
	return T_PASS;
}
