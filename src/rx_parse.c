// SPDX-License-Identifier: MIT
/* Devmem RX control-message parser: SCM_DEVMEM_DMABUF / SCM_DEVMEM_LINEAR
 * into struct dmt_frag records. Pure: no allocation, no syscall. */
#include <stdio.h>

#include "rx_parse.h"

static int steering(struct dmt_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int steering(struct dmt_error *e, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return dmt_err_set(e, -DMT_ERR_FLOW_STEERING, "flow steering error: %s",
			   why);
}

int dmt_rx_parse(const struct msghdr *msg, size_t ret,
		 const struct dmt_rx_parse_cfg *cfg, struct dmt_frag *frags,
		 unsigned int max, struct dmt_rx_parse_res *res,
		 struct dmt_error *e)
{
	const size_t dlen = CMSG_LEN(sizeof(struct dmt_uapi_dmabuf_cmsg));
	uint64_t lin = cfg->linear_off;
	/* the NIC fills the whole dma-buf, not just the requested size */
	const uint64_t limit = cfg->dmabuf_size ? cfg->dmabuf_size :
			       cfg->base + cfg->size;
	struct cmsghdr *cm;
	int err = 0;

	memset(res, 0, sizeof(*res));
	res->ctrunc = msg->msg_flags & MSG_CTRUNC;
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		goto done;
	for (cm = CMSG_FIRSTHDR((struct msghdr *)msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		struct dmt_uapi_dmabuf_cmsg d;
		struct dmt_frag *f;
		size_t room = msg->msg_controllen -
			      (size_t)((const char *)cm - (const char *)msg->msg_control);

		/* The control data is hostile: a cmsg must fit in what the
		 * kernel said it wrote (msg_controllen), or nothing in it or
		 * after it can be trusted. */
		if (cm->cmsg_len < sizeof(struct cmsghdr) || cm->cmsg_len > room) {
			if (!err)
				err = dmt_err_set(e, -EPROTO, "malformed control "
					"data: a cmsg of %zu bytes at offset %zu "
					"does not fit in the %zu bytes received",
					(size_t)cm->cmsg_len,
					msg->msg_controllen - room,
					(size_t)msg->msg_controllen);
			break;
		}
		if (cm->cmsg_level != SOL_SOCKET ||
		    (cm->cmsg_type != SCM_DEVMEM_DMABUF &&
		     cm->cmsg_type != SCM_DEVMEM_LINEAR))
			continue;
		if (cm->cmsg_len < dlen) {
			if (!err)
				err = dmt_err_set(e, -EPROTO, "devmem cmsg type %d "
					"has %zu bytes, expected %zu: kernel and "
					"library disagree on struct dmabuf_cmsg",
					cm->cmsg_type, (size_t)cm->cmsg_len, dlen);
			continue;
		}
		memcpy(&d, CMSG_DATA(cm), sizeof(d));
		if (cm->cmsg_type == SCM_DEVMEM_LINEAR) {
			res->nlinear++;
			res->linear_bytes += d.frag_size;
			if (!d.frag_size)
				continue;
			if (res->nfrags >= max) {
				res->full = true;
				continue;
			}
			f = &frags[res->nfrags++];
			f->off = lin;
			f->len = d.frag_size;
			f->token = 0;
			f->binding = 0;
			f->flags = DMT_FRAG_LINEAR;
			lin += d.frag_size;
			continue;
		}
		/* SCM_DEVMEM_DMABUF: a token we must return whatever else
		 * is wrong, so record it even when we then fail. */
		res->ndmabuf++;
		res->devmem_bytes += d.frag_size;
		if (res->nfrags >= max) {
			res->full = true;
			continue;
		}
		f = &frags[res->nfrags++];
		f->off = d.frag_offset - cfg->base;
		f->len = d.frag_size;
		f->token = d.frag_token;
		f->binding = d.dmabuf_id;
		f->flags = 0;
		if (err)
			continue;
		if (d.dmabuf_id != cfg->binding) {
			err = steering(e, "a fragment of binding %u arrived, ours "
				"is %u: the flow is steered to queues bound by "
				"another process; steer the flow to this binding's "
				"queues (the flow rule of dmt_nic_setup_apply, "
				"dmt_rx_listen_opts.peer and .port) or bind those "
				"queues", d.dmabuf_id,
				cfg->binding);
		} else if (d.frag_offset < cfg->base) {
			err = steering(e, "fragment [%llu, +%u) lies before this "
				"receiver's buffer, which starts at dma-buf offset "
				"%llu: it cannot be addressed relative to the buffer; "
				"bind the dma-buf from its start",
				(unsigned long long)d.frag_offset, d.frag_size,
				(unsigned long long)cfg->base);
		} else if (d.frag_offset > limit ||
			   d.frag_size > limit - d.frag_offset) {
			err = steering(e, "fragment [%llu, +%u) lies outside the "
				"%llu-byte dma-buf: the binding uses another dma-buf "
				"than this receiver's buffer",
				(unsigned long long)d.frag_offset, d.frag_size,
				(unsigned long long)limit);
		}
	}
done:
	if (res->full && !err)
		err = dmt_err_set(e, -EOVERFLOW, "%u devmem cmsgs for %u fragment "
			"slots: the control buffer was larger than the slots "
			"(library bug)", res->ndmabuf + res->nlinear, max);
	if (!res->ndmabuf && !res->nlinear && ret > 0) {
		res->plain_bytes = ret;
		if (cfg->devmem_expected && !err)
			err = steering(e, "%zu bytes arrived without any devmem "
				"cmsg: the flow reached an RX queue that is not "
				"bound (the ntuple rule does not match it, or RSS "
				"spreads it); check the rule's addresses and "
				"ports (dmt_rx_listen_opts.peer, port)", ret);
	}
	return err;
}
