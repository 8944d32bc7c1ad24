// SPDX-License-Identifier: MIT
/* Context object and the netdev generic-netlink family: bind-tx, bind-rx,
 * dev-get, queue-get. */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ethtool.h"
#include "drivers.h"
#include "netdev.h"
#include "uapi.h"

/* ---- context ---- */

DMT_EXPORT struct dmt_ctx *dmt_ctx_new(const struct dmt_ctx_opts *opts,
				       struct dmt_error *err)
{
	struct dmt_genl_family fam;
	struct dmt_ctx *ctx;
	int ret;

	if (!DMT_OPTS_CHECK(opts, dmt_ctx_opts, err))
		return NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	ctx->log_fn = DMT_OPTS_FIELD(opts, log_fn, NULL);
	ctx->log_user = DMT_OPTS_FIELD(opts, log_user, NULL);
	ctx->log_level = DMT_OPTS_FIELD(opts, log_level, DMT_LOG_WARN);

	ret = dmt_nl_open(&ctx->netdev, NETLINK_GENERIC);
	if (ret < 0) {
		dmt_err_set(err, ret, "cannot open a generic netlink socket: %s",
			    dmt_strerror(ret));
		goto fail;
	}
	ret = dmt_genl_resolve(&ctx->netdev, DMT_NETDEV_FAMILY_NAME, &fam,
			       &ctx->err);
	if (ret < 0) {
		if (ctx->err.message[0] == '\0')
			dmt_err_set(&ctx->err, ret,
				    "cannot resolve the netdev netlink family: %s",
				    dmt_strerror(ret));
		dmt_err_copy(err, &ctx->err);
		goto fail;
	}
	ctx->netdev_ops = fam.ops;
	dmt_log(ctx, DMT_LOG_DEBUG, "netdev family id %d", fam.id);
	return ctx;
fail:
	dmt_nl_close(&ctx->netdev);
	free(ctx);
	errno = -ret;
	return NULL;
}

DMT_EXPORT void dmt_ctx_free(struct dmt_ctx *ctx)
{
	if (!ctx)
		return;
	/* Closing the netdev socket is what releases the bindings. */
	dmt_nl_close(&ctx->netdev);
	dmt_nl_close(&ctx->rtnl);
	dmt_nl_close(&ctx->ethtool);
	free(ctx);
}

DMT_EXPORT const struct dmt_error *dmt_ctx_last_error(const struct dmt_ctx *ctx)
{
	return &ctx->err;
}

DMT_EXPORT int dmt_ctx_netdev_family(const struct dmt_ctx *ctx)
{
	return ctx->netdev.family;
}

DMT_EXPORT int dmt_ctx_binding_count(const struct dmt_ctx *ctx)
{
	return ctx->nbindings;
}

int dmt_dev_rx_queues(struct dmt_ctx *ctx, int ifindex)
{
	struct dmt_channels c;
	struct dmt_queue_info q[256];
	int ret, n, rx = 0;

	ret = dmt_ethtool_channels_get(ctx, ifindex, &c);
	if (ret == 0)
		return (int)(c.rx + c.combined);
	if (ret != -EOPNOTSUPP)
		return ret;
	/* No channels knob (lo, some virtual devices): count the RX queues
	 * the netdev family reports instead. */
	n = dmt_ctx_queue_dump(ctx, ifindex, q, ARRAY_SIZE(q));
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(q); i++)
		if (q[i].type == DMT_QUEUE_RX)
			rx++;
	return rx;
}

/* ---- error translation ---- */

int dmt_explain_bind_err(struct dmt_error *e, const char *op, int ifindex,
			 int ret)
{
	char ifn[IF_NAMESIZE], name[32] = "", drv[64];
	char ext[300] = "", nics[DMT_NIC_DRIVER_LIST_LEN];
	bool tx = !strcmp(op, "bind-tx");

	dmt_ifname(ifindex, ifn);
	if (dmt_if_driver(ifindex, name, sizeof(name), NULL, 0) == 0 && name[0])
		snprintf(drv, sizeof(drv), "%s driver (%s)", ifn, name);
	else
		snprintf(drv, sizeof(drv), "%s driver", ifn);
	if (e->extack[0])
		snprintf(ext, sizeof(ext), " (kernel: \"%s\")", e->extack);
	e->err = ret;

	switch (-ret) {
	case EOPNOTSUPP:
		/* The driver lacks devmem: TX says so in the extack ("Driver
		 * does not support netmem TX", "No DMA-capable device found for
		 * netmem TX"); RX answers with no message (no queue API). Other
		 * refusals (DMA device mismatch, rx-page-size) keep the errno. */
		if (tx && (!e->extack[0] || strstr(e->extack, "netmem TX"))) {
			ret = -DMT_ERR_NO_NETMEM_TX;
			dmt_err_set(e, ret, "%s on %s failed: %s%s: the %s has "
				    "no devmem TX support; use a NIC whose driver has it "
				    "(%s) or a fallback engine (uring, zerocopy, copy)",
				    op, ifn, dmt_strerror(ret), ext, drv,
				    dmt_nic_driver_list(false, true, nics,
							sizeof(nics)));
		} else if (!tx && !e->extack[0]) {
			ret = -DMT_ERR_NO_NETMEM_RX;
			dmt_err_set(e, ret, "%s on %s failed: %s: the %s has "
				    "no queue management API for devmem RX; use a NIC "
				    "whose driver has it (%s) or the copy engine",
				    op, ifn, dmt_strerror(ret), drv,
				    dmt_nic_driver_list(true, false, nics,
							sizeof(nics)));
		} else {
			dmt_err_set(e, ret, "%s on %s failed: %s%s: the %s refused "
				    "this binding (the kernel's message says why)",
				    op, ifn, dmt_strerror(ret), ext, drv);
		}
		break;
	case EPERM:
		dmt_err_set(e, ret, "%s on %s failed: %s%s: binding RX queues needs "
			    "CAP_NET_ADMIN; run as root or grant the capability "
			    "(setcap cap_net_admin+ep)", op, ifn, dmt_strerror(ret), ext);
		break;
	case ENODEV:
		dmt_err_set(e, ret, "%s failed: %s%s: interface index %d does not "
			    "exist in this network namespace", op, dmt_strerror(ret),
			    ext, ifindex);
		break;
	case EBADF:
		dmt_err_set(e, ret, "%s on %s failed: %s%s: the dma-buf fd is not "
			    "open", op, ifn, dmt_strerror(ret), ext);
		break;
	case EINVAL:
		if (e->miss_type)
			dmt_err_set(e, ret, "%s on %s failed: %s%s: the request lacks "
				    "attribute %u (library bug, please report)", op,
				    ifn, dmt_strerror(ret), ext, e->miss_type);
		else if (strstr(e->extack, "tcp-data-split") ||
			 strstr(e->extack, "hds-thresh"))
			dmt_err_set(e, ret, "%s on %s failed: %s%s: enable header "
				    "split first (dmt_nic_setup_apply(), or "
				    "tcp-data-split on and hds-thresh 0)", op, ifn,
				    dmt_strerror(ret), ext);
		else
			dmt_err_set(e, ret, "%s on %s failed: %s%s: the fd is not a "
				    "dma-buf, a queue id is not an RX queue, or a "
				    "queue id is beyond the device's RX queues "
				    "(ethtool -l)", op, ifn, dmt_strerror(ret), ext);
		break;
	case EEXIST:
	case EBUSY:
		dmt_err_set(e, ret, "%s on %s failed: %s%s: the queue is already "
			    "used by another memory provider, AF_XDP or an XDP "
			    "program; release it (dmt_nic_setup_restore()) or pick "
			    "other queues", op, ifn, dmt_strerror(ret), ext);
		break;
	case 524:	/* ENOTSUPP, kernel-internal */
		dmt_err_set(e, ret, "%s on %s failed: %s%s: the dma-buf's exporter "
			    "refused to map it for the NIC (ENOTSUPP, errno 524); "
			    "for CUDA memory the NVIDIA driver refuses a direct PCIe "
			    "mapping between this GPU and NIC (IOMMU/ACS topology, "
			    "no peer-to-peer path): the library retries with a "
			    "plain export; otherwise place GPU and NIC under one "
			    "PCIe switch or use the staged engine", op, ifn,
			    dmt_strerror(ret), ext);
		break;
	case ERANGE:
		/* some 6.x kernels; newer ones answer EINVAL while parsing */
		dmt_err_set(e, ret, "%s on %s failed: %s%s: an attribute is out of "
			    "range (queue id beyond the device's RX queues?)", op,
			    ifn, dmt_strerror(ret), ext);
		break;
	default:
		dmt_err_set(e, ret, "%s on %s failed: %s%s", op, ifn,
			    dmt_strerror(ret), ext);
		break;
	}	return ret;
}

/* ---- bind-tx / bind-rx ---- */

int dmt_bind_rx_queue_range(struct dmt_error *e, int ifindex,
			    const uint32_t *queues, unsigned int n, int rxq)
{
	char ifn[IF_NAMESIZE];

	if (rxq <= 0 || !queues)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		if (queues[i] < (uint32_t)rxq)
			continue;
		dmt_ifname(ifindex, ifn);
		dmt_err_set(e, e->err ? e->err : -EINVAL, "bind-rx on %s failed: "
			    "%s: queue %u does not exist: %s has %d RX queue%s "
			    "(0-%d); pick a lower queue or raise the count with "
			    "ethtool -L", ifn, dmt_strerror(e->err ? e->err :
			    -EINVAL), queues[i], ifn, rxq, rxq == 1 ? "" : "s",
			    rxq - 1);
		return 1;
	}
	return 0;
}

bool dmt_ctx_has_op(const struct dmt_ctx *ctx, int cmd)
{
	return !ctx->netdev_ops || cmd >= 64 ||
	       (ctx->netdev_ops & (1ull << cmd));
}

/* The op is not in the kernel's list: the kernel, not a driver, lacks it.
 * (The kernel would answer EOPNOTSUPP too, which reads like a driver's.) */
static int kernel_lacks_op(struct dmt_ctx *ctx, bool rx)
{
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	if (rx)
		return dmt_err_set(&ctx->err, -EOPNOTSUPP, "bind-rx: this kernel "
			"(%s) has no devmem RX: its netdev family lacks the "
			"bind-rx operation (op %d); devmem RX needs Linux 6.12 or "
			"later built with CONFIG_NET_DEVMEM", u.release,
			DMT_NETDEV_CMD_BIND_RX);
	return dmt_err_set(&ctx->err, -EOPNOTSUPP, "bind-tx: this kernel (%s) "
		"has no devmem TX: its netdev family lacks the bind-tx operation "
		"(op %d); devmem TX needs Linux 6.16 or later built with "
		"CONFIG_NET_DEVMEM", u.release, DMT_NETDEV_CMD_BIND_TX);
}

int dmt_netdev_parse_bind(const struct nlmsghdr *nlh, uint32_t *id)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == DMT_NETDEV_A_DMABUF_ID) {
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -DMT_ERR_NETLINK;
			*id = mnl_attr_get_u32(a);
			return 0;
		}
	}
	return -DMT_ERR_NETLINK;
}

static int bind_cb(const struct nlmsghdr *nlh, void *data)
{
	if (dmt_netdev_parse_bind(nlh, data) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

struct nlmsghdr *dmt_netdev_build_bind(char *buf, int family, bool rx,
				       uint32_t ifindex, uint32_t fd,
				       const uint32_t *queues,
				       unsigned int nqueues)
{
	struct nlmsghdr *nlh;

	nlh = dmt_genl_req(buf, family,
			   rx ? DMT_NETDEV_CMD_BIND_RX : DMT_NETDEV_CMD_BIND_TX,
			   DMT_NETDEV_FAMILY_VERSION, 0);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_DMABUF_IFINDEX, ifindex);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_DMABUF_FD, fd);
	for (unsigned int i = 0; rx && i < nqueues; i++) {
		struct nlattr *nest =
			mnl_attr_nest_start(nlh, DMT_NETDEV_A_DMABUF_QUEUES);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_ID, queues[i]);
		mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_TYPE,
				 DMT_NETDEV_QUEUE_TYPE_RX);
		mnl_attr_nest_end(nlh, nest);
	}
	return nlh;
}

static int do_bind(struct dmt_ctx *ctx, bool rx, int ifindex, int fd,
		   const uint32_t *queues, unsigned int nqueues, uint32_t *id)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	const char *op = rx ? "bind-rx" : "bind-tx";
	struct nlmsghdr *nlh;
	uint32_t got = 0;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || fd < 0 || !id || (rx && (!queues || !nqueues))) {
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"%s: invalid argument (ifindex %d, fd %d, %u queues): "
			"ifindex must be > 0, fd open%s", op, ifindex, fd,
			nqueues, rx ? ", at least one queue" : ""));
	}
	/* A queue list beyond what fits one message is a caller error. */
	if (rx && nqueues > 1024)
		return dmt_ret(dmt_err_set(&ctx->err, -E2BIG,
			"bind-rx: %u queues is more than the 1024 supported",
			nqueues));
	if (!dmt_ctx_has_op(ctx, rx ? DMT_NETDEV_CMD_BIND_RX :
				      DMT_NETDEV_CMD_BIND_TX)) {
		kernel_lacks_op(ctx, rx);
		dmt_log(ctx, DMT_LOG_INFO, "%s", ctx->err.message);
		return dmt_ret(-EOPNOTSUPP);
	}
	nlh = dmt_netdev_build_bind(buf, ctx->netdev.family, rx,
				    (uint32_t)ifindex, (uint32_t)fd, queues,
				    nqueues);
	ret = dmt_nl_talk(&ctx->netdev, nlh, bind_cb, &got, &ctx->err);
	if (ret < 0) {
		ret = dmt_explain_bind_err(&ctx->err, op, ifindex, ret);
		if (rx && (ret == -EINVAL || ret == -ERANGE)) {
			/* An out-of-range queue id is EINVAL (ERANGE on some
			 * kernels): name it when the queue count says so. */
			struct dmt_error keep = ctx->err;
			int rxq = dmt_dev_rx_queues(ctx, ifindex);

			ctx->err = keep;
			dmt_bind_rx_queue_range(&ctx->err, ifindex, queues,
						nqueues, rxq);
		}
		dmt_log(ctx, DMT_LOG_INFO, "%s", ctx->err.message);
		return dmt_ret(ret);
	}
	if (!got)
		return dmt_ret(dmt_err_set(&ctx->err, -DMT_ERR_NETLINK,
			"%s: the kernel acknowledged but sent no binding id", op));
	*id = got;
	ctx->nbindings++;
	dmt_log(ctx, DMT_LOG_INFO, "%s ifindex %d fd %d: binding id %u", op,
		ifindex, fd, got);
	return 0;
}

DMT_EXPORT int dmt_ctx_bind_tx(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
			   uint32_t *binding_id)
{
	return do_bind(ctx, false, ifindex, dmabuf_fd, NULL, 0, binding_id);
}

int dmt_bind_rx_raw(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
		    const uint32_t *queues, unsigned int nqueues, uint32_t *id)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	uint32_t got = 0;
	int ret;

	dmt_err_clear(&ctx->err);
	if (nqueues > 1024)
		return -E2BIG;
	nlh = dmt_netdev_build_bind(buf, ctx->netdev.family, true,
				    (uint32_t)ifindex, (uint32_t)dmabuf_fd, queues,
				    nqueues);
	ret = dmt_nl_talk(&ctx->netdev, nlh, bind_cb, &got, &ctx->err);
	if (ret < 0) {
		ret = dmt_explain_bind_err(&ctx->err, "bind-rx", ifindex, ret);
		return ret;
	}
	*id = got;
	ctx->nbindings += got != 0;
	return got ? 0 : -DMT_ERR_NETLINK;
}

DMT_EXPORT int dmt_ctx_bind_rx(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
			   const uint32_t *queues, unsigned int nqueues,
			   uint32_t *binding_id)
{
	return do_bind(ctx, true, ifindex, dmabuf_fd, queues, nqueues,
		       binding_id);
}

/* ---- dev-get ---- */

int dmt_netdev_parse_dev(const struct nlmsghdr *nlh, struct dmt_dev_info *d)
{
	const struct nlattr *a;

	memset(d, 0, sizeof(*d));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		int t = mnl_attr_get_type(a);
		uint16_t plen = mnl_attr_get_payload_len(a);

		if (t == DMT_NETDEV_A_DEV_IFINDEX && plen == 4)
			d->ifindex = mnl_attr_get_u32(a);
		else if (t == DMT_NETDEV_A_DEV_XDP_ZC_MAX_SEGS && plen == 4)
			d->xdp_zc_max_segs = mnl_attr_get_u32(a);
		else if (t == DMT_NETDEV_A_DEV_XDP_FEATURES && plen == 8)
			d->xdp_features = mnl_attr_get_u64(a);
		else if (t == DMT_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES && plen == 8)
			d->xdp_rx_metadata_features = mnl_attr_get_u64(a);
		else if (t == DMT_NETDEV_A_DEV_XSK_FEATURES && plen == 8)
			d->xsk_features = mnl_attr_get_u64(a);
	}
	return d->ifindex ? 0 : -DMT_ERR_NETLINK;
}

static int dev_cb(const struct nlmsghdr *nlh, void *data)
{
	return dmt_netdev_parse_dev(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

DMT_EXPORT int dmt_ctx_dev_get(struct dmt_ctx *ctx, int ifindex,
			   struct dmt_dev_info *info)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	char ifn[IF_NAMESIZE];
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !info)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"dev-get: ifindex must be > 0"));
	nlh = dmt_genl_req(buf, ctx->netdev.family, DMT_NETDEV_CMD_DEV_GET,
			   DMT_NETDEV_FAMILY_VERSION, 0);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_DEV_IFINDEX, (uint32_t)ifindex);
	ret = dmt_nl_talk(&ctx->netdev, nlh, dev_cb, info, &ctx->err);
	if (ret < 0)
		dmt_err_set(&ctx->err, ret, "dev-get on %s: %s%s%s",
			    dmt_ifname(ifindex, ifn), dmt_strerror(ret),
			    ctx->err.extack[0] ? ": " : "", ctx->err.extack);
	return dmt_ret(ret);
}

/* ---- queue-get ---- */

int dmt_netdev_parse_queue(const struct nlmsghdr *nlh, struct dmt_queue_info *q)
{
	const struct nlattr *a;
	bool have_id = false;

	memset(q, 0, sizeof(*q));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		int t = mnl_attr_get_type(a);
		bool u32ok = mnl_attr_get_payload_len(a) == 4;

		switch (t) {
		case DMT_NETDEV_A_QUEUE_ID:
			if (!u32ok)
				return -DMT_ERR_NETLINK;
			q->id = mnl_attr_get_u32(a);
			have_id = true;
			break;
		case DMT_NETDEV_A_QUEUE_IFINDEX:
			if (u32ok)
				q->ifindex = mnl_attr_get_u32(a);
			break;
		case DMT_NETDEV_A_QUEUE_TYPE:
			if (u32ok)
				q->type = mnl_attr_get_u32(a);
			break;
		case DMT_NETDEV_A_QUEUE_NAPI_ID:
			if (u32ok) {
				q->napi_id = mnl_attr_get_u32(a);
				q->has_napi_id = 1;
			}
			break;
		case DMT_NETDEV_A_QUEUE_DMABUF:
			if (u32ok) {
				q->dmabuf = mnl_attr_get_u32(a);
				q->has_dmabuf = 1;
			}
			break;
		case DMT_NETDEV_A_QUEUE_IO_URING:
			q->has_io_uring = 1;
			break;
		case DMT_NETDEV_A_QUEUE_XSK:
			q->has_xsk = 1;
			break;
		default:
			break;
		}
	}
	return have_id ? 0 : -DMT_ERR_NETLINK;
}

struct queue_dump {
	struct dmt_queue_info *q;
	unsigned int max;
	unsigned int n;
};

static int queue_cb(const struct nlmsghdr *nlh, void *data)
{
	struct queue_dump *d = data;
	struct dmt_queue_info qi;

	if (dmt_netdev_parse_queue(nlh, &qi) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	if (d->n < d->max)
		d->q[d->n] = qi;
	d->n++;
	return MNL_CB_OK;
}

DMT_EXPORT int dmt_ctx_queue_get(struct dmt_ctx *ctx, int ifindex,
			     enum dmt_queue_type type, uint32_t id,
			     struct dmt_queue_info *info)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct queue_dump d = { .q = info, .max = 1 };
	struct nlmsghdr *nlh;
	char ifn[IF_NAMESIZE];
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0 || !info || (type != DMT_QUEUE_RX && type != DMT_QUEUE_TX))
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"queue-get: ifindex must be > 0 and type rx or tx"));
	nlh = dmt_genl_req(buf, ctx->netdev.family, DMT_NETDEV_CMD_QUEUE_GET,
			   DMT_NETDEV_FAMILY_VERSION, 0);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_ID, id);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_IFINDEX, (uint32_t)ifindex);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_TYPE, (uint32_t)type);
	ret = dmt_nl_talk(&ctx->netdev, nlh, queue_cb, &d, &ctx->err);
	if (ret < 0) {
		dmt_err_set(&ctx->err, ret, "queue-get %s queue %u on %s: %s%s",
			    type == DMT_QUEUE_RX ? "rx" : "tx", id,
			    dmt_ifname(ifindex, ifn), dmt_strerror(ret),
			    ret == -EINVAL ? " (no such queue)" : "");
		return dmt_ret(ret);
	}
	return d.n ? 0 : dmt_ret(-DMT_ERR_NETLINK);
}

DMT_EXPORT int dmt_ctx_queue_dump(struct dmt_ctx *ctx, int ifindex,
			      struct dmt_queue_info *q, unsigned int max)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct queue_dump d = { .q = q, .max = q ? max : 0 };
	struct nlmsghdr *nlh;
	char ifn[IF_NAMESIZE];
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex <= 0)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"queue dump: ifindex must be > 0"));
	nlh = dmt_genl_req(buf, ctx->netdev.family, DMT_NETDEV_CMD_QUEUE_GET,
			   DMT_NETDEV_FAMILY_VERSION, NLM_F_DUMP);
	mnl_attr_put_u32(nlh, DMT_NETDEV_A_QUEUE_IFINDEX, (uint32_t)ifindex);
	ret = dmt_nl_talk(&ctx->netdev, nlh, queue_cb, &d, &ctx->err);
	if (ret < 0) {
		dmt_err_set(&ctx->err, ret, "queue dump on %s: %s",
			    dmt_ifname(ifindex, ifn), dmt_strerror(ret));
		return dmt_ret(ret);
	}
	return (int)d.n;
}

/* ---- page-pool-get ---- */

int dmt_netdev_parse_page_pool(const struct nlmsghdr *nlh,
			       struct dmt_page_pool_info *pp)
{
	const struct nlattr *a;
	bool have_id = false;

	memset(pp, 0, sizeof(*pp));
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		uint16_t plen = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case DMT_NETDEV_A_PAGE_POOL_ID:	/* "uint": 4 or 8 bytes */
			if (plen == 8)
				pp->id = mnl_attr_get_u64(a);
			else if (plen == 4)
				pp->id = mnl_attr_get_u32(a);
			else
				return -DMT_ERR_NETLINK;
			have_id = true;
			break;
		case DMT_NETDEV_A_PAGE_POOL_IFINDEX:
			if (plen == 4)
				pp->ifindex = mnl_attr_get_u32(a);
			break;
		case DMT_NETDEV_A_PAGE_POOL_NAPI_ID:
			if (plen == 4)
				pp->napi_id = mnl_attr_get_u32(a);
			break;
		case DMT_NETDEV_A_PAGE_POOL_INFLIGHT:
			pp->inflight = plen == 8 ? mnl_attr_get_u64(a) :
				       plen == 4 ? mnl_attr_get_u32(a) : 0;
			break;
		case DMT_NETDEV_A_PAGE_POOL_INFLIGHT_MEM:
			pp->inflight_mem = plen == 8 ? mnl_attr_get_u64(a) :
					   plen == 4 ? mnl_attr_get_u32(a) : 0;
			break;
		case DMT_NETDEV_A_PAGE_POOL_DMABUF:
			if (plen == 4) {
				pp->dmabuf = mnl_attr_get_u32(a);
				pp->has_dmabuf = 1;
			}
			break;
		case DMT_NETDEV_A_PAGE_POOL_IO_URING:
			pp->has_io_uring = 1;
			break;
		default:
			break;
		}
	}
	return have_id ? 0 : -DMT_ERR_NETLINK;
}

struct pp_dump {
	struct dmt_page_pool_info *pp;
	unsigned int max;
	unsigned int n;
	uint32_t ifindex;
};

static int pp_cb(const struct nlmsghdr *nlh, void *data)
{
	struct pp_dump *d = data;
	struct dmt_page_pool_info pi;

	if (dmt_netdev_parse_page_pool(nlh, &pi) < 0) {
		errno = DMT_ERR_NETLINK;
		return MNL_CB_ERROR;
	}
	if (d->ifindex && pi.ifindex != d->ifindex)
		return MNL_CB_OK;	/* the dump has no device filter */
	if (d->n < d->max)
		d->pp[d->n] = pi;
	d->n++;
	return MNL_CB_OK;
}

DMT_EXPORT int dmt_ctx_page_pool_dump(struct dmt_ctx *ctx, int ifindex,
				  struct dmt_page_pool_info *pp,
				  unsigned int max)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct pp_dump d = { .pp = pp, .max = pp ? max : 0,
			     .ifindex = ifindex > 0 ? (uint32_t)ifindex : 0 };
	struct nlmsghdr *nlh;
	int ret;

	dmt_err_clear(&ctx->err);
	if (ifindex < 0)
		return dmt_ret(dmt_err_set(&ctx->err, -EINVAL,
			"page-pool dump: ifindex must be >= 0"));
	nlh = dmt_genl_req(buf, ctx->netdev.family, DMT_NETDEV_CMD_PAGE_POOL_GET,
			   DMT_NETDEV_FAMILY_VERSION, NLM_F_DUMP);
	ret = dmt_nl_talk(&ctx->netdev, nlh, pp_cb, &d, &ctx->err);
	if (ret < 0)
		return dmt_ret(dmt_err_set(&ctx->err, ret, "page-pool dump: %s%s",
			dmt_strerror(ret), ret == -EOPNOTSUPP ? " (this kernel has "
			"no page-pool introspection, CONFIG_PAGE_POOL)" : ""));
	return (int)d.n;
}
