// SPDX-License-Identifier: MIT
/*
 * tier B: MSG_ZEROCOPY across a veth pair between two private namespaces,
 * then ENOBUFS forced by lowering net.core.optmem_max (per namespace) in
 * the sender's namespace: every byte must still arrive once and in order.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "netns.h"
#include "internal.h"

#define V 251

struct sink_arg {
	const char *addr;
	int port;
	unsigned long long expect;
};

static int sink_child(void *p)
{
	struct sink_arg *a = p;
	struct t_sink s = { .v = V };
	int port = a->port;

	s.fd = t_listen(a->addr, &port);
	t_sink_main(&s);
	if (s.err || s.got != a->expect || s.bad) {
		fprintf(stderr, "sink: err %d got %llu of %llu, %llu bad (first %llu)\n",
			s.err, s.got, a->expect, s.bad, s.first_bad);
		return 1;
	}
	printf("sink: %llu bytes verified\n", s.got);
	return 0;
}

static void fill(struct dmt_buf *b, size_t period)
{
	unsigned char *m = dmt_buf_map(b);

	t_pattern_fill(m, period, V);
}

/* Send total bytes as chunk-sized segments from a buffer holding one
 * pattern period of length L (a multiple of V), so the stream continues. */
static void send_stream(struct dmt_tx *tx, size_t L, unsigned long long total,
			size_t chunk)
{
	for (unsigned long long pos = 0; pos < total;) {
		size_t off = (size_t)(pos % L);
		size_t len = chunk;
		struct dmt_seg s;
		ssize_t n;

		if (len > L - off)
			len = L - off;
		if (len > total - pos)
			len = (size_t)(total - pos);
		s.off = off;
		s.len = len;
		n = dmt_tx_send(tx, &s, 1);
		T_CHECK(n == (ssize_t)len, "send at %llu: %zd: %s", pos, n,
			dmt_tx_last_error(tx)->message);
		pos += len;
	}
	T_CHECK(dmt_tx_flush(tx, 20000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
}

static void run(struct netpair *np, int port, unsigned long long total,
		size_t chunk, bool nodelay, struct dmt_tx_stats *st)
{
	struct sink_arg a = { np->addr[1], port, total };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	size_t L = (size_t)V * 4096;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int one = 1, status;
	pid_t pid;

	T_CHECK(netpair_run(np, 1, sink_child, &a, &pid) == 0, "sink fork");
	ctx = dmt_ctx_new(NULL, &err);
	T_CHECK(ctx, "%s", err.message);
	buf = dmt_buf_new(DMT_BUF_HOST, L, NULL, &err);
	T_CHECK(buf, "%s", err.message);
	fill(buf, L);
	inet_pton(AF_INET, np->addr[1], &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_ZEROCOPY);
	for (int i = 0;; i++) { /* the listener may not be up yet */
		tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst),
				    NULL, 0, &opts, &err);
		if (tx || err.err != -ECONNREFUSED || i == 100)
			break;
		usleep(20000);
	}
	T_CHECK(tx, "connect: %s", err.message);
	if (nodelay)
		setsockopt(dmt_tx_fd(tx), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	send_stream(tx, L, total, chunk);
	st->sz = sizeof(*st);
	dmt_tx_get_stats(tx, st);
	dmt_tx_free(tx); /* closes: the sink sees EOF */
	T_CHECK(waitpid(pid, &status, 0) == pid, "wait sink");
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sink failed");
	printf("  %llu bytes, syscalls %llu, enobufs %llu, ids %llu, "
	       "notifications %llu, copied %llu/%llu\n",
	       (unsigned long long)st->bytes, (unsigned long long)st->syscalls,
	       (unsigned long long)st->enobufs, (unsigned long long)st->zc_ids,
	       (unsigned long long)st->zc_notifications,
	       (unsigned long long)st->zc_copied,
	       (unsigned long long)st->zc_completed);
	T_CHECK(st->bytes == total && st->zc_completed == st->zc_ids, "accounting");
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
}

int main(void)
{
	struct dmt_tx_stats st;
	struct netpair np;
	char why[256];
	int fd;

	t_require_root();
	T_CHECK(netpair_create(&np, 0, why, sizeof(why)) == 0, "netpair: %s", why);
	/* The test process itself moves into side A; the namespaces vanish
	 * with their holders and with this process. */
	T_CHECK(netpair_enter(&np, 0) == 0, "enter A");

	printf("veth zerocopy, 64 MiB in 64 KiB sends:\n");
	run(&np, 5201, 64ull << 20, 64 << 10, false, &st);
	T_CHECK(st.zc_notifications > 0, "completions arrived over veth");

	/* optmem_max is per namespace on this kernel: lower it in A only. */
	fd = open("/proc/sys/net/core/optmem_max", O_WRONLY | O_CLOEXEC);
	T_CHECK(fd >= 0 && write(fd, "8192", 4) == 4, "set optmem_max");
	close(fd);
	printf("ENOBUFS: optmem_max 8192, 2 MB in 100-byte TCP_NODELAY sends:\n");
	run(&np, 5202, 2000000, 100, true, &st);
	T_CHECK(st.enobufs > 0, "ENOBUFS was not provoked (%llu)",
		(unsigned long long)st.enobufs);
	netpair_destroy(&np);
	printf("tx_netns: ok\n");
	return T_PASS;
}
