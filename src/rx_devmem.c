// SPDX-License-Identifier: MIT
/* The devmem RX engine: recvmsg(MSG_SOCK_DEVMEM) into the listener's bound
 * dma-buf, the cmsgs parsed into fragments (rx_parse.c), tokens returned by
 * dmt_rx_release() (tokens.c). */
#include <stdio.h>
#include <stdlib.h>

#include "rx.h"

#define RX_CTRL_DEFAULT 81920u		/* ~2000 cmsgs, like ncdevmem */
#define RX_CTRL_MAX (1u << 20)
#define RX_LINEAR_DEFAULT (256u << 10)

/* Control buffers hold whole devmem cmsgs: a multiple of their size, at
 * least one (a tail that cannot hold one is never used by the kernel). */
static size_t ctrl_round(size_t n)
{
	n -= n % DMT_RX_CMSG_SPACE;
	return n ? n : DMT_RX_CMSG_SPACE;
}

static int devmem_alloc(struct dmt_rx *rx, size_t ctrl, size_t linear)
{
	rx->ctrl_size = ctrl_round(ctrl);
	rx->ctrl_max = ctrl_round(ctrl > RX_CTRL_MAX ? ctrl : RX_CTRL_MAX);
	rx->linear_size = linear;
	rx->ctrl = malloc(rx->ctrl_size);
	rx->linear = malloc(rx->linear_size);
	if (!rx->ctrl || !rx->linear)
		return dmt_err_set(&rx->err, -ENOMEM, "out of memory");
	return 0;
}

static int devmem_setup(struct dmt_rx *rx, const struct dmt_rx_opts *o)
{
	rx->binding = rx->l->binding;
	return devmem_alloc(rx, DMT_OPTS_OR(o, ctrl_size, RX_CTRL_DEFAULT),
			    DMT_OPTS_OR(o, linear_size, RX_LINEAR_DEFAULT));
}

int dmt_rx_test_force_devmem(struct dmt_rx *rx, uint32_t binding, bool autom)
{
	if (rx->eng->destroy)
		rx->eng->destroy(rx);
	rx->eng = &dmt_rx_engine_devmem;
	rx->binding = binding;
	rx->auto_engine = autom;
	snprintf(rx->reason, sizeof(rx->reason), "devmem RX binding %u (test)",
		 binding);
	return devmem_alloc(rx, RX_CTRL_DEFAULT, RX_LINEAR_DEFAULT);
}

static void devmem_destroy(struct dmt_rx *rx)
{
	free(rx->ctrl);
	free(rx->linear);
	rx->ctrl = rx->linear = NULL;
}

static uint64_t devmem_outstanding(const struct dmt_rx *rx)
{
	return rx->outstanding;
}

/* Double the devmem control buffer, up to ctrl_max. true when it grew. */
static bool ctrl_grow(struct dmt_rx *rx)
{
	size_t grow = ctrl_round(rx->ctrl_size * 2 < rx->ctrl_max ?
				 rx->ctrl_size * 2 : rx->ctrl_max);
	char *p;

	if (rx->ctrl_size >= rx->ctrl_max || !(p = realloc(rx->ctrl, grow)))
		return false;
	rx->ctrl = p;
	rx->ctrl_size = grow;
	return true;
}

/* Return the tokens of a receive that fails (the caller never sees its
 * fragments) straight to the kernel (tokens.c): the engine does not call
 * back up into dmt_rx_release, and rx->err keeps the failure. */
static void give_back(struct dmt_rx *rx, const struct dmt_frag *frags,
		      unsigned int n)
{
	struct dmt_tok_result res = { 0 };

	dmt_tokens_release(rx->fd, frags, n, rx->dontneed_fn, rx->sys_user,
			   &res);
	rx->st.dontneed_calls += res.calls;
	rx->st.tokens_released += res.freed;
	rx->outstanding -= res.freed < rx->outstanding ? res.freed :
							  rx->outstanding;
}

static ssize_t devmem_recv(struct dmt_rx *rx, struct dmt_frag *frags,
			   unsigned int max, unsigned int *nfrags)
{
	struct dmt_rx_parse_cfg cfg = {
		.binding = rx->binding,
		.base = rx->buf->dmabuf_off,
		.size = rx->buf->size,
		.dmabuf_size = rx->buf->dmabuf_size,
		.devmem_expected = !rx->auto_engine,
	};
	struct dmt_rx_parse_res res;
	uint64_t slots, acc;
	struct iovec iov;
	struct msghdr msg;
	ssize_t n;
	int ret;

	/* Every cmsg is one fragment and a dmabuf cmsg one token: the
	 * control buffer bounds both (the kernel stops at a cmsg that does
	 * not fit, with ETOOSMALL; every devmem kernel since 6.12 does). */
	slots = rx->max_outstanding - rx->outstanding;
	if (slots > max)
		slots = max;
retry:
	iov.iov_base = rx->linear;
	iov.iov_len = rx->linear_size;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = rx->ctrl;
	msg.msg_controllen = slots * DMT_RX_CMSG_SPACE < rx->ctrl_size ?
			     slots * DMT_RX_CMSG_SPACE : rx->ctrl_size;
	rx->st.recv_calls++;
	n = rx->recvmsg_fn(rx->sys_user, rx->fd, &msg,
			   MSG_SOCK_DEVMEM | (rx->nonblock ? MSG_DONTWAIT : 0));
	if (n == -DMT_ETOOSMALL) {
		rx->st.etoosmall++;
		if (msg.msg_controllen == rx->ctrl_size && ctrl_grow(rx))
			goto retry;
		return dmt_fail(&rx->err, -DMT_ETOOSMALL, "recvmsg: the %zu-byte "
			"control buffer cannot hold the next devmem cmsg "
			"(ETOOSMALL, errno 525): pass more fragment slots or a "
			"larger dmt_rx_opts.ctrl_size", (size_t)msg.msg_controllen);
	}
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR)
			return dmt_ret((int)n);
		if (n == -EFAULT)
			return dmt_fail(&rx->err, (int)n, "recvmsg(MSG_SOCK_DEVMEM): "
				"EFAULT: the linear area could not take the "
				"non-split bytes");
		return dmt_fail(&rx->err, (int)n, "recvmsg(MSG_SOCK_DEVMEM) failed: %s",
				   dmt_strerror((int)n));
	}
	if (n == 0)
		return 0;
	ret = dmt_rx_parse(&msg, (size_t)n, &cfg, frags, (unsigned int)slots,
			   &res, &rx->err);
	rx->outstanding += res.ndmabuf;
	if (rx->outstanding > rx->st.max_outstanding_seen)
		rx->st.max_outstanding_seen = rx->outstanding;
	rx->st.bytes += (uint64_t)n;
	rx->st.devmem_bytes += res.devmem_bytes;
	rx->st.linear_bytes += res.linear_bytes + res.plain_bytes;
	if (res.ctrunc)
		rx->st.ctrunc++;
	if (ret < 0) {
		give_back(rx, frags, res.nfrags);
		return dmt_ret(ret);
	}
	acc = res.linear_bytes + res.devmem_bytes;
	if (res.ndmabuf + res.nlinear && acc != (uint64_t)n) {
		give_back(rx, frags, res.nfrags);
		if (res.ctrunc) {
			ctrl_grow(rx);
			return dmt_fail(&rx->err, -EMSGSIZE, "recvmsg: MSG_CTRUNC: "
				"the kernel truncated the devmem cmsgs, %llu of %zd "
				"bytes have no fragment record and are lost; the "
				"control buffer is now %zu bytes (devmem kernels "
				"stop with ETOOSMALL instead of truncating; this "
				"kernel did not)",
				(unsigned long long)((uint64_t)n - acc), n,
				rx->ctrl_size);
		}
		return dmt_fail(&rx->err, -EPROTO, "recvmsg returned %zd bytes but "
			"its devmem cmsgs account for %llu", n,
			(unsigned long long)acc);
	}
	if (res.plain_bytes) {
		/* AUTO: the flow is not on the bound queues; hand the bytes
		 * over as linear data and say so once. */
		frags[0].off = 0;
		frags[0].len = (uint32_t)n;
		frags[0].token = 0;
		frags[0].binding = 0;
		frags[0].flags = DMT_FRAG_LINEAR;
		res.nfrags = 1;
		if (!strstr(rx->reason, "flow steering"))
			snprintf(rx->reason + strlen(rx->reason),
				 sizeof(rx->reason) - strlen(rx->reason),
				 "; flow steering: data arrives on queues without "
				 "the binding, received as linear bytes");
	}
	if (rx->no_linear && (res.linear_bytes || res.plain_bytes)) {
		give_back(rx, frags, res.nfrags);
		return dmt_fail(&rx->err, -DMT_ERR_HEADER_SPLIT, "%llu bytes landed "
			"in host memory (SCM_DEVMEM_LINEAR): header split is not "
			"working for this flow; the NIC needs tcp-data-split on "
			"and hds-thresh 0 (what dmt_rx_listen's NIC setup does "
			"unless nic_flags has DMT_NIC_F_NO_HDS)",
			(unsigned long long)(res.linear_bytes + res.plain_bytes));
	}
	*nfrags = res.nfrags;
	return n;
}

const struct dmt_rx_engine dmt_rx_engine_devmem = {
	.id = DMT_ENGINE_DEVMEM,
	.setup = devmem_setup,
	.recv = devmem_recv,
	.outstanding = devmem_outstanding,
	.destroy = devmem_destroy,
};
