// SPDX-License-Identifier: MIT
/* tier A: gather of received fragments in stream order (devmem frags from
 * the buffer, linear frags from the linear area) into host memory and into
 * another buffer; range and size errors. Also the copy engine's ring over
 * the buffer (wrap-around, space back-pressure) with a scripted recv. */
#include <stdlib.h>
#include <unistd.h>

#include "rx_synth.h"

#define BIND 11

static ssize_t script_recvmsg(void *u, int fd, struct msghdr *m, int fl)
{
	return synth_recvmsg(u, fd, m, fl);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static void test_gather(void)
{
	static const struct synth_cmsg c[] = {
		{ SCM_DEVMEM_DMABUF, 5 * 4096, 4096, 3, BIND },
		{ SCM_DEVMEM_LINEAR, 0, 6, 0, 0 },
		{ SCM_DEVMEM_DMABUF, 1 * 4096 + 100, 1000, 1, BIND },
		{ SCM_DEVMEM_DMABUF, 9 * 4096, 17, 8, BIND },
	};
	static const struct synth_step s[] = {
		{ .c = c, .n = 4, .ret = 4096 + 6 + 1000 + 17, .linear = "LINEAR",
		  .linear_len = 6 },
	};
	struct synth_script sc = { .steps = s, .nsteps = 1 };
	struct dmt_buf *buf, *dst;
	unsigned char *map, *exp, out[8192];
	struct dmt_frag f[16];
	struct dmt_error e;
	struct dmt_rx *rx;
	unsigned int n;
	int sv[2];
	size_t pos = 0;
	ssize_t r;

	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	buf = dmt_buf_new(DMT_BUF_HOST, 64 * 4096, NULL, &e);
	dst = dmt_buf_new(DMT_BUF_HOST, 4 * 4096, NULL, &e);
	T_CHECK(buf && dst, "bufs: %s", e.message);
	map = dmt_buf_map(buf);
	fill(map, 64 * 4096, 3);
	rx = dmt_rx_from_fd(NULL, buf, sv[0], NULL, &e);
	T_CHECK(rx, "%s", e.message);
	T_CHECK(dmt_rx_test_force_devmem(rx, BIND, false) == 0, "force");
	dmt_rx_test_hooks(rx, script_recvmsg, NULL, &sc);
	r = dmt_rx_recv(rx, f, 16, &n);
	T_CHECK(r == 4096 + 6 + 1000 + 17 && n == 4, "recv %zd: %s", r,
		dmt_rx_last_error(rx)->message);

	exp = malloc(8192);
	memcpy(exp + pos, map + 5 * 4096, 4096);
	pos += 4096;
	memcpy(exp + pos, "LINEAR", 6);
	pos += 6;
	memcpy(exp + pos, map + 4096 + 100, 1000);
	pos += 1000;
	memcpy(exp + pos, map + 9 * 4096, 17);
	pos += 17;

	/* host memory */
	memset(out, 0, sizeof(out));
	r = dmt_rx_gather(rx, f, n, out, sizeof(out));
	T_CHECK(r == (ssize_t)pos && !memcmp(out, exp, pos), "gather: %zd", r);
	/* too small: nothing copied */
	memset(out, 0xee, sizeof(out));
	r = dmt_rx_gather(rx, f, n, out, pos - 1);
	T_CHECK(r == -ENOSPC && out[0] == 0xee, "ENOSPC: %zd", r);
	/* another buffer, at an offset */
	r = dmt_rx_gather_buf(rx, f, n, dst, 100);
	T_CHECK(r == (ssize_t)pos, "gather_buf %zd: %s", r,
		dmt_rx_last_error(rx)->message);
	T_CHECK(!memcmp((unsigned char *)dmt_buf_map(dst) + 100, exp, pos),
		"gather_buf content");
	r = dmt_rx_gather_buf(rx, f, n, dst, 4 * 4096 - 10);
	T_CHECK(r == -ENOSPC, "gather_buf beyond the end: %zd", r);
	/* a fragment outside the buffer (forged) */
	{
		struct dmt_frag bad = { .off = 64 * 4096 - 10, .len = 11 };

		r = dmt_rx_gather(rx, &bad, 1, out, sizeof(out));
		T_CHECK(r == -EINVAL, "outside: %zd", r);
		bad = (struct dmt_frag){ .off = 256 << 10, .len = 1,
					 .flags = DMT_FRAG_LINEAR };
		r = dmt_rx_gather(rx, &bad, 1, out, sizeof(out));
		T_CHECK(r == -EINVAL, "linear outside: %zd", r);
	}
	T_CHECK(dmt_rx_gather(rx, f, 0, out, 0) == 0, "empty gather");
	dmt_rx_free(rx);
	dmt_buf_free(buf);
	dmt_buf_free(dst);
	close(sv[0]);
	close(sv[1]);
	free(exp);
}

/* copy engine: bytes pushed through a real socketpair, ring wrap-around */
static void test_copy_ring(void)
{
	DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_COPY,
		 .max_outstanding = 8);
	static unsigned char src[40000], got[40000];
	struct dmt_frag f[4], held[8];
	unsigned int n, nheld = 0;
	size_t sent = 0, recvd = 0;
	struct dmt_buf *buf;
	struct dmt_error e;
	struct dmt_rx *rx;
	int sv[2];
	ssize_t r;

	fill(src, sizeof(src), 99);
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	buf = dmt_buf_new(DMT_BUF_HOST, 4096, NULL, &e);	/* tiny ring */
	T_CHECK(buf, "%s", e.message);
	rx = dmt_rx_from_fd(NULL, buf, sv[0], &o, &e);
	T_CHECK(rx && dmt_rx_engine(rx) == DMT_ENGINE_COPY, "copy rx");
	T_CHECK(strstr(dmt_rx_engine_reason(rx), "copy requested"), "%s",
		dmt_rx_engine_reason(rx));
	while (recvd < sizeof(src)) {
		size_t chunk = 1000 + (sent % 1700);

		if (sent < sizeof(src)) {
			if (chunk > sizeof(src) - sent)
				chunk = sizeof(src) - sent;
			T_CHECK(write(sv[1], src + sent, chunk) == (ssize_t)chunk,
				"write");
			sent += chunk;
		}
		if (sent == sizeof(src))
			shutdown(sv[1], SHUT_WR);
		r = dmt_rx_recv(rx, f, 4, &n);
		if (r == -ENOBUFS) {
			/* ring full: release the oldest and retry */
			T_CHECK(nheld > 0, "ENOBUFS with nothing held");
			T_CHECK(dmt_rx_release(rx, held, 1) == 1, "release");
			memmove(held, held + 1, (nheld - 1) * sizeof(held[0]));
			nheld--;
			continue;
		}
		T_CHECK(r > 0 && n == 1, "recv %zd: %s", r,
			dmt_rx_last_error(rx)->message);
		T_CHECK(f[0].flags == DMT_FRAG_COPIED && f[0].off + f[0].len <= 4096,
			"frag in buffer");
		T_CHECK(dmt_rx_gather(rx, f, 1, got + recvd, sizeof(got) - recvd) == r,
			"gather");
		recvd += (size_t)r;
		held[nheld++] = f[0];
		if (nheld > 2) {	/* keep two lent: forces wrap-around */
			T_CHECK(dmt_rx_release(rx, held, 1) == 1, "release");
			memmove(held, held + 1, (nheld - 1) * sizeof(held[0]));
			nheld--;
		}
	}
	T_CHECK(!memcmp(src, got, sizeof(src)), "stream intact through the ring");
	{
		unsigned int dummy;
		T_CHECK(dmt_rx_recv(rx, f, 4, &dummy) == 0, "EOF");
	}
	T_CHECK(dmt_rx_release(rx, held, nheld) == (int)nheld, "release rest");
	T_CHECK(dmt_rx_release(rx, held, 1) == -ENOENT, "double release");
	T_CHECK(dmt_rx_outstanding(rx) == 0, "nothing lent");
	dmt_rx_free(rx);
	dmt_buf_free(buf);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_gather();
	test_copy_ring();
	printf("rx_gather: ok\n");
	return T_PASS;
}
