// SPDX-License-Identifier: MIT
/*
 * tier A: what the library refuses before any syscall (the kernel answers
 * EINVAL to all of these alike), options struct rules, and the buffer's
 * range checks. Runs on a UNIX socket pair: no network needed.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tx.h"

struct big_opts {
	struct dmt_tx_opts o;
	unsigned long future; /* a field this library does not know */
};

int main(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	enum dmt_engine e;
	int sv[2];

	ctx = t_ctx();
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	buf = dmt_buf_new(DMT_BUF_HOST, 10000, NULL, &err);
	T_CHECK(buf, "host buffer: %s", err.message);
	T_CHECK(dmt_buf_size(buf) % (size_t)sysconf(_SC_PAGESIZE) == 0 &&
		dmt_buf_size(buf) >= 10000, "rounded to pages");
	T_CHECK(dmt_buf_dmabuf_fd(buf) == -1 && dmt_buf_map(buf), "host memory");

	/* size 0, import refused through dmt_buf_new */
	T_CHECK(!dmt_buf_new(DMT_BUF_HOST, 0, NULL, &err) && errno == EINVAL &&
		strstr(err.message, "size"), "size 0: %s", err.message);
	T_CHECK(!dmt_buf_new(DMT_BUF_IMPORT, 4096, NULL, &err) && errno == EINVAL,
		"import via new");
	/* buffer range checks */
	T_CHECK(dmt_buf_write(buf, dmt_buf_size(buf) - 1, "ab", 2) == -EINVAL,
		"write past end");
	T_CHECK(strstr(dmt_buf_last_error(buf)->message, "outside"), "msg");

	/* options: unknown non-zero tail refused, zero tail accepted */
	{
		struct big_opts b = { .o = { .sz = sizeof(b) }, .future = 1 };
		tx = dmt_tx_from_fd(ctx, buf, sv[0], &b.o, &err);
		T_CHECK(!tx && errno == EINVAL && strstr(err.message, "unknown"),
			"non-zero unknown field: %s", err.message);
		b.future = 0;
		b.o.engine = DMT_ENGINE_COPY;
		tx = dmt_tx_from_fd(ctx, buf, sv[0], &b.o, &err);
		T_CHECK(tx, "zero tail accepted: %s", err.message);
		dmt_tx_free(tx);
	}
	/* the end of the last field counts, not sizeof: a byte in the tail
	 * padding may be a newer header's field, so it must be zero too */
	{
		size_t end = offsetof(struct dmt_tx_opts, connect_timeout_ms) +
			     sizeof(int);
		struct dmt_tx_opts o;

		if (end < sizeof(o)) {
			memset(&o, 0, sizeof(o));
			o.sz = sizeof(o);
			o.engine = DMT_ENGINE_COPY;
			((unsigned char *)&o)[end] = 1;
			tx = dmt_tx_from_fd(ctx, buf, sv[0], &o, &err);
			T_CHECK(!tx && errno == EINVAL &&
				strstr(err.message, "dmt_tx_opts") &&
				strstr(err.message, "unknown"),
				"non-zero tail padding: %s", err.message);
			((unsigned char *)&o)[end] = 0;
			tx = dmt_tx_from_fd(ctx, buf, sv[0], &o, &err);
			T_CHECK(tx, "zero tail padding: %s", err.message);
			dmt_tx_free(tx);
			printf("ok: a byte in dmt_tx_opts' tail padding (offset "
			       "%zu of %zu) is refused\n", end, sizeof(o));
		}
	}
	{
		DMT_OPTS(dmt_tx_opts, o, .max_iov = 1025);
		T_CHECK(!dmt_tx_from_fd(ctx, buf, sv[0], &o, &err) &&
			strstr(err.message, "1024"), "max_iov: %s", err.message);
	}
	{
		DMT_OPTS(dmt_tx_opts, o, .max_outstanding = 8);
		T_CHECK(!dmt_tx_from_fd(ctx, buf, sv[0], &o, &err) &&
			strstr(err.message, "max_outstanding"), "max_outstanding: %s",
			err.message);
	}
	/* explicit devmem on host memory: clear refusal */
	{
		DMT_OPTS(dmt_tx_opts, o, .engine = DMT_ENGINE_DEVMEM);
		T_CHECK(!dmt_tx_from_fd(ctx, buf, sv[0], &o, &err) &&
			err.err == -DMT_ERR_NOT_DMABUF &&
			strstr(err.message, "udmabuf"), "devmem on host: %s",
			err.message);
	}
	/* auto on a UNIX socket: SO_ZEROCOPY is refused there, so copy */
	tx = dmt_tx_from_fd(ctx, buf, sv[0], NULL, &err);
	T_CHECK(tx, "auto: %s", err.message);
	T_CHECK(dmt_tx_engine(tx) == DMT_ENGINE_COPY, "engine %s (%s)",
		dmt_engine_name(dmt_tx_engine(tx)), dmt_tx_engine_reason(tx));
	printf("auto on AF_UNIX: %s\n", dmt_tx_engine_reason(tx));

	/* send validation */
	{
		struct dmt_seg ok = { 0, 100 };
		struct dmt_seg empty = { 0, 0 };
		struct dmt_seg past = { dmt_buf_size(buf) - 10, 11 };
		struct dmt_seg huge = { UINT64_MAX - 5, 10 };
		char rb[100];

		T_CHECK(dmt_tx_send(tx, NULL, 1) == -EINVAL, "NULL segs");
		T_CHECK(dmt_tx_send(tx, &ok, 0) == -EINVAL, "no segs");
		T_CHECK(strstr(dmt_tx_last_error(tx)->message, "empty send"), "msg");
		T_CHECK(dmt_tx_send(tx, &empty, 1) == -EINVAL, "empty seg");
		T_CHECK(dmt_tx_send(tx, &past, 1) == -EINVAL, "past end");
		T_CHECK(strstr(dmt_tx_last_error(tx)->message, "outside"), "msg");
		T_CHECK(dmt_tx_send(tx, &huge, 1) == -EINVAL, "overflowing offset");
		T_CHECK(errno == EINVAL, "errno set");
		memset(dmt_buf_map(buf), 'x', 100);
		T_CHECK(dmt_tx_send(tx, &ok, 1) == 100, "good send");
		T_CHECK(read(sv[1], rb, sizeof(rb)) == 100 && rb[99] == 'x', "data");
	}
	/* engine names */
	T_CHECK(dmt_engine_from_name("zerocopy", &e) == 0 &&
		e == DMT_ENGINE_ZEROCOPY, "name");
	T_CHECK(dmt_engine_from_name("fast", &e) == -EINVAL, "unknown name");
	T_CHECK(!strcmp(dmt_strerror(-DMT_ERR_NO_NETMEM_TX),
			"device driver does not support devmem TX (netmem TX)"),
		"strerror lib code");
	T_CHECK(!strcmp(dmt_strerror(-ENODEV), strerror(ENODEV)), "strerror errno");
	T_CHECK(strstr(dmt_strerror(525), "ETOOSMALL"), "525");
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	close(sv[0]);
	close(sv[1]);
	printf("tx_validation: ok\n");
	return T_PASS;
}
