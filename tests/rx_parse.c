// SPDX-License-Identifier: MIT
/* tier A: devmem cmsg parser on synthetic control buffers, and the receive
 * path (dmt_rx_recv) driven by a scripted recvmsg: out-of-order and
 * non-contiguous tokens, linear data, fragments outside the buffer, a
 * foreign binding, no devmem cmsg at all, ETOOSMALL (525), MSG_CTRUNC. */
#include <stdlib.h>
#include <netinet/in.h>
#include <unistd.h>

#include "rx_synth.h"

#define BIND 7
#define PAGE 4096

static char ctrl[64 * 1024] __attribute__((aligned(8)));

static int parse(const struct synth_cmsg *c, unsigned int n, size_t ret,
		 bool ctrunc, const struct dmt_rx_parse_cfg *cfg,
		 struct dmt_frag *f, unsigned int max,
		 struct dmt_rx_parse_res *res, struct dmt_error *e)
{
	struct msghdr m = { 0 };
	unsigned int fitted;

	m.msg_control = ctrl;
	m.msg_controllen = synth_ctrl(ctrl, sizeof(ctrl), c, n, &fitted);
	T_CHECK(fitted == n, "synth");
	m.msg_flags = ctrunc ? MSG_CTRUNC : 0;
	dmt_err_clear(e);
	return dmt_rx_parse(&m, ret, cfg, f, max, res, e);
}

static void test_parser(void)
{
	struct dmt_rx_parse_cfg cfg = { .binding = BIND, .base = 8192,
					.size = 1 << 20, .devmem_expected = true };
	struct dmt_rx_parse_res res;
	struct dmt_frag f[16];
	struct dmt_error e;
	int ret;

	/* out-of-order, non-contiguous tokens; offsets rebased */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 8192 + 3 * PAGE, PAGE, 9, BIND },
			{ SCM_DEVMEM_DMABUF, 8192 + 0, 100, 5, BIND },
			{ SCM_DEVMEM_DMABUF, 8192 + 7 * PAGE + 10, 2000, 12, BIND },
		};
		ret = parse(c, 3, PAGE + 2100, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == 0, "ret %d: %s", ret, e.message);
		T_CHECK(res.nfrags == 3 && res.ndmabuf == 3 && !res.nlinear,
			"%u frags", res.nfrags);
		T_CHECK(f[0].off == 3 * PAGE && f[0].len == PAGE &&
			f[0].token == 9 && f[0].binding == BIND && !f[0].flags,
			"frag 0");
		T_CHECK(f[1].off == 0 && f[1].len == 100 && f[1].token == 5, "frag 1");
		T_CHECK(f[2].off == 7 * PAGE + 10 && f[2].token == 12, "frag 2");
		T_CHECK(res.devmem_bytes == PAGE + 2100 && !res.linear_bytes,
			"bytes %llu", (unsigned long long)res.devmem_bytes);
	}
	/* linear data, in stream order with the frags */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_LINEAR, 0, 66, 0, 0 },
			{ SCM_DEVMEM_DMABUF, 8192, 1000, 1, BIND },
			{ SCM_DEVMEM_LINEAR, 0, 34, 0, 0 },
			{ SCM_DEVMEM_DMABUF, 8192 + PAGE, 500, 2, BIND },
		};
		ret = parse(c, 4, 1600, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == 0, "ret %d: %s", ret, e.message);
		T_CHECK(res.nfrags == 4 && res.nlinear == 2 && res.ndmabuf == 2,
			"counts");
		T_CHECK(f[0].flags == DMT_FRAG_LINEAR && f[0].off == 0 &&
			f[0].len == 66 && f[0].token == 0, "linear 0");
		T_CHECK(f[2].flags == DMT_FRAG_LINEAR && f[2].off == 66 &&
			f[2].len == 34, "linear 1 continues the linear area");
		T_CHECK(res.linear_bytes == 100 && res.devmem_bytes == 1500,
			"bytes");
	}
	/* fragment outside the buffer: flow steering error, token kept */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 8192, 100, 1, BIND },
			{ SCM_DEVMEM_DMABUF, 8192 + (1 << 20) - 10, 100, 2, BIND },
		};
		ret = parse(c, 2, 200, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == -DMT_ERR_FLOW_STEERING, "ret %d", ret);
		T_CHECK(strstr(e.message, "flow steering") &&
			strstr(e.message, "outside"), "message: %s", e.message);
		T_CHECK(res.nfrags == 2 && f[1].token == 2,
			"the token of the bad frag must be recorded for release");
		/* below the base */
		const struct synth_cmsg c2[] = {
			{ SCM_DEVMEM_DMABUF, 4096, 100, 3, BIND },
		};
		ret = parse(c2, 1, 100, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == -DMT_ERR_FLOW_STEERING, "below base: %d", ret);
	}
	/* foreign binding id */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 8192, 100, 1, BIND },
			{ SCM_DEVMEM_DMABUF, 8192 + PAGE, 100, 2, BIND + 1 },
			{ SCM_DEVMEM_DMABUF, 8192 + 2 * PAGE, 100, 3, BIND },
		};
		ret = parse(c, 3, 300, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == -DMT_ERR_FLOW_STEERING, "ret %d", ret);
		T_CHECK(strstr(e.message, "flow steering") &&
			strstr(e.message, "binding 8") && strstr(e.message, "ours is 7"),
			"message: %s", e.message);
		T_CHECK(res.nfrags == 3, "all three tokens recorded");
	}
	/* no devmem cmsg at all */
	{
		ret = parse(NULL, 0, 1000, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == -DMT_ERR_FLOW_STEERING, "ret %d", ret);
		T_CHECK(strstr(e.message, "without any devmem cmsg"), "%s",
			e.message);
		cfg.devmem_expected = false;
		ret = parse(NULL, 0, 1000, false, &cfg, f, 16, &res, &e);
		T_CHECK(ret == 0 && res.plain_bytes == 1000 && !res.nfrags,
			"auto: plain bytes reported");
		cfg.devmem_expected = true;
	}
	/* MSG_CTRUNC reported */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 8192, 100, 1, BIND },
		};
		ret = parse(c, 1, 5000, true, &cfg, f, 16, &res, &e);
		T_CHECK(ret == 0 && res.ctrunc, "ctrunc");
	}
	/* more cmsgs than slots */
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 8192, 100, 1, BIND },
			{ SCM_DEVMEM_DMABUF, 8192 + 100, 100, 2, BIND },
		};
		ret = parse(c, 2, 200, false, &cfg, f, 1, &res, &e);
		T_CHECK(ret == -EOVERFLOW && res.full && res.nfrags == 1, "full");
	}
	/* a devmem cmsg of the wrong size */
	{
		struct msghdr m = { .msg_control = ctrl };
		struct cmsghdr *cm = (struct cmsghdr *)(void *)ctrl;

		memset(ctrl, 0, 64);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_DEVMEM_DMABUF;
		cm->cmsg_len = CMSG_LEN(8);
		m.msg_controllen = CMSG_SPACE(8);
		ret = dmt_rx_parse(&m, 8, &cfg, f, 16, &res, &e);
		T_CHECK(ret == -EPROTO, "short cmsg: %d", ret);
	}
	/* other cmsgs are ignored */
	{
		struct msghdr m = { .msg_control = ctrl };
		struct cmsghdr *cm = (struct cmsghdr *)(void *)ctrl;

		memset(ctrl, 0, 64);
		cm->cmsg_level = SOL_IP;
		cm->cmsg_type = SCM_DEVMEM_DMABUF;
		cm->cmsg_len = CMSG_LEN(24);
		m.msg_controllen = CMSG_SPACE(24);
		cfg.devmem_expected = false;
		ret = dmt_rx_parse(&m, 8, &cfg, f, 16, &res, &e);
		T_CHECK(ret == 0 && !res.ndmabuf && res.plain_bytes == 8,
			"SOL_IP cmsg ignored");
	}
}

/* Fragments are bounded by the dma-buf's real size, not the size asked
 * for: a ROCm dma-buf rounded up to the pool granule, or an imported
 * dma-buf larger than the size given, is filled whole by the NIC. */
static void test_dmabuf_bounds(void)
{
	struct dmt_rx_parse_cfg cfg = { .binding = BIND, .base = 0,
					.size = 3 * PAGE, .dmabuf_size = 512 * PAGE,
					.devmem_expected = true };
	struct dmt_rx_parse_res res;
	struct dmt_frag f[4];
	struct dmt_error e;
	int ret;

	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 300 * PAGE, PAGE, 3, BIND },
			{ SCM_DEVMEM_DMABUF, 511 * PAGE, PAGE, 4, BIND },
		};
		ret = parse(c, 2, 2 * PAGE, false, &cfg, f, 4, &res, &e);
		T_CHECK(ret == 0, "beyond the requested size, inside the dma-buf: "
			"%d %s", ret, e.message);
		T_CHECK(res.nfrags == 2 && f[0].off == 300 * PAGE &&
			f[1].off == 511 * PAGE, "offsets");
	}
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 511 * PAGE + 1, PAGE, 5, BIND },
		};
		ret = parse(c, 1, PAGE, false, &cfg, f, 4, &res, &e);
		T_CHECK(ret < 0 && strstr(e.message, "2097152-byte dma-buf") &&
			res.ndmabuf == 1, "past the dma-buf's end: %d %s", ret,
			e.message);
	}
	/* unknown real size: the requested size is the bound */
	cfg.dmabuf_size = 0;
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 3 * PAGE, 1, 6, BIND },
		};
		ret = parse(c, 1, 1, false, &cfg, f, 4, &res, &e);
		T_CHECK(ret < 0, "beyond base + size with no real size");
	}
	/* before the buffer's start in the dma-buf */
	cfg.base = 2 * PAGE;
	cfg.dmabuf_size = 512 * PAGE;
	{
		const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, PAGE, 10, 7, BIND },
		};
		ret = parse(c, 1, 10, false, &cfg, f, 4, &res, &e);
		T_CHECK(ret < 0 && strstr(e.message, "before"), "%s", e.message);
	}
}

/* ---- the receive path with a scripted recvmsg ---- */

struct env {
	struct dmt_buf *buf;
	struct dmt_rx *rx;
	struct synth_script script;
	struct synth_kernel *k;
	int sv[2];
};

static void env_open(struct env *v, size_t bufsz, const struct synth_step *st,
		     unsigned int n, bool autom)
{
	struct dmt_error e;

	memset(v, 0, sizeof(*v));
	v->k = calloc(1, sizeof(*v->k));
	T_CHECK(v->k, "oom");
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, v->sv) == 0, "socketpair");
	v->buf = dmt_buf_new(DMT_BUF_HOST, bufsz, NULL, &e);
	T_CHECK(v->buf, "buf: %s", e.message);
	v->rx = dmt_rx_from_fd(NULL, v->buf, v->sv[0], NULL, &e);
	T_CHECK(v->rx, "rx: %s", e.message);
	T_CHECK(dmt_rx_engine(v->rx) == DMT_ENGINE_COPY,
		"host buffer must select copy");
	T_CHECK(dmt_rx_test_force_devmem(v->rx, BIND, autom) == 0, "force");
	v->script.steps = st;
	v->script.nsteps = n;
}

static void env_close(struct env *v)
{
	dmt_rx_free(v->rx);
	dmt_buf_free(v->buf);
	close(v->sv[0]);
	close(v->sv[1]);
	free(v->k);
}

/* dontneed and recvmsg share one user pointer; route both. */
static struct env *cur;
static ssize_t env_recvmsg(void *u, int fd, struct msghdr *m, int fl)
{
	(void)u;
	return synth_recvmsg(&cur->script, fd, m, fl);
}
static int env_dontneed(void *u, int fd, const struct dmt_uapi_dmabuf_token *t,
			unsigned int n)
{
	(void)u;
	return synth_dontneed(cur->k, fd, t, n);
}

static void env_hooks(struct env *v)
{
	cur = v;
	dmt_rx_test_hooks(v->rx, env_recvmsg, env_dontneed, NULL);
}

static void test_recv_path(void)
{
	static struct dmt_frag f[4096];
	DMT_OPTS(dmt_rx_stats, st);
	struct env v;
	unsigned int n;
	ssize_t r;

	/* normal: tokens lent, flags, MSG_SOCK_DEVMEM passed */
	{
		static const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_LINEAR, 0, 10, 0, 0 },
			{ SCM_DEVMEM_DMABUF, 0, 4096, 21, BIND },
			{ SCM_DEVMEM_DMABUF, 8192, 904, 20, BIND },
		};
		static const struct synth_step s[] = {
			{ .c = c, .n = 3, .ret = 5010, .linear = "0123456789",
			  .linear_len = 10 },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		synth_hold(v.k, 20);
		synth_hold(v.k, 21);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == 5010 && n == 3, "recv %zd n %u: %s", r, n,
			dmt_rx_last_error(v.rx)->message);
		T_CHECK(v.script.last_flags & MSG_SOCK_DEVMEM, "MSG_SOCK_DEVMEM");
		T_CHECK(v.script.last_controllen == 64 * DMT_RX_CMSG_SPACE,
			"control buffer sized by the slots: %zu",
			v.script.last_controllen);
		T_CHECK(dmt_rx_outstanding(v.rx) == 2, "2 tokens lent");
		T_CHECK(!memcmp((const char *)dmt_rx_linear(v.rx) + f[0].off,
				"0123456789", 10), "linear bytes");
		T_CHECK(dmt_rx_release(v.rx, f, n) == 2, "release: %s",
			dmt_rx_last_error(v.rx)->message);
		T_CHECK(v.k->calls == 1 && synth_held(v.k) == 0,
			"one DONTNEED call for tokens 21,20 (merged downwards): %u",
			v.k->calls);
		T_CHECK(dmt_rx_outstanding(v.rx) == 0, "accounting");
		T_CHECK(dmt_rx_recv(v.rx, f, 64, &n) == 0, "EOF");
		dmt_rx_get_stats(v.rx, &st);
		T_CHECK(st.bytes == 5010 && st.devmem_bytes == 5000 &&
			st.linear_bytes == 10 && st.frags == 3 &&
			st.tokens_released == 2 && st.dontneed_calls == 1,
			"stats");
		env_close(&v);
	}
	/* ETOOSMALL: the control buffer is grown and the call retried */
	{
		static const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 0, 100, 1, BIND },
		};
		static const struct synth_step s[] = {
			{ .need_ctrl = 81921, .c = c, .n = 1, .ret = 100 },
		};
		env_open(&v, 64 << 20, s, 1, false);
		env_hooks(&v);
		r = dmt_rx_recv(v.rx, f, 4096, &n);
		T_CHECK(r == 100 && n == 1, "grown and retried: %zd %s", r,
			dmt_rx_last_error(v.rx)->message);
		T_CHECK(v.script.last_controllen > 81920 &&
			v.script.last_controllen % DMT_RX_CMSG_SPACE == 0,
			"grown to %zu, a multiple of the cmsg size",
			v.script.last_controllen);
		dmt_rx_get_stats(v.rx, &st);
		T_CHECK(st.etoosmall == 1, "etoosmall counted");
		env_close(&v);
	}
	/* ETOOSMALL that growing cannot fix: reported */
	{
		static const struct synth_step s[] = {
			{ .need_ctrl = 1000000 },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		r = dmt_rx_recv(v.rx, f, 1, &n);
		T_CHECK(r == -525, "ETOOSMALL reported: %zd", r);
		T_CHECK(strstr(dmt_rx_last_error(v.rx)->message, "ETOOSMALL"),
			"%s", dmt_rx_last_error(v.rx)->message);
		env_close(&v);
	}
	/* MSG_CTRUNC with bytes lost: tokens returned, error, buffer grown */
	{
		static const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 0, 4096, 30, BIND },
		};
		static const struct synth_step s[] = {
			{ .c = c, .n = 1, .ret = 8192, .ctrunc = true },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		synth_hold(v.k, 30);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == -EMSGSIZE, "ctrunc: %zd", r);
		T_CHECK(strstr(dmt_rx_last_error(v.rx)->message, "MSG_CTRUNC"),
			"%s", dmt_rx_last_error(v.rx)->message);
		T_CHECK(synth_held(v.k) == 0 && dmt_rx_outstanding(v.rx) == 0,
			"token of the truncated receive returned");
		env_close(&v);
	}
	/* foreign binding through the receive path: error and tokens back */
	{
		static const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_DMABUF, 0, 100, 40, BIND },
			{ SCM_DEVMEM_DMABUF, 4096, 100, 41, 99 },
		};
		static const struct synth_step s[] = {
			{ .c = c, .n = 2, .ret = 200 },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		synth_hold(v.k, 40);
		synth_hold(v.k, 41);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == -DMT_ERR_FLOW_STEERING && n == 0, "%zd", r);
		T_CHECK(strstr(dmt_rx_last_error(v.rx)->message, "flow steering"),
			"%s", dmt_rx_last_error(v.rx)->message);
		T_CHECK(synth_held(v.k) == 0, "both tokens returned");
		env_close(&v);
	}
	/* plain data: devmem engine fails, auto hands it over as linear */
	{
		static const struct synth_step s[] = {
			{ .ret = 5, .linear = "hello", .linear_len = 5 },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == -DMT_ERR_FLOW_STEERING, "devmem: %zd", r);
		env_close(&v);
		env_open(&v, 1 << 20, s, 1, true);
		env_hooks(&v);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == 5 && n == 1 && f[0].flags == DMT_FRAG_LINEAR,
			"auto: %zd", r);
		T_CHECK(strstr(dmt_rx_engine_reason(v.rx), "flow steering"),
			"reason: %s", dmt_rx_engine_reason(v.rx));
		{
			char out[8];
			T_CHECK(dmt_rx_gather(v.rx, f, n, out, sizeof(out)) == 5 &&
				!memcmp(out, "hello", 5), "gather linear");
		}
		env_close(&v);
	}
	/* no_linear: linear bytes are a header split error */
	{
		static const struct synth_cmsg c[] = {
			{ SCM_DEVMEM_LINEAR, 0, 3, 0, 0 },
			{ SCM_DEVMEM_DMABUF, 0, 100, 50, BIND },
		};
		static const struct synth_step s[] = {
			{ .c = c, .n = 2, .ret = 103, .linear = "abc",
			  .linear_len = 3 },
		};
		env_open(&v, 1 << 20, s, 1, false);
		env_hooks(&v);
		v.rx->no_linear = true;
		synth_hold(v.k, 50);
		r = dmt_rx_recv(v.rx, f, 64, &n);
		T_CHECK(r == -DMT_ERR_HEADER_SPLIT, "%zd", r);
		T_CHECK(strstr(dmt_rx_last_error(v.rx)->message, "header split"),
			"%s", dmt_rx_last_error(v.rx)->message);
		T_CHECK(synth_held(v.k) == 0, "token returned");
		env_close(&v);
	}
}

int main(void)
{
	test_parser();
	test_dmabuf_bounds();
	test_recv_path();
	printf("rx_parse: ok\n");
	return T_PASS;
}
