// SPDX-License-Identifier: MIT
/*
 * devmemtcp bench: one run. A receiver process (a plain recv() loop: the
 * server side is not under test) and a sender process (the library, one
 * dmt_tx per flow) on loopback or on the two sides of a veth pair. Both
 * write what they measured into shared memory; the parent waits for them
 * with a deadline and kills them (by PID) when it passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "measure.h"
#include "netns.h"

#define RX_BUF (1 << 16)	/* the receiver recv()s 64 KiB at a time */
#define CONNECT_TRIES 150	/* x 20 ms: the listener is in another process */

struct run_arg {
	const struct bench_cfg *c;
	enum dmt_engine engine;
	uint64_t size;
	int port;
	const char *addr;	/* the receiver's address */
	struct bench_trial *t;
};





static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* ---- receiver ---- */

static int rx_listen(const char *addr, int port, unsigned int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &a.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, (int)backlog) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One flow: the same blocking recv() loop as the bare baselines. */
static void rx_one(int c, struct bench_trial *t, char *buf)
{
	double t0 = 0;

	for (;;) {
		ssize_t n = recv(c, buf, RX_BUF, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			t->rx_err = errno;
		if (n <= 0)
			break;
		if (!t->rx_bytes)
			t0 = mono_s();
		t->rx_bytes += (unsigned long long)n;
	}
	t->rx_secs = t->rx_bytes ? mono_s() - t0 : 0;
}

/* Many flows: epoll, each ready socket read until it would block. */
static void rx_many(int *fds, unsigned int n, struct bench_trial *t, char *buf)
{
	struct epoll_event ev[64];
	unsigned int open = n;
	double t0 = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		t->rx_err = errno;
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
	}
	while (open) {
		int k = epoll_wait(ep, ev, 64, 30000);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			t->rx_err = k ? errno : ETIMEDOUT;
			break;
		}
		for (int j = 0; j < k; j++) {
			int fd = fds[ev[j].data.u32];

			for (;;) {
				ssize_t r = recv(fd, buf, RX_BUF, MSG_DONTWAIT);

				if (r > 0) {
					if (!t->rx_bytes)
						t0 = mono_s();
					t->rx_bytes += (unsigned long long)r;
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (r < 0)
					t->rx_err = errno;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				open--;
				break;
			}
		}
	}
	t->rx_secs = t->rx_bytes ? mono_s() - t0 : 0;
	close(ep);
}

static int rx_main(void *p)
{
	struct run_arg *a = p;
	struct bench_trial *t = a->t;
	unsigned int flows = a->c->flows;
	int lfd, *fds;
	char *buf;
	double c0;

	if (a->c->pin)
		pin_cpu(1);
	fds = calloc(flows, sizeof(*fds));
	buf = malloc(RX_BUF);
	lfd = rx_listen(a->addr, a->port, flows + 16);
	if (lfd < 0 || !fds || !buf) {
		t->rx_err = errno ? errno : ENOMEM;
		return 1;
	}
	for (unsigned int i = 0; i < flows; i++) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };

		/* the sender may fail before connecting: do not hang */
		if (poll(&pf, 1, 10000) != 1) {
			t->rx_err = ETIMEDOUT;
			return 1;
		}
		fds[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fds[i] < 0) {
			t->rx_err = errno;
			return 1;
		}
	}
	close(lfd);
	c0 = cpu_self_s();
	if (flows == 1)
		rx_one(fds[0], t, buf);
	else
		rx_many(fds, flows, t, buf);
	t->rx_cpu = cpu_self_s() - c0;
	return t->rx_err ? 1 : 0;
}

/* ---- sender ---- */

static int tx_fail(struct bench_trial *t, int err, const char *what,
		   const char *msg)
{
	t->tx_err = err < 0 ? err : -EIO;
	snprintf(t->tx_msg, sizeof(t->tx_msg), "%.40s: %.270s", what, msg);
	return 1;
}

static struct dmt_buf *tx_buffer(const struct bench_cfg *c, enum dmt_engine e,
				 size_t size, struct dmt_error *err)
{
	DMT_OPTS(dmt_buf_opts, bo, .device = c->buf_device);
	struct dmt_buf *b;

	if (c->buf_kind)	/* --buffer */
		return dmt_buf_new((enum dmt_buf_kind)c->buf_kind, size, &bo,
				   err);
	if (e != DMT_ENGINE_DEVMEM)
		return dmt_buf_new(DMT_BUF_HOST, size, NULL, err);
	/* devmem needs a dma-buf: the exporters a plain host may have */
	b = dmt_buf_new(DMT_BUF_UDMABUF, size, NULL, err);
	if (!b) {
		char first[200], second[200];

		snprintf(first, sizeof(first), "%s", err->message);
		b = dmt_buf_new(DMT_BUF_DMAHEAP, size, NULL, err);
		if (!b) {
			snprintf(second, sizeof(second), "%s", err->message);
			snprintf(err->message, sizeof(err->message), "no dma-buf "
				 "for devmem: udmabuf: %s; dma heap: %s", first,
				 second);
		}
	}
	return b;
}

static int tx_main(void *p)
{
	struct run_arg *a = p;
	const struct bench_cfg *c = a->c;
	struct bench_trial *t = a->t;
	unsigned int flows = c->flows, f;
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)a->port) };
	size_t size = (size_t)a->size, bsz, slots, heap0;
	unsigned long long k = 0, sent = 0;
	struct dmt_tx **tx;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	double t0, c0, m0, end;

	if (c->pin)
		pin_cpu(0);
	inet_pton(AF_INET, a->addr, &dst.sin_addr);
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx && err.err != -DMT_ERR_NO_FAMILY) /* none: no devmem */
		return tx_fail(t, err.err, "context", err.message);
	/* Sends cycle through a buffer of at least 16 MiB (and 8 messages)
	 * unless --buffer-size says otherwise, shared by every flow. Regions
	 * are not rewritten, so nothing waits for completions except the
	 * final flush: the bare loops do the same. */
	bsz = size * 8 > (16u << 20) ? size * 8 : 16u << 20;
	if (c->bufsize)
		bsz = c->bufsize > size ? c->bufsize - c->bufsize % size : size;
	buf = tx_buffer(c, a->engine, bsz, &err);
	if (!buf)
		return tx_fail(t, err.err, "buffer", err.message);
	memset(dmt_buf_map(buf) ? dmt_buf_map(buf) : (void *)&k, 'x',
	       dmt_buf_map(buf) ? bsz : sizeof(k));
	slots = bsz / size;
	tx = calloc(flows, sizeof(*tx));
	if (!tx)
		return tx_fail(t, -ENOMEM, "memory", "out of memory");

	heap0 = heap_used();
	for (f = 0; f < flows; f++) {
		DMT_OPTS(dmt_tx_opts, o, .engine = a->engine);

		for (int i = 0; i < CONNECT_TRIES; i++) {
			tx[f] = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst,
					       sizeof(dst), NULL, 0, &o, &err);
			if (tx[f] || err.err != -ECONNREFUSED)
				break;
			usleep(20000);
		}
		if (!tx[f])
			return tx_fail(t, err.err, dmt_engine_name(a->engine),
				       err.message);
	}
	t->mem_setup = (double)(heap_used() - heap0) / flows;
	t->engine_used = (int)dmt_tx_engine(tx[0]);
	snprintf(t->reason, sizeof(t->reason), "%s", dmt_tx_engine_reason(tx[0]));

	t0 = mono_s();
	c0 = cpu_self_s();
	m0 = machine_busy_s();
	end = t0 + c->secs;
	for (f = 0;; f = f + 1 == flows ? 0 : f + 1, k++) {
		struct dmt_seg s = { (k % slots) * size, size };
		ssize_t n;

		if (c->bytes) {
			if (sent >= c->bytes)
				break;
			if (c->bytes - sent < size)
				s.len = c->bytes - sent;
		} else if (mono_s() >= end) {
			break;
		}
		n = dmt_tx_send(tx[f], &s, 1);
		if (n != (ssize_t)s.len)
			return tx_fail(t, n < 0 ? (int)n : -EIO, "send",
				       dmt_tx_last_error(tx[f])->message);
		sent += (unsigned long long)n;
	}
	for (f = 0; f < flows; f++) {
		int ret = dmt_tx_flush(tx[f], 10000);

		if (ret < 0)
			return tx_fail(t, ret, "flush",
				       dmt_tx_last_error(tx[f])->message);
		shutdown(dmt_tx_fd(tx[f]), SHUT_WR);
	}
	t->tx_secs = mono_s() - t0;
	t->tx_cpu = cpu_self_s() - c0;
	t->machine = machine_busy_s() - m0;
	t->mem_peak = (double)(heap_used() - heap0) / flows;
	for (f = 0; f < flows; f++) {
		DMT_OPTS(dmt_tx_stats, st);

		dmt_tx_get_stats(tx[f], &st);
		t->bytes += st.bytes;
		t->sends += st.sends;
		t->syscalls += st.syscalls;
		t->partial += st.partial;
		t->enobufs += st.enobufs;
		t->zc_ids += st.zc_ids;
		t->zc_notifications += st.zc_notifications;
		t->zc_completed += st.zc_completed;
		t->zc_copied += st.zc_copied;
		t->copy_sends += st.copy_sends;
		dmt_tx_free(tx[f]);
	}
	free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return 0;
}

/* ---- orchestration ---- */

static int plain_fork(int (*fn)(void *), void *arg, pid_t *pid)
{
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0)
		_exit(fn(arg));
	return 0;
}

/* Wait for pid until deadline (monotonic seconds); kill it when passed.
 * Returns its exit status, or -ETIMEDOUT. */
static int wait_deadline(pid_t pid, double deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (r < 0 && errno != EINTR)
			return -ECHILD;
		if (mono_s() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
}

int bench_trial_run(const struct bench_cfg *c, const struct netpair *np,
		    enum dmt_engine e, uint64_t size, int port,
		    struct bench_trial *t)
{
	struct run_arg a = { .c = c, .engine = e, .size = size, .port = port,
			     .addr = np ? np->addr[1] : "127.0.0.1", .t = t };
	/* generous: a run by bytes at 0.1 GB/s would still finish */
	double limit = c->bytes ? 30.0 + (double)c->bytes / 1e8 : c->secs + 30.0;
	double deadline = mono_s() + limit;
	pid_t rx, tx;
	int ret, rs, ts;

	memset(t, 0, sizeof(*t));
	ret = np ? netpair_run(np, 1, rx_main, &a, &rx) :
		   plain_fork(rx_main, &a, &rx);
	if (ret < 0) {
		snprintf(t->tx_msg, sizeof(t->tx_msg), "receiver: %s",
			 strerror(-ret));
		return t->tx_err = ret;
	}
	ret = np ? netpair_run(np, 0, tx_main, &a, &tx) :
		   plain_fork(tx_main, &a, &tx);
	if (ret < 0) {
		kill(rx, SIGKILL);
		waitpid(rx, NULL, 0);
		snprintf(t->tx_msg, sizeof(t->tx_msg), "sender: %s",
			 strerror(-ret));
		return t->tx_err = ret;
	}
	ts = wait_deadline(tx, deadline);
	if (ts != 0) /* the run failed, and the receiver would wait for
		      * connections in vain: what it saw is not used */
		deadline = mono_s() + 0.2;
	rs = wait_deadline(rx, deadline);
	if (ts < 0 || (ts > 0 && !t->tx_err)) {
		t->tx_err = ts < 0 ? ts : -EIO;
		snprintf(t->tx_msg, sizeof(t->tx_msg), "sender %s",
			 ts < 0 ? "ran past its deadline and was killed" :
				  "died");
	}
	if (t->tx_err)
		return t->tx_err;
	if (rs != 0 || t->rx_err || t->rx_bytes != t->bytes) {
		snprintf(t->tx_msg, sizeof(t->tx_msg), "receiver: %s (%llu of "
			 "%llu bytes)", rs < 0 ? "killed at the deadline" :
			 t->rx_err ? strerror(t->rx_err) : "incomplete",
			 t->rx_bytes, (unsigned long long)t->bytes);
		return t->tx_err = -EIO;
	}
	return 0;
}
