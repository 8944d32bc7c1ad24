// SPDX-License-Identifier: MIT
/*
 * tier B: a one-shot server and two senders. Both connect while the server
 * is stopped (SIGSTOP), so both handshakes complete in the listen queue;
 * the second is a devmemtcp client that queues its 64 KiB into the socket
 * buffers meanwhile. On SIGCONT the server serves the first sender and
 * must refuse the second with a reset and a line on stderr naming it;
 * the second client must then exit 1 saying its bytes were not taken. The
 * first transfer must still verify. (The second client used to exit 0:
 * its data was accepted by the kernel and dropped unread.)
 */
#include <arpa/inet.h>

#include "cli_fault.h"

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char dir[64], so[256], se[256], co[256], ce[256], port[16];
	unsigned char data[4096];
	char *sout, *serr, *cout, *cerr;
	int fd, ss, cs, bad = 0;
	pid_t sp, cp;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(se, sizeof(se), "%s/server.err", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(ce, sizeof(ce), "%s/client.err", dir);
	snprintf(port, sizeof(port), "%d", cu_free_port());
	sp = cf_spawn(so, se, "server", "-s", "127.0.0.1", "-p", port, "-v", "256",
		      "--size", "4096", "-i", "0", "--timeout", "20", NULL);
	T_CHECK(cu_wait_listen(atoi(port), 10), "server did not listen");
	kill(sp, SIGSTOP);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((uint16_t)atoi(port));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	T_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		strerror(errno));
	cp = cf_spawn(co, ce, "client", "-s", "127.0.0.1", "-p", port, "--size",
		      "64K", "--engine", "copy", "--timeout", "10", "-i", "0", NULL);
	usleep(700000);	/* the second client has connected and queued */
	kill(sp, SIGCONT);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = oracle_byte(i, 256);
	T_CHECK(send(fd, data, sizeof(data), 0) == (ssize_t)sizeof(data), "send");
	shutdown(fd, SHUT_WR);
	ss = cu_wait(sp, 15);
	cs = cu_wait(cp, 15);
	close(fd);
	sout = cu_slurp(so, NULL);
	serr = cu_slurp(se, NULL);
	cout = cu_slurp(co, NULL);
	cerr = cu_slurp(ce, NULL);
	T_CHECK(sout && serr && cout && cerr, "outputs missing");
	if (ss != 0 || !strstr(sout, "verified") ||
	    !strstr(serr, "refused a second connection"))
		bad = 1;
	if (cs != 1 || !strstr(cerr, "did not take all") ||
	    !strstr(cout, "complete=false"))
		bad = 1;
	printf("server exit %d: %s", ss, serr);
	printf("second client exit %d: %s", cs, cerr);
	if (bad) {
		cf_dump("server stdout", so);
		cf_dump("client stdout", co);
	}
	free(sout);
	free(serr);
	free(cout);
	free(cerr);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "the second sender was not refused clearly");
	printf("cli_second_sender: ok\n");
	return T_PASS;
}
