// SPDX-License-Identifier: MIT
/* tier A: the token batcher against a simulated kernel token table with
 * SO_DEVMEM_DONTNEED's rules (<= 128 entries, the kernel stops after 1024
 * frags, returns the count freed): run merging, the limits, partial frees,
 * out-of-order tokens, errors; and outstanding-token accounting and
 * back-pressure through dmt_rx. */
#include <stdlib.h>
#include <unistd.h>

#include "rx_synth.h"

static struct synth_kernel *k;
static struct dmt_frag fr[8192];

static void reset(void)
{
	memset(k, 0, sizeof(*k));
}

static void frag(unsigned int i, uint32_t tok)
{
	fr[i] = (struct dmt_frag){ .off = (uint64_t)i * 4096, .len = 4096,
				   .token = tok, .binding = 1 };
}

static void test_batcher(void)
{
	struct dmt_tok_result res;
	int ret;

	/* 3000 contiguous tokens: runs cut at 1024 frags per call */
	reset();
	for (unsigned int i = 0; i < 3000; i++) {
		frag(i, 100 + i);
		synth_hold(k, 100 + i);
	}
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(-1, fr, 3000, synth_dontneed, k, &res);
	T_CHECK(ret == 3000, "ret %d", ret);
	T_CHECK(res.calls == 3 && k->calls == 3, "calls %u", res.calls);
	T_CHECK(res.max_frags == 1024 && k->max_frags == 1024, "max frags %u",
		res.max_frags);
	T_CHECK(res.max_entries == 1, "one merged run per call: %u",
		res.max_entries);
	T_CHECK(synth_held(k) == 0, "all freed");

	/* 300 non-contiguous tokens: 128 entries per call */
	reset();
	for (unsigned int i = 0; i < 300; i++) {
		frag(i, 1 + 2 * i);
		synth_hold(k, 1 + 2 * i);
	}
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(-1, fr, 300, synth_dontneed, k, &res);
	T_CHECK(ret == 300 && res.calls == 3 && res.max_entries == 128 &&
		k->max_entries == 128, "ret %d calls %u entries %u", ret,
		res.calls, res.max_entries);

	/* out of order with runs both ways, linear and copied frags mixed */
	reset();
	{
		static const uint32_t toks[] = { 10, 11, 12, 9, 8, 30, 31, 5, 20,
						 21, 22, 23, 7, 6 };
		unsigned int n = 0;

		for (unsigned int i = 0; i < ARRAY_SIZE(toks); i++) {
			frag(n++, toks[i]);
			synth_hold(k, toks[i]);
			if (i == 3) {
				fr[n] = (struct dmt_frag){ .len = 5,
					.flags = DMT_FRAG_LINEAR };
				n++;
			}
			if (i == 8) {
				fr[n] = (struct dmt_frag){ .len = 5, .token = 99,
					.flags = DMT_FRAG_COPIED };
				n++;
			}
		}
		synth_hold(k, 99);	/* must not be touched: copied frag */
		memset(&res, 0, sizeof(res));
		ret = dmt_tokens_release(-1, fr, n, synth_dontneed, k, &res);
		T_CHECK(ret == (int)ARRAY_SIZE(toks), "ret %d", ret);
		T_CHECK(res.calls == 1, "one call");
		/* runs: 8..12, 30..31, 5, 20..23, 6..7 */
		T_CHECK(k->max_entries == 5, "merged into 5 runs, got %u",
			k->max_entries);
		T_CHECK(synth_held(k) == 1 && k->held[99], "copied token kept");
	}

	/* partial frees: 1500 tokens, 200 of them already freed (double
	 * release): every batch checked, exact counts reported */
	reset();
	for (unsigned int i = 0; i < 1500; i++) {
		frag(i, 1000 + i);
		if (i % 7 || i >= 1400)
			synth_hold(k, 1000 + i);
	}
	{
		unsigned int held = synth_held(k);

		memset(&res, 0, sizeof(res));
		ret = dmt_tokens_release(-1, fr, 1500, synth_dontneed, k, &res);
		T_CHECK(ret == -ENOENT, "short frees reported: %d", ret);
		T_CHECK(res.requested == 1500 && res.freed == held,
			"requested %llu freed %llu (held %u)",
			(unsigned long long)res.requested,
			(unsigned long long)res.freed, held);
		T_CHECK(res.calls == 2 && res.short_calls == 2,
			"calls %u short %u", res.calls, res.short_calls);
		T_CHECK(k->max_frags <= 1024, "limit");
	}

	/* a kernel that frees fewer per call (the 1024 cap, shrunk to 100 to
	 * simulate a partial call): the shortfall is reported, not hidden */
	reset();
	k->frag_cap = 100;
	for (unsigned int i = 0; i < 300; i++) {
		frag(i, 1 + i);
		synth_hold(k, 1 + i);
	}
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(-1, fr, 300, synth_dontneed, k, &res);
	T_CHECK(ret == -ENOENT && res.freed == 100 && res.requested == 300,
		"partial call: ret %d freed %llu", ret,
		(unsigned long long)res.freed);

	/* a failing call stops the batching and returns its errno */
	reset();
	k->fail_err = EFAULT;
	for (unsigned int i = 0; i < 10; i++)
		frag(i, 1 + i);
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(-1, fr, 10, synth_dontneed, k, &res);
	T_CHECK(ret == -EFAULT && res.freed == 0, "error: %d", ret);

	/* nothing to release: no call */
	reset();
	memset(&res, 0, sizeof(res));
	fr[0] = (struct dmt_frag){ .len = 9, .flags = DMT_FRAG_LINEAR };
	ret = dmt_tokens_release(-1, fr, 1, synth_dontneed, k, &res);
	T_CHECK(ret == 0 && k->calls == 0, "linear only: no syscall");
}

/* ---- accounting and back-pressure through dmt_rx ---- */

struct rxenv {
	struct synth_script script;
	struct synth_step steps[64];
	struct synth_cmsg c[64][32];
	int pressure_calls;
	struct dmt_frag keep[4096];
	unsigned int nkeep;
};
static struct rxenv *E;

static ssize_t rx_recvmsg(void *u, int fd, struct msghdr *m, int fl)
{
	(void)u;
	return synth_recvmsg(&E->script, fd, m, fl);
}

static int rx_dontneed(void *u, int fd, const struct dmt_uapi_dmabuf_token *t,
		       unsigned int n)
{
	(void)u;
	return synth_dontneed(k, fd, t, n);
}

static int on_pressure(struct dmt_rx *rx, uint64_t outstanding, void *user)
{
	(void)user;
	E->pressure_calls++;
	T_CHECK(outstanding == E->nkeep, "outstanding %llu kept %u",
		(unsigned long long)outstanding, E->nkeep);
	/* give back the oldest half */
	T_CHECK(dmt_rx_release(rx, E->keep, E->nkeep / 2) == (int)(E->nkeep / 2),
		"release in callback");
	memmove(E->keep, E->keep + E->nkeep / 2,
		(E->nkeep - E->nkeep / 2) * sizeof(E->keep[0]));
	E->nkeep -= E->nkeep / 2;
	return 0;
}

static void test_accounting(void)
{
	DMT_OPTS(dmt_rx_opts, o, .max_outstanding = 64);
	DMT_OPTS(dmt_rx_stats, st);
	struct dmt_frag f[64];
	struct dmt_buf *buf;
	struct dmt_error e;
	struct dmt_rx *rx;
	uint32_t tok = 1;
	unsigned int n;
	int sv[2];
	ssize_t r;

	E = calloc(1, sizeof(*E));
	reset();
	/* 40 receives of 16 frags each, tokens increasing */
	for (unsigned int s = 0; s < 40; s++) {
		for (unsigned int i = 0; i < 16; i++) {
			E->c[s][i] = (struct synth_cmsg){ SCM_DEVMEM_DMABUF,
				(uint64_t)((s * 16 + i) % 256) * 4096, 4096, tok, 3 };
			synth_hold(k, tok++);
		}
		E->steps[s] = (struct synth_step){ .c = E->c[s], .n = 16,
						   .ret = 16 * 4096 };
	}
	E->script.steps = E->steps;
	E->script.nsteps = 40;
	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &e);
	T_CHECK(buf, "%s", e.message);
	rx = dmt_rx_from_fd(NULL, buf, sv[0], &o, &e);
	T_CHECK(rx, "%s", e.message);
	T_CHECK(dmt_rx_test_force_devmem(rx, 3, false) == 0, "force");
	dmt_rx_test_hooks(rx, rx_recvmsg, rx_dontneed, NULL);

	/* keep everything: 4 receives fill the 64 slots, then -ENOBUFS */
	for (int i = 0; i < 4; i++) {
		r = dmt_rx_recv(rx, f, 64, &n);
		T_CHECK(r == 16 * 4096 && n == 16, "recv %d: %zd", i, r);
		memcpy(E->keep + E->nkeep, f, n * sizeof(f[0]));
		E->nkeep += n;
	}
	T_CHECK(dmt_rx_outstanding(rx) == 64, "64 lent");
	r = dmt_rx_recv(rx, f, 64, &n);
	T_CHECK(r == -ENOBUFS, "back-pressure: %zd", r);
	T_CHECK(strstr(dmt_rx_last_error(rx)->message, "dmt_rx_release"),
		"%s", dmt_rx_last_error(rx)->message);
	T_CHECK(E->script.calls == 4, "no syscall when refusing");

	/* the control buffer never offers more slots than free tokens */
	T_CHECK(dmt_rx_release(rx, E->keep, 8) == 8, "release 8");
	memmove(E->keep, E->keep + 8, (E->nkeep - 8) * sizeof(E->keep[0]));
	E->nkeep -= 8;
	T_CHECK(dmt_rx_outstanding(rx) == 56, "56 lent");
	E->steps[4].n = 8;	/* the kernel would stop at 8 cmsgs */
	E->steps[4].ret = 8 * 4096;
	r = dmt_rx_recv(rx, f, 64, &n);
	T_CHECK(r == 8 * 4096 && n == 8, "%zd", r);
	T_CHECK(E->script.last_controllen == 8 * DMT_RX_CMSG_SPACE,
		"control buffer limited to 8 cmsgs: %zu",
		E->script.last_controllen);
	memcpy(E->keep + E->nkeep, f, n * sizeof(f[0]));
	E->nkeep += n;

	/* double release: refused with -ENOENT, accounting unchanged */
	{
		struct dmt_frag twice = E->keep[0];

		T_CHECK(dmt_rx_release(rx, &twice, 1) == 1, "first");
		T_CHECK(dmt_rx_release(rx, &twice, 1) == -ENOENT, "second");
		T_CHECK(strstr(dmt_rx_last_error(rx)->message, "released twice"),
			"%s", dmt_rx_last_error(rx)->message);
		T_CHECK(dmt_rx_outstanding(rx) == 63, "63 lent: %llu",
			(unsigned long long)dmt_rx_outstanding(rx));
		memmove(E->keep, E->keep + 1, (E->nkeep - 1) * sizeof(E->keep[0]));
		E->nkeep--;
	}

	/* with a pressure callback the receive goes on */
	dmt_rx_free(rx);
	{
		DMT_OPTS(dmt_rx_opts, o2, .max_outstanding = 64,
			 .pressure_fn = on_pressure);
		rx = dmt_rx_from_fd(NULL, buf, sv[0], &o2, &e);
		T_CHECK(rx, "%s", e.message);
	}
	T_CHECK(dmt_rx_test_force_devmem(rx, 3, false) == 0, "force");
	dmt_rx_test_hooks(rx, rx_recvmsg, rx_dontneed, NULL);
	/* a new socket in real life: the kept tokens belong to the old rx;
	 * drop them from the simulated kernel and our list */
	for (unsigned int i = 0; i < E->nkeep; i++)
		k->held[E->keep[i].token] = false;
	E->nkeep = 0;
	E->steps[5].n = 16;
	E->steps[5].ret = 16 * 4096;
	for (int i = 0; i < 20; i++) {
		r = dmt_rx_recv(rx, f, 64, &n);
		T_CHECK(r > 0, "recv %d: %zd %s", i, r,
			dmt_rx_last_error(rx)->message);
		memcpy(E->keep + E->nkeep, f, n * sizeof(f[0]));
		E->nkeep += n;
		T_CHECK(dmt_rx_outstanding(rx) <= 64, "bound kept");
	}
	T_CHECK(E->pressure_calls > 0, "pressure callback used");
	dmt_rx_get_stats(rx, &st);
	T_CHECK(st.pressure == (uint64_t)E->pressure_calls &&
		st.max_outstanding_seen <= 64 &&
		st.outstanding == E->nkeep, "stats: pressure %llu seen %llu",
		(unsigned long long)st.pressure,
		(unsigned long long)st.max_outstanding_seen);
	T_CHECK(dmt_rx_release(rx, E->keep, E->nkeep) == (int)E->nkeep,
		"release rest");
	T_CHECK(dmt_rx_outstanding(rx) == 0, "none lent");
	dmt_rx_free(rx);
	dmt_buf_free(buf);
	close(sv[0]);
	close(sv[1]);
	free(E);
}

int main(void)
{
	k = calloc(1, sizeof(*k));
	T_CHECK(k, "oom");
	test_batcher();
	test_accounting();
	free(k);
	printf("rx_tokens: ok\n");
	return T_PASS;
}
