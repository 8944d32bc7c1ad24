// SPDX-License-Identifier: MIT
/*
 * tier B: the uring engine (io_uring SEND_ZC / SENDMSG_ZC).
 *  1. loopback: 64 MiB verified at the receiver, the buffer rewritten
 *     region by region after dmt_tx_wait_region(), single- and
 *     multi-segment sends; one notification per id, every one COPIED
 *     (local delivery copies), nothing busy after flush;
 *  2. the same 64 MiB across a veth pair between private namespaces;
 *  3. ids map to regions: with a receiver that does not read, the last
 *     regions sent stay busy and a region never sent is free; once the
 *     receiver has read (and verified) everything, every region is free.
 * Correctness only: nothing here is timed.
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "netns.h"

#define V 251			/* prime modulus: every offset matters */
#define REGION (256 << 10)
#define NREG 4
#define TOTAL (64ull << 20)

static void fill_region(struct dmt_buf *b, unsigned int r,
			unsigned long long pos)
{
	static unsigned char tmp[REGION];

	for (unsigned int i = 0; i < REGION; i++)
		tmp[i] = t_pattern_byte(pos + i, V);
	T_CHECK(dmt_buf_write(b, (size_t)r * REGION, tmp, REGION) == 0, "write");
}

static struct dmt_tx *connect_uring(struct dmt_ctx *ctx, struct dmt_buf *buf,
				    const char *addr, int port, int nonblock)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct dmt_error err;
	struct dmt_tx *tx = NULL;

	DMT_OPTS(dmt_tx_opts, opts, .engine = DMT_ENGINE_URING,
		 .nonblock = nonblock);
	inet_pton(AF_INET, addr, &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	for (int i = 0; i <= 100; i++) { /* a listener in a child may lag */
		tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst,
				    sizeof(dst), NULL, 0, &opts, &err);
		if (tx || err.err != -ECONNREFUSED)
			break;
		usleep(20000);
	}
	/* only the kernel refusing io_uring (disabled by sysctl, not built,
	 * no SEND_ZC, locked-memory limit) is a reason to skip */
	T_SKIP_IF(!tx && (err.err == -EPERM || err.err == -ENOSYS ||
			  err.err == -EOPNOTSUPP || err.err == -ENOMEM) &&
		  strstr(err.message, "engine uring cannot be used"),
		  "uring engine unavailable: %s", err.message);
	T_CHECK(tx, "connect: %s", err.message);
	T_CHECK(dmt_tx_engine(tx) == DMT_ENGINE_URING, "engine %s",
		dmt_engine_name(dmt_tx_engine(tx)));
	return tx;
}

/* Send TOTAL bytes, rewriting each region only once it is free. Every
 * third send goes as two segments (SENDMSG_ZC), the others as one
 * (SEND_ZC from the registered buffer). */
static void stream(struct dmt_tx *tx, struct dmt_buf *buf, const char *where)
{
	DMT_OPTS(dmt_tx_stats, st);

	for (unsigned long long pos = 0, k = 0; pos < TOTAL; pos += REGION, k++) {
		unsigned int r = (unsigned int)(k % NREG);
		struct dmt_seg seg[2] = {
			{ (uint64_t)r * REGION, REGION / 2 },
			{ (uint64_t)r * REGION + REGION / 2, REGION / 2 },
		};
		ssize_t n;

		T_CHECK(dmt_tx_wait_region(tx, seg[0].off, REGION, 10000) == 0,
			"wait region: %s", dmt_tx_last_error(tx)->message);
		T_CHECK(!dmt_tx_region_busy(tx, seg[0].off, REGION), "still busy");
		fill_region(buf, r, pos);
		if (k % 3 == 2) {
			n = dmt_tx_send(tx, seg, 2);
		} else {
			seg[0].len = REGION;
			n = dmt_tx_send(tx, seg, 1);
		}
		T_CHECK(n == REGION, "send: %zd: %s", n,
			dmt_tx_last_error(tx)->message);
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_outstanding(tx) == 0, "outstanding after flush");
	T_CHECK(!dmt_tx_region_busy(tx, 0, (uint64_t)REGION * NREG),
		"busy after flush");
	T_CHECK(dmt_tx_get_stats(tx, &st) == 0, "stats");
	t_print_tx_stats(where, &st);
	T_CHECK(st.bytes == TOTAL, "stats bytes %llu", (unsigned long long)st.bytes);
	T_CHECK(st.zc_ids >= TOTAL / REGION, "one id per send at least");
	T_CHECK(st.syscalls >= st.zc_ids, "one io_uring_enter per request");
	T_CHECK(st.zc_completed == st.zc_ids, "every id completed");
	/* io_uring never merges: one notification CQE per request */
	T_CHECK(st.zc_notifications == st.zc_completed, "one notification per id");
	/* local delivery (lo, veth) always copies (host-facts §4) */
	T_CHECK(st.zc_copied == st.zc_completed && dmt_tx_zerocopy_verdict(tx) == 0,
		"COPIED must be reported on every notification here");
}

static void loopback(struct dmt_ctx *ctx)
{
	struct t_sink sink = { .v = V };
	struct dmt_error err;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int port = 0;

	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	buf = dmt_buf_new(DMT_BUF_HOST, (size_t)REGION * NREG, NULL, &err);
	T_CHECK(buf, "buffer: %s", err.message);
	tx = connect_uring(ctx, buf, "127.0.0.1", port, 0);
	printf("engine uring: %s\n", dmt_tx_engine_reason(tx));
	stream(tx, buf, "lo");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	T_CHECK(sink.err == 0, "sink error %d", sink.err);
	T_CHECK(sink.got == TOTAL, "received %llu of %llu", sink.got, TOTAL);
	T_CHECK(sink.bad == 0, "%llu bad bytes, first at %llu", sink.bad,
		sink.first_bad);
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(sink.fd);
}

/* ---- veth ---- */

struct veth_arg {
	const struct netpair *np;
	int port;
};

static int veth_sink(void *p)
{
	struct veth_arg *a = p;
	struct t_sink s = { .v = V };
	int port = a->port;

	s.fd = t_listen(a->np->addr[1], &port);
	t_sink_main(&s);
	if (s.err || s.got != TOTAL || s.bad) {
		fprintf(stderr, "veth sink: err %d, got %llu of %llu, %llu bad "
			"(first %llu)\n", s.err, s.got, TOTAL, s.bad, s.first_bad);
		return 1;
	}
	printf("veth sink: %llu bytes verified\n", s.got);
	return 0;
}

static int veth_sender(void *p)
{
	struct veth_arg *a = p;
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	ctx = dmt_ctx_new(NULL, &err);
	T_CHECK(ctx, "ctx: %s", err.message);
	buf = dmt_buf_new(DMT_BUF_HOST, (size_t)REGION * NREG, NULL, &err);
	T_CHECK(buf, "buffer: %s", err.message);
	tx = connect_uring(ctx, buf, a->np->addr[1], a->port, 0);
	stream(tx, buf, "veth");
	dmt_tx_free(tx);	/* closes: the sink sees EOF */
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return 0;
}

static void veth(void)
{
	struct veth_arg a = { .port = 5301 };
	struct netpair np;
	char why[256];
	int status, ret;
	pid_t pid;

	ret = netpair_create(&np, 0, why, sizeof(why));
	T_CHECK(ret == 0, "netpair: %s", why);
	a.np = &np;
	T_CHECK(netpair_run(&np, 1, veth_sink, &a, &pid) == 0, "sink fork");
	ret = netpair_run(&np, 0, veth_sender, &a, NULL);
	T_CHECK(waitpid(pid, &status, 0) == pid, "wait sink");
	netpair_destroy(&np);
	T_CHECK(ret == 0, "veth sender failed (%d)", ret);
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "veth sink failed");
}

/* ---- ids and regions with a stalled receiver ---- */

#define SREG (64 << 10)
#define SNREG 128

static void stalled(struct dmt_ctx *ctx)
{
	static unsigned char rbuf[1 << 16];
	int lfd, cfd, port = 0, small = 64 << 10;
	unsigned long long sent = 0, got = 0, bad = 0;
	unsigned int k, nsent, eagain = 0;
	struct dmt_error err;
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	DMT_OPTS(dmt_tx_stats, st);
	lfd = t_listen("127.0.0.1", &port);
	/* small windows so that the sender blocks after a few regions */
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	buf = dmt_buf_new(DMT_BUF_HOST, (size_t)SREG * SNREG, NULL, &err);
	T_CHECK(buf, "buffer: %s", err.message);
	t_pattern_fill(dmt_buf_map(buf), (size_t)SREG * SNREG, V);
	tx = connect_uring(ctx, buf, "127.0.0.1", port, 1);
	setsockopt(dmt_tx_fd(tx), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	cfd = accept(lfd, NULL, NULL);
	T_CHECK(cfd >= 0, "accept: %s", strerror(errno));

	/* Send the buffer in order, one region (or its rest) per call, until
	 * the socket pushes back three times (EAGAIN: the engine's failed
	 * requests must stay out of the accounting). */
	for (k = 0; k < 4 * SNREG && sent < (unsigned long long)SREG * (SNREG - 1);
	     k++) {
		struct dmt_seg s = { sent, SREG - sent % SREG };
		ssize_t n = dmt_tx_send(tx, &s, 1);

		if (n == -EAGAIN) {
			if (++eagain == 3)
				break;
			usleep(2000);
			continue;
		}
		T_CHECK(n > 0, "send: %zd: %s", n, dmt_tx_last_error(tx)->message);
		sent += (unsigned long long)n;
	}
	T_CHECK(eagain == 3, "the stalled receiver never pushed back");
	nsent = (unsigned int)(sent / SREG);
	T_CHECK(nsent >= 1, "no full region went out");
	usleep(200000);
	dmt_tx_reap(tx);
	DMT_OPTS(dmt_tx_stats, st0);
	dmt_tx_get_stats(tx, &st0);
	printf("stalled: %llu bytes queued (%u whole regions), %u outstanding, "
	       "%llu of %llu ids completed\n", sent, nsent,
	       dmt_tx_outstanding(tx), (unsigned long long)st0.zc_completed,
	       (unsigned long long)st0.zc_ids);
	T_CHECK(dmt_tx_outstanding(tx) > 0, "nothing outstanding while stalled");
	T_CHECK(dmt_tx_region_busy(tx, sent - 1, 1) == 1,
		"the last byte queued is free before the receiver read it");
	T_CHECK(dmt_tx_region_busy(tx, (uint64_t)(nsent - 1) * SREG, SREG) == 1,
		"the last whole region sent is free before the receiver read it");
	T_CHECK(dmt_tx_region_busy(tx, (uint64_t)(SNREG - 1) * SREG, SREG) == 0,
		"a region never sent is busy");
	T_CHECK(dmt_tx_wait_region(tx, (uint64_t)(nsent - 1) * SREG, SREG, 50) ==
		-ETIMEDOUT, "wait_region returned before the receiver read");

	/* Now read (and check) everything that was queued. */
	while (got < sent) {
		ssize_t n = recv(cfd, rbuf, sizeof(rbuf), 0);

		T_CHECK(n > 0, "recv: %zd %s", n, strerror(errno));
		for (ssize_t i = 0; i < n; i++)
			bad += rbuf[i] != t_pattern_byte(got + (unsigned long long)i, V);
		got += (unsigned long long)n;
	}
	T_CHECK(bad == 0, "%llu bad bytes", bad);
	T_CHECK(dmt_tx_wait_region(tx, (uint64_t)(nsent - 1) * SREG, SREG, 5000)
		== 0, "region still busy after the receiver read it: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(dmt_tx_flush(tx, 5000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	T_CHECK(!dmt_tx_region_busy(tx, 0, (uint64_t)SREG * SNREG), "busy after flush");
	dmt_tx_get_stats(tx, &st);
	printf("stalled: read %llu bytes; ids %llu completed %llu notifications "
	       "%llu copied %llu\n", got, (unsigned long long)st.zc_ids,
	       (unsigned long long)st.zc_completed,
	       (unsigned long long)st.zc_notifications,
	       (unsigned long long)st.zc_copied);
	T_CHECK(st.zc_completed == st.zc_ids &&
		st.zc_notifications == st.zc_ids, "accounting");
	T_CHECK(st.bytes == sent, "bytes");
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	close(cfd);
	close(lfd);
}

int main(void)
{
	struct dmt_ctx *ctx;

	t_require_root();
	T_SKIP_IF(!dmt_engine_built(DMT_ENGINE_URING),
		  "the uring engine is not built (liburing missing at build)");
	ctx = t_ctx();
	loopback(ctx);
	stalled(ctx);
	veth();
	dmt_ctx_free(ctx);
	printf("tx_uring: ok\n");
	return T_PASS;
}
