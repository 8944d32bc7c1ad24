// SPDX-License-Identifier: MIT
/*
 * bench_bare: the minimal syscall loops devmemtcp's engines are held to,
 * plus a per-send heap allocation count of the library's send path.
 *
 *   bench_bare send|zc|uring|uring8 [--size B] [--buf B] [--time S] [--pin]
 *              [--port P]
 *   bench_bare pair --engine copy|zerocopy|uring|send [--size B] [--buf B]
 *              [--time S] [--slice S] [--pin] [--port P]
 *   bench_bare allocs [--size B] [--sends N]
 *
 * Loops (one TCP stream on 127.0.0.1, a forked receiver doing recv() of
 * 64 KiB until EOF; throughput is measured at the receiver):
 *   send    plain send() of --size bytes
 *   zc      send(MSG_ZEROCOPY), error queue read every 32 sends
 *   uring   io_uring SEND_ZC, one request in flight (submit, wait for its
 *           result CQE, take the notification CQEs as they come)
 *   uring8  io_uring SEND_ZC, 8 requests in flight with MSG_WAITALL
 *           (the host-facts §6 reference loop; not order-safe in general)
 * Output: one line of key=value pairs.
 *
 * pair: the library's engine and its bare loop (copy: send, zerocopy: zc,
 * uring: uring) take turns in slices on two connections to one receiver;
 * see run_pair(). --engine send is the control: the bare send loop on
 * both sides.
 *
 * allocs: counts malloc/calloc/realloc calls (this program is linked with
 * -Wl,--wrap for them, together with the static library) made by
 * dmt_tx_send() and its reaping after a warm-up, per engine.
 *
 * Like any program outside the library it uses only the public header;
 * the kernel constants come from the system headers, except the two below.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <linux/errqueue.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "measure.h"

/* io_uring SEND_ZC usage reporting (Linux 6.2, include/uapi/linux/
 * io_uring.h): Debian 12's liburing 2.3 ships its own copy of that header,
 * older than the kernel's, and it shadows <linux/io_uring.h>. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

/* ---- malloc counting (-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static unsigned long long nalloc;

void *__wrap_malloc(size_t n)
{
	nalloc++;
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	nalloc++;
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	nalloc++;
	return __real_realloc(p, n);
}

/* ---- common ---- */

struct rx_result {
	unsigned long long bytes;
	double secs;		/* first byte to EOF */
	double cpu;		/* user+sys of the receiver */
};





static void die(const char *what)
{
	fprintf(stderr, "bench_bare: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A listening socket on 127.0.0.1:port. */
static int listen_local(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0)
		die("bind/listen");
	return lfd;
}

/* Listen on 127.0.0.1:port (*lfd) and fork; the child, pinned to CPU 1
 * when asked, gets 0. */
static pid_t fork_rx(int port, bool pinned, int *lfd)
{
	pid_t pid;

	*lfd = listen_local(port);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0 && pinned)
		pin_cpu(1);
	return pid;
}

/* Listen on 127.0.0.1:port, fork a receiver that reads until EOF and
 * writes its result into *res (shared memory). */
static pid_t start_rx(int port, bool pinned, struct rx_result *res)
{
	int lfd;
	pid_t pid = fork_rx(port, pinned, &lfd);

	if (pid == 0) {
		static char buf[1 << 16];
		double t0 = 0, c0;
		int c;

		c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(1);
		c0 = cpu_self_s();
		for (;;) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (!res->bytes)
				t0 = mono_s();
			res->bytes += (unsigned long long)n;
		}
		res->secs = mono_s() - t0;
		res->cpu = cpu_self_s() - c0;
		_exit(0);
	}
	close(lfd);
	return pid;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	return fd;
}

/* ---- the loops ---- */

struct loop_stat {
	unsigned long long sends, syscalls, notifs, ids, copied, bytes;
};

static void reap_errqueue(int fd, struct loop_stat *s, bool wait)
{
	char cbuf[128] __attribute__((aligned(8)));

	for (;;) {
		struct msghdr m = { .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;

		if (recvmsg(fd, &m, MSG_ERRQUEUE | (wait ? 0 : MSG_DONTWAIT)) < 0)
			return;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct sock_extended_err *e = (void *)CMSG_DATA(c);

			if (e->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			s->notifs++;
			s->ids += e->ee_data - e->ee_info + 1;
			if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				s->copied += e->ee_data - e->ee_info + 1;
		}
		if (!wait)
			continue;
		return;
	}
}

static void set_zerocopy(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0)
		die("SO_ZEROCOPY");
}

static void zc_collect(int fd, struct loop_stat *s)
{
	while (s->ids < s->sends) {
		struct timespec ts = { 0, 1000000 };
		reap_errqueue(fd, s, false);
		if (s->ids < s->sends)
			nanosleep(&ts, NULL);
	}
}

/* send or zc until end, then (zc, collect) wait for every completion */
static void loop_send(int fd, char *buf, size_t slots, size_t size,
		      double end, struct loop_stat *s, bool zc, bool collect)
{
	while (mono_s() < end) {
		char *p = buf + (s->sends % slots) * size;
		ssize_t n = send(fd, p, size, zc ? MSG_ZEROCOPY : 0);

		s->syscalls++;
		if (n < 0 && errno == ENOBUFS) {
			reap_errqueue(fd, s, false);
			continue;
		}
		if (n < 0)
			die("send");
		s->sends++;
		s->bytes += (unsigned long long)n;
		if (zc && s->sends % 32 == 0)
			reap_errqueue(fd, s, false);
	}
	if (zc && collect) /* everything handed over: collect the rest */
		zc_collect(fd, s);
}

static void uring_cqe(struct io_uring_cqe *cqe, struct loop_stat *s,
		      unsigned int *inflight, bool *done)
{
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		s->notifs++;
		s->ids++;
		if ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			s->copied++;
		return;
	}
	if (cqe->res < 0) {
		errno = -cqe->res;
		die("SEND_ZC");
	}
	(*inflight)--;
	*done = true;
}

static void uring_open(struct io_uring *ring, char *buf, size_t len,
		       unsigned int qd)
{
	struct iovec v = { buf, len };
	int ret = io_uring_queue_init(qd * 2 > 64 ? qd * 2 : 64, ring, 0);

	if (ret < 0) {
		errno = -ret;
		die("io_uring_queue_init");
	}
	if (io_uring_register_buffers(ring, &v, 1) < 0)
		die("io_uring_register_buffers");
}

static void uring_collect(struct io_uring *r, struct loop_stat *s)
{
	unsigned int inflight = 0;

	while (s->ids < s->sends) {
		struct io_uring_cqe *cqe;
		bool done;

		if (io_uring_wait_cqe(r, &cqe) < 0)
			break;
		uring_cqe(cqe, s, &inflight, &done);
		io_uring_cqe_seen(r, cqe);
	}
}

/* SEND_ZC from the registered buffer, qd in flight, until end; then
 * (collect) wait for every notification */
static void loop_uring(struct io_uring *r, int fd, char *buf, size_t slots,
		       size_t size, double end, struct loop_stat *s,
		       unsigned int qd, bool collect)
{
	unsigned int inflight = 0;

	while (mono_s() < end || inflight) {
		struct io_uring_cqe *cqe;
		bool done = false;
		unsigned int head, n = 0;

		while (inflight < qd && mono_s() < end) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(r);

			io_uring_prep_send_zc_fixed(sqe, fd,
						    buf + (s->sends % slots) * size, size,
						    qd > 1 ? MSG_WAITALL : 0,
						    IORING_SEND_ZC_REPORT_USAGE, 0);
			inflight++;
			s->sends++;
		}
		s->syscalls++;
		io_uring_submit_and_wait(r, 1);
		io_uring_for_each_cqe(r, head, cqe) {
			uring_cqe(cqe, s, &inflight, &done);
			n++;
		}
		io_uring_cq_advance(r, n);
		(void)done;
	}
	if (collect)
		uring_collect(r, s);
	s->bytes = s->sends * size;	/* results were checked: all full */
}

static int run_loop(const char *mode, size_t size, size_t bufsz, double secs,
		    bool pinned, int port)
{
	struct rx_result *res;
	struct loop_stat s = { 0 };
	double c0, m0, cpu, mach, end;
	size_t bsz = bufsz > size ? bufsz - bufsz % size : size;
	size_t slots = bsz / size;
	char *buf;
	int fd, status;
	pid_t pid;

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* sends go one after the other through a buffer of --buf bytes
	 * (default: what devmemtcp bench uses, 16 MiB or 8 messages) */
	buf = mmap(NULL, bsz, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED || buf == MAP_FAILED)
		die("memory");
	memset(buf, 'x', bsz);
	pid = start_rx(port, pinned, res);
	if (pinned)
		pin_cpu(0);
	fd = connect_to(port);
	c0 = cpu_self_s();
	m0 = machine_busy_s();
	end = mono_s() + secs;
	if (!strcmp(mode, "send") || !strcmp(mode, "zc")) {
		if (!strcmp(mode, "zc"))
			set_zerocopy(fd);
		loop_send(fd, buf, slots, size, end, &s, !strcmp(mode, "zc"), true);
	} else {
		unsigned int qd = !strcmp(mode, "uring") ? 1 : 8;
		struct io_uring ring;

		uring_open(&ring, buf, slots * size, qd);
		end = mono_s() + secs;	/* the ring setup is not timed */
		loop_uring(&ring, fd, buf, slots, size, end, &s, qd, true);
		io_uring_queue_exit(&ring);
	}
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		die("receiver");
	cpu = cpu_self_s() - c0;
	mach = machine_busy_s() - m0;
	{
		double gb = (double)res->bytes / 1e9;

		printf("mode=%s size=%zu bytes=%llu secs=%.3f gbps=%.3f "
		       "snd_cpu_s_per_gb=%.3f rcv_cpu_s_per_gb=%.3f "
		       "machine_cpu_s_per_gb=%.3f sends=%llu syscalls_per_gb=%.0f "
		       "notifs_per_send=%.4f copied_share=%.3f\n",
		       mode, size, res->bytes, res->secs,
		       res->secs > 0 ? gb / res->secs : 0, gb > 0 ? cpu / gb : 0,
		       gb > 0 ? res->cpu / gb : 0, gb > 0 ? mach / gb : 0, s.sends,
		       gb > 0 ? (double)s.syscalls / gb : 0,
		       s.sends ? (double)s.notifs / (double)s.sends : 0,
		       s.ids ? (double)s.copied / (double)s.ids : 0);
	}
	munmap(buf, bsz);
	munmap(res, sizeof(*res));
	return 0;
}

/* ---- paired slices: an engine and its bare loop, taking turns ---- */

/*
 * Two connections to one receiver process (epoll over both); the sender
 * gives the engine and the bare loop alternate slices (pairs in the order
 * AB, BA, AB, ...), so load from elsewhere and drift fall on both sides
 * alike. A slice first sends PAIR_WARM seconds uncounted (a connection
 * idle for a slice restarts from a small congestion window), then counts
 * the bytes the kernel accepts during --slice seconds (in steady state it
 * accepts them at the receiver's pace), then, uncounted again, collects
 * the zero-copy completions and waits until the send queue is empty
 * (SIOCOUTQ 0) so that the next slice starts on a quiet receiver. The
 * verdict is the median of the per-pair ratios.
 */
#define PAIR_WARM 0.05

static pid_t start_rx_pair(int port, bool pinned)
{
	int lfd;
	pid_t pid = fork_rx(port, pinned, &lfd);

	if (pid == 0) {
		static char buf[1 << 16];
		int c[2], ep, open = 2;

		ep = epoll_create1(EPOLL_CLOEXEC);
		for (int i = 0; i < 2; i++) {
			struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

			c[i] = accept(lfd, NULL, NULL);
			if (c[i] < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c[i], &e) < 0)
				_exit(1);
		}
		while (open) {
			struct epoll_event ev[2];
			int k = epoll_wait(ep, ev, 2, 60000);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				_exit(1);
			for (int j = 0; j < k; j++) {
				int fd = c[ev[j].data.u32];
				ssize_t n;

				while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
					;
				if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					open--;
				}
			}
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* Wait until the kernel holds no unsent or unacknowledged bytes of fd. */
static void drain_outq(int fd)
{
	double limit = mono_s() + 5;
	int q = 0;

	while (ioctl(fd, SIOCOUTQ, &q) == 0 && q > 0 && mono_s() < limit)
		sched_yield();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct pair {
	enum dmt_engine eid;
	bool control;		/* "send": bare send on the engine's socket */
	struct dmt_tx *tx;	/* side 0 */
	unsigned long long k;	/* side 0: sends so far (buffer slot) */
	double eng_bytes;
	int bfd;		/* side 1: the bare loop's socket */
	struct io_uring ring;
	struct loop_stat bs;
	char *mem;
	size_t slots, size;
};

/* Side who sends until `until`; 0 or 1 (a send failed). */
static int pair_send(struct pair *c, int who, double until)
{
	if (who == 1) {
		if (c->eid == DMT_ENGINE_URING)
			loop_uring(&c->ring, c->bfd, c->mem, c->slots, c->size,
				   until, &c->bs, 1, false);
		else
			loop_send(c->bfd, c->mem, c->slots, c->size, until, &c->bs,
				  c->eid == DMT_ENGINE_ZEROCOPY, false);
		return 0;
	}
	while (mono_s() < until) {
		struct dmt_seg s = { (c->k++ % c->slots) * c->size, c->size };
		ssize_t n = c->control ?
			send(dmt_tx_fd(c->tx), c->mem + s.off, c->size, 0) :
			dmt_tx_send(c->tx, &s, 1);

		if (n != (ssize_t)c->size) {
			fprintf(stderr, "bench_bare: pair: %s\n", c->control ?
				strerror(errno) : dmt_tx_last_error(c->tx)->message);
			return 1;
		}
		c->eng_bytes += (double)n;
	}
	return 0;
}

static double pair_bytes(const struct pair *c, int who)
{
	return who ? (double)c->bs.bytes : c->eng_bytes;
}

/* Collect side who's completions and let its send queue empty. */
static int pair_settle(struct pair *c, int who)
{
	if (who == 0) {
		if (dmt_tx_flush(c->tx, 10000) < 0) {
			fprintf(stderr, "bench_bare: pair: %s\n",
				dmt_tx_last_error(c->tx)->message);
			return 1;
		}
		drain_outq(dmt_tx_fd(c->tx));
		return 0;
	}
	if (c->eid == DMT_ENGINE_URING)
		uring_collect(&c->ring, &c->bs);
	else if (c->eid == DMT_ENGINE_ZEROCOPY)
		zc_collect(c->bfd, &c->bs);
	drain_outq(c->bfd);
	return 0;
}

static int run_pair(const char *engine, size_t size, size_t bufsz,
		    double secs, double slice, bool pinned, int port)
{
	const char *bare;
	size_t bsz = bufsz > size ? bufsz - bufsz % size : size;
	unsigned int npairs = (unsigned int)(secs / (2 * (slice + PAIR_WARM)) + 0.5);
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	double bytes[2] = { 0 }, tsecs[2] = { 0 }, cpu[2] = { 0 }, *ratio;
	struct pair c = { .size = size, .slots = bsz / size };
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	int status, ret = 0;
	pid_t pid;

	/* "send": the control, the bare send loop on both sides (an A/A
	 * run shows how far from 1 this method strays on its own) */
	c.control = !strcmp(engine, "send");
	if (c.control)
		c.eid = DMT_ENGINE_COPY;
	else if (dmt_engine_from_name(engine, &c.eid) < 0 ||
		 (c.eid != DMT_ENGINE_COPY && c.eid != DMT_ENGINE_ZEROCOPY &&
		  c.eid != DMT_ENGINE_URING)) {
		fprintf(stderr, "bench_bare: pair: engine %s: give copy, zerocopy, "
			"uring or send (the control)\n", engine);
		return 2;
	}
	bare = c.eid == DMT_ENGINE_COPY ? "send" : c.eid == DMT_ENGINE_ZEROCOPY ?
		"zc" : "uring";
	if (npairs < 1)
		npairs = 1;
	ratio = calloc(npairs, sizeof(*ratio));
	ctx = dmt_ctx_new(NULL, &err);
	buf = ctx ? dmt_buf_new(DMT_BUF_HOST, bsz, NULL, &err) : NULL;
	if (!ratio || !buf) {
		fprintf(stderr, "bench_bare: pair: %s\n",
			buf ? strerror(ENOMEM) : err.message);
		return 1;
	}
	/* both sides send from the same memory: only the path differs */
	c.mem = dmt_buf_map(buf);
	memset(c.mem, 'x', bsz);
	pid = start_rx_pair(port, pinned);
	if (pinned)
		pin_cpu(0);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	DMT_OPTS(dmt_tx_opts, opts, .engine = c.eid);
	c.tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst),
			      NULL, 0, &opts, &err);
	if (!c.tx) {
		fprintf(stderr, "bench_bare: pair %s: %s\n", engine, err.message);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return 1;
	}
	c.bfd = connect_to(port);
	if (c.eid == DMT_ENGINE_ZEROCOPY)
		set_zerocopy(c.bfd);
	if (c.eid == DMT_ENGINE_URING)
		uring_open(&c.ring, c.mem, bsz, 1);

	for (unsigned int p = 0; p < npairs && !ret; p++) {
		double rate[2] = { 0 };

		for (int half = 0; half < 2 && !ret; half++) {
			int who = (int)(p % 2) ^ half;	/* AB, BA, AB, ... */
			double t0, c0, b0, b, t;

			ret = pair_send(&c, who, mono_s() + PAIR_WARM);
			t0 = mono_s();
			c0 = cpu_self_s();
			b0 = pair_bytes(&c, who);
			ret = ret ? ret : pair_send(&c, who, t0 + slice);
			t = mono_s() - t0;
			b = pair_bytes(&c, who) - b0;
			cpu[who] += cpu_self_s() - c0;
			bytes[who] += b;
			tsecs[who] += t;
			rate[who] = b / t;
			ret = ret ? ret : pair_settle(&c, who);
		}
		ratio[p] = rate[1] > 0 ? rate[0] / rate[1] : 0;
	}
	dmt_tx_free(c.tx);
	close(c.bfd);
	if (c.eid == DMT_ENGINE_URING)
		io_uring_queue_exit(&c.ring);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		die("receiver");
	if (!ret) {
		double eg = bytes[0] / tsecs[0] / 1e9, bg = bytes[1] / tsecs[1] / 1e9;
		double med;

		qsort(ratio, npairs, sizeof(*ratio), cmp_double);
		med = npairs % 2 ? ratio[npairs / 2] :
			(ratio[npairs / 2 - 1] + ratio[npairs / 2]) / 2;
		printf("pair engine=%s bare=%s size=%zu pairs=%u slice=%.3f "
		       "engine_gbps=%.3f bare_gbps=%.3f ratio_total=%.3f "
		       "ratio=%.3f ratio_min=%.3f ratio_max=%.3f "
		       "engine_cpu_s_per_gb=%.3f bare_cpu_s_per_gb=%.3f\n",
		       engine, bare, size, npairs, slice, eg, bg,
		       bg > 0 ? eg / bg : 0, med, ratio[0], ratio[npairs - 1],
		       cpu[0] / (bytes[0] / 1e9), cpu[1] / (bytes[1] / 1e9));
	}
	free(ratio);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return ret;
}

/* ---- allocations on the library's send path ---- */

#define WARMUP 5000	/* sends before counting starts */

static int run_allocs(size_t size, unsigned long long sends, int port)
{
	static const enum dmt_engine engines[] = {
		DMT_ENGINE_COPY, DMT_ENGINE_ZEROCOPY, DMT_ENGINE_URING,
	};
	const size_t bsz = 16u << 20;
	int worst = 0;

	for (unsigned int e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		struct sockaddr_in dst = { .sin_family = AF_INET,
					   .sin_port = htons((uint16_t)(port + (int)e)) };
		struct rx_result *res;
		struct dmt_error err;
		struct dmt_ctx *ctx;
		struct dmt_buf *buf;
		struct dmt_tx *tx;
		unsigned long long a0 = 0, a1;
		struct mallinfo2 mi0 = { 0 }, mi1;
		int status;
		pid_t pid;

		if (!dmt_engine_built(engines[e]))
			continue;
		res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (res == MAP_FAILED)
			die("mmap");
		pid = start_rx(port + (int)e, false, res);
		inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
		ctx = dmt_ctx_new(NULL, &err);
		buf = ctx ? dmt_buf_new(DMT_BUF_HOST, bsz, NULL, &err) : NULL;
		DMT_OPTS(dmt_tx_opts, opts, .engine = engines[e]);
		tx = buf ? dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst,
					  sizeof(dst), NULL, 0, &opts, &err) : NULL;
		if (!tx) {
			fprintf(stderr, "bench_bare: allocs %s: %s\n",
				dmt_engine_name(engines[e]), err.message);
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			return 1;
		}
		for (unsigned long long i = 0, k = 0; i < sends + WARMUP; i++) {
			struct dmt_seg s = { (k * size) % (bsz - size + 1), size };

			if (i == WARMUP) { /* warm-up done */
				mi0 = mallinfo2();
				a0 = nalloc;
			}
			if (dmt_tx_send(tx, &s, 1) != (ssize_t)size) {
				fprintf(stderr, "bench_bare: send: %s\n",
					dmt_tx_last_error(tx)->message);
				return 1;
			}
			k++;
		}
		a1 = nalloc;
		mi1 = mallinfo2();
		printf("allocs engine=%s warmup=%d sends=%llu size=%zu mallocs=%llu "
		       "per_send=%.6f heap_delta=%lld\n",
		       dmt_engine_name(engines[e]), WARMUP, sends, size, a1 - a0,
		       (double)(a1 - a0) / (double)sends,
		       (long long)(mi1.uordblks + mi1.hblkhd) -
		       (long long)(mi0.uordblks + mi0.hblkhd));
		if (a1 != a0)
			worst = 1;
		dmt_tx_flush(tx, 5000);
		dmt_tx_free(tx);
		dmt_buf_free(buf);
		dmt_ctx_free(ctx);
		waitpid(pid, &status, 0);
		munmap(res, sizeof(*res));
	}
	return worst ? 3 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_bare send|zc|uring|uring8 [--size B] "
		"[--buf B] [--time S] [--pin] [--port P]\n"
		"       bench_bare pair --engine copy|zerocopy|uring|send [--size B] "
		"[--buf B] [--time S] [--slice S] [--pin] [--port P]\n"
		"       bench_bare allocs [--size B] [--sends N] [--port P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long sends = 20000;
	size_t size = 65536, bufsz = 0;
	double secs = 2, slice = 0.25;
	const char *engine = NULL;
	bool pinned = false;
	int port = 5390;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--pin"))
			pinned = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--size"))
			size = strtoul(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--buf"))
			bufsz = strtoul(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--time"))
			secs = strtod(argv[++i], NULL);
		else if (i + 1 < argc && !strcmp(argv[i], "--slice"))
			slice = strtod(argv[++i], NULL);
		else if (i + 1 < argc && !strcmp(argv[i], "--engine"))
			engine = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--sends"))
			sends = strtoull(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else
			usage();
	}
	if (!size || size > (64u << 20) || secs <= 0 || secs > 60 || !sends ||
	    !(slice >= 0.01 && slice <= 5) ||
	    sends > 10000000 || port <= 0 || port > 65000)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "allocs"))
		return run_allocs(size, sends, port);
	if (strcmp(mode, "send") && strcmp(mode, "zc") && strcmp(mode, "uring") &&
	    strcmp(mode, "uring8") && strcmp(mode, "pair"))
		usage();
	if (!bufsz)
		bufsz = size * 8 > (16u << 20) ? size * 8 : 16u << 20;
	if (bufsz > (1ul << 30))
		usage();
	if (!strcmp(mode, "pair")) {
		if (!engine)
			usage();
		return run_pair(engine, size, bufsz, secs, slice, pinned, port);
	}
	return run_loop(mode, size, bufsz, secs, pinned, port);
}
