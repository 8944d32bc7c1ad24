// SPDX-License-Identifier: MIT
/*
 * tier A: the doctor's verdict logic on canned facts. Starts from a host
 * where everything passes, then breaks one thing at a time and checks that
 * exactly the right verdict turns "not ready" with the right first reason,
 * that warnings do not block, and that every WARN/FAIL carries a fix.
 */
#include "doctor.h"
#include "helpers.h"
#include "uapi.h"

#define OP(n) (1ull << (n))

static struct dmt_doc_host good_host(void)
{
	struct dmt_doc_host h;

	memset(&h, 0, sizeof(h));
	snprintf(h.release, sizeof(h.release), "6.18.0-test");
	h.netdev_id = 20;
	h.netdev_version = 1;
	h.ops = OP(1) | OP(5) | OP(10) | OP(11) | OP(12) | OP(13) | OP(14) |
		OP(15);
	h.ops_admin = OP(13) | OP(14);
	h.cap_net_admin = true;
	h.udmabuf_limit_mb = 64;
	snprintf(h.uring_detail, sizeof(h.uring_detail), "io_uring offers SEND_ZC");
	h.exp[DMT_DOC_UDMABUF].state = DMT_DOC_EXP_OK;
	h.exp[DMT_DOC_UDMABUF].count = 1;
	snprintf(h.exp[DMT_DOC_UDMABUF].detail, 256, "/dev/udmabuf present");
	h.exp[DMT_DOC_HEAPS].state = DMT_DOC_EXP_ABSENT;
	h.exp[DMT_DOC_CUDA].state = DMT_DOC_EXP_ABSENT;
	h.exp[DMT_DOC_ROCM].state = DMT_DOC_EXP_ABSENT;
	return h;
}

static struct dmt_doc_if good_if(void)
{
	struct dmt_doc_if f;

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "eth9");
	f.ifindex = 9;
	snprintf(f.driver, sizeof(f.driver), "mlx5_core");
	snprintf(f.version, sizeof(f.version), "6.18");
	f.tx_real = true;
	snprintf(f.tx_exporter, sizeof(f.tx_exporter), "udmabuf");
	f.tx_ret = 0;
	f.rxprobe_ret = -EINVAL;
	f.rings.rx = f.rings.rx_max = 1024;
	f.rings.has_tcp_data_split = true;
	f.rings.tcp_data_split = DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED;
	f.rings.has_hds_thresh = true;
	f.rings.hds_thresh_max = 1024;
	f.channels.combined = f.channels.combined_max = 8;
	f.rxq = 8;
	f.ntuple_active = true;
	f.gro_active = true;	/* mlx5 with header split on has HW-GRO on */
	f.rss_indir_size = 128;
	f.q_rx = 8;
	f.rule_table = 1024;
	return f;
}

/* every WARN or FAIL must say what to do */
static void check_fixes(const struct dmt_doctor *d, const char *scen)
{
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(d, i);

		T_CHECK(c->id && c->title && c->evidence && c->fix, "%s: NULL", scen);
		T_CHECK(c->evidence[0], "%s: %s has no evidence", scen, c->id);
		if (c->status == DMT_DOCTOR_WARN || c->status == DMT_DOCTOR_FAIL)
			T_CHECK(c->fix[0], "%s: %s is %s without a fix", scen,
				c->id, dmt_doctor_status_name(c->status));
		if (c->status == DMT_DOCTOR_PASS)
			T_CHECK(!c->fix[0], "%s: %s passes with a fix", scen, c->id);
		T_CHECK((c->group == DMT_DOCTOR_INTERFACE) == (c->ifname != NULL),
			"%s: %s ifname/group", scen, c->id);
	}
}

static const struct dmt_doctor_check *find(const struct dmt_doctor *d,
					   const char *id)
{
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++)
		if (!strcmp(dmt_doctor_check_at(d, i)->id, id))
			return dmt_doctor_check_at(d, i);
	return NULL;
}

static int count_status(const struct dmt_doctor *d, enum dmt_doctor_status s)
{
	int n = 0;

	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++)
		n += dmt_doctor_check_at(d, i)->status == s;
	return n;
}

/* Evaluate; expect tx/rx readiness, and the reason to contain tx_sub /
 * rx_sub when not ready. Returns the report for more checks. */
static struct dmt_doctor *expect(const char *scen, const struct dmt_doc_host *h,
				 const struct dmt_doc_if *f, unsigned int what,
				 int tx_ready, const char *tx_sub, int rx_ready,
				 const char *rx_sub)
{
	struct dmt_doctor *d = dmt_doctor_evaluate(h, f, 1, what);
	const struct dmt_doctor_iface *v;

	T_CHECK(d, "%s: evaluate failed", scen);
	check_fixes(d, scen);
	T_CHECK(dmt_doctor_iface_count(d) == 1, "%s: iface count", scen);
	v = dmt_doctor_iface_at(d, 0);
	T_CHECK(!strcmp(v->ifname, f->name) && v->ifindex == f->ifindex,
		"%s: iface identity", scen);
	T_CHECK(v->tx_ready == tx_ready, "%s: tx_ready %d want %d (%s)", scen,
		v->tx_ready, tx_ready, v->tx_reason);
	T_CHECK(v->rx_ready == rx_ready, "%s: rx_ready %d want %d (%s)", scen,
		v->rx_ready, rx_ready, v->rx_reason);
	if (tx_ready == 0)
		T_CHECK(strstr(v->tx_reason, tx_sub), "%s: tx reason '%s' lacks "
			"'%s'", scen, v->tx_reason, tx_sub);
	else
		T_CHECK(!v->tx_reason[0], "%s: tx reason '%s' while ready", scen,
			v->tx_reason);
	if (rx_ready == 0)
		T_CHECK(strstr(v->rx_reason, rx_sub), "%s: rx reason '%s' lacks "
			"'%s'", scen, v->rx_reason, rx_sub);
	else
		T_CHECK(!v->rx_reason[0], "%s: rx reason '%s' while ready", scen,
			v->rx_reason);
	T_CHECK(dmt_doctor_ready(d) == ((tx_ready != 0) && (rx_ready != 0)),
		"%s: overall ready", scen);
	return d;
}

#define BOTH (DMT_DOCTOR_TX | DMT_DOCTOR_RX)
#define ONE(scen, h, f, txr, txs, rxr, rxs)                                  \
	dmt_doctor_free(expect(scen, &(h), &(f), BOTH, txr, txs, rxr, rxs))

int main(void)
{
	struct dmt_doc_host h0 = good_host(), h;
	struct dmt_doc_if f0 = good_if(), f;
	struct dmt_doctor *d;

	/* everything passes: both ready, no FAIL, no WARN */
	d = expect("all pass", &h0, &f0, BOTH, 1, NULL, 1, NULL);
	T_CHECK(count_status(d, DMT_DOCTOR_FAIL) == 0, "fails on a good host");
	T_CHECK(count_status(d, DMT_DOCTOR_WARN) == 0, "warns on a good host");
	T_CHECK(!strcmp(dmt_doctor_kernel_release(d), "6.18.0-test"), "release");
	T_CHECK(find(d, "tx.bind")->status == DMT_DOCTOR_PASS, "tx.bind");
	T_CHECK(strstr(find(d, "tx.bind")->evidence, "udmabuf"), "exporter named");
	T_CHECK(dmt_doctor_what(d) == BOTH, "what");
	dmt_doctor_free(d);
	/* what = 0 means both */
	d = expect("what 0", &h0, &f0, 0, 1, NULL, 1, NULL);
	dmt_doctor_free(d);

	/* mlx5 with rx-gro-hw off: setup turns it on (warning, not a blocker);
	 * fixed off: header split is impossible */
	f = f0;
	f.gro_active = false;
	d = expect("mlx5 gro off", &h0, &f, BOTH, 1, NULL, 1, NULL);
	T_CHECK(find(d, "rx.gro_hw")->status == DMT_DOCTOR_WARN &&
		strstr(find(d, "rx.gro_hw")->fix, "turns rx-gro-hw on"), "gro warn");
	dmt_doctor_free(d);
	f.gro_fixed = true;
	d = expect("mlx5 gro fixed off", &h0, &f, BOTH, 1, NULL, 0, "rx-gro-hw");
	T_CHECK(find(d, "rx.gro_hw")->status == DMT_DOCTOR_FAIL, "gro fail");
	dmt_doctor_free(d);
	snprintf(f.driver, sizeof(f.driver), "bnxt_en");
	d = expect("bnxt gro fixed off", &h0, &f, BOTH, 1, NULL, 1, NULL);
	T_CHECK(find(d, "rx.gro_hw")->status == DMT_DOCTOR_PASS, "gro n/a");
	dmt_doctor_free(d);

	/* ---- each single blocking reason ---- */
	h = h0;
	h.netdev_ret = -DMT_ERR_NO_FAMILY;
	h.ops = h.ops_admin = 0;
	f = f0;
	f.tx_ret = f.rxprobe_ret = f.queues_ret = DMT_DOC_NOT_RUN;
	d = expect("no netdev family", &h, &f, BOTH, 0, "netdev netlink family",
		   0, "netdev netlink family");
	T_CHECK(find(d, "kernel.netdev_family")->status == DMT_DOCTOR_FAIL, "fam");
	T_CHECK(find(d, "kernel.bind_tx")->status == DMT_DOCTOR_SKIP, "skip");
	dmt_doctor_free(d);

	h = h0;
	h.ops &= ~OP(15);
	f = f0;
	f.tx_ret = DMT_DOC_NOT_RUN;
	ONE("no bind-tx op", h, f, 0, "bind-tx operation", 1, NULL);

	h = h0;
	h.ops &= ~OP(13);
	f = f0;
	f.rxprobe_ret = DMT_DOC_NOT_RUN;
	ONE("no bind-rx op", h, f, 1, NULL, 0, "bind-rx operation");

	f = f0;
	f.tx_real = false;
	f.tx_ret = -EOPNOTSUPP;
	snprintf(f.tx_extack, sizeof(f.tx_extack),
		 "Driver does not support netmem TX");
	d = expect("driver without netmem TX (probe)", &h0, &f, BOTH, 0,
		   "Driver does not support netmem TX", 1, NULL);
	T_CHECK(strstr(find(d, "tx.bind")->evidence, "driver probe, not a full "
			"bind"), "probe reported as what it is: %s",
		find(d, "tx.bind")->evidence);
	dmt_doctor_free(d);

	f = f0;
	f.tx_ret = -EINVAL;
	ONE("real bind-tx fails", h0, f, 0, "bind-tx failed", 1, NULL);

	f = f0;
	f.rings.has_tcp_data_split = false;
	f.rings.has_hds_thresh = false;
	ONE("no tcp-data-split attr", h0, f, 1, NULL, 0,
	    "header split (tcp-data-split) unsupported");

	f = f0;
	f.rings_ret = -EOPNOTSUPP;
	memset(&f.rings, 0, sizeof(f.rings));
	ONE("rings EOPNOTSUPP", h0, f, 1, NULL, 0,
	    "header split (tcp-data-split) unsupported");

	f = f0;
	f.rings.tcp_data_split = DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED;
	ONE("header split off", h0, f, 1, NULL, 0, "supported but not enabled");

	f = f0;
	f.rings.hds_thresh = 256;
	ONE("hds-thresh 256", h0, f, 1, NULL, 0, "hds-thresh is 256");

	f = f0;
	f.rxprobe_ret = -EOPNOTSUPP;
	ONE("no queue API", h0, f, 1, NULL, 0, "no queue management API");

	f = f0;
	f.xdp_attached = 1;
	f.xdp_prog_id = 42;
	ONE("xdp attached", h0, f, 1, NULL, 0, "XDP program (id 42)");

	f = f0;
	f.q_dmabuf = 4;
	f.q_xsk = 4;
	ONE("all queues busy", h0, f, 1, NULL, 0, "every RX queue");

	f = f0;
	f.ntuple_active = false;
	f.ntuple_fixed = true;
	ONE("ntuple fixed off", h0, f, 1, NULL, 0, "no ntuple flow steering");

	h = h0;
	h.cap_net_admin = false;
	f = f0;
	f.rxprobe_ret = DMT_DOC_NOT_RUN;
	d = expect("no CAP_NET_ADMIN", &h, &f, BOTH, 1, NULL, 0, "CAP_NET_ADMIN");
	T_CHECK(find(d, "priv.cap_net_admin")->status == DMT_DOCTOR_FAIL, "cap");
	T_CHECK(find(d, "priv.bind_tx")->status == DMT_DOCTOR_PASS, "tx perm");
	T_CHECK(find(d, "rx.queue_api")->status == DMT_DOCTOR_SKIP, "no probe");
	dmt_doctor_free(d);
	/* TX alone does not need the capability: a warning, ready */
	d = expect("no CAP_NET_ADMIN, TX only", &h, &f, DMT_DOCTOR_TX, 1, NULL,
		   -1, NULL);
	T_CHECK(find(d, "priv.cap_net_admin")->status == DMT_DOCTOR_WARN, "warn");
	dmt_doctor_free(d);
	/* a kernel that made bind-tx admin-only */
	h.ops_admin |= OP(15);
	ONE("bind-tx admin-only", h, f, 0, "CAP_NET_ADMIN", 0, "CAP_NET_ADMIN");

	/* the uring fallback missing only warns: devmem does not need it */
	h = h0;
	h.uring_ret = -EPERM;
	snprintf(h.uring_detail, sizeof(h.uring_detail), "io_uring unavailable");
	d = expect("no io_uring", &h, &f0, BOTH, 1, NULL, 1, NULL);
	T_CHECK(find(d, "kernel.uring_send_zc")->status == DMT_DOCTOR_WARN &&
		strstr(find(d, "kernel.uring_send_zc")->fix, "io_uring_disabled"),
		"uring warn");
	dmt_doctor_free(d);
	h.uring_ret = DMT_DOC_NOT_RUN;
	d = expect("uring not built", &h, &f0, BOTH, 1, NULL, 1, NULL);
	T_CHECK(strstr(find(d, "kernel.uring_send_zc")->fix, "liburing"), "fix");
	dmt_doctor_free(d);

	h = h0;
	h.exp[DMT_DOC_UDMABUF].state = DMT_DOC_EXP_ABSENT;
	f = f0;
	f.tx_real = false;
	f.tx_ret = -EINVAL; /* driver passed, memfd refused */
	d = expect("no exporter", &h, &f, BOTH, 0, "no dma-buf exporter", 0,
		   "no dma-buf exporter");
	T_CHECK(find(d, "exp.any")->status == DMT_DOCTOR_FAIL, "exp.any");
	T_CHECK(find(d, "tx.bind")->status == DMT_DOCTOR_PASS, "probe passes");
	dmt_doctor_free(d);

	h = h0;
	h.exp[DMT_DOC_UDMABUF].state = DMT_DOC_EXP_NO_ACCESS;
	f = f0;
	f.tx_real = false;
	f.tx_ret = -EINVAL;
	d = expect("exporter without access", &h, &f, BOTH, 0,
		   "no dma-buf exporter", 0, "no dma-buf exporter");
	T_CHECK(find(d, "priv.exporter_access")->status == DMT_DOCTOR_FAIL,
		"access");
	dmt_doctor_free(d);
	/* any one exporter is enough: CUDA with DMA_BUF_SUPPORTED */
	h.exp[DMT_DOC_CUDA].state = DMT_DOC_EXP_OK;
	f = f0;
	snprintf(f.tx_exporter, sizeof(f.tx_exporter), "cuda");
	d = expect("CUDA exporter", &h, &f, BOTH, 1, NULL, 1, NULL);
	T_CHECK(strstr(find(d, "exp.any")->evidence, "CUDA"), "names CUDA");
	dmt_doctor_free(d);

	/* ---- warnings that do not block ---- */
	f = f0;
	f.ntuple_active = false;		/* changeable: setup turns it on */
	f.rxq = 1;				/* a single queue */
	f.channels.combined = 1;
	f.rss_indir_size = 0;
	f.rules = 3;
	f.q_io_uring = 1;			/* one queue of eight taken */
	d = expect("warnings only", &h0, &f, BOTH, 1, NULL, 1, NULL);
	T_CHECK(count_status(d, DMT_DOCTOR_WARN) == 5, "%d warnings",
		count_status(d, DMT_DOCTOR_WARN));
	T_CHECK(count_status(d, DMT_DOCTOR_FAIL) == 0, "no fail");
	dmt_doctor_free(d);

	/* ---- the first reason wins ---- */
	f = f0;
	f.rings.has_tcp_data_split = false;
	f.rxprobe_ret = -EOPNOTSUPP;
	f.ntuple_active = false;
	f.ntuple_fixed = true;
	h = h0;
	h.exp[DMT_DOC_UDMABUF].state = DMT_DOC_EXP_ABSENT;
	f.tx_real = false;
	f.tx_ret = -EOPNOTSUPP;
	snprintf(f.tx_extack, sizeof(f.tx_extack),
		 "Driver does not support netmem TX");
	snprintf(f.driver, sizeof(f.driver), "virtio_net");
	/* this is the dev machine: virtio_net, no exporter */
	ONE("virtio_net host", h, f, 0, "virtio_net driver does not support "
	    "netmem TX (kernel: \"Driver does not support netmem TX\")", 0,
	    "header split (tcp-data-split) unsupported by the virtio_net driver");

	/* ---- what: only the asked verdict is judged ---- */
	d = expect("RX only", &h, &f, DMT_DOCTOR_RX, -1, NULL, 0, "header split");
	T_CHECK(!find(d, "tx.bind"), "no TX checks when RX only");
	dmt_doctor_free(d);
	d = expect("TX only", &h, &f, DMT_DOCTOR_TX, 0, "netmem TX", -1, NULL);
	T_CHECK(!find(d, "rx.header_split"), "no RX checks when TX only");
	dmt_doctor_free(d);

	/* ---- no interface: not ready ---- */
	d = dmt_doctor_evaluate(&h0, NULL, 0, BOTH);
	T_CHECK(d && dmt_doctor_iface_count(d) == 0 && !dmt_doctor_ready(d),
		"no interface must not be ready");
	T_CHECK(dmt_doctor_check_at(d, dmt_doctor_check_count(d)) == NULL,
		"out of range");
	dmt_doctor_free(d);

	/* names */
	T_CHECK(!strcmp(dmt_doctor_status_name(DMT_DOCTOR_SKIP), "skip") &&
		!strcmp(dmt_doctor_status_name(99), "?") &&
		!strcmp(dmt_doctor_group_name(DMT_DOCTOR_EXPORTERS), "exporters"),
		"names");
	/* options validation */
	{
		DMT_OPTS(dmt_doctor_opts, o, .what = 4);
		struct dmt_error e;

		T_CHECK(!dmt_doctor_run(&o, &e) && errno == EINVAL &&
			e.err == -EINVAL, "bad what accepted");
	}
	printf("doctor_verdict: ok\n");
	return T_PASS;
}
