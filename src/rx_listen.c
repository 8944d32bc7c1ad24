// SPDX-License-Identifier: MIT
/*
 * The receive listener: what outlives one connection. It decides the
 * engine once (devmem when everything it needs is there, else staged or
 * copy, with one reason; a forced devmem that cannot run names every
 * blocker), owns the NIC setup and the devmem binding of the buffer
 * (nicsetup.c: journalled, undone when the listener is freed) and
 * optionally the listening socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ethtool.h"
#include "rx.h"

#define RX_BACKLOG 128

/* Append one blocker ("; " between them); the first sets the error code. */
static void block(struct dmt_rx_listener *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void block(struct dmt_rx_listener *l, int err, const char *fmt, ...)
{
	size_t n = strlen(l->blockers);
	va_list ap;

	if (!l->block_err)
		l->block_err = err;
	if (n && n + 2 < sizeof(l->blockers)) {
		memcpy(l->blockers + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(l->blockers + n, sizeof(l->blockers) - n, fmt, ap);
	va_end(ap);
}

/* bind-rx of a memfd on queue 0 through a private context, released at
 * once: the kernel checks the driver (EOPNOTSUPP) and the caller's
 * CAP_NET_ADMIN (EPERM) before it looks at the fd, so any other answer
 * means the driver has netmem RX. The one probe of the library (the
 * listener's blockers, the doctor's rx.queue_api check). */
int dmt_rx_netmem_probe(int ifindex, int *answer, char *ext, size_t extlen)
{
	struct dmt_ctx *c = dmt_ctx_new(NULL, NULL);
	uint32_t q0 = 0, id = 0;
	int fd, ret;

	ext[0] = '\0';
	if (!c)
		return *answer = dmt_neg_errno();
	fd = memfd_create("devmemtcp-rx-probe", MFD_CLOEXEC);
	if (fd < 0) {
		ret = dmt_neg_errno();
		dmt_ctx_free(c);
		return *answer = ret;
	}
	ret = dmt_ctx_bind_rx(c, ifindex, fd, &q0, 1, &id);
	if (ret < 0)
		snprintf(ext, extlen, "%s", c->err.extack);
	close(fd);
	dmt_ctx_free(c);	/* releases a binding the kernel made */
	if (ret == -DMT_ERR_NO_NETMEM_RX)	/* bind's word for EOPNOTSUPP */
		ret = -EOPNOTSUPP;
	*answer = ret;
	return ret == -EOPNOTSUPP || ret == -EPERM || ret == -ENODEV ? ret : 0;
}

/* The NIC's part of the blockers: header split and netmem RX. */
static void probe_nic(struct dmt_rx_listener *l, int ifx, unsigned int flags)
{
	struct dmt_rings r = { 0 };
	char ext[256];
	int ret, answer;

	ret = dmt_ethtool_rings_get(l->ctx, ifx, &r);
	if (ret == -EOPNOTSUPP || (ret == 0 && !r.has_tcp_data_split))
		block(l, -DMT_ERR_HEADER_SPLIT, "%s: the driver has no header "
		      "split (no tcp-data-split in its ring parameters)",
		      l->ifname);
	else if (ret == 0 && (flags & DMT_NIC_F_NO_HDS) &&
		 r.tcp_data_split != DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED)
		block(l, -DMT_ERR_HEADER_SPLIT, "%s: header split is off and "
		      "dmt_rx_listen_opts.nic_flags has DMT_NIC_F_NO_HDS, so "
		      "nothing turns it on", l->ifname);
	else if (ret < 0)
		block(l, ret, "%s: ring parameters unreadable: %s", l->ifname,
		      l->ctx->err.message);
	ret = dmt_rx_netmem_probe(ifx, &answer, ext, sizeof(ext));
	if (ret == -EOPNOTSUPP)
		block(l, -DMT_ERR_NO_NETMEM_RX, "%s: the driver does not support "
		      "netmem RX (bind-rx: EOPNOTSUPP%s%s)", l->ifname,
		      ext[0] ? ", kernel: " : "", ext);
	else if (ret == -EPERM)
		block(l, -EPERM, "bind-rx and NIC setup need CAP_NET_ADMIN "
		      "(bind-rx: EPERM)");
	else if (ret < 0)
		block(l, ret, "%s: bind-rx probe: %s", l->ifname,
		      dmt_strerror(ret));
}

static bool wildcard(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static int listen_sock(struct dmt_rx_listener *l, const struct sockaddr *a,
		       socklen_t alen, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, zero = 0, ret;

	if (a->sa_family != AF_INET && a->sa_family != AF_INET6)
		return dmt_err_set(&l->err, -EAFNOSUPPORT, "dmt_rx_listen: addr "
				   "must be IPv4 or IPv6");
	l->fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		ret = dmt_neg_errno();
		return dmt_err_set(&l->err, ret, "socket: %s", dmt_strerror(ret));
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->sa_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(l->fd, a, alen) < 0 || listen(l->fd, backlog) < 0) {
		ret = dmt_neg_errno();
		return dmt_err_set(&l->err, ret, "cannot listen: %s%s",
			dmt_strerror(ret), ret == -EADDRINUSE ? " (the port is "
			"taken: another one, or 0 to let the kernel pick)" :
			ret == -EADDRNOTAVAIL ? " (no interface has that "
			"address)" : "");
	}
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET ?
		      ((struct sockaddr_in *)&ss)->sin_port :
		      ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Everything devmem RX needs, checked before anything changes; then the
 * NIC setup and bind-rx. 0 when devmem runs, 1 when it cannot (blockers
 * filled), or -errno (out of memory). */
static int try_devmem(struct dmt_rx_listener *l,
		      const struct dmt_rx_listen_opts *o,
		      const struct sockaddr *addr, socklen_t addrlen,
		      uint16_t port)
{
	const char *ifname = DMT_OPTS_OR(o, ifname, NULL);
	unsigned int flags = DMT_OPTS_OR(o, nic_flags, 0u);
	const unsigned int bad = DMT_NIC_F_DRY_RUN | DMT_NIC_F_NO_BIND;
	struct dmt_error e;
	int ifx = 0, ret;

	if (!l->buf)
		block(l, -EINVAL, "no buffer to bind (the buf argument)");
	else if (l->buf->dmabuf_fd < 0)
		block(l, -DMT_ERR_NOT_DMABUF, "the buffer is %s memory, not a "
		      "dma-buf (dmt_buf_new with DMT_BUF_UDMABUF, DMT_BUF_DMAHEAP, "
		      "DMT_BUF_CUDA or DMT_BUF_ROCM, or dmt_buf_import)",
		      dmt_buf_kind_name(l->buf->kind));
	if (!l->ctx)
		block(l, -DMT_ERR_NO_FAMILY, "no context (devmem binds through "
		      "a dmt_ctx)");
	if (!ifname || !ifname[0]) {
		block(l, -EINVAL, "no interface named (dmt_rx_listen_opts.ifname)");
	} else {
		snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
		ifx = (int)if_nametoindex(ifname);
		if (!ifx)
			block(l, -ENODEV, "no interface %s in this network "
			      "namespace", ifname);
	}
	if (flags & bad)
		block(l, -EINVAL, "dmt_rx_listen_opts.nic_flags: DMT_NIC_F_DRY_RUN "
		      "and DMT_NIC_F_NO_BIND leave nothing to receive with");
	if (!(flags & DMT_NIC_F_NO_RULE) && !port)
		block(l, -EINVAL, "no port for the flow rule "
		      "(dmt_rx_listen_opts.port, or the port of addr)");
	if (l->ctx && ifx)
		probe_nic(l, ifx, flags);
	if (l->blockers[0])
		return 1;
	{
		DMT_OPTS(dmt_nic_setup_opts, so, .flags = flags,
			 .nqueues = DMT_OPTS_OR(o, nqueues, 1u),
			 .queue_start = DMT_OPTS_OR(o, queue_start, 0u),
			 .client = DMT_OPTS_OR(o, peer, NULL),
			 .client_len = DMT_OPTS_OR(o, peer_len, 0),
			 .port = port,
			 .client_port = DMT_OPTS_OR(o, peer_port, 0),
			 .journal_dir = DMT_OPTS_OR(o, journal_dir, NULL));

		if (addr && !wildcard(addr)) {
			so.server = addr;
			so.server_len = addrlen;
		}
		l->setup = dmt_nic_setup_new(l->ctx, ifx, &so, &e);
		if (!l->setup) {
			block(l, e.err ? e.err : -EINVAL, "NIC setup: %s", e.message);
			return 1;
		}
	}
	ret = dmt_nic_setup_apply(l->setup, l->buf);
	if (ret < 0) {
		block(l, ret, "NIC setup: %s",
		      dmt_nic_setup_last_error(l->setup)->message);
		dmt_nic_setup_free(l->setup);
		l->setup = NULL;
		return 1;
	}
	l->binding = dmt_nic_setup_binding_id(l->setup);
	{
		unsigned int q0 = 0, nq = 0;

		dmt_nic_setup_queues(l->setup, &q0, &nq);
		snprintf(l->reason, sizeof(l->reason), "devmem RX on %s: queues "
			 "%u-%u bound (binding %u), flows steered to them",
			 l->ifname, q0, q0 + nq - 1, l->binding);
	}
	return 0;
}

static struct dmt_rx_listener *listen_fail(struct dmt_rx_listener *l, int ret,
					   struct dmt_error *err)
{
	dmt_err_copy(err, &l->err);
	dmt_rx_listener_free(l);
	errno = ret < 0 ? -ret : EIO;
	return NULL;
}

DMT_EXPORT struct dmt_rx_listener *
dmt_rx_listen(struct dmt_ctx *ctx, struct dmt_buf *buf,
	      const struct sockaddr *addr, socklen_t addrlen,
	      const struct dmt_rx_listen_opts *opts, struct dmt_error *err)
{
	struct dmt_rx_listener *l;
	enum dmt_engine want;
	uint16_t port;
	char fb[160];
	int ret;

	dmt_err_clear(err);
	if (!DMT_OPTS_CHECK(opts, dmt_rx_listen_opts, err))
		return NULL;
	want = DMT_OPTS_OR(opts, engine, DMT_ENGINE_AUTO);
	if (want != DMT_ENGINE_AUTO && want != DMT_ENGINE_DEVMEM &&
	    want != DMT_ENGINE_STAGED && want != DMT_ENGINE_COPY) {
		dmt_err_set(err, -EINVAL, "dmt_rx_listen_opts.engine: %s does not "
			    "receive; use auto, devmem, staged or copy",
			    dmt_engine_name(want));
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	l->ctx = ctx;
	l->buf = buf;
	l->fd = -1;
	atomic_init(&l->buf_users, 0);
	port = DMT_OPTS_OR(opts, port, 0);
	if (addr && DMT_OPTS_OR(opts, no_socket, 0)) {
		if (!port && (addr->sa_family == AF_INET ||
			      addr->sa_family == AF_INET6))
			port = ntohs(addr->sa_family == AF_INET ?
				     ((const struct sockaddr_in *)addr)->sin_port :
				     ((const struct sockaddr_in6 *)addr)->sin6_port);
	} else if (addr) {
		uint16_t bound = 0;

		ret = listen_sock(l, addr, addrlen,
				  DMT_OPTS_OR(opts, backlog, RX_BACKLOG), &bound);
		if (ret < 0)
			return listen_fail(l, ret, err);
		if (!port)
			port = bound;
	}
	if (want == DMT_ENGINE_AUTO || want == DMT_ENGINE_DEVMEM) {
		ret = try_devmem(l, opts, addr, addrlen, port);
		if (ret == 0) {
			l->engine = DMT_ENGINE_DEVMEM;
			goto done;
		}
		if (want == DMT_ENGINE_DEVMEM)
			return listen_fail(l, dmt_err_set(&l->err, l->block_err,
				"devmem RX cannot run: %s", l->blockers), err);
		if (buf) {
			dmt_rx_fallback_text(buf, fb, sizeof(fb));
			l->engine = dmt_rx_fallback(buf)->id;
		} else {
			snprintf(fb, sizeof(fb), "copy: recv into the buffer each "
				 "connection brings");
			l->engine = DMT_ENGINE_COPY;
		}
		snprintf(l->reason, sizeof(l->reason), "devmem RX unavailable "
			 "(%s); %s", l->blockers, fb);
	} else {
		l->engine = want;
		snprintf(l->reason, sizeof(l->reason), "%s requested",
			 dmt_engine_name(want));
	}
done:
	dmt_log(ctx, DMT_LOG_INFO, "rx listener engine %s: %s",
		dmt_engine_name(l->engine), l->reason);
	return l;
}

DMT_EXPORT void dmt_rx_listener_free(struct dmt_rx_listener *l)
{
	if (!l)
		return;
	dmt_nic_setup_free(l->setup);	/* unbinds first, then restores */
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

DMT_EXPORT int dmt_rx_listener_fd(const struct dmt_rx_listener *l)
{
	return l->fd;
}

DMT_EXPORT enum dmt_engine dmt_rx_listener_engine(const struct dmt_rx_listener *l)
{
	return l->engine;
}

DMT_EXPORT const char *
dmt_rx_listener_engine_reason(const struct dmt_rx_listener *l)
{
	return l->reason;
}

DMT_EXPORT const char *dmt_rx_listener_summary(const struct dmt_rx_listener *l)
{
	return l->setup ? dmt_nic_setup_summary(l->setup) : "";
}
