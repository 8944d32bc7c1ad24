// SPDX-License-Identifier: MIT
/* tier B: the copy engine receives verified data from foreign senders
 * through dmt_rx: socat over loopback, a bash /dev/tcp shell pipeline, and
 * socat in the other namespace of a veth pair. The auto engine falls back
 * with the reason recorded; the devmem engine needs a listener. And
 * the devmem receive path on a real TCP socket (MSG_SOCK_DEVMEM, no devmem
 * data arrives here): a flow steering error, or linear data with auto. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "netns.h"
#include "rx.h"

#define DATA (3u << 20)		/* 3 MiB through a 256 KiB buffer */

static char file[64] = "/tmp/dmt-rx-fallback-XXXXXX";
static unsigned char *data;

static pid_t spawn(const char *cmd)
{
	pid_t pid = fork();

	T_CHECK(pid >= 0, "fork");
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid, const char *what)
{
	int st;

	T_CHECK(waitpid(pid, &st, 0) == pid, "wait");
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exited %d", what,
		WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* Receive everything on the accepted socket with dmt_rx; compare. */
static void receive_all(int afd, const char *who)
{
	DMT_OPTS(dmt_rx_stats, st);
	unsigned char *got = malloc(DATA);
	struct dmt_frag f[16];
	struct dmt_buf *buf;
	struct dmt_error e;
	struct dmt_rx *rx;
	size_t total = 0;
	unsigned int n;
	ssize_t r;

	buf = dmt_buf_new(DMT_BUF_HOST, 256 << 10, NULL, &e);
	T_CHECK(buf && got, "buf: %s", e.message);
	rx = dmt_rx_from_fd(NULL, buf, afd, NULL, &e);
	T_CHECK(rx, "%s", e.message);
	T_CHECK(dmt_rx_engine(rx) == DMT_ENGINE_COPY, "auto picks copy");
	T_CHECK(strstr(dmt_rx_engine_reason(rx), "host memory"), "reason: %s",
		dmt_rx_engine_reason(rx));
	while ((r = dmt_rx_recv(rx, f, 16, &n)) > 0) {
		T_CHECK(total + (size_t)r <= DATA, "%s sent too much", who);
		T_CHECK(dmt_rx_gather(rx, f, n, got + total, DATA - total) == r,
			"gather");
		T_CHECK(dmt_rx_release(rx, f, n) == (int)n, "release");
		total += (size_t)r;
	}
	T_CHECK(r == 0, "recv: %zd %s", r, dmt_rx_last_error(rx)->message);
	T_CHECK(total == DATA && !memcmp(got, data, DATA),
		"%s: %zu of %u bytes, content %s", who, total, DATA,
		total == DATA ? "differs" : "short");
	dmt_rx_get_stats(rx, &st);
	T_CHECK(st.bytes == DATA && st.copied_bytes == DATA && !st.devmem_bytes &&
		st.outstanding == 0, "stats");
	printf("  %s: %u bytes verified, %llu recv calls, %llu fragments\n", who,
	       DATA, (unsigned long long)st.recv_calls,
	       (unsigned long long)st.frags);
	dmt_rx_free(rx);
	dmt_buf_free(buf);
	free(got);
}

static void from_cmd(int kind, const char *who)
{
	char cmd[512];
	int port = 0, lfd = t_listen("127.0.0.1", &port), afd;
	pid_t pid;

	if (kind == 0)
		snprintf(cmd, sizeof(cmd), "exec socat -u OPEN:%s "
			 "TCP:127.0.0.1:%d", file, port);
	else
		snprintf(cmd, sizeof(cmd), "exec bash -c 'exec 3<>/dev/tcp/"
			 "127.0.0.1/%d; cat %s | dd bs=1000 status=none >&3'",
			 port, file);
	pid = spawn(cmd);
	afd = accept(lfd, NULL, NULL);
	T_CHECK(afd >= 0, "accept");
	receive_all(afd, who);
	close(afd);
	close(lfd);
	reap(pid, who);
}

static int ns_sender(void *arg)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "exec socat -u OPEN:%s TCP:198.18.0.1:%d",
		 file, *(int *)arg);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	return 127;
}

static void devmem_path_on_plain_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int port = 0, lfd = t_listen("127.0.0.1", &port), cfd, afd;
	struct dmt_frag f[8];
	struct dmt_buf *buf;
	struct dmt_error e;
	struct dmt_rx *rx;
	unsigned int n;
	char out[16];
	ssize_t r;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	T_CHECK(connect(cfd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	afd = accept(lfd, NULL, NULL);
	buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &e);
	/* the devmem engine needs a listener (its binding and NIC setup;
	 * tests/rx_listen.c covers what a listener refuses) */
	{
		DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_DEVMEM);
		T_CHECK(!dmt_rx_from_fd(NULL, buf, afd, &o, &e) &&
			e.err == -DMT_ERR_ENGINE && strstr(e.message, "no listener"),
			"devmem without a listener: %d %s", e.err, e.message);
		printf("  %s\n", e.message);
	}
	rx = dmt_rx_from_fd(NULL, buf, afd, NULL, &e);
	T_CHECK(rx && dmt_rx_test_force_devmem(rx, 5, false) == 0, "rx");
	T_CHECK(write(cfd, "plain", 5) == 5, "write");
	r = dmt_rx_recv(rx, f, 8, &n);
	T_CHECK(r == -DMT_ERR_FLOW_STEERING, "strict devmem: %zd", r);
	printf("  %s\n", dmt_rx_last_error(rx)->message);
	dmt_rx_free(rx);
	rx = dmt_rx_from_fd(NULL, buf, afd, NULL, &e);
	T_CHECK(rx && dmt_rx_test_force_devmem(rx, 5, true) == 0, "rx");
	T_CHECK(write(cfd, "hello", 5) == 5, "write");
	r = dmt_rx_recv(rx, f, 8, &n);
	T_CHECK(r == 5 && n == 1 && f[0].flags == DMT_FRAG_LINEAR, "auto: %zd", r);
	T_CHECK(dmt_rx_gather(rx, f, n, out, sizeof(out)) == 5 &&
		!memcmp(out, "hello", 5), "linear bytes");
	dmt_rx_free(rx);
	dmt_buf_free(buf);
	close(cfd);
	close(afd);
	close(lfd);
}

int main(void)
{
	char err[256];
	struct netpair np;
	int fd, ret;

	t_require_root();
	T_SKIP_IF(system("command -v socat >/dev/null") != 0, "socat missing");
	data = malloc(DATA);
	T_CHECK(data, "oom");
	srand(7);
	for (unsigned int i = 0; i < DATA; i++)
		data[i] = (unsigned char)(rand() >> 7);
	fd = mkstemp(file);
	T_CHECK(fd >= 0 && write(fd, data, DATA) == (ssize_t)DATA, "data file");
	close(fd);

	printf("loopback:\n");
	from_cmd(0, "socat");
	from_cmd(1, "bash /dev/tcp pipeline");

	printf("veth between two namespaces:\n");
	ret = netpair_create(&np, 0, err, sizeof(err));
	/* only namespaces not being permitted may leave this part out */
	T_CHECK(ret == 0 || ret == -EPERM, "namespace pair: %s", err);
	if (ret == 0) {
		int port = 0, lfd, afd;
		pid_t pid;

		T_CHECK(netpair_enter(&np, 0) == 0, "enter side 0");
		lfd = t_listen("198.18.0.1", &port);
		T_CHECK(netpair_run(&np, 1, ns_sender, &port, &pid) == 0, "sender");
		afd = accept(lfd, NULL, NULL);
		T_CHECK(afd >= 0, "accept");
		receive_all(afd, "socat from the other namespace");
		close(afd);
		close(lfd);
		reap(pid, "namespaced socat");
		netpair_destroy(&np);
	} else {
		printf("  not run: %s\n", err);
	}

	printf("devmem receive path on a plain socket:\n");
	devmem_path_on_plain_socket();
	unlink(file);
	free(data);
	printf("rx_fallback: ok\n");
	return T_PASS;
}
