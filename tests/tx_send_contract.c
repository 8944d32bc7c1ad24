// SPDX-License-Identifier: MIT
/*
 * tier A: dmt_tx_send()'s return contract, with a scripted engine behind a
 * real tx (no network): it returns the bytes queued whenever some were,
 * even when an error follows them (the error then comes from the next
 * call, its sentence kept), -errno only when nothing was queued, and a
 * count above 2 GiB comes back whole (no int on the way).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tx.h"

#define GIB (1ull << 30)

static struct {
	unsigned int ok_calls;	/* sendv calls that queue their batch */
	int then;		/* what sendv returns after them */
	int reap_err;		/* what reap returns (0: nothing completed) */
	unsigned int calls;
} script;

static ssize_t fake_sendv(struct dmt_tx *tx, const struct iovec *iov,
			  unsigned int n, bool dontwait)
{
	size_t bytes = 0;

	(void)dontwait;
	if (script.calls++ >= script.ok_calls)
		return script.then;
	for (unsigned int i = 0; i < n; i++)
		bytes += iov[i].iov_len;
	if (tx->eng->tracks && dmt_tx_track(tx, iov, n, bytes) < 0)
		return -ENOMEM;
	return (ssize_t)bytes;
}

/* Fails with reap_err, else completes every outstanding send. */
static int fake_reap(struct dmt_tx *tx, int timeout_ms)
{
	unsigned int n = dmt_ztrack_outstanding(&tx->zt);

	(void)timeout_ms;
	if (script.reap_err || !n)
		return script.reap_err;
	return (int)dmt_ztrack_complete(&tx->zt, tx->zt.next_id - n,
					tx->zt.next_id - 1, false);
}

static int fake_setup(struct dmt_tx *tx)
{
	(void)tx;
	return 0;
}

static struct dmt_tx_engine fake = {
	.id = DMT_ENGINE_ZEROCOPY,
	.setup = fake_setup,
	.sendv = fake_sendv,
	.reap = fake_reap,
};

static struct dmt_tx *fake_tx(struct dmt_ctx *ctx, struct dmt_buf *buf, int fd,
			      bool tracks, unsigned int max_iov)
{
	DMT_OPTS(dmt_tx_opts, o, .engine = DMT_ENGINE_COPY, .max_iov = max_iov);
	struct dmt_error err;
	struct dmt_tx *tx = dmt_tx_from_fd(ctx, buf, fd, &o, &err);

	T_CHECK(tx, "tx: %s", err.message);
	fake.tracks = tracks;
	tx->eng = &fake;
	if (tracks)
		T_CHECK(dmt_ztrack_init(&tx->zt, tx->max_outstanding,
					tx->max_iov) == 0, "tracker");
	memset(&script, 0, sizeof(script));
	return tx;
}

int main(void)
{
	struct dmt_seg segs[40];
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	ssize_t n;
	int sv[2];

	ctx = t_ctx();
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	/* 1 GiB of address space, never touched: the fake engine reads
	 * nothing */
	buf = dmt_buf_new(DMT_BUF_HOST, GIB, NULL, &err);
	T_CHECK(buf, "buffer: %s", err.message);

	/* 1. A send of 3 GiB (one region three times) comes back whole. */
	tx = fake_tx(ctx, buf, sv[0], false, 1024);
	script.ok_calls = ~0u;
	for (int i = 0; i < 3; i++)
		segs[i] = (struct dmt_seg){ 0, GIB };
	n = dmt_tx_send(tx, segs, 3);
	T_CHECK(n == (ssize_t)(3 * GIB), "3 GiB send returned %zd", n);
	dmt_tx_free(tx);

	/* 2. 2.5 GiB queued, then ENOBUFS that never clears: the give-up
	 * reports the 2.5 GiB (it went through an int before). */
	tx = fake_tx(ctx, buf, sv[0], false, 1);
	script.ok_calls = 3;	/* 1 + 1 + 0.5 GiB, one segment per call */
	script.then = -ENOBUFS;
	segs[0] = (struct dmt_seg){ 0, GIB };
	segs[1] = (struct dmt_seg){ 0, GIB };
	segs[2] = (struct dmt_seg){ 0, GIB / 2 };
	segs[3] = (struct dmt_seg){ 0, 4096 };
	fake.tracks = true;	/* ENOBUFS is retried only for zero-copy */
	T_CHECK(dmt_ztrack_init(&tx->zt, 512, 1) == 0, "tracker");
	n = dmt_tx_send(tx, segs, 4);
	T_CHECK(n == (ssize_t)(5 * GIB / 2), "2.5 GiB then ENOBUFS returned %zd "
		"(%s)", n, dmt_tx_last_error(tx)->message);
	n = dmt_tx_send(tx, &segs[3], 1);
	T_CHECK(n == -ENOBUFS && errno == ENOBUFS &&
		dmt_tx_last_error(tx)->message[0], "the next call reports the "
		"error: %zd (%s)", n, dmt_tx_last_error(tx)->message);
	printf("after 2.5 GiB: %s\n", dmt_tx_last_error(tx)->message);
	dmt_tx_free(tx);

	/* 3. A completion error met after some sends (the send path reaps
	 * when its tracker fills, and once per 32 sends): the bytes are
	 * returned, the error comes next. */
	tx = fake_tx(ctx, buf, sv[0], true, 1);
	script.ok_calls = ~0u;
	script.reap_err = -EIO;
	for (int i = 0; i < 40; i++)
		segs[i] = (struct dmt_seg){ (uint64_t)i * 4096, 4096 };
	n = dmt_tx_send(tx, segs, 40);
	T_CHECK(n > 0 && n < 40 * 4096 && n == (ssize_t)script.calls * 4096,
		"reap error after %u sends returned %zd", script.calls, n);
	n = dmt_tx_send(tx, segs, 1);
	T_CHECK(n == -EIO && strstr(dmt_tx_last_error(tx)->message,
				    "Input/output error"),
		"the next call reports the reap error, with a sentence: %zd (%s)",
		n, dmt_tx_last_error(tx)->message);
	script.reap_err = 0;
	n = dmt_tx_send(tx, segs, 1);
	T_CHECK(n == 4096, "then sends go on: %zd", n);
	dmt_tx_free(tx);

	/* 4. The connection breaks after part of a send: the part is
	 * returned, ECONNRESET (with its sentence) comes next, and with
	 * nothing queued an error is returned at once. */
	tx = fake_tx(ctx, buf, sv[0], false, 1);
	script.ok_calls = 2;
	script.then = -ECONNRESET;
	n = dmt_tx_send(tx, segs, 5);
	T_CHECK(n == 2 * 4096, "partial then reset returned %zd", n);
	n = dmt_tx_send(tx, segs, 1);
	T_CHECK(n == -ECONNRESET && strstr(dmt_tx_last_error(tx)->message,
					   "peer closed"),
		"next call: %zd (%s)", n, dmt_tx_last_error(tx)->message);
	n = dmt_tx_send(tx, segs, 1);
	T_CHECK(n == -ECONNRESET, "nothing queued: error at once: %zd", n);
	dmt_tx_free(tx);

	dmt_buf_free(buf);
	close(sv[0]);
	close(sv[1]);
	dmt_ctx_free(ctx);
	printf("tx_send_contract: ok\n");
	return T_PASS;
}
