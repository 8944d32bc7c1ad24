// SPDX-License-Identifier: MIT
/*
 * tier B: dmt_buf_wrap() and dmt_tx_set_buf(). One sender on one loopback
 * socket sends from two buffers of the caller's own memory in turn, with
 * each zero-copy engine: the stream arrives whole and in order (the
 * completions of the second buffer are read by the same tracker), a switch
 * with sends outstanding is refused (EBUSY) and changes nothing, a binding
 * id for a CPU engine is refused, and a wrap of nothing is refused.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

#define V 251
#define HALF (256 * 1024)

static void run(struct dmt_ctx *ctx, enum dmt_engine eng)
{
	struct t_sink sink = { .v = V };
	unsigned char *mem[2];
	struct dmt_buf *buf[2];
	struct dmt_error err;
	struct dmt_tx *tx;
	unsigned long long pos = 0;
	unsigned int busy = 0;
	int port = 0;

	/* two separate mappings; the stream alternates HALF bytes from each */
	for (int i = 0; i < 2; i++) {
		mem[i] = mmap(NULL, 8 * HALF, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		T_CHECK(mem[i] != MAP_FAILED, "mmap");
		buf[i] = dmt_buf_wrap(mem[i], 8 * HALF, &err);
		T_CHECK(buf[i], "%s", err.message);
		T_CHECK(dmt_buf_dmabuf_fd(buf[i]) == -1 &&
			dmt_buf_size(buf[i]) == 8 * HALF &&
			dmt_buf_map(buf[i]) == mem[i] &&
			dmt_buf_kind(buf[i]) == DMT_BUF_HOST, "wrap properties");
	}
	for (int k = 0; k < 8; k++)
		for (int i = 0; i < 2; i++)
			for (size_t j = 0; j < HALF; j++)
				mem[i][(size_t)k * HALF + j] = t_pattern_byte(
					((unsigned long long)k * 2 + (unsigned)i) * HALF + j, V);
	DMT_OPTS(dmt_tx_opts, opts, .engine = eng, .auto_copy_min = DMT_TX_NEVER);
	sink.fd = t_listen("127.0.0.1", &port);
	t_sink_start(&sink);
	tx = t_tx_loopback(ctx, buf[0], port, &opts, &err);
	T_CHECK(tx, "%s", err.message);
	T_CHECK(dmt_tx_set_buf(tx, buf[1], 7) == -EINVAL, "binding id for a "
		"CPU engine accepted");
	for (int k = 0; k < 8; k++) {
		for (int i = 0; i < 2; i++) {
			struct dmt_seg s = { .off = (uint64_t)k * HALF, .len = HALF };
			int ret = dmt_tx_set_buf(tx, buf[i], 0);

			if (ret == -EBUSY) {
				busy++;
				T_CHECK(dmt_tx_outstanding(tx) > 0, "EBUSY with "
					"nothing outstanding");
				T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
				ret = dmt_tx_set_buf(tx, buf[i], 0);
			}
			T_CHECK(ret == 0, "set_buf: %s", dmt_tx_last_error(tx)->message);
			T_CHECK(dmt_tx_send(tx, &s, 1) == HALF, "send: %s",
				dmt_tx_last_error(tx)->message);
			pos += HALF;
		}
	}
	T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	T_CHECK(sink.got == pos && sink.bad == 0, "%s: got %llu of %llu bytes, "
		"%llu wrong (first at %llu)", dmt_engine_name(eng), sink.got, pos,
		sink.bad, sink.first_bad);
	printf("%s: %llu bytes from two wrapped buffers verified, %u switches "
	       "refused while busy\n", dmt_engine_name(eng), pos, busy);
	dmt_tx_free(tx);
	close(sink.fd);
	for (int i = 0; i < 2; i++) {
		dmt_buf_free(buf[i]);
		/* still the caller's: writable after the free */
		mem[i][0] = 1;
		munmap(mem[i], 8 * HALF);
	}
}

int main(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx;

	t_require_root();
	T_CHECK(!dmt_buf_wrap(NULL, 4096, &err) && errno == EINVAL &&
		err.err == -EINVAL, "wrap of NULL");
	T_CHECK(!dmt_buf_wrap(&err, 0, &err) && errno == EINVAL, "wrap of 0 bytes");
	ctx = t_ctx();
	run(ctx, DMT_ENGINE_ZEROCOPY);
	run(ctx, DMT_ENGINE_COPY);
	if (dmt_engine_built(DMT_ENGINE_URING))
		run(ctx, DMT_ENGINE_URING);
	else
		printf("uring: not built (no liburing)\n");
	dmt_ctx_free(ctx);
	return T_PASS;
}
