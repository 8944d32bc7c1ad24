// SPDX-License-Identifier: MIT
/* TX object: engine selection, the send loop (validation, partial sends,
 * ENOBUFS), completion reaping and region tracking. */
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/utsname.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "netdev.h"
#include "gpu.h"
#include "tx.h"
#include "uapi.h"

#define DMT_REAP_BATCH 32
#define DMT_ENOBUFS_WAIT_MS 100
#define DMT_ENOBUFS_GIVEUP_MS 10000
#define DMT_FULL_GIVEUP_MS 30000
#define DMT_AUTO_COPY_MIN (512u << 10)
#define DMT_AUTO_ZC_MIN (16u << 10)
#define DMT_AUTO_VERDICT_MIN 32	/* COPIED completions in a row to switch */
#define DMT_AUTO_PROBE_EVERY 64	/* then one large send in this many stays
				 * zero-copy, to notice a path that stops
				 * copying (a packet tap that went away) */

static const char *const engine_names[DMT_ENGINE_MAX] = {
	[DMT_ENGINE_AUTO] = "auto",	    [DMT_ENGINE_DEVMEM] = "devmem",
	[DMT_ENGINE_URING] = "uring",	    [DMT_ENGINE_ZEROCOPY] = "zerocopy",
	[DMT_ENGINE_COPY] = "copy",	    [DMT_ENGINE_STAGED] = "staged",
};

DMT_EXPORT const char *dmt_engine_name(enum dmt_engine e)
{
	return (unsigned int)e < DMT_ENGINE_MAX ? engine_names[e] : "unknown";
}

DMT_EXPORT int dmt_engine_from_name(const char *name, enum dmt_engine *e)
{
	for (int i = 0; name && i < DMT_ENGINE_MAX; i++) {
		if (!strcmp(name, engine_names[i])) {
			*e = (enum dmt_engine)i;
			return 0;
		}
	}
	return dmt_ret(-EINVAL);
}

DMT_EXPORT int dmt_engine_built(enum dmt_engine e)
{
	switch (e) {
	case DMT_ENGINE_AUTO:
	case DMT_ENGINE_DEVMEM:
	case DMT_ENGINE_ZEROCOPY:
	case DMT_ENGINE_COPY:
	case DMT_ENGINE_STAGED:
		return 1;
	case DMT_ENGINE_URING:
#ifdef DMT_HAVE_LIBURING
		return 1;
#else
		return 0;
#endif
	default:
		return 0;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- shared helpers for engines ---- */

uint64_t dmt_memlock_limit(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	struct rlimit rl;

	/* The kernel skips the accounting for CAP_IPC_LOCK (in the initial
	 * user namespace: a namespaced root still meets the limit, and the
	 * send path's retries cover that case). */
	if (syscall(SYS_capget, &h, d) == 0 &&
	    (d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK)))
		return UINT64_MAX;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)rl.rlim_cur;
}

int dmt_tx_wait_fd(struct dmt_tx *tx, short events, int timeout_ms)
{
	struct pollfd p = { .fd = tx->fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dmt_neg_errno();
	return n ? p.revents : 0;
}

static inline uint64_t iov_off(const struct dmt_tx *tx, const struct iovec *v)
{
	return (uint64_t)((uintptr_t)v->iov_base - (uintptr_t)tx->iov_base_addr);
}

int dmt_tx_track(struct dmt_tx *tx, const struct iovec *iov, unsigned int n,
		 size_t bytes)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && bytes; i++, k++) {
		size_t l = iov[i].iov_len < bytes ? iov[i].iov_len : bytes;
		tx->segs[k].off = iov_off(tx, &iov[i]);
		tx->segs[k].len = l;
		bytes -= l;
	}
	if (dmt_ztrack_add(&tx->zt, tx->segs, k) < 0)
		return -ENOMEM;
	tx->st.zc_ids++;
	return 0;
}

int dmt_tx_reap_errqueue(struct dmt_tx *tx, int timeout_ms)
{
	char cbuf[128] __attribute__((aligned(8)));
	unsigned int done = 0;

	if (!dmt_ztrack_outstanding(&tx->zt))
		return 0;
	if (timeout_ms) {
		int r = dmt_tx_wait_fd(tx, 0, timeout_ms); /* POLLERR is implied */
		if (r < 0)
			return r;
	}
	for (;;) {
		struct msghdr msg = { .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		uint32_t lo, hi;
		bool copied;
		int ret;

		if (recvmsg(tx->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return dmt_neg_errno();
		}
		ret = dmt_zc_parse(&msg, &lo, &hi, &copied);
		if (ret < 0)
			return dmt_err_set(&tx->err, ret, "error queue: %s",
					   dmt_strerror(ret));
		if (ret == 0)
			continue;
		done += dmt_ztrack_complete(&tx->zt, lo, hi, copied);
	}
	return (int)done;
}

/* ---- engines ---- */

static int set_zerocopy(struct dmt_tx *tx)
{
	int one = 1;

	if (setsockopt(tx->fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) < 0) {
		int ret = dmt_neg_errno();
		snprintf(tx->reason, sizeof(tx->reason),
			 "SO_ZEROCOPY refused: %s", dmt_strerror(ret));
		return ret;
	}
	return 0;
}

static int zc_reap(struct dmt_tx *tx, int timeout_ms)
{
	return dmt_tx_reap_errqueue(tx, timeout_ms);
}

static ssize_t sendmsg_count(struct dmt_tx *tx, struct msghdr *msg, int flags)
{
	ssize_t n;

	tx->st.syscalls++;
	/* One segment and no cmsg: send() lets the kernel skip copying in
	 * the msghdr and iovec and walk a single user buffer (ITER_UBUF). */
	if (msg->msg_iovlen == 1 && !msg->msg_controllen)
		n = send(tx->fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len,
			 flags | MSG_NOSIGNAL);
	else
		n = sendmsg(tx->fd, msg, flags | MSG_NOSIGNAL);
	return n < 0 ? dmt_neg_errno() : n;
}

static int devmem_setup(struct dmt_tx *tx)
{
	return set_zerocopy(tx);
}

void dmt_devmem_cmsg_build(struct msghdr *msg, void *cbuf, uint32_t id)
{
	struct cmsghdr *cm;

	memset(cbuf, 0, DMT_DEVMEM_CMSG_SPACE);
	msg->msg_control = cbuf;
	msg->msg_controllen = DMT_DEVMEM_CMSG_SPACE;
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_DEVMEM_DMABUF;
	cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	memcpy(CMSG_DATA(cm), &id, sizeof(id));
}

static ssize_t devmem_sendv(struct dmt_tx *tx, const struct iovec *iov,
			    unsigned int n, bool dontwait)
{
	char cbuf[DMT_DEVMEM_CMSG_SPACE] __attribute__((aligned(8)));
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t ret;

	dmt_devmem_cmsg_build(&msg, cbuf, tx->binding);
	ret = sendmsg_count(tx, &msg, MSG_ZEROCOPY | (dontwait ? MSG_DONTWAIT : 0));
	if (ret > 0 && dmt_tx_track(tx, iov, n, (size_t)ret) < 0)
		return -ENOMEM;
	return ret;
}

const struct dmt_tx_engine dmt_engine_devmem = {
	.id = DMT_ENGINE_DEVMEM,
	.tracks = true,
	.setup = devmem_setup,
	.sendv = devmem_sendv,
	.reap = zc_reap,
};

static ssize_t zerocopy_sendv(struct dmt_tx *tx, const struct iovec *iov,
			      unsigned int n, bool dontwait)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t ret;

	ret = sendmsg_count(tx, &msg, MSG_ZEROCOPY | (dontwait ? MSG_DONTWAIT : 0));
	if (ret > 0 && dmt_tx_track(tx, iov, n, (size_t)ret) < 0)
		return -ENOMEM;
	return ret;
}

const struct dmt_tx_engine dmt_engine_zerocopy = {
	.id = DMT_ENGINE_ZEROCOPY,
	.tracks = true,
	.setup = set_zerocopy,
	.sendv = zerocopy_sendv,
	.reap = zc_reap,
};

static int copy_setup(struct dmt_tx *tx)
{
	(void)tx;
	return 0;
}

static ssize_t copy_sendv(struct dmt_tx *tx, const struct iovec *iov,
			  unsigned int n, bool dontwait)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };

	return sendmsg_count(tx, &msg, dontwait ? MSG_DONTWAIT : 0);
}

static int copy_reap(struct dmt_tx *tx, int timeout_ms)
{
	(void)tx;
	(void)timeout_ms;
	return 0;
}

const struct dmt_tx_engine dmt_engine_copy = {
	.id = DMT_ENGINE_COPY,
	.tracks = false,
	.setup = copy_setup,
	.sendv = copy_sendv,
	.reap = copy_reap,
};

/* ---- creation ---- */

/* Scratch iovec/segment arrays grow to the largest send seen (at most
 * max_iov), so a sender of single segments keeps them small and the send
 * path allocates nothing after warm-up. */
int dmt_tx_scratch(struct dmt_tx *tx, unsigned int n)
{
	struct iovec *iov;
	struct dmt_seg *segs;

	if (n <= tx->scratch_cap)
		return 0;
	if (n > tx->max_iov)
		n = tx->max_iov;
	iov = realloc(tx->iov, n * sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	tx->iov = iov;
	segs = realloc(tx->segs, n * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	tx->segs = segs;
	tx->scratch_cap = n;
	return 0;
}

static struct dmt_tx *tx_alloc(struct dmt_ctx *ctx, struct dmt_buf *buf,
			       const struct dmt_tx_opts *opts,
			       struct dmt_error *err)
{
	struct dmt_tx *tx;
	unsigned int max_iov;

	if (!buf) {
		dmt_err_set(err, -EINVAL, "tx: buf is required");
		errno = EINVAL;
		return NULL;
	}
	if (!DMT_OPTS_CHECK(opts, dmt_tx_opts, err))
		return NULL;
	max_iov = DMT_OPTS_OR(opts, max_iov, DMT_MAX_IOV);
	if (DMT_OPTS_HAS(opts, max_outstanding) && opts->max_outstanding &&
	    (opts->max_outstanding < 16 || opts->max_outstanding > 65536)) {
		dmt_err_set(err, -EINVAL, "max_outstanding %u: give 16..65536 "
			    "sends", opts->max_outstanding);
		errno = EINVAL;
		return NULL;
	}
	if (max_iov > DMT_MAX_IOV) {
		dmt_err_set(err, -EINVAL, "max_iov %u is above the kernel limit "
			    "of %d iovecs per sendmsg", max_iov, DMT_MAX_IOV);
		errno = EINVAL;
		return NULL;
	}
	tx = calloc(1, sizeof(*tx));
	if (!tx) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	tx->ctx = ctx;
	tx->buf = buf;
	tx->fd = -1;
	tx->max_iov = max_iov;
	tx->nonblock = DMT_OPTS_FIELD(opts, nonblock, 0);
	tx->reap_batch = DMT_REAP_BATCH;
	tx->memlock = dmt_memlock_limit();
	tx->enobufs_giveup_ms = DMT_ENOBUFS_GIVEUP_MS;
	tx->max_outstanding = DMT_OPTS_OR(opts, max_outstanding, 512);
	/* 0: the default; DMT_TX_NEVER: never (internally 0) */
	tx->auto_copy_min = DMT_OPTS_OR(opts, auto_copy_min, DMT_AUTO_COPY_MIN);
	if (tx->auto_copy_min == DMT_TX_NEVER)
		tx->auto_copy_min = 0;
	tx->auto_zc_min = DMT_OPTS_OR(opts, auto_zc_min, DMT_AUTO_ZC_MIN);
	if (tx->auto_zc_min == DMT_TX_NEVER)
		tx->auto_zc_min = 0;
	if (dmt_tx_scratch(tx, 4) < 0) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		dmt_tx_free(tx);
		errno = ENOMEM;
		return NULL;
	}
	tx->st.sz = sizeof(tx->st);
	return tx;
}

static void add_reason(struct dmt_tx *tx, char *why, size_t whylen,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_reason(struct dmt_tx *tx, char *why, size_t whylen,
		       const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	(void)tx;
	if (used && used + 2 < whylen) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, whylen - used, fmt, ap);
	va_end(ap);
}

/* What devmem needs before any kernel call: a context and a dma-buf. */
static int devmem_prereqs(struct dmt_tx *tx, char *why, size_t whylen)
{
	if (!tx->ctx) {
		/* the caller has no context: a kernel without the netdev
		 * family (before 6.12), where dmt_ctx_new() fails */
		add_reason(tx, why, whylen, "no devmem context (no netdev "
			   "netlink family: devmem needs Linux 6.12 for RX, 6.16 "
			   "for TX)");
		return dmt_err_set(&tx->err, -DMT_ERR_NO_FAMILY, "devmem engine: "
			"no context was given (dmt_ctx_new() fails on kernels "
			"without the netdev family, before 6.12)");
	}
	if (tx->buf->dmabuf_fd < 0) {
		add_reason(tx, why, whylen, "%s buffer has no dma-buf (devmem "
			   "needs udmabuf, a DMA heap or GPU memory)",
			   dmt_buf_kind_name(tx->buf->kind));
		return dmt_err_set(&tx->err, -DMT_ERR_NOT_DMABUF,
			"devmem engine: the %s buffer is not a dma-buf; allocate "
			"it with udmabuf, dmaheap, cuda or rocm",
			dmt_buf_kind_name(tx->buf->kind));
	}
	return 0;
}

/* The binding's device: the one named, else the route's to dst. */
static int devmem_device(struct dmt_tx *tx, const struct sockaddr *dst,
			 socklen_t dstlen, const char *ifname, char *why,
			 size_t whylen)
{
	int ret;

	if (ifname && ifname[0]) {
		tx->ifindex = (int)if_nametoindex(ifname);
		if (!tx->ifindex) {
			add_reason(tx, why, whylen, "no interface %s", ifname);
			return dmt_err_set(&tx->err, -ENODEV,
				"interface %s does not exist", ifname);
		}
		return 0;
	}
	ret = dmt_ctx_route_egress(tx->ctx, dst, dstlen, &tx->ifindex);
	if (ret < 0) {
		dmt_err_copy(&tx->err, &tx->ctx->err);
		add_reason(tx, why, whylen, "%s", tx->ctx->err.message);
	}
	return ret;
}

/* The kernel's only check is that the socket's route leaves through the
 * binding's device (dst_dev != binding->dev). A socket bound to the named
 * device (SO_BINDTODEVICE) routes through it whatever the main table says,
 * so the route check applies only to a socket that is not bound to it.
 * Binds the socket to a named device when asked (bind_dev); true when the
 * socket is bound to it. */
static bool devmem_pin_socket(struct dmt_tx *tx, const char *ifname,
			      const char *ifn, bool bind_dev)
{
	int bi = 0;
	socklen_t bl = sizeof(bi);

	if (!ifname || !ifname[0])
		return false;
	if (!bind_dev)	/* a socket handed over: already bound to the device? */
		return getsockopt(tx->fd, SOL_SOCKET, SO_BINDTOIFINDEX, &bi,
				  &bl) == 0 && bi == tx->ifindex;
	if (setsockopt(tx->fd, SOL_SOCKET, SO_BINDTODEVICE, ifn,
		       (socklen_t)strlen(ifn) + 1) == 0)
		return true;
	dmt_log(tx->ctx, DMT_LOG_WARN, "SO_BINDTODEVICE %s: %s (continuing;"
		" the route check applies)", ifn, strerror(errno));
	return false;
}

/* A socket not pinned to the named device must route to dst through it. */
static int devmem_route_check(struct dmt_tx *tx, const struct sockaddr *dst,
			      socklen_t dstlen, const char *ifn, char *why,
			      size_t whylen)
{
	char o[IF_NAMESIZE];
	int oif = 0;

	if (dmt_ctx_route_egress(tx->ctx, dst, dstlen, &oif) != 0 ||
	    oif == tx->ifindex)
		return 0;
	add_reason(tx, why, whylen, "route leaves via %s, not %s",
		   dmt_ifname(oif, o), ifn);
	return dmt_err_set(&tx->err, -DMT_ERR_ROUTE_MISMATCH,
		"the route to the peer leaves through %s but the binding would "
		"be on %s; the kernel refuses such devmem sends (ENODEV): fix "
		"the route or name %s", o, ifn, o);
}

/* bind-tx of the buffer's dma-buf on tx->ifindex (a CUDA buffer retried
 * with a plain export); on failure the reason names the blocker. */
static int devmem_bind(struct dmt_tx *tx, const char *ifn, char *why,
		       size_t whylen)
{
	int ret;

	ret = dmt_ctx_bind_tx(tx->ctx, tx->ifindex, tx->buf->dmabuf_fd, &tx->binding);
	if (ret == -DMT_ENOTSUPP &&
	    dmt_cuda_reexport_plain(tx->buf, &tx->err) > 0) {
		dmt_log(tx->ctx, DMT_LOG_INFO, "%s: bind-tx refused the CUDA "
			"dma-buf's PCIe mapping (ENOTSUPP); retrying with a plain "
			"export", ifn);
		ret = dmt_ctx_bind_tx(tx->ctx, tx->ifindex, tx->buf->dmabuf_fd,
				  &tx->binding);
	}
	if (ret >= 0)
		return ret;
	dmt_err_copy(&tx->err, &tx->ctx->err);
	if (!dmt_ctx_has_op(tx->ctx, DMT_NETDEV_CMD_BIND_TX)) {
		/* the kernel lacks the op: no driver is to blame */
		struct utsname u;

		if (uname(&u) < 0)
			snprintf(u.release, sizeof(u.release), "?");
		add_reason(tx, why, whylen, "kernel %s has no devmem TX (no "
			   "bind-tx operation; devmem TX needs Linux 6.16)",
			   u.release);
	} else if (ret == -DMT_ERR_NO_NETMEM_TX) {
		add_reason(tx, why, whylen, "%s: driver does not support "
			   "netmem TX%s%s%s", ifn,
			   tx->err.extack[0] ? " (kernel: \"" : "",
			   tx->err.extack, tx->err.extack[0] ? "\")" : "");
	} else {
		add_reason(tx, why, whylen, "%s: bind-tx failed: %s", ifn,
			   dmt_strerror(ret));
	}
	return ret;
}

/* Try the devmem engine. Returns 0 when it is set up, else -errno with
 * a one-line reason in why and the full explanation in tx->err. */
static int try_devmem(struct dmt_tx *tx, const struct sockaddr *dst,
		      socklen_t dstlen, const char *ifname, bool bind_dev,
		      char *why, size_t whylen)
{
	bool named = ifname && ifname[0], pinned;
	char ifn[IF_NAMESIZE];
	int ret;

	ret = devmem_prereqs(tx, why, whylen);
	if (ret == 0)
		ret = devmem_device(tx, dst, dstlen, ifname, why, whylen);
	if (ret < 0)
		return ret;
	dmt_ifname(tx->ifindex, ifn);
	pinned = devmem_pin_socket(tx, ifname, ifn, bind_dev);
	if (named && dst && !pinned) {
		ret = devmem_route_check(tx, dst, dstlen, ifn, why, whylen);
		if (ret < 0)
			return ret;
	}
	ret = devmem_bind(tx, ifn, why, whylen);
	if (ret < 0) {
		if (pinned && bind_dev)	/* fallbacks route freely */
			setsockopt(tx->fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0);
		return ret;
	}
	/* a device found by the route: pin the socket to it now */
	if (bind_dev && !pinned && !named &&
	    setsockopt(tx->fd, SOL_SOCKET, SO_BINDTODEVICE, ifn,
		       (socklen_t)strlen(ifn) + 1) < 0)
		dmt_log(tx->ctx, DMT_LOG_WARN, "SO_BINDTODEVICE %s: %s (continuing;"
			" the route check still applies)", ifn, strerror(errno));
	tx->eng = &dmt_engine_devmem;
	ret = tx->eng->setup(tx);
	if (ret < 0) {
		add_reason(tx, why, whylen, "%s", tx->reason);
		tx->eng = NULL;
		return ret;
	}
	return 0;
}

static bool is_tcp(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_TCP;
}

/* What AUTO does besides its engine (engine_for()), for the reason line. */
static const char *auto_note(const struct dmt_tx *tx)
{
	bool small = tx->auto_zc_min > 1, large = tx->auto_copy_min != 0;
	/* (auto_zc_min 1 is "never" too: every send has at least one byte) */

	if (small && large)
		return " (plain send() for small sends and, if the kernel copies "
		       "on this path, large ones)";
	if (small)
		return " (plain send() for small sends)";
	if (large)
		return " (plain send() for large sends if the kernel copies on "
		       "this path)";
	return "";
}

/* GPU memory without devmem (or staged asked for): copy through host
 * bounce buffers. why: what devmem said. */
static int pick_staged(struct dmt_tx *tx, enum dmt_engine want,
		       const char *why)
{
	int ret;

	tx->auto_copy_min = tx->auto_zc_min = 0;
	tx->eng = &dmt_engine_staged;
	tx->reason[0] = '\0';
	ret = tx->eng->setup(tx);
	if (ret < 0) {
		tx->eng = NULL;
		return dmt_err_set(&tx->err, ret, "engine staged cannot be "
				   "used: %s", tx->reason);
	}
	if (want == DMT_ENGINE_AUTO)
		snprintf(tx->reason, sizeof(tx->reason), "%s buffer: devmem "
			 "unavailable (%.180s); staging through host memory",
			 dmt_buf_kind_name(tx->buf->kind), why);
	else
		snprintf(tx->reason, sizeof(tx->reason), "staged requested");
	return 0;
}

/* The engines for CPU-mapped memory, best first: the one asked for, or
 * (AUTO) the first that sets up, each refusal added to why (the reason
 * so far, sizeof(tx->reason) bytes). */
static int pick_fallback(struct dmt_tx *tx, enum dmt_engine want,
			 bool pinnable, char *why)
{
	static const struct dmt_tx_engine *const fallbacks[] = {
#ifdef DMT_HAVE_LIBURING
		&dmt_engine_uring,
#endif
		&dmt_engine_zerocopy,
		&dmt_engine_copy,
	};
	const size_t whylen = sizeof(tx->reason);
	int ret;

	for (unsigned int i = 0; i < ARRAY_SIZE(fallbacks); i++) {
		const struct dmt_tx_engine *e = fallbacks[i];

		if (want != DMT_ENGINE_AUTO && want != e->id)
			continue;
		if (want == DMT_ENGINE_AUTO && e->tracks &&
		    tx->memlock < DMT_ZC_MEMLOCK_MIN)
			continue;
		if (e->tracks && !pinnable) {
			if (want == DMT_ENGINE_AUTO)
				continue;
			snprintf(tx->reason, sizeof(tx->reason), "%s memory "
				 "cannot be pinned", dmt_buf_kind_name(tx->buf->kind));
			return dmt_err_set(&tx->err, -DMT_ERR_ENGINE, "engine %s "
				"cannot be used: the %s buffer's memory cannot be "
				"pinned (a PFN mapping: MSG_ZEROCOPY and io_uring "
				"sends fail with EFAULT); use the copy engine, or auto",
				dmt_engine_name(e->id),
				dmt_buf_kind_name(tx->buf->kind));
		}
		tx->eng = e;
		tx->reason[0] = '\0';
		/* Zero-copy completions exist only for TCP (and UDP); on other
		 * sockets (AF_UNIX) a zero-copy engine would fail at send time. */
		if (e->tracks && !is_tcp(tx->fd)) {
			snprintf(tx->reason, sizeof(tx->reason),
				 "not a TCP socket");
			ret = -EOPNOTSUPP;
		} else {
			ret = e->setup(tx);
		}
		if (ret == 0) {
			if (want != DMT_ENGINE_AUTO || !e->tracks) {
				tx->auto_copy_min = 0;
				tx->auto_zc_min = 0;
			}
			if (want == DMT_ENGINE_AUTO)
				add_reason(tx, why, whylen, "using %s%s",
					   dmt_engine_name(e->id), auto_note(tx));
			else
				snprintf(why, whylen, "%s requested",
					 dmt_engine_name(e->id));
			snprintf(tx->reason, sizeof(tx->reason), "%s", why);
			return 0;
		}
		add_reason(tx, why, whylen, "%s: %s", dmt_engine_name(e->id),
			   tx->reason[0] ? tx->reason : dmt_strerror(ret));
		if (e->destroy)
			e->destroy(tx);
		tx->eng = NULL;
		if (want != DMT_ENGINE_AUTO) {
			snprintf(tx->reason, sizeof(tx->reason), "%s", why);
			return dmt_err_set(&tx->err, ret, "engine %s cannot be used: %s",
					   dmt_engine_name(e->id), why);
		}
	}
	return dmt_err_set(&tx->err, -DMT_ERR_ENGINE, "no engine usable: %s", why);
}

static int pick_engine(struct dmt_tx *tx, enum dmt_engine want,
		       const struct sockaddr *dst, socklen_t dstlen,
		       const char *ifname, bool bind_dev)
{
	char why[sizeof(tx->reason)] = "";
	bool pinnable;
	int ret;

	if ((unsigned int)want >= DMT_ENGINE_MAX)
		return dmt_err_set(&tx->err, -EINVAL, "unknown engine %d", want);
	if (!dmt_engine_built(want))
		return dmt_err_set(&tx->err, -DMT_ERR_ENGINE,
			"engine %s is not built into this library%s",
			dmt_engine_name(want), want == DMT_ENGINE_URING ?
			" (liburing was missing at build time)" : "");

	if (want == DMT_ENGINE_AUTO || want == DMT_ENGINE_DEVMEM) {
		ret = try_devmem(tx, dst, dstlen, ifname, bind_dev, why, sizeof(why));
		if (ret == 0) {
			tx->auto_copy_min = tx->auto_zc_min = 0;
			snprintf(tx->reason, sizeof(tx->reason), "%s: devmem TX "
				 "binding %u", dmt_ifname(tx->ifindex, (char[IF_NAMESIZE]){0}),
				 tx->binding);
			return 0;
		}
		if (want == DMT_ENGINE_DEVMEM) {
			snprintf(tx->reason, sizeof(tx->reason), "%s", why);
			return ret;
		}
	}
	if (want == DMT_ENGINE_STAGED ||
	    (want == DMT_ENGINE_AUTO && !tx->buf->map))
		return pick_staged(tx, want, why);
	if (!tx->buf->map)
		return dmt_err_set(&tx->err, -DMT_ERR_ENGINE,
			"the %s buffer has no CPU mapping, so only devmem or the "
			"staged engine can send from it%s%s",
			dmt_buf_kind_name(tx->buf->kind), why[0] ? ": " : "", why);
	tx->want_auto = want == DMT_ENGINE_AUTO;
	/* Zero-copy sends pin their pages against RLIMIT_MEMLOCK until the
	 * peer ACKs them: under a small limit they would stall on every
	 * send, so AUTO copies instead and says why. */
	if (want == DMT_ENGINE_AUTO && tx->memlock < DMT_ZC_MEMLOCK_MIN)
		add_reason(tx, why, sizeof(why), "zero-copy skipped: the "
			   "locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) is "
			   "%llu KiB, below the %llu KiB zero-copy sends need to "
			   "pin their pages: raise it or grant CAP_IPC_LOCK",
			   (unsigned long long)tx->memlock >> 10,
			   DMT_ZC_MEMLOCK_MIN >> 10);
	/* Zero-copy engines pin the pages they send; dma-buf mappings that
	 * are PFN maps cannot be pinned, and every such send fails (EFAULT). */
	pinnable = dmt_buf_pinnable(tx->buf);
	if (!pinnable && want == DMT_ENGINE_AUTO)
		add_reason(tx, why, sizeof(why), "%s memory cannot be pinned for "
			   "zero-copy sends (a PFN mapping: MSG_ZEROCOPY and "
			   "io_uring fail with EFAULT)",
			   dmt_buf_kind_name(tx->buf->kind));
	return pick_fallback(tx, want, pinnable, why);
}

static struct dmt_tx *tx_fail(struct dmt_tx *tx, int ret, struct dmt_error *err)
{
	dmt_err_copy(err, &tx->err);
	if (err && !err->message[0])
		dmt_err_set(err, ret, "tx: %s", dmt_strerror(ret));
	dmt_tx_free(tx);
	errno = ret < 0 ? -ret : EIO;
	return NULL;
}

static int tx_ready(struct dmt_tx *tx)
{
	/* Engines with completions get a tracker of fixed capacity: the send
	 * path waits for completions rather than grow it (segments: one full
	 * sendmsg always fits). */
	if (tx->eng->tracks &&
	    dmt_ztrack_init(&tx->zt, tx->max_outstanding, tx->max_iov) < 0)
		return dmt_err_set(&tx->err, -ENOMEM, "out of memory");
	/* devmem iov_base carries offsets into the dma-buf; the CPU engines
	 * carry pointers into the mapping. */
	/* Pinned pages count against RLIMIT_MEMLOCK (per user, for all its
	 * processes): each send costs its pages plus 2, so keep one send
	 * within half the limit, room for two in flight. */
	if ((tx->eng->id == DMT_ENGINE_URING ||
	     tx->eng->id == DMT_ENGINE_ZEROCOPY) && tx->memlock != UINT64_MAX) {
		uint64_t pg = dmt_page_size(), pages = tx->memlock / pg;

		tx->zc_cap = pages / 2 > 3 ? (pages / 2 - 2) * pg : pg;
		tx->zc_cap_max = tx->zc_cap;
	}
	tx->iov_base_addr = tx->eng->id == DMT_ENGINE_DEVMEM ?
		(uintptr_t)tx->buf->dmabuf_off :
		tx->eng->id == DMT_ENGINE_STAGED ? 0 : (uintptr_t)tx->buf->map;
	dmt_log(tx->ctx, DMT_LOG_INFO, "tx engine %s: %s",
		dmt_engine_name(tx->eng->id), tx->reason);
	return 0;
}

/*
 * connect(), bounded by timeout_ms when > 0: non-blocking connect, poll for
 * the handshake (a signal does not end the wait early), then blocking
 * again. 0 or -errno; -ETIMEDOUT when the deadline passed.
 */
static int connect_bounded(int fd, const struct sockaddr *dst,
			   socklen_t dstlen, int timeout_ms)
{
	uint64_t deadline;
	int fl, ret, e = 0;
	socklen_t el = sizeof(e);

	if (timeout_ms <= 0) {
		while ((ret = connect(fd, dst, dstlen)) < 0 && errno == EINTR)
			;
		return ret < 0 ? -errno : 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	deadline = now_ms() + (uint64_t)timeout_ms;
	ret = connect(fd, dst, dstlen) < 0 ? -errno : 0;
	while (ret == -EINPROGRESS || ret == -EINTR) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			continue;	/* the deadline check ends it */
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			ret = -errno;
		else
			ret = e ? -e : 0;
	}
	if (fcntl(fd, F_SETFL, fl) < 0 && !ret)
		ret = -errno;
	return ret;
}

DMT_EXPORT struct dmt_tx *dmt_tx_connect(struct dmt_ctx *ctx,
					 struct dmt_buf *buf,
					 const struct sockaddr *dst,
					 socklen_t dstlen,
					 const struct sockaddr *src,
					 socklen_t srclen,
					 const struct dmt_tx_opts *opts,
					 struct dmt_error *err)
{
	struct dmt_tx *tx;
	int ret, one = 1;

	dmt_err_clear(err);
	if (!dst || (dst->sa_family != AF_INET && dst->sa_family != AF_INET6)) {
		dmt_err_set(err, -EINVAL, "tx: destination must be IPv4 or IPv6");
		errno = EINVAL;
		return NULL;
	}
	tx = tx_alloc(ctx, buf, opts, err);
	if (!tx)
		return NULL;
	tx->fd = socket(dst->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tx->fd < 0) {
		ret = dmt_neg_errno();
		dmt_err_set(&tx->err, ret, "socket: %s", dmt_strerror(ret));
		return tx_fail(tx, ret, err);
	}
	tx->own_fd = true;
	setsockopt(tx->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ret = pick_engine(tx, DMT_OPTS_FIELD(opts, engine, DMT_ENGINE_AUTO), dst,
			  dstlen, DMT_OPTS_FIELD(opts, ifname, NULL), true);
	if (ret < 0)
		return tx_fail(tx, ret, err);
	if (src && bind(tx->fd, src, srclen) < 0) {
		ret = dmt_neg_errno();
		dmt_err_set(&tx->err, ret, "bind to the client address failed: %s",
			    dmt_strerror(ret));
		return tx_fail(tx, ret, err);
	}
	ret = connect_bounded(tx->fd, dst, dstlen,
			      DMT_OPTS_FIELD(opts, connect_timeout_ms, 0));
	if (ret == -ETIMEDOUT && DMT_OPTS_FIELD(opts, connect_timeout_ms, 0) > 0) {
		dmt_err_set(&tx->err, ret, "connect failed: no answer from the "
			    "server within %d ms: is the address right and the "
			    "host up?", DMT_OPTS_FIELD(opts, connect_timeout_ms, 0));
		return tx_fail(tx, ret, err);
	}
	if (ret < 0) {
		errno = -ret;
		ret = dmt_neg_errno();
		dmt_err_set(&tx->err, ret, "connect failed: %s%s", dmt_strerror(ret),
			    ret == -ECONNREFUSED ? ": is the server listening?" : "");
		return tx_fail(tx, ret, err);
	}
	ret = tx_ready(tx);
	if (ret < 0)
		return tx_fail(tx, ret, err);
	return tx;
}

DMT_EXPORT struct dmt_tx *dmt_tx_from_fd(struct dmt_ctx *ctx,
					 struct dmt_buf *buf, int fd,
					 const struct dmt_tx_opts *opts,
					 struct dmt_error *err)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct dmt_tx *tx;
	int ret;

	dmt_err_clear(err);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) {
		ret = dmt_neg_errno();
		dmt_err_set(err, ret, "tx: fd %d is not a connected socket: %s", fd,
			    dmt_strerror(ret));
		return NULL;
	}
	tx = tx_alloc(ctx, buf, opts, err);
	if (!tx)
		return NULL;
	tx->fd = fd;
	ret = pick_engine(tx, DMT_OPTS_FIELD(opts, engine, DMT_ENGINE_AUTO),
			  (struct sockaddr *)&peer, plen,
			  DMT_OPTS_FIELD(opts, ifname, NULL), false);
	if (ret < 0)
		return tx_fail(tx, ret, err);
	ret = tx_ready(tx);
	if (ret < 0)
		return tx_fail(tx, ret, err);
	return tx;
}

DMT_EXPORT int dmt_tx_set_buf(struct dmt_tx *tx, struct dmt_buf *buf,
			      uint32_t binding_id)
{
	int ret;

	if (!tx || !buf)
		return dmt_ret(-EINVAL);
	if (!tx->eng)
		return dmt_ret(dmt_err_set(&tx->err, -EINVAL, "tx has no engine"));
	if (tx->eng->tracks && dmt_ztrack_outstanding(&tx->zt))
		return dmt_ret(dmt_err_set(&tx->err, -EBUSY, "%u sends still outstanding "
				   "on the old buffer: reap their completions "
				   "(dmt_tx_reap) before changing buffers",
				   dmt_ztrack_outstanding(&tx->zt)));
	switch (tx->eng->id) {
	case DMT_ENGINE_DEVMEM:
		if (buf->dmabuf_fd < 0)
			return dmt_ret(dmt_err_set(&tx->err, -DMT_ERR_NOT_DMABUF,
					   "the devmem engine sends from a dma-buf; "
					   "a %s buffer has none",
					   dmt_buf_kind_name(buf->kind)));
		if (!binding_id)
			return dmt_ret(dmt_err_set(&tx->err, -EINVAL, "devmem: give the "
					   "bind-tx id of the new buffer's dma-buf "
					   "(dmt_ctx_bind_tx on the tx's device)"));
		break;
	case DMT_ENGINE_STAGED:
		return dmt_ret(dmt_err_set(&tx->err, -EOPNOTSUPP, "the staged engine "
				   "keeps its buffer: create a new tx"));
	default:
		if (!buf->map)
			return dmt_ret(dmt_err_set(&tx->err, -EINVAL, "engine %s sends from "
					   "the CPU mapping; this %s buffer has none",
					   dmt_engine_name(tx->eng->id),
					   dmt_buf_kind_name(buf->kind)));
		if (binding_id)
			return dmt_ret(dmt_err_set(&tx->err, -EINVAL, "binding_id is for "
					   "the devmem engine only; give 0"));
		break;
	}
	if (tx->eng->set_buf) {
		ret = tx->eng->set_buf(tx, buf);
		if (ret < 0)
			return dmt_ret(dmt_err_set(&tx->err, ret, "engine %s: %s",
					   dmt_engine_name(tx->eng->id),
					   dmt_strerror(ret)));
	}
	tx->buf = buf;
	if (tx->eng->id == DMT_ENGINE_DEVMEM) {
		tx->binding = binding_id;
		tx->iov_base_addr = (uintptr_t)buf->dmabuf_off;
	} else {
		tx->iov_base_addr = (uintptr_t)buf->map;
	}
	return 0;
}

DMT_EXPORT void dmt_tx_free(struct dmt_tx *tx)
{
	if (!tx)
		return;
	if (tx->eng && tx->eng->destroy)
		tx->eng->destroy(tx);
	if (tx->own_fd && tx->fd >= 0)
		close(tx->fd);
	dmt_ztrack_fini(&tx->zt);
	free(tx->iov);
	free(tx->segs);
	free(tx);
}

DMT_EXPORT int dmt_tx_fd(const struct dmt_tx *tx)
{
	return tx->fd;
}

DMT_EXPORT enum dmt_engine dmt_tx_engine(const struct dmt_tx *tx)
{
	return tx->eng ? tx->eng->id : DMT_ENGINE_AUTO;
}

DMT_EXPORT const char *dmt_tx_engine_reason(const struct dmt_tx *tx)
{
	return tx->reason;
}

DMT_EXPORT const struct dmt_error *dmt_tx_last_error(const struct dmt_tx *tx)
{
	return &tx->err;
}

/* ---- sending ---- */

static int explain_send_err(struct dmt_tx *tx, const struct dmt_tx_engine *eng,
			    int ret)
{
	char ifn[IF_NAMESIZE];

	if (eng->id == DMT_ENGINE_DEVMEM) {
		dmt_ifname(tx->ifindex, ifn);
		switch (-ret) {
		case EINVAL:
			return dmt_err_set(&tx->err, ret, "devmem send refused "
				"(EINVAL): binding %u is unknown or was released "
				"(its context closed), or zerocopy is not enabled "
				"on the socket", tx->binding);
		case ENODEV:
			return dmt_err_set(&tx->err, ret, "devmem send refused "
				"(ENODEV): the route to the peer no longer leaves "
				"through %s, the bound device", ifn);
		case EFAULT:
			return dmt_err_set(&tx->err, ret, "devmem send refused "
				"(EFAULT): an offset lies beyond the dma-buf");
		default:
			break;
		}
	}
	return dmt_err_set(&tx->err, ret, "%s send failed: %s%s",
			   dmt_engine_name(eng->id), dmt_strerror(ret),
			   ret == -EPIPE || ret == -ECONNRESET ?
			   ": the peer closed the connection" : "");
}

static int validate_segs(struct dmt_tx *tx, const struct dmt_seg *segs,
			 unsigned int nseg, uint64_t *total)
{
	uint64_t t = 0;

	if (!segs || !nseg)
		return dmt_err_set(&tx->err, -EINVAL,
			"send: no segments given (an empty send is refused)");
	for (unsigned int i = 0; i < nseg; i++) {
		if (!segs[i].len)
			return dmt_err_set(&tx->err, -EINVAL,
				"send: segment %u is empty (offset %llu)", i,
				(unsigned long long)segs[i].off);
		if (!dmt_buf_range_ok(tx->buf, segs[i].off, segs[i].len))
			return dmt_err_set(&tx->err, -EINVAL,
				"send: segment %u [%llu, +%llu) lies outside the "
				"%zu-byte buffer", i, (unsigned long long)segs[i].off,
				(unsigned long long)segs[i].len, tx->buf->size);
		t += segs[i].len;
	}
	if (t > SSIZE_MAX)
		return dmt_err_set(&tx->err, -EINVAL, "send: total too large");
	*total = t;
	return 0;
}

/*
 * AUTO with a zero-copy engine. Small sends (below auto_zc_min) always go
 * through send(): for them pinning the pages and reading a completion cost
 * more than the copy they save (the kernel's msg_zerocopy documentation
 * puts the break-even around 10 KB; measured on loopback, 4 KiB sends ran
 * at 1.27 GB/s copied, 1.13 with MSG_ZEROCOPY and 0.75 with SEND_ZC).
 * And where the last 32 completions all came back COPIED, the kernel
 * copies on this path anyway (local delivery: loopback, veth into another
 * namespace; or a packet tap), and a large zero-copy send then costs a
 * page pin plus that copy into freshly allocated pages, more than
 * send()'s own copy (docs/performance.md: on loopback 1 MiB sends ran at
 * 2.1 GB/s with SEND_ZC and 4.8 with send()). Sends in between stay
 * zero-copy, where it still wins there, and so does one large send in 64:
 * their completions keep the verdict current, and one without COPIED
 * ends the run and the switch.
 */
static const struct dmt_tx_engine *engine_for(struct dmt_tx *tx, uint64_t total)
{
	if (tx->zc_fault)
		return &dmt_engine_copy;
	if (total < tx->auto_zc_min)
		return &dmt_engine_copy;
	if (!tx->auto_copy_min || total < tx->auto_copy_min)
		return tx->eng;
	/* Once switched, only the probes may give completions, and the send
	 * path reaps after every 32 zero-copy sends: look for a probe's at
	 * once (non-blocking, only while one is outstanding), so that a path
	 * that stopped copying is seen by the next large send. A reap error
	 * shows again at the next reap of the send path or the caller. */
	if (tx->zt.copied_run >= DMT_AUTO_VERDICT_MIN &&
	    dmt_ztrack_outstanding(&tx->zt))
		(void)tx->eng->reap(tx, 0);
	if (tx->zt.copied_run < DMT_AUTO_VERDICT_MIN)
		return tx->eng;
	if (++tx->auto_probe >= DMT_AUTO_PROBE_EVERY) {
		tx->auto_probe = 0;	/* a probe: zero-copy once more */
		return tx->eng;
	}
	if (!tx->auto_copy_logged) {
		tx->auto_copy_logged = true;
		dmt_log(tx->ctx, DMT_LOG_INFO, "tx auto: the last %llu "
			"completions came back COPIED (the kernel copies on this "
			"path): sends of %llu bytes or more now use plain send(), "
			"one in %d still zero-copy to notice a change",
			(unsigned long long)tx->zt.copied_run,
			(unsigned long long)tx->auto_copy_min, DMT_AUTO_PROBE_EVERY);
	}
	return &dmt_engine_copy;
}

/* The send path met err after queueing sent bytes: return the bytes now
 * and keep the error (its sentence stays in the last error) for the next
 * call, as a socket does; with nothing queued, the error now. */
static ssize_t send_result(struct dmt_tx *tx, uint64_t sent, int err)
{
	if (err < 0 && err != -EAGAIN && !tx->err.message[0])
		dmt_err_set(&tx->err, err, "%s send: %s",
			    dmt_engine_name(tx->eng->id), dmt_strerror(err));
	if (!sent)
		return (ssize_t)dmt_ret(err);
	if (err < 0 && err != -EAGAIN)
		tx->pending_err = err;
	return (ssize_t)sent;
}

/* ENOBUFS (or the uring engine's ENOMEM) that did not clear: name the
 * limit that ran out and how to raise it. */
static int explain_pinned(struct dmt_tx *tx, const struct dmt_tx_engine *eng,
			  uint64_t batch)
{
	uint64_t pg = dmt_page_size(), need, rec;
	unsigned int secs = (tx->enobufs_giveup_ms + 999) / 1000;

	if (tx->memlock == UINT64_MAX || eng->id == DMT_ENGINE_DEVMEM)
		return dmt_err_set(&tx->err, -ENOBUFS, "%s send: ENOBUFS for %u "
			"s with no completions: socket option memory for "
			"zero-copy notifications ran out; raise "
			"net.core.optmem_max", dmt_engine_name(eng->id), secs);
	need = ((batch + pg - 1) / pg + 2) * pg;
	rec = 2 * need > DMT_ZC_MEMLOCK_MIN ? 2 * need : DMT_ZC_MEMLOCK_MIN;
	if (rec <= tx->memlock)
		rec = 2 * tx->memlock;
	if (need > tx->memlock)
		return dmt_err_set(&tx->err, tx->lock_err ? tx->lock_err : -ENOBUFS,
			"%s send: the locked-memory limit (ulimit -l, "
			"RLIMIT_MEMLOCK) of %llu KiB is below the %llu KiB the "
			"kernel pins for one send of %llu bytes; raise it to %llu "
			"KiB or more, grant CAP_IPC_LOCK, or use the copy engine",
			dmt_engine_name(eng->id),
			(unsigned long long)tx->memlock >> 10,
			(unsigned long long)need >> 10, (unsigned long long)batch,
			(unsigned long long)rec >> 10);
	return dmt_err_set(&tx->err, tx->lock_err ? tx->lock_err : -ENOBUFS,
		"%s send: the kernel refused for %u s to pin %llu KiB: the "
		"locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) of %llu KiB, "
		"shared by all processes of this user, is used up%s; raise it "
		"to %llu KiB or more, grant CAP_IPC_LOCK, or use the copy "
		"engine", dmt_engine_name(eng->id), secs,
		(unsigned long long)need >> 10,
		(unsigned long long)tx->memlock >> 10,
		eng->id == DMT_ENGINE_ZEROCOPY ?
		" (or net.core.optmem_max ran out)" : "",
		(unsigned long long)rec >> 10);
}

DMT_EXPORT ssize_t dmt_tx_send(struct dmt_tx *tx, const struct dmt_seg *segs,
			       unsigned int nseg)
{
	uint64_t total = 0, sent = 0, pos = 0, enobufs_since = 0, full_since = 0;
	const struct dmt_tx_engine *eng;
	unsigned int si = 0;
	int ret;

	if (tx->pending_err) {
		/* met after the previous call had queued bytes; its
		 * sentence is still in the last error */
		ret = tx->pending_err;
		tx->pending_err = 0;
		return (ssize_t)dmt_ret(ret);
	}
	dmt_err_clear(&tx->err);
	ret = validate_segs(tx, segs, nseg, &total);
	if (ret < 0)
		return dmt_ret(ret);
	if (dmt_tx_scratch(tx, nseg) < 0)
		return dmt_ret(dmt_err_set(&tx->err, -ENOMEM, "out of memory"));
	tx->st.sends++;
	eng = engine_for(tx, total);
	if (eng != tx->eng)
		tx->st.copy_sends++;
	while (si < nseg) {
		uint64_t cap = eng->tracks && tx->zc_cap ? tx->zc_cap : UINT64_MAX;
		uint64_t batch = 0;
		unsigned int n = 0;
		ssize_t r;

		/* Build up to max_iov iovecs from (si, pos), at most cap
		 * bytes (the locked-memory limit). */
		for (unsigned int k = si; k < nseg && n < tx->scratch_cap &&
					  batch < cap; k++, n++) {
			uint64_t o = segs[k].off + (k == si ? pos : 0);
			uint64_t l = segs[k].len - (k == si ? pos : 0);
			if (l > cap - batch)
				l = cap - batch;
			tx->iov[n].iov_base = (void *)(tx->iov_base_addr + (uintptr_t)o);
			tx->iov[n].iov_len = (size_t)l;
			batch += l;
		}
		/* The tracker is full: wait for completions (bounded memory,
		 * no allocation on the send path). */
		if (eng->tracks && !dmt_ztrack_room(&tx->zt, n)) {
			ret = tx->eng->reap(tx, tx->nonblock ? 0 : 100);
			if (ret < 0)
				return send_result(tx, sent, ret);
			if (dmt_ztrack_room(&tx->zt, n))
				continue;
			if (tx->nonblock)
				return send_result(tx, sent, -EAGAIN);
			if (!full_since)
				full_since = now_ms();
			else if (now_ms() - full_since > DMT_FULL_GIVEUP_MS)
				return send_result(tx, sent, dmt_err_set(
					&tx->err, -ETIMEDOUT, "%u sends await their "
					"completion for 30 s (is the peer reading?)",
					dmt_tx_outstanding(tx)));
			continue;
		}
		full_since = 0;
		r = eng->sendv(tx, tx->iov, n, tx->nonblock);
		if (r > 0) {
			uint64_t left = (uint64_t)r;

			enobufs_since = 0;
			tx->enobufs_wait = false;
			sent += (uint64_t)r;
			tx->st.bytes += (uint64_t)r;
			if ((uint64_t)r < batch)
				tx->st.partial++;
			else if (cap == tx->zc_cap && tx->zc_cap < tx->zc_cap_max)
				tx->zc_cap = 2 * tx->zc_cap < tx->zc_cap_max ?
					     2 * tx->zc_cap : tx->zc_cap_max;
			while (left) { /* advance (si, pos) by r bytes */
				uint64_t rem = segs[si].len - pos;
				if (left >= rem) {
					left -= rem;
					si++;
					pos = 0;
				} else {
					pos += left;
					left = 0;
				}
			}
			/* Reap once per reap_batch sends: completions
			 * coalesce meanwhile, and a reap costs syscalls. */
			if (eng->tracks && ++tx->since_reap >= tx->reap_batch) {
				tx->since_reap = 0;
				ret = tx->eng->reap(tx, 0);
				if (ret < 0)
					return send_result(tx, sent, ret);
			}
			continue;
		}
		if (r == 0)
			r = -EPIPE;
		if (r == -EINTR)
			continue;
		if (r == -ENOBUFS && eng->tracks) {
			/* optmem exhausted by outstanding notifications, or
			 * pinned pages over the locked-memory limit: reap,
			 * wait a little for ACKs, retry the same bytes. */
			bool ours = dmt_ztrack_outstanding(&tx->zt) != 0;
			uint64_t t = now_ms(), pg = dmt_page_size();

			tx->st.enobufs++;
			if (!ours && tx->memlock != UINT64_MAX &&
			    eng->id != DMT_ENGINE_DEVMEM) {
				/* None of our pages is pinned: this send alone
				 * does not fit in what the limit leaves (other
				 * processes of this user hold the rest). Try
				 * smaller sends, then (AUTO) a plain copy. */
				if (batch > pg) {
					uint64_t c = batch / 2 / pg * pg;
					tx->zc_cap = c > pg ? c : pg;
					continue;
				}
				if (tx->want_auto) {
					if (!tx->memlock_logged) {
						tx->memlock_logged = true;
						dmt_log(tx->ctx, DMT_LOG_WARN, "tx auto: "
							"the locked-memory limit (%llu KiB) "
							"leaves no room to pin even one page: "
							"plain send() until it does",
							(unsigned long long)tx->memlock >> 10);
					}
					if (eng == tx->eng)
						tx->st.copy_sends++;
					eng = &dmt_engine_copy;
					continue;
				}
				/* one page plus the kernel's 2 spare pages can
				 * never fit: no point in waiting */
				if (((batch + pg - 1) / pg + 2) * pg > tx->memlock)
					return send_result(tx, sent,
						explain_pinned(tx, eng, batch));
			}
			if (ours && tx->nonblock) {
				/* the caller's loop waits for the completions */
				ret = tx->eng->reap(tx, 0);
				if (ret < 0)
					return send_result(tx, sent, ret);
				if (ret > 0)
					continue;
				tx->enobufs_wait = true;
				return send_result(tx, sent, -EAGAIN);
			}
			if (!enobufs_since)
				enobufs_since = t;
			else if (t - enobufs_since > tx->enobufs_giveup_ms)
				return send_result(tx, sent,
						   explain_pinned(tx, eng, batch));
			ret = tx->eng->reap(tx, ours ? DMT_ENOBUFS_WAIT_MS : 0);
			if (ret < 0)
				return send_result(tx, sent, ret);
			if (!ours && tx->memlock != UINT64_MAX)
				poll(NULL, 0, 10);	/* others must unpin */
			else if (!ours)
				dmt_tx_wait_fd(tx, POLLOUT, 1);
			continue;
		}
		if (r == -EAGAIN) {
			if (tx->nonblock)
				return send_result(tx, sent, -EAGAIN);
			ret = dmt_tx_wait_fd(tx, POLLOUT, 1000);
			if (ret < 0)
				return send_result(tx, sent, ret);
			if (tx->eng->tracks)
				tx->eng->reap(tx, 0);
			continue;
		}
		if (r == -EFAULT && eng->tracks && eng->id != DMT_ENGINE_DEVMEM) {
			/* The kernel could not pin the pages (a PFN mapping
			 * the probe did not catch). Nothing of this call was
			 * queued: send the same bytes by copy, and every later
			 * send too. Earlier sends' completions still arrive. */
			size_t l = strlen(tx->reason);
			tx->zc_fault = true;
			snprintf(tx->reason + l, sizeof(tx->reason) - l,
				 "%s%s send failed with EFAULT (memory that "
				 "cannot be pinned): copy from then on",
				 l ? "; " : "", dmt_engine_name(eng->id));
			dmt_log(tx->ctx, DMT_LOG_WARN, "tx: %s send failed with "
				"EFAULT after %llu bytes (the buffer's memory "
				"cannot be pinned): continuing with plain send()",
				dmt_engine_name(eng->id),
				(unsigned long long)tx->st.bytes);
			eng = &dmt_engine_copy;
			tx->st.copy_sends++;
			continue;
		}
		/* An engine that explained the failure itself (staged: a
		 * device copy) keeps its sentence. */
		if (tx->err.err != (int)r || !tx->err.message[0])
			explain_send_err(tx, eng, (int)r);
		return send_result(tx, sent, (int)r);
	}
	return (ssize_t)sent;
}

/* ---- completions ---- */

DMT_EXPORT int dmt_tx_reap(struct dmt_tx *tx)
{
	int ret = tx->eng->reap(tx, 0);

	if (ret > 0)
		tx->enobufs_wait = false;
	return dmt_ret(ret);
}

DMT_EXPORT int dmt_tx_region_busy(const struct dmt_tx *tx, uint64_t off,
				  uint64_t len)
{
	return dmt_ztrack_busy(&tx->zt, off, len);
}

static int wait_until(struct dmt_tx *tx, uint64_t off, uint64_t len, bool all,
		      int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX :
						 now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		int ret = tx->eng->reap(tx, 0);
		uint64_t now;

		if (ret < 0)
			return dmt_ret(ret);
		if (all ? !dmt_ztrack_outstanding(&tx->zt) :
			  !dmt_ztrack_busy(&tx->zt, off, len))
			return 0;
		now = now_ms();
		if (now >= deadline)
			return dmt_ret(dmt_err_set(&tx->err, -ETIMEDOUT,
				"%u sends still await their completion "
				"(is the peer reading?)",
				dmt_ztrack_outstanding(&tx->zt)));
		ret = tx->eng->reap(tx, (int)(deadline - now > 100 ? 100 :
							   deadline - now));
		if (ret < 0)
			return dmt_ret(ret);
	}
}

DMT_EXPORT int dmt_tx_wait_region(struct dmt_tx *tx, uint64_t off,
				  uint64_t len, int timeout_ms)
{
	return wait_until(tx, off, len, false, timeout_ms);
}

DMT_EXPORT int dmt_tx_flush(struct dmt_tx *tx, int timeout_ms)
{
	return wait_until(tx, 0, 0, true, timeout_ms);
}

DMT_EXPORT unsigned int dmt_tx_outstanding(const struct dmt_tx *tx)
{
	return dmt_ztrack_outstanding(&tx->zt);
}

/* Completions on the socket's error queue raise POLLERR on dmt_tx_fd(),
 * which poll() and epoll report unasked: only an engine with a fd of its
 * own (uring: the ring) has one to give. */
DMT_EXPORT int dmt_tx_completion_fd(const struct dmt_tx *tx, short *events)
{
	short ev = 0;
	int fd = -1;

	if (tx->eng && tx->eng->tracks && tx->eng->completion_fd)
		fd = tx->eng->completion_fd(tx, &ev);
	if (events)
		*events = fd >= 0 ? ev : 0;
	return fd;
}

DMT_EXPORT short dmt_tx_poll_events(const struct dmt_tx *tx)
{
	/* With the tracker full only completions let a send proceed. */
	bool full = tx->eng && tx->eng->tracks &&
		    (!dmt_ztrack_room(&tx->zt, tx->scratch_cap) ||
		     (tx->enobufs_wait && dmt_ztrack_outstanding(&tx->zt)));

	return full ? 0 : POLLOUT;
}

DMT_EXPORT int dmt_tx_get_stats(const struct dmt_tx *tx,
				struct dmt_tx_stats *stats)
{
	struct dmt_tx_stats s = tx->st;
	size_t n;

	if (!stats || stats->sz < sizeof(size_t))
		return dmt_ret(-EINVAL);
	s.zc_notifications = tx->zt.notifications;
	s.zc_completed = tx->zt.completed;
	s.zc_copied = tx->zt.copied;
	n = stats->sz < sizeof(s) ? stats->sz : sizeof(s);
	s.sz = stats->sz;
	memcpy(stats, &s, n);
	return 0;
}

DMT_EXPORT int dmt_tx_zerocopy_verdict(const struct dmt_tx *tx)
{
	if (!tx->eng || !tx->eng->tracks || !tx->zt.completed)
		return dmt_ret(-ENODATA);
	return tx->zt.copied == 0;
}
