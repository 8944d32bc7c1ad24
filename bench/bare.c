// SPDX-License-Identifier: MIT
/*
 * bench_bare: the minimal syscall loops devmemtcp's engines are held to,
 * plus a per-send heap allocation count of the library's send path.
 *
 *   bench_bare send|zc|uring|uring8 [--size B] [--buf B] [--time S] [--pin]
 *              [--port P]
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
 * allocs: counts malloc/calloc/realloc calls (this program is linked with
 * -Wl,--wrap for them, together with the static library) made by
 * dmt_tx_send() and its reaping after a warm-up, per engine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <linux/errqueue.h>
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "measure.h"
#include "uapi.h"	/* the library's UAPI additions (SEND_ZC usage, ...) */

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

/* Listen on 127.0.0.1:port, fork a receiver that reads until EOF and
 * writes its result into *res (shared memory). */
static pid_t start_rx(int port, bool pinned, struct rx_result *res)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, lfd;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0)
		die("bind/listen");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		static char buf[1 << 16];
		double t0 = 0, c0;
		int c;

		if (pinned)
			pin_cpu(1);
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
	unsigned long long sends, syscalls, notifs, ids, copied;
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

static void loop_send(int fd, char *buf, size_t slots, size_t size,
		      double end, struct loop_stat *s, bool zc)
{
	int one = 1;

	if (zc && setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0)
		die("SO_ZEROCOPY");
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
		if (zc && s->sends % 32 == 0)
			reap_errqueue(fd, s, false);
	}
	if (zc) /* everything handed over: collect the rest */
		while (s->ids < s->sends) {
			struct timespec ts = { 0, 1000000 };
			reap_errqueue(fd, s, false);
			nanosleep(&ts, NULL);
		}
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

static void loop_uring(int fd, char *buf, size_t slots, size_t size,
		       double end, struct loop_stat *s, unsigned int qd)
{
	struct io_uring ring;
	struct iovec v = { buf, slots * size };
	unsigned int inflight = 0;
	int ret;

	ret = io_uring_queue_init(qd * 2 > 64 ? qd * 2 : 64, &ring, 0);
	if (ret < 0) {
		errno = -ret;
		die("io_uring_queue_init");
	}
	if (io_uring_register_buffers(&ring, &v, 1) < 0)
		die("io_uring_register_buffers");
	while (mono_s() < end || inflight) {
		struct io_uring_cqe *cqe;
		bool done = false;
		unsigned int head, n = 0;

		while (inflight < qd && mono_s() < end) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_send_zc_fixed(sqe, fd,
						    buf + (s->sends % slots) * size, size,
						    qd > 1 ? MSG_WAITALL : 0,
						    IORING_SEND_ZC_REPORT_USAGE, 0);
			inflight++;
			s->sends++;
		}
		s->syscalls++;
		io_uring_submit_and_wait(&ring, 1);
		io_uring_for_each_cqe(&ring, head, cqe) {
			uring_cqe(cqe, s, &inflight, &done);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		(void)done;
	}
	while (s->ids < s->sends) {
		struct io_uring_cqe *cqe;
		bool done;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			break;
		uring_cqe(cqe, s, &inflight, &done);
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
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
	if (!strcmp(mode, "send"))
		loop_send(fd, buf, slots, size, end, &s, false);
	else if (!strcmp(mode, "zc"))
		loop_send(fd, buf, slots, size, end, &s, true);
	else if (!strcmp(mode, "uring"))
		loop_uring(fd, buf, slots, size, end, &s, 1);
	else
		loop_uring(fd, buf, slots, size, end, &s, 8);
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
		"       bench_bare allocs [--size B] [--sends N] [--port P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long sends = 20000;
	size_t size = 65536, bufsz = 0;
	double secs = 2;
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
		else if (i + 1 < argc && !strcmp(argv[i], "--sends"))
			sends = strtoull(argv[++i], NULL, 0);
		else if (i + 1 < argc && !strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else
			usage();
	}
	if (!size || size > (64u << 20) || secs <= 0 || secs > 60 || !sends ||
	    sends > 10000000 || port <= 0 || port > 65000)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "allocs"))
		return run_allocs(size, sends, port);
	if (strcmp(mode, "send") && strcmp(mode, "zc") && strcmp(mode, "uring") &&
	    strcmp(mode, "uring8"))
		usage();
	if (!bufsz)
		bufsz = size * 8 > (16u << 20) ? size * 8 : 16u << 20;
	if (bufsz > (1ul << 30))
		usage();
	return run_loop(mode, size, bufsz, secs, pinned, port);
}
