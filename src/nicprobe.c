// SPDX-License-Identifier: MIT
/*
 * Hardware checks that need no peer: the negative cases of the kernel's
 * devmem selftests (ncdevmem's probe mode), each inside a NIC setup that
 * restores what it changed (journalled like every setup):
 *   empty queue list   bind-rx without queues is refused (EINVAL)
 *   header split off   with tcp-data-split set to auto (what ncdevmem uses
 *                      to turn it "off": fbnic refuses "disabled"), bind-rx
 *                      is refused, since the kernel checks the configured
 *                      value (EINVAL)
 *   bind               bind-rx of the last RX queue with header split on
 *                      succeeds
 *   channel shrink     removing a bound queue (ethtool -L) is refused while
 *                      bound (EINVAL)
 */
#include <net/if.h>
#include <stdio.h>

#include "buffer.h"
#include "nicsetup.h"
#include "uapi.h"

#define DET(...) snprintf(detail, detail_len, __VA_ARGS__)

static const char *name_of(int which)
{
	switch (which) {
	case DMT_NIC_CHECK_EMPTY_QUEUES:
		return "bind-rx with an empty queue list";
	case DMT_NIC_CHECK_HDS_OFF:
		return "bind-rx with header split off";
	case DMT_NIC_CHECK_BIND:
		return "bind-rx with header split on";
	case DMT_NIC_CHECK_CHANNEL_SHRINK:
		return "removing a bound queue";
	default:
		return "?";
	}
}

/* Refused with EINVAL (as the kernel must): 0; accepted: 1; refused for
 * another reason: 1 as well (the check did not see the refusal it tests). */
static int expect_einval(int ret, struct dmt_ctx *ctx, const char *what,
			 char *detail, size_t detail_len)
{
	if (ret == -EINVAL) {
		DET("refused as it must be: %s", ctx->err.message);
		return 0;
	}
	if (ret == 0) {
		DET("the kernel accepted %s; it must refuse it", what);
		return 1;
	}
	DET("refused, but with %s instead of EINVAL: %s", dmt_strerror(ret),
	    ctx->err.message);
	return 1;
}

int dmt_nic_check_ops(struct dmt_ctx *ctx, int ifindex, struct dmt_buf *buf,
		      int which, const struct dmt_nic_ops *ops, void *user,
		      const char *journal_dir, char *detail, size_t detail_len)
{
	bool bind = which == DMT_NIC_CHECK_BIND ||
		    which == DMT_NIC_CHECK_CHANNEL_SHRINK;
	DMT_OPTS(dmt_nic_setup_opts, o, .flags = DMT_NIC_F_NO_RSS |
		 DMT_NIC_F_NO_RULE | (bind ? 0 : DMT_NIC_F_NO_BIND),
		 .journal_dir = journal_dir);
	const struct dmt_nic_ops *bo;
	struct dmt_nic_setup *s;
	struct dmt_channels ch, less;
	struct dmt_error e;
	unsigned int q = 0, n = 0;
	uint32_t id = 0;
	void *u;
	int ret, res;

	if (detail && detail_len)
		detail[0] = '\0';
	if (!ctx || !buf || !detail || !detail_len || which < DMT_NIC_CHECK_EMPTY_QUEUES ||
	    which > DMT_NIC_CHECK_CHANNEL_SHRINK)
		return dmt_ret(-EINVAL);
	dmt_err_clear(&ctx->err);
	if (buf->dmabuf_fd < 0)
		return dmt_ret(dmt_err_set(&ctx->err, -DMT_ERR_NOT_DMABUF, "%s: "
			"needs a dma-buf (udmabuf, dmaheap, cuda or rocm)",
			name_of(which)));
	s = dmt_nic_setup_new_ops(ctx, ifindex, &o, ops, user, &e);
	if (!s) {
		ctx->err = e;
		return dmt_ret(e.err ? e.err : -EINVAL);
	}
	ret = dmt_nic_setup_apply(s, buf);
	if (ret < 0) {
		ctx->err = *dmt_nic_setup_last_error(s);
		dmt_nic_setup_free(s);
		return dmt_ret(ret);
	}
	u = dmt_nic_setup_backend(s, &bo);
	dmt_nic_setup_queues(s, &q, &n);
	switch (which) {
	case DMT_NIC_CHECK_EMPTY_QUEUES:
		ret = bo->bind_rx(u, ctx, ifindex, buf->dmabuf_fd, NULL, 0, &id);
		if (ret == 0)
			bo->unbind(u);
		res = expect_einval(ret, ctx, "an empty queue list", detail,
				    detail_len);
		break;
	case DMT_NIC_CHECK_HDS_OFF:
		/* "auto", not "disabled": fbnic refuses to disable it, and
		 * the kernel checks the configured value */
		ret = bo->rings_set_hds(u, ctx, ifindex,
					DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN, -1);
		if (ret < 0) {
			res = ret;
			break;
		}
		ret = bo->bind_rx(u, ctx, ifindex, buf->dmabuf_fd, &q, 1, &id);
		if (ret == 0)
			bo->unbind(u);
		res = expect_einval(ret, ctx, "header split set to auto",
				    detail, detail_len);
		break;
	case DMT_NIC_CHECK_BIND:
		DET("RX queue %u bound, binding %u", q,
		    dmt_nic_setup_binding_id(s));
		res = 0;
		break;
	default:	/* DMT_NIC_CHECK_CHANNEL_SHRINK */
		if (!bo->channels_set) {
			res = dmt_err_set(&ctx->err, -EOPNOTSUPP, "no way to set "
					  "channels");
			break;
		}
		ret = bo->channels_get(u, ctx, ifindex, &ch);
		if (ret < 0 || ch.rx + ch.combined <= q) {
			res = ret < 0 ? ret : dmt_err_set(&ctx->err, -ERANGE,
				"queue %u is not below the channel count", q);
			break;
		}
		/* one queue fewer: the bound (last) queue would go away */
		less = ch;
		if (ch.combined)
			less.combined = q - ch.rx;
		else
			less.rx = q;
		ret = bo->channels_set(u, ctx, ifindex, &less);
		res = expect_einval(ret, ctx, "a channel count without the bound "
				    "queue", detail, detail_len);
		if (ret == 0 && bo->channels_set(u, ctx, ifindex, &ch) < 0) {
			size_t l = strlen(detail);

			snprintf(detail + l, detail_len - l, "; putting the "
				 "channels back (rx %u combined %u) failed: %s",
				 ch.rx, ch.combined, ctx->err.message);
		}
		break;
	}
	{
		struct dmt_error keep = ctx->err;

		ret = dmt_nic_setup_undo(s);
		if (ret < 0 && res >= 0) {
			res = ret;
			ctx->err = *dmt_nic_setup_last_error(s);
		} else {
			ctx->err = keep;
		}
	}
	dmt_nic_setup_free(s);
	return res < 0 ? dmt_ret(res) : res;
}

DMT_EXPORT int dmt_nic_check(struct dmt_ctx *ctx, int ifindex,
			     struct dmt_buf *buf, enum dmt_nic_check which,
			     const char *journal_dir, char *detail,
			     size_t detail_len)
{
	return dmt_nic_check_ops(ctx, ifindex, buf, (int)which, &dmt_nic_ops_real,
				 NULL, journal_dir, detail, detail_len);
}
