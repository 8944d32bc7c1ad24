// SPDX-License-Identifier: MIT
/* tier A: the NIC setup transaction against a simulated devmem NIC (header
 * split, RSS, ntuple feature and rule table, bind-rx): every step, a
 * failure injected at each step leaves the NIC exactly as it was, rules it
 * did not create survive, 5-tuple falls back to 3-tuple, dry run changes
 * nothing, and the journal repairs a "crashed" run. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "buffer.h"
#include "helpers.h"
#include "journal.h"
#include "nicsetup.h"
#include "uapi.h"

#define NQ 4
#define TBL 128
#define RULES 16

struct fake {
	struct dmt_rings rings;
	uint32_t indir[TBL];
	bool ntuple;
	bool rule_used[RULES];
	struct dmt_flow_rule rule[RULES];
	bool bound;
	uint32_t bound_q[8];
	unsigned int bound_n;
	const char *fail;	/* op name to fail */
	int fail_err;
	bool refuse_5tuple;
	unsigned int calls;
};

static struct fake F, ORIG;

static int inject(struct dmt_ctx *c, const char *op)
{
	F.calls++;
	if (F.fail && !strcmp(F.fail, op)) {
		dmt_err_set(&c->err, -F.fail_err, "injected %s failure", op);
		return -F.fail_err;
	}
	return 0;
}

static int f_rings_get(void *u, struct dmt_ctx *c, int i, struct dmt_rings *r)
{
	(void)u; (void)c; (void)i;
	*r = F.rings;
	return 0;
}
static int f_rings_set(void *u, struct dmt_ctx *c, int i, int t, int64_t h)
{
	int ret = inject(c, "hds");

	(void)u; (void)i;
	if (ret)
		return ret;
	if (t >= 0)	/* "auto" resolves to off on this NIC */
		F.rings.tcp_data_split = t ? (uint8_t)t :
					 DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED;
	if (h >= 0)
		F.rings.hds_thresh = (uint32_t)h;
	return 0;
}
static int f_channels_get(void *u, struct dmt_ctx *c, int i,
			  struct dmt_channels *ch)
{
	(void)u; (void)c; (void)i;
	memset(ch, 0, sizeof(*ch));
	ch->combined = NQ;
	ch->combined_max = NQ;
	return 0;
}
static int f_feature_get(void *u, struct dmt_ctx *c, int i, const char *n,
			 bool *a, bool *fx)
{
	(void)u; (void)c; (void)i;
	if (!strcmp(n, "rx-gro-hw")) {	/* this NIC needs no HW-GRO */
		*a = true;
		*fx = false;
		return 0;
	}
	T_CHECK(!strcmp(n, "rx-ntuple-filter"), "feature %s", n);
	*a = F.ntuple;
	*fx = false;
	return 0;
}
static int f_feature_set(void *u, struct dmt_ctx *c, int i, const char *n,
			 bool on)
{
	int ret = inject(c, on ? "feature" : "feature_off");

	(void)u; (void)i; (void)n;
	if (!ret)
		F.ntuple = on;
	return ret;
}
static int f_rss_get(void *u, struct dmt_ctx *c, int i, struct dmt_rss *r)
{
	(void)u; (void)c; (void)i;
	memset(r, 0, sizeof(*r));
	r->indir_size = TBL;
	r->indir = malloc(sizeof(F.indir));
	memcpy(r->indir, F.indir, sizeof(F.indir));
	return 0;
}
static int f_rss_set(void *u, struct dmt_ctx *c, int i, const uint32_t *t,
		     uint32_t n)
{
	int ret = inject(c, "rss");

	(void)u; (void)i;
	if (ret)
		return ret;
	for (uint32_t k = 0; k < TBL; k++)
		F.indir[k] = n ? t[k] : k % NQ;	/* 0: driver default */
	T_CHECK(n == 0 || n == TBL, "table size %u", n);
	return 0;
}
static int f_ntuple_list(void *u, struct dmt_ctx *c, int i,
			 struct dmt_ntuple_list *l)
{
	(void)u; (void)c; (void)i;
	memset(l, 0, sizeof(*l));
	l->table_size = RULES;
	l->special_locs = false;
	l->locs = malloc(RULES * sizeof(uint32_t));
	for (uint32_t k = 0; k < RULES; k++)
		if (F.rule_used[k])
			l->locs[l->count++] = k;
	return 0;
}
static int f_ntuple_add(void *u, struct dmt_ctx *c, int i,
			const struct dmt_flow_rule *r, uint32_t loc,
			uint32_t *out)
{
	static const uint8_t zero[16];
	int ret = inject(c, "rule");

	(void)u; (void)i;
	if (ret)
		return ret;
	if (F.refuse_5tuple && memcmp(r->src, zero, 16)) {
		dmt_err_set(&c->err, -EOPNOTSUPP, "no 5-tuple");
		return -EOPNOTSUPP;
	}
	T_CHECK(loc < RULES && !F.rule_used[loc], "slot %u must be free", loc);
	F.rule_used[loc] = true;
	F.rule[loc] = *r;
	*out = loc;
	return 0;
}
static int f_ntuple_del(void *u, struct dmt_ctx *c, int i, uint32_t loc)
{
	int ret = inject(c, "rule_del");

	(void)u; (void)i;
	if (ret)
		return ret;
	if (loc >= RULES || !F.rule_used[loc])
		return -ENOENT;
	F.rule_used[loc] = false;
	return 0;
}
static int f_bind(void *u, struct dmt_ctx *c, int i, int fd, const uint32_t *q,
		  unsigned int n, uint32_t *id)
{
	int ret = inject(c, "bind");

	(void)u; (void)i; (void)fd;
	if (ret)
		return ret;
	T_CHECK(F.rings.tcp_data_split == DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED &&
		F.rings.hds_thresh == 0, "bind before header split");
	F.bound = true;
	F.bound_n = n;
	memcpy(F.bound_q, q, n * sizeof(*q));
	*id = 42;
	return 0;
}
static void f_unbind(void *u)
{
	(void)u;
	T_CHECK(F.bound, "unbind without bind");
	F.bound = false;
}

static const struct dmt_nic_ops fake_ops = {
	.rings_get = f_rings_get,	.rings_set_hds = f_rings_set,
	.channels_get = f_channels_get, .feature_get = f_feature_get,
	.feature_set = f_feature_set,	.rss_get = f_rss_get,
	.rss_set = f_rss_set,		.ntuple_list = f_ntuple_list,
	.ntuple_add = f_ntuple_add,	.ntuple_del = f_ntuple_del,
	.bind_rx = f_bind,		.unbind = f_unbind,
};

static void nic_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.rings.has_tcp_data_split = true;
	F.rings.tcp_data_split = DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED;
	F.rings.has_hds_thresh = true;
	F.rings.hds_thresh = 256;
	F.rings.hds_thresh_max = 1024;
	for (int k = 0; k < TBL; k++)
		F.indir[k] = (uint32_t)k % NQ;
	F.rule_used[15] = true;		/* somebody else's rule */
	F.rule[15].queue = 1;
	ORIG = F;
}

static void same_as_orig(const char *when)
{
	T_CHECK(F.rings.tcp_data_split == ORIG.rings.tcp_data_split &&
		F.rings.hds_thresh == ORIG.rings.hds_thresh, "%s: rings", when);
	T_CHECK(!memcmp(F.indir, ORIG.indir, sizeof(F.indir)), "%s: rss", when);
	T_CHECK(F.ntuple == ORIG.ntuple, "%s: ntuple feature", when);
	T_CHECK(!memcmp(F.rule_used, ORIG.rule_used, sizeof(F.rule_used)),
		"%s: rules", when);
	T_CHECK(!F.bound, "%s: still bound", when);
}

static char jdir[64];
static struct dmt_ctx *ctx;
static struct dmt_buf *dbuf;

static bool journal_exists(void)
{
	char p[256];

	T_CHECK(dmt_nic_journal_path(jdir, "lo", p, sizeof(p)) == 0, "path");
	return access(p, F_OK) == 0;
}

static struct dmt_nic_setup *mk(unsigned int flags, bool client)
{
	static struct sockaddr_in srv = { .sin_family = AF_INET },
				  cli = { .sin_family = AF_INET };
	struct dmt_error e;
	struct dmt_nic_setup *s;

	inet_pton(AF_INET, "192.0.2.1", &srv.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &cli.sin_addr);
	DMT_OPTS(dmt_nic_setup_opts, o, .flags = flags, .port = 5201,
		 .client_port = 5201, .journal_dir = jdir,
		 .server = (struct sockaddr *)&srv, .server_len = sizeof(srv),
		 .client = client ? (struct sockaddr *)&cli : NULL,
		 .client_len = sizeof(cli));
	s = dmt_nic_setup_new_ops(ctx, 1, &o, &fake_ops, NULL, &e);
	T_CHECK(s, "new: %s", e.message);
	return s;
}

static void test_success_and_undo(void)
{
	struct dmt_nic_setup *s;
	unsigned int first, count;
	int ret;

	nic_reset();
	s = mk(0, true);
	ret = dmt_nic_setup_apply(s, dbuf);
	T_CHECK(ret == 0, "apply: %s", dmt_nic_setup_last_error(s)->message);
	T_CHECK(dmt_nic_setup_binding_id(s) == 42, "binding");
	dmt_nic_setup_queues(s, &first, &count);
	T_CHECK(first == NQ - 1 && count == 1, "default: the last queue");
	T_CHECK(F.rings.tcp_data_split == DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED &&
		F.rings.hds_thresh == 0, "header split on");
	for (int k = 0; k < TBL; k++)
		T_CHECK(F.indir[k] != NQ - 1, "RSS still uses the bound queue");
	T_CHECK(F.ntuple, "ntuple on");
	T_CHECK(F.rule_used[14] && F.rule[14].queue == NQ - 1 &&
		F.rule[14].src_port == htons(5201) && F.rule[14].src[0] == 192,
		"5-tuple rule in the highest free slot");
	T_CHECK(F.bound && F.bound_n == 1 && F.bound_q[0] == NQ - 1, "bound");
	T_CHECK(journal_exists(), "journal written");
	T_CHECK(strstr(dmt_nic_setup_summary(s), "changed: tcp-data-split off -> on"),
		"summary: %s", dmt_nic_setup_summary(s));
	dmt_nic_setup_free(s);
	same_as_orig("after free");
	T_CHECK(F.rule_used[15], "foreign rule kept");
	T_CHECK(!journal_exists(), "journal removed");
}

static void test_failures(void)
{
	static const char *const ops[] = { "hds", "rss", "feature", "rule", "bind" };

	for (unsigned int i = 0; i < ARRAY_SIZE(ops); i++) {
		struct dmt_nic_setup *s;
		int ret;

		nic_reset();
		F.fail = ops[i];
		F.fail_err = i == 4 ? EOPNOTSUPP : EIO;
		s = mk(0, true);
		ret = dmt_nic_setup_apply(s, dbuf);
		T_CHECK(ret == -F.fail_err, "%s: ret %d", ops[i], ret);
		T_CHECK(strstr(dmt_nic_setup_last_error(s)->message, "injected"),
			"%s: error kept: %s", ops[i],
			dmt_nic_setup_last_error(s)->message);
		same_as_orig(ops[i]);
		T_CHECK(!journal_exists(), "%s: journal removed", ops[i]);
		if (i > 0)
			T_CHECK(strstr(dmt_nic_setup_summary(s), "undone:"),
				"%s: summary says what was undone: %s", ops[i],
				dmt_nic_setup_summary(s));
		dmt_nic_setup_free(s);
		same_as_orig(ops[i]);
	}
}

static void test_fallback_3tuple_and_flags(void)
{
	struct dmt_nic_setup *s;
	static const uint8_t zero[16];

	nic_reset();
	F.refuse_5tuple = true;
	s = mk(DMT_NIC_F_QUEUE_START, true);
	T_CHECK(dmt_nic_setup_apply(s, dbuf) == 0, "apply: %s",
		dmt_nic_setup_last_error(s)->message);
	T_CHECK(F.rule_used[14] && !memcmp(F.rule[14].src, zero, 16) &&
		!F.rule[14].src_port && F.rule[14].queue == 0,
		"3-tuple rule to queue 0");
	T_CHECK(strstr(dmt_nic_setup_summary(s), "trying 3-tuple"), "%s",
		dmt_nic_setup_summary(s));
	for (int k = 0; k < TBL; k++)
		T_CHECK(F.indir[k] >= 1, "RSS avoids queue 0");
	dmt_nic_setup_free(s);
	same_as_orig("3-tuple");

	/* dry run: nothing changes, nothing written */
	nic_reset();
	s = mk(DMT_NIC_F_DRY_RUN, true);
	T_CHECK(dmt_nic_setup_apply(s, NULL) == 0, "dry run");
	T_CHECK(F.calls == 0, "dry run made %u changing calls", F.calls);
	T_CHECK(strstr(dmt_nic_setup_summary(s), "would set tcp-data-split on"),
		"%s", dmt_nic_setup_summary(s));
	T_CHECK(!journal_exists(), "dry run wrote a journal");
	dmt_nic_setup_free(s);
	same_as_orig("dry run");

	/* all queues with RSS: refused before any change */
	nic_reset();
	{
		DMT_OPTS(dmt_nic_setup_opts, o, .nqueues = NQ, .port = 1,
			 .journal_dir = jdir);
		struct dmt_error e;

		s = dmt_nic_setup_new_ops(ctx, 1, &o, &fake_ops, NULL, &e);
		T_CHECK(s, "new");
		T_CHECK(dmt_nic_setup_apply(s, dbuf) == -EINVAL &&
			strstr(dmt_nic_setup_last_error(s)->message,
			       "leaves none for other traffic"), "%s",
			dmt_nic_setup_last_error(s)->message);
		T_CHECK(F.calls == 0, "nothing changed");
		dmt_nic_setup_free(s);
	}
	/* no dma-buf: refused before any change */
	s = mk(0, false);
	T_CHECK(dmt_nic_setup_apply(s, NULL) == -DMT_ERR_NOT_DMABUF, "no buf");
	T_CHECK(F.calls == 0, "nothing changed");
	dmt_nic_setup_free(s);
}

static unsigned long long starttime(pid_t pid)
{
	char p[64], b[1024], *q;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return 0;
	n = fread(b, 1, sizeof(b) - 1, f);
	fclose(f);
	b[n] = '\0';
	q = strrchr(b, ')');
	for (int fld = 3; q && fld <= 22; fld++) {
		q = strchr(q + 1, ' ');
		if (q && fld == 22)
			v = strtoull(q + 1, NULL, 10);
	}
	return v;
}

static void test_crash_restore(void)
{
	char sum[4096], path[256];
	struct dmt_nic_setup *s;
	struct dmt_error e;
	int ret;

	nic_reset();
	/* a non-default RSS table must come back exactly */
	for (int k = 0; k < TBL; k++)
		F.indir[k] = (uint32_t)(k * 5) % 3;
	ORIG = F;
	s = mk(0, true);
	T_CHECK(dmt_nic_setup_apply(s, dbuf) == 0, "apply");
	dmt_nic_setup_abandon(s);		/* "crash": no undo */
	T_CHECK(journal_exists(), "journal survives the crash");
	T_CHECK(F.rule_used[14] && F.ntuple, "changes still there");

	/* a new setup refuses to stack on top */
	s = mk(0, true);
	ret = dmt_nic_setup_apply(s, dbuf);
	T_CHECK(ret == -EEXIST && strstr(dmt_nic_setup_last_error(s)->message,
					 "dmt_nic_setup_restore(lo)"), "stale journal: %d %s", ret,
		dmt_nic_setup_last_error(s)->message);
	dmt_nic_setup_free(s);
	T_CHECK(journal_exists(), "refusal kept the journal");

	ret = dmt_nic_restore_ops(ctx, "lo", 1, jdir, &fake_ops, NULL, sum,
				  sizeof(sum), &e);
	T_CHECK(ret == 1, "restore: %d %s", ret, e.message);
	same_as_orig("after restore");
	T_CHECK(F.rule_used[15], "foreign rule kept");
	T_CHECK(strstr(sum, "restored: ntuple rule 14 deleted") &&
		strstr(sum, "restored: RSS table restored") &&
		strstr(sum, "restored: tcp-data-split back to off"), "%s", sum);
	T_CHECK(!journal_exists(), "journal removed");
	ret = dmt_nic_restore_ops(ctx, "lo", 1, jdir, &fake_ops, NULL, sum,
				  sizeof(sum), &e);
	T_CHECK(ret == 0, "nothing left to restore: %d", ret);

	/* a journal whose owner is alive: restore refuses */
	T_CHECK(dmt_nic_journal_path(jdir, "lo", path, sizeof(path)) == 0, "p");
	{
		FILE *f = fopen(path, "w");
		char rec[5][64], l[80];

		T_CHECK(f, "write journal");
		snprintf(rec[0], sizeof(rec[0]), "devmemtcp-journal 2");
		snprintf(rec[1], sizeof(rec[1]), "ifname lo");
		snprintf(rec[2], sizeof(rec[2]), "ifindex 1");
		snprintf(rec[3], sizeof(rec[3]), "pid %d %llu", (int)getppid(),
			 starttime(getppid()));
		snprintf(rec[4], sizeof(rec[4]), "feature rx-ntuple-filter 0");
		for (int i = 0; i < 5; i++) {
			T_CHECK(dmt_journal_line(l, sizeof(l), rec[i]) > 0, "line");
			fputs(l, f);
		}
		fclose(f);
	}
	ret = dmt_nic_restore_ops(ctx, "lo", 1, jdir, &fake_ops, NULL, sum,
				  sizeof(sum), &e);
	T_CHECK(ret == -EBUSY && strstr(e.message, "still being used"),
		"live owner: %d %s", ret, e.message);
	unlink(path);

	/* an undo step that fails keeps the journal for a later --restore */
	nic_reset();
	s = mk(0, true);
	T_CHECK(dmt_nic_setup_apply(s, dbuf) == 0, "apply");
	F.fail = "rule_del";
	F.fail_err = EIO;
	T_CHECK(dmt_nic_setup_undo(s) == -EIO, "undo reports the failure");
	T_CHECK(journal_exists(), "journal kept after a failed undo");
	F.fail = NULL;
	dmt_nic_setup_free(s);
	ret = dmt_nic_restore_ops(ctx, "lo", 1, jdir, &fake_ops, NULL, sum,
				  sizeof(sum), &e);
	T_CHECK(ret == 1, "second restore: %d %s", ret, e.message);
	same_as_orig("after a failed undo and restore");
}

int main(void)
{
	struct dmt_error e;

	snprintf(jdir, sizeof(jdir), "/tmp/dmt-txn-XXXXXX");
	T_CHECK(mkdtemp(jdir), "mkdtemp");
	ctx = t_ctx();
	/* the bind step only looks at the fd; a host buffer with a fake fd */
	dbuf = dmt_buf_new(DMT_BUF_HOST, 4096, NULL, &e);
	T_CHECK(dbuf, "%s", e.message);
	dbuf->dmabuf_fd = 1000;	/* only looked at by the fake backend */
	test_success_and_undo();
	test_failures();
	test_fallback_3tuple_and_flags();
	test_crash_restore();
	dbuf->dmabuf_fd = -1;
	dmt_buf_free(dbuf);
	dmt_ctx_free(ctx);
	rmdir(jdir);
	printf("rx_setup_txn: ok\n");
	return T_PASS;
}
