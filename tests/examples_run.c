// SPDX-License-Identifier: MIT
/*
 * tier B: every example in examples/ runs over loopback against a peer
 * this test provides, and the bytes that arrive are checked.
 *  tx_ring        10 MB of the modulus-251 pattern through a ring of
 *                 regions: the peer validates every byte
 *  epoll_senders  8 connections x 3 MB on one epoll loop: each validated
 *  send_file      a 5 MB file of pseudo-random bytes: compared byte for byte
 *  rx_gather      the test sends that file to the example, which writes
 *                 what it gathered to a file: compared
 *  tx_minimal     its one message arrives whole
 *  rx_minimal     the test sends it 1 MB; it reports the byte count and
 *                 the engine the listener picked (lo: copy, with why)
 * Each example runs under timeout(1). Needs DMT_EXAMPLES_DIR from CTest.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define MAXC 16
#define FILE_LEN (5u * 1000 * 1000 + 7)

struct conn {
	int fd;
	unsigned long long got, bad;
	unsigned char *data;	/* kept bytes (keep mode) */
	size_t cap;
};

static void *reader(void *arg)
{
	struct conn *c = arg;
	static __thread unsigned char b[1 << 16];

	for (;;) {
		ssize_t n = recv(c->fd, b, sizeof(b), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (c->data) {
				if (c->got + (size_t)i < c->cap)
					c->data[c->got + (size_t)i] = b[i];
			} else if (b[i] != t_pattern_byte(c->got + (size_t)i, 251)) {
				c->bad++;
			}
		}
		c->got += (unsigned long long)n;
	}
	close(c->fd);
	return NULL;
}

/* Accept n connections (10 s at most for each) and read each to EOF. */
struct peer {
	int lfd, n;
	size_t keep;		/* > 0: keep up to this many bytes (conn 0) */
	struct conn c[MAXC];
	pthread_t th[MAXC];
	int accepted;
};

static void *acceptor(void *arg)
{
	struct peer *p = arg;
	struct timeval tv = { .tv_sec = 10 };

	setsockopt(p->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < p->n; i++) {
		int fd = accept(p->lfd, NULL, NULL);

		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		p->c[i].fd = fd;
		if (p->keep) {
			p->c[i].data = malloc(p->keep);
			p->c[i].cap = p->keep;
		}
		if (pthread_create(&p->th[i], NULL, reader, &p->c[i])) {
			close(fd);
			break;
		}
		p->accepted++;
	}
	for (int i = 0; i < p->accepted; i++)
		pthread_join(p->th[i], NULL);
	return NULL;
}

static pthread_t peer_start(struct peer *p, int n, size_t keep, int *port)
{
	pthread_t t;

	memset(p, 0, sizeof(*p));
	p->n = n;
	p->keep = keep;
	*port = 0;
	p->lfd = t_listen("127.0.0.1", port);
	T_CHECK(pthread_create(&t, NULL, acceptor, p) == 0, "pthread_create");
	return t;
}

static void peer_end(struct peer *p, pthread_t t)
{
	pthread_join(t, NULL);
	close(p->lfd);
}

static char dir[] = "/tmp/dmt-examples-XXXXXX";
static pid_t owner;

static void cleanup(void)
{
	char cmd[128];

	if (getpid() != owner)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	t_run(cmd, NULL, 0);
}

static unsigned char *file_bytes(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *m;
	int fd = open(path, O_RDONLY);

	T_CHECK(fd >= 0 && fstat(fd, &st) == 0, "%s: %s", path, strerror(errno));
	m = malloc((size_t)st.st_size + 1);
	T_CHECK(m, "out of memory");
	T_CHECK(read(fd, m, (size_t)st.st_size) == st.st_size, "read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return m;
}

int main(void)
{
	const char *ex = getenv("DMT_EXAMPLES_DIR");
	char cmd[4096], out[8192], file[256], got[256];
	unsigned char *want, *have;
	size_t wlen, hlen;
	struct peer p;
	pthread_t t;
	int port, rc;

	T_SKIP_IF(!ex, "run through CTest (DMT_EXAMPLES_DIR unset)");
	T_CHECK(mkdtemp(dir), "mkdtemp");
	owner = getpid();
	atexit(cleanup);

	/* a file of pseudo-random bytes, not a multiple of any buffer size */
	snprintf(file, sizeof(file), "%s/in.bin", dir);
	{
		FILE *f = fopen(file, "w");
		uint64_t x = 0x9e3779b97f4a7c15ull;

		T_CHECK(f, "%s", file);
		for (size_t i = 0; i < FILE_LEN; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			fputc((int)(x >> 56), f);
		}
		T_CHECK(fclose(f) == 0, "write %s", file);
	}
	want = file_bytes(file, &wlen);

	/* tx_ring: 10 MB, validated */
	t = peer_start(&p, 1, 0, &port);
	snprintf(cmd, sizeof(cmd), "timeout 60 '%s/example_tx_ring' 127.0.0.1 %d "
		 "10000000", ex, port);
	rc = t_run(cmd, out, sizeof(out));
	peer_end(&p, t);
	printf("tx_ring: rc %d, %llu bytes, %llu bad\n%s", rc, p.c[0].got,
	       p.c[0].bad, out);
	T_CHECK(rc == 0 && p.c[0].got == 10000000 && !p.c[0].bad,
		"tx_ring: rc %d, %llu bytes (want 10000000), %llu mismatches",
		rc, p.c[0].got, p.c[0].bad);

	/* epoll_senders: 8 x 3 MB, each validated */
	t = peer_start(&p, 8, 0, &port);
	snprintf(cmd, sizeof(cmd), "timeout 60 '%s/example_epoll_senders' "
		 "127.0.0.1 %d 8 3000000", ex, port);
	rc = t_run(cmd, out, sizeof(out));
	peer_end(&p, t);
	printf("epoll_senders: rc %d, %d connections\n%s", rc, p.accepted, out);
	T_CHECK(rc == 0 && p.accepted == 8, "epoll_senders: rc %d, %d of 8 "
		"connections: %s", rc, p.accepted, out);
	for (int i = 0; i < 8; i++)
		T_CHECK(p.c[i].got == 3000000 && !p.c[i].bad, "epoll_senders: "
			"connection %d: %llu bytes (want 3000000), %llu mismatches",
			i, p.c[i].got, p.c[i].bad);

	/* send_file: compared with the file */
	t = peer_start(&p, 1, wlen + 1, &port);
	snprintf(cmd, sizeof(cmd), "timeout 60 '%s/example_send_file' 127.0.0.1 "
		 "%d '%s'", ex, port, file);
	rc = t_run(cmd, out, sizeof(out));
	peer_end(&p, t);
	printf("send_file: rc %d, %llu bytes\n%s", rc, p.c[0].got, out);
	T_CHECK(rc == 0 && p.c[0].got == wlen &&
		!memcmp(p.c[0].data, want, wlen),
		"send_file: rc %d, %llu bytes (want %zu) or content differs",
		rc, p.c[0].got, wlen);
	free(p.c[0].data);

	/* tx_minimal: one message */
	t = peer_start(&p, 1, 4096, &port);
	snprintf(cmd, sizeof(cmd), "timeout 60 '%s/example_tx_minimal' 127.0.0.1 %d",
		 ex, port);
	rc = t_run(cmd, out, sizeof(out));
	peer_end(&p, t);
	printf("tx_minimal: rc %d\n%s", rc, out);
	T_CHECK(rc == 0 && p.c[0].got == 25 &&
		!memcmp(p.c[0].data, "hello from device memory\n", 25),
		"tx_minimal: rc %d, %llu bytes", rc, p.c[0].got);
	free(p.c[0].data);

	/* rx_gather: the example listens on a port picked here; the test
	 * sends the file once the example says it listens */
	{
		int pfd[2], fd = -1, s, q = 0;
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		char line[256] = "";
		pid_t pid;
		FILE *f;

		port = 0;
		s = t_listen("127.0.0.1", &port);	/* a free port */
		close(s);
		snprintf(got, sizeof(got), "%s/out.bin", dir);
		T_CHECK(pipe(pfd) == 0, "pipe");
		pid = fork();
		T_CHECK(pid >= 0, "fork");
		if (pid == 0) {
			char p_s[16], path[4096];

			dup2(pfd[1], 1);
			close(pfd[0]);
			snprintf(p_s, sizeof(p_s), "%d", port);
			snprintf(path, sizeof(path), "%s/example_rx_gather", ex);
			execlp("timeout", "timeout", "60", path, p_s, got, (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		f = fdopen(pfd[0], "r");
		T_CHECK(f && fgets(line, sizeof(line), f) &&
			!strcmp(line, "listening\n"),
			"rx_gather did not start: '%s'", line);
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		T_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
			"connect to rx_gather: %s", strerror(errno));
		for (size_t done = 0; done < wlen;) {
			ssize_t n = send(fd, want + done, wlen - done, MSG_NOSIGNAL);

			T_CHECK(n > 0, "send to rx_gather: %s", strerror(errno));
			done += (size_t)n;
		}
		close(fd);
		while (fgets(line, sizeof(line), f))
			printf("rx_gather: %s", line);
		fclose(f);
		T_CHECK(waitpid(pid, &q, 0) == pid, "waitpid");
		T_CHECK(WIFEXITED(q) && WEXITSTATUS(q) == 0,
			"rx_gather exited with status %#x", q);
		have = file_bytes(got, &hlen);
		T_CHECK(hlen == wlen && !memcmp(have, want, wlen),
			"rx_gather wrote %zu bytes (want %zu) or content differs",
			hlen, wlen);
		free(have);
	}
	free(want);
	/* rx_minimal: listens on a port picked here, prints the engine line
	 * once it listens, receives what the test sends */
	{
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		static char buf[1 << 20];
		char line[1024] = "", p_s[16], path[512];
		int pfd[2], fd, s, q = 0;
		bool counted = false;
		pid_t pid;
		FILE *f;

		port = 0;
		s = t_listen("127.0.0.1", &port);	/* a free port */
		close(s);
		snprintf(p_s, sizeof(p_s), "%d", port);
		T_CHECK(pipe(pfd) == 0, "pipe");
		pid = fork();
		T_CHECK(pid >= 0, "fork");
		if (!pid) {
			dup2(pfd[1], 1);
			close(pfd[0]);
			snprintf(path, sizeof(path), "%s/example_rx_minimal", ex);
			execlp("timeout", "timeout", "60", path, p_s, "lo",
			       (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		f = fdopen(pfd[0], "r");
		T_CHECK(f && fgets(line, sizeof(line), f) &&
			!strncmp(line, "engine copy: devmem RX unavailable (", 36),
			"rx_minimal did not start: '%s'", line);
		printf("rx_minimal: %s", line);
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		T_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
			"connect to rx_minimal: %s", strerror(errno));
		T_CHECK(send(fd, buf, sizeof(buf), MSG_NOSIGNAL) == sizeof(buf),
			"send to rx_minimal");
		close(fd);
		while (fgets(line, sizeof(line), f)) {
			printf("rx_minimal: %s", line);
			counted |= !strcmp(line, "received 1048576 bytes\n");
		}
		fclose(f);
		T_CHECK(waitpid(pid, &q, 0) == pid, "waitpid");
		T_CHECK(WIFEXITED(q) && WEXITSTATUS(q) == 0 && counted,
			"rx_minimal exited with status %#x", q);
	}
	printf("examples_run: all examples ran and their bytes match\n");
	return T_PASS;
}
