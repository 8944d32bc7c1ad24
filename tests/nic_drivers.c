// SPDX-License-Identifier: MIT
/*
 * tier A: the NIC setup and the peer-less hardware checks against a
 * simulated mlx5, fbnic and bnxt (tests/fake_nic.h):
 *  - setup passes on each: header split is configured explicitly even
 *    where rings-get already reports it on (fbnic always, bnxt with
 *    aggregation rings), because bind-rx checks the configured value;
 *  - mlx5: rx-gro-hw is turned on first (journalled) and off again on
 *    undo and on --restore after a crash;
 *  - everything is restored: the configured value goes back to "auto";
 *  - the checks: an empty queue list and header split "off" (auto, as
 *    fbnic refuses "disabled") are refused, binding works, shrinking the
 *    channels below a bound queue is refused; on a broken kernel that
 *    accepts them, the checks fail (and put the channels back).
 */
#include <stdlib.h>
#include <unistd.h>

#include "buffer.h"
#include "fake_nic.h"
#include "helpers.h"
#include "netdev.h"
#include "uapi.h"

static char jdir[64];
static struct dmt_ctx *ctx;
static struct dmt_buf *dbuf;

static void same_state(const struct fake_nic *a, const struct fake_nic *b,
		       const char *when)
{
	T_CHECK(a->cfg_tds == b->cfg_tds && a->cfg_thresh == b->cfg_thresh,
		"%s %s: configured header split %u/%u, was %u/%u",
		fake_drv_name(a->drv), when, a->cfg_tds, a->cfg_thresh,
		b->cfg_tds, b->cfg_thresh);
	T_CHECK(fake_nic_reported_tds(a) == fake_nic_reported_tds(b),
		"%s %s: reported header split", fake_drv_name(a->drv), when);
	T_CHECK(a->gro_hw == b->gro_hw, "%s %s: rx-gro-hw %d, was %d",
		fake_drv_name(a->drv), when, a->gro_hw, b->gro_hw);
	T_CHECK(a->ntuple == b->ntuple && !memcmp(a->indir, b->indir,
		sizeof(a->indir)) && !memcmp(a->rule_used, b->rule_used,
		sizeof(a->rule_used)), "%s %s: rss/ntuple", fake_drv_name(a->drv),
		when);
	T_CHECK(a->rx == b->rx && a->combined == b->combined, "%s %s: channels",
		fake_drv_name(a->drv), when);
	T_CHECK(!a->bound, "%s %s: still bound", fake_drv_name(a->drv), when);
}

static bool journal_has(const char *needle)
{
	char p[256], line[256];
	bool found = false;
	FILE *f;

	T_CHECK(dmt_nic_journal_path(jdir, "lo", p, sizeof(p)) == 0, "path");
	f = fopen(p, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static struct dmt_nic_setup *mk(struct fake_nic *n)
{
	DMT_OPTS(dmt_nic_setup_opts, o, .port = 5201, .journal_dir = jdir);
	struct dmt_nic_setup *s;
	struct dmt_error e;

	s = dmt_nic_setup_new_ops(ctx, 1, &o, &fake_nic_ops, n, &e);
	T_CHECK(s, "new: %s", e.message);
	return s;
}

static void test_setup(enum fake_drv d, bool agg)
{
	struct fake_nic n, orig;
	struct dmt_nic_setup *s;
	const char *sum;
	int ret;

	fake_nic_init(&n, d);
	n.bnxt_agg = agg;
	orig = n;
	s = mk(&n);
	ret = dmt_nic_setup_apply(s, dbuf);
	sum = dmt_nic_setup_summary(s);
	T_CHECK(ret == 0, "%s%s: setup failed: %s", fake_drv_name(d),
		agg ? " (aggregation rings)" : "",
		dmt_nic_setup_last_error(s)->message);
	T_CHECK(n.bound && n.cfg_tds == DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED,
		"%s: bound with header split configured on", fake_drv_name(d));
	T_CHECK(strstr(sum, "-> on"), "%s: summary: %s", fake_drv_name(d), sum);
	if (d == FAKE_MLX5) {
		T_CHECK(n.gro_hw && strstr(sum, "rx-gro-hw off -> on"),
			"mlx5: HW-GRO turned on first: %s", sum);
		T_CHECK(journal_has("feature rx-gro-hw 0"), "mlx5: journalled");
	}
	dmt_nic_setup_free(s);
	same_state(&n, &orig, "after undo");
	printf("%s%s: setup and undo ok\n", fake_drv_name(d),
	       agg ? " (aggregation rings)" : "");
}

static void test_mlx5_crash_restore(void)
{
	struct fake_nic n, orig;
	struct dmt_nic_setup *s;
	struct dmt_error e;
	char sum[4096];
	int ret;

	fake_nic_init(&n, FAKE_MLX5);
	orig = n;
	s = mk(&n);
	T_CHECK(dmt_nic_setup_apply(s, dbuf) == 0, "apply: %s",
		dmt_nic_setup_last_error(s)->message);
	dmt_nic_setup_abandon(s);	/* "crash" */
	n.bound = false;		/* the binding died with the process */
	T_CHECK(n.gro_hw, "HW-GRO still on after the crash");
	ret = dmt_nic_restore_ops(ctx, "lo", 1, jdir, &fake_nic_ops, &n, sum,
				  sizeof(sum), &e);
	T_CHECK(ret == 1, "restore: %d %s", ret, e.message);
	T_CHECK(strstr(sum, "restored: rx-gro-hw off again"), "%s", sum);
	same_state(&n, &orig, "after --restore");
	printf("mlx5: crash and --restore ok\n");
}

static void test_mlx5_gro_fixed(void)
{
	struct fake_nic n, orig;
	struct dmt_nic_setup *s;

	fake_nic_init(&n, FAKE_MLX5);
	n.gro_fixed = true;
	orig = n;
	s = mk(&n);
	T_CHECK(dmt_nic_setup_apply(s, dbuf) == -EOPNOTSUPP &&
		strstr(dmt_nic_setup_last_error(s)->message, "fixed off"),
		"fixed HW-GRO: %s", dmt_nic_setup_last_error(s)->message);
	dmt_nic_setup_free(s);
	same_state(&n, &orig, "after a refused setup");
}

static const char *const names[] = { "", "empty queues", "header split off",
				     "bind", "channel shrink" };

static void test_checks(enum fake_drv d)
{
	struct fake_nic n, orig;
	char det[512];
	int ret;

	fake_nic_init(&n, d);
	orig = n;
	for (int w = DMT_NIC_CHECK_EMPTY_QUEUES; w <= DMT_NIC_CHECK_CHANNEL_SHRINK;
	     w++) {
		ret = dmt_nic_check_ops(ctx, 1, dbuf, w, &fake_nic_ops, &n, jdir,
					det, sizeof(det));
		T_CHECK(ret == 0, "%s: check %s: %d %s / %s", fake_drv_name(d),
			names[w], ret, det, ctx->err.message);
		T_CHECK(det[0], "%s: no detail", names[w]);
		same_state(&n, &orig, names[w]);
	}
	/* a kernel that accepts what it must refuse: the checks fail */
	n.accept_empty = true;
	ret = dmt_nic_check_ops(ctx, 1, dbuf, DMT_NIC_CHECK_EMPTY_QUEUES,
				&fake_nic_ops, &n, jdir, det, sizeof(det));
	T_CHECK(ret == 1 && strstr(det, "accepted"), "accepting kernel: %d %s",
		ret, det);
	n.accept_empty = false;
	n.ignore_cfg = true;
	ret = dmt_nic_check_ops(ctx, 1, dbuf, DMT_NIC_CHECK_HDS_OFF,
				&fake_nic_ops, &n, jdir, det, sizeof(det));
	T_CHECK(ret == 1, "ignoring header split: %d %s", ret, det);
	n.ignore_cfg = false;
	n.accept_shrink = true;
	ret = dmt_nic_check_ops(ctx, 1, dbuf, DMT_NIC_CHECK_CHANNEL_SHRINK,
				&fake_nic_ops, &n, jdir, det, sizeof(det));
	T_CHECK(ret == 1 && n.combined == orig.combined,
		"accepting shrink: %d %s, channels %u", ret, det, n.combined);
	n.accept_shrink = false;
	same_state(&n, &orig, "after the broken-kernel checks");
	printf("%s: checks ok\n", fake_drv_name(d));
}

/* An out-of-range queue id is EINVAL (ERANGE on some 6.x kernels): the
 * error then names the queue and the device's queue count. */
static void test_queue_range(void)
{
	struct dmt_error e;
	uint32_t q[2] = { 1, 9 };

	dmt_err_clear(&e);
	dmt_err_set(&e, -EINVAL, "bind-rx on lo failed: generic");
	T_CHECK(dmt_bind_rx_queue_range(&e, 1, q, 2, 8) == 1 && e.err == -EINVAL &&
		strstr(e.message, "queue 9 does not exist") &&
		strstr(e.message, "8 RX queues (0-7)"), "%s", e.message);
	dmt_err_set(&e, -ERANGE, "x");
	T_CHECK(dmt_bind_rx_queue_range(&e, 1, q, 2, 8) == 1 &&
		e.err == -ERANGE, "ERANGE kept");
	dmt_err_set(&e, -EINVAL, "kept");
	T_CHECK(dmt_bind_rx_queue_range(&e, 1, q, 1, 8) == 0 &&
		!strcmp(e.message, "kept"), "in range: message kept");
	T_CHECK(dmt_bind_rx_queue_range(&e, 1, q, 2, -95) == 0, "count unknown");
	printf("out-of-range queue named\n");
}

int main(void)
{
	struct dmt_error e;

	snprintf(jdir, sizeof(jdir), "/tmp/dmt-drv-XXXXXX");
	T_CHECK(mkdtemp(jdir), "mkdtemp");
	ctx = t_ctx();
	dbuf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &e);
	T_CHECK(dbuf, "%s", e.message);
	dbuf->dmabuf_fd = 1000;	/* only looked at by the simulated NIC */
	test_setup(FAKE_MLX5, false);
	test_setup(FAKE_FBNIC, false);
	test_setup(FAKE_BNXT, false);
	test_setup(FAKE_BNXT, true);
	test_mlx5_crash_restore();
	test_mlx5_gro_fixed();
	test_checks(FAKE_MLX5);
	test_checks(FAKE_FBNIC);
	test_checks(FAKE_BNXT);
	test_queue_range();
	dbuf->dmabuf_fd = -1;
	dmt_buf_free(dbuf);
	dmt_ctx_free(ctx);
	rmdir(jdir);
	printf("nic_drivers: ok\n");
	return T_PASS;
}
