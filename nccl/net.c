// SPDX-License-Identifier: MIT
/*
 * libnccl-net-devmemtcp: an NCCL network plugin on libdevmemtcp.
 *
 * A comm is one control TCP stream (message sizes) plus nsocks data
 * streams. A message of size S is cut into at most nsocks chunks of at
 * least PN_MIN_CHUNK bytes; chunk j goes to data stream (first + j) %
 * nsocks, where first rotates by the chunk count of every message. Both
 * ends compute the same split from S, so the streams carry no framing.
 *
 * Sends go through the library's TX engines (dmt_tx on the stream socket,
 * engine chosen per device, dmt_tx_set_buf when the memory region changes);
 * a send request completes once every byte is queued and its region is
 * free again (zero-copy completions). Host receives recv() straight into
 * NCCL's buffer; devmem receives land in a plugin-owned GPU buffer and are
 * gathered into NCCL's buffer (gpu.c).
 *
 * Requests are handed out as numbers (slot and generation), never as
 * pointers, so a stale or foreign request is refused, not dereferenced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pn.h"

ncclDebugLogger_t pn_logger;
struct dmt_ctx *pn_ctx;
pthread_mutex_t pn_lock = PTHREAD_MUTEX_INITIALIZER;
static int pn_nsocks = 2;
static enum dmt_engine pn_engine = DMT_ENGINE_AUTO;
static size_t pn_min_chunk = 64 * 1024;
/* Longest a test() that cannot progress sleeps in poll() for the sockets
 * it waits on (NCCL_DEVMEMTCP_POLL_US); 0: never, test() returns at once. */
static int pn_poll_us = 50;
/* Largest SO_RCVLOWAT a waiting receive stream asks for
 * (NCCL_DEVMEMTCP_RCVLOWAT_KB); 0: the kernel's default, 1 byte. */
static int pn_rcvlowat = 1 << 20;
static struct pn_comm *all_comms;	/* pn_lock */
static uint64_t next_serial;		/* pn_lock */

void pn_log(ncclDebugLogLevel lvl, unsigned long flags, const char *file,
	    int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!pn_logger)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pn_logger(lvl, flags, file, line, "%s", msg);
}

static void lib_log(enum dmt_log_level lvl, const char *msg, void *user)
{
	(void)user;
	if (lvl <= DMT_LOG_WARN)
		PN_INFO(NCCL_NET, "NET/devmemtcp: libdevmemtcp: %s", msg);
}

/* ------------------------------------------------------------------ */
/* Request numbers                                                     */
/* ------------------------------------------------------------------ */

#define PN_SLOTS 65536
struct slot {
	uint32_t gen;
	bool used;
	struct pn_comm *comm;
	unsigned int pos;	/* index into comm->req */
};
static struct slot slots[PN_SLOTS];
static unsigned int slot_hint;

static int slot_get(struct pn_comm *c, unsigned int pos)
{
	for (unsigned int n = 0; n < PN_SLOTS; n++) {
		unsigned int i = (slot_hint + n) % PN_SLOTS;

		if (!slots[i].used) {
			slots[i].used = true;
			slots[i].gen++;
			slots[i].comm = c;
			slots[i].pos = pos;
			slot_hint = i + 1;
			return (int)i;
		}
	}
	return -1;
}

static void *slot_id(int i)
{
	return (void *)(uintptr_t)(((uint64_t)slots[i].gen << 32) | (uint64_t)(i + 1));
}

static void slot_put(int i)
{
	slots[i].used = false;
	slots[i].comm = NULL;
	slots[i].gen++;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int env_int(const char *name, int def, int lo, int hi)
{
	const char *v = getenv(name);
	char *end;
	long x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || *end || x < lo || x > hi) {
		PN_WARN("NET/devmemtcp: %s=\"%s\" ignored: give an integer "
			"%d..%d (using %d)", name, v, lo, hi, def);
		return def;
	}
	return (int)x;
}

static void tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const char *addr_str(const struct sockaddr_storage *ss, char *out,
			    size_t outlen)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned int port;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
		snprintf(out, outlen, "[%s]:%u", a, port);
	} else {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
		snprintf(out, outlen, "%s:%u", a, port);
	}
	return out;
}

/* Split of a message into chunks: count and chunk size, the same on both
 * ends. */
static unsigned int split(const struct pn_comm *c, uint64_t size,
			  uint64_t *chunk)
{
	uint64_t ch;

	if (!size) {
		*chunk = 0;
		return 0;
	}
	ch = (size + (uint64_t)c->nsocks - 1) / (uint64_t)c->nsocks;
	if (ch < pn_min_chunk)
		ch = pn_min_chunk;
	ch = (ch + 4095) & ~(uint64_t)4095;
	*chunk = ch;
	return (unsigned int)((size + ch - 1) / ch);
}

int pn_env_mb(const char *name, int def)
{
	return env_int(name, def, 1, 1 << 16);
}

unsigned int pn_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ?
	       ntohs(((const struct sockaddr_in6 *)ss)->sin6_port) :
	       ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static ncclResult_t comm_fail(struct pn_comm *c, ncclResult_t r,
			      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static ncclResult_t comm_fail(struct pn_comm *c, ncclResult_t r,
			      const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err == ncclSuccess) {
		c->err = r;
		PN_WARN("NET/devmemtcp: %s comm %s on %s: %s",
			c->is_send ? "send" : "recv", c->peer, c->dev->name, msg);
	}
	return c->err;
}

int pn_fail(struct pn_comm *c, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	comm_fail(c, ncclSystemError, "%s", msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* init, devices, properties                                           */
/* ------------------------------------------------------------------ */

static ncclResult_t pn_init(ncclDebugLogger_t logger, ncclProfilerCallback_t prof)
{
	struct dmt_error err;
	const char *e;
	ncclResult_t r;

	(void)prof;
	pn_logger = logger;
	pthread_mutex_lock(&pn_lock);
	if (pn_ndevs > 0) {
		pthread_mutex_unlock(&pn_lock);
		return ncclSuccess;
	}
	pn_nsocks = env_int("NCCL_DEVMEMTCP_NSOCKS",
			    env_int("NCCL_NSOCKS_PERTHREAD", 2, 1, PN_MAX_SOCKS),
			    1, PN_MAX_SOCKS);
	pn_min_chunk = (size_t)env_int("NCCL_DEVMEMTCP_MIN_CHUNK_KB", 64, 4,
				       1 << 20) * 1024;
	pn_poll_us = env_int("NCCL_DEVMEMTCP_POLL_US", 50, 0, 10000);
	pn_rcvlowat = env_int("NCCL_DEVMEMTCP_RCVLOWAT_KB", 1024, 0, 65536) * 1024;
	e = getenv("NCCL_DEVMEMTCP_ENGINE");
	if (e && *e && (dmt_engine_from_name(e, &pn_engine) < 0 ||
			pn_engine == DMT_ENGINE_DEVMEM)) {
		/* devmem is taken per region (NCCL's dma-bufs), never for the
		 * host memory this setting is about. */
		PN_WARN("NET/devmemtcp: NCCL_DEVMEMTCP_ENGINE=\"%s\" is not a "
			"host-memory engine: give auto, uring, zerocopy or copy "
			"(GPU memory takes devmem by itself)", e);
		pn_engine = DMT_ENGINE_AUTO;
		pthread_mutex_unlock(&pn_lock);
		return ncclInvalidArgument;
	}
	DMT_OPTS(dmt_ctx_opts, co, .log_fn = lib_log, .log_level = DMT_LOG_WARN);
	pn_ctx = dmt_ctx_new(&co, &err);
	if (!pn_ctx) {
		PN_WARN("NET/devmemtcp: %s", err.message);
		pthread_mutex_unlock(&pn_lock);
		return ncclSystemError;
	}
	r = pn_devices_init();
	if (r != ncclSuccess) {
		dmt_ctx_free(pn_ctx);
		pn_ctx = NULL;
	} else {
		PN_INFO(NCCL_INIT | NCCL_NET, "NET/devmemtcp: libdevmemtcp %d.%d, "
			"%d devices, %d data streams per comm, engine %s",
			dmt_version_major(), dmt_version_minor(), pn_ndevs,
			pn_nsocks, dmt_engine_name(pn_engine));
	}
	pthread_mutex_unlock(&pn_lock);
	return r;
}

static ncclResult_t pn_devices(int *ndev)
{
	*ndev = pn_ndevs;
	return ncclSuccess;
}

static int max_comms(void)
{
	struct rlimit rl;
	uint64_t n = PN_SLOTS / PN_MAX_REQS;

	/* Every comm holds nsocks + 1 sockets and PN_MAX_REQS request
	 * numbers. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / (rlim_t)(pn_nsocks + 1) < n)
		n = rl.rlim_cur / (rlim_t)(pn_nsocks + 1);
	return (int)n;
}

static ncclResult_t pn_get_properties(int dev, ncclNetProperties_v10_t *p)
{
	struct pn_dev *d;

	if (dev < 0 || dev >= pn_ndevs) {
		PN_WARN("NET/devmemtcp: getProperties: no device %d (there are %d)",
			dev, pn_ndevs);
		return ncclInvalidArgument;
	}
	d = &pn_devs[dev];
	memset(p, 0, sizeof(*p));
	p->name = d->name;
	p->pciPath = d->pci_path;
	p->guid = d->guid;
	p->ptrSupport = NCCL_PTR_HOST;
	if (d->devmem)
		p->ptrSupport |= NCCL_PTR_CUDA | NCCL_PTR_DMABUF;
	p->regIsGlobal = 0;
	p->forceFlush = 0;
	p->speed = d->speed;
	p->port = 0;
	p->latency = 0;
	p->maxComms = max_comms();
	/* One receive per irecv, as NCCL's socket transport: grouped receives
	 * only pay off with a NIC that can scatter one message to several
	 * peers' buffers, which TCP streams cannot. */
	p->maxRecvs = 1;
	p->netDeviceType = NCCL_NET_DEVICE_HOST;
	p->netDeviceVersion = NCCL_NET_DEVICE_INVALID_VERSION;
	p->vProps.ndevs = 1;
	p->vProps.devs[0] = dev;
	/* test() reports sizes as int. */
	p->maxP2pBytes = INT_MAX;
	p->maxCollBytes = INT_MAX;
	return ncclSuccess;
}

/* ------------------------------------------------------------------ */
/* listen / connect / accept                                           */
/* ------------------------------------------------------------------ */

#define PN_HELLO_MAGIC 0x444d5448u
#define PN_MSG_MAGIC 0x444d544du
#define PN_VERSION 1

/* The listen handle (fits NCCL_NET_HANDLE_MAXSIZE). */
struct pn_handle {
	uint32_t magic;
	uint16_t version;
	uint16_t nsocks;
	uint64_t nonce;		/* random per listen comm */
	uint16_t family;
	uint16_t port;		/* network order */
	uint32_t scope_id;
	uint8_t addr[16];
	uint32_t check;		/* sum of the words above, catches garbage */
};
_Static_assert(sizeof(struct pn_handle) <= NCCL_NET_HANDLE_MAXSIZE,
	       "handle too large");

static uint32_t handle_check(const struct pn_handle *h)
{
	const uint8_t *p = (const uint8_t *)h;
	uint32_t s = 0x9e3779b9u;

	for (size_t i = 0; i < offsetof(struct pn_handle, check); i++)
		s = (s ^ p[i]) * 16777619u;
	return s;
}

static ncclResult_t pn_listen(int dev, void *handle, void **listen_comm)
{
	struct pn_handle *h = handle;
	struct pn_listen *l;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	*listen_comm = NULL;
	if (dev < 0 || dev >= pn_ndevs) {
		PN_WARN("NET/devmemtcp: listen: no device %d (there are %d)",
			dev, pn_ndevs);
		return ncclInvalidArgument;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return ncclSystemError;
	l->dev = &pn_devs[dev];
	l->nsocks = pn_nsocks;
	ss = l->dev->addr;
	sl = l->dev->addrlen;
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 256) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		int e = errno;
		char a[64];

		PN_WARN("NET/devmemtcp: listen on %s (%s) failed: %s; check that "
			"the address is still configured (NCCL_SOCKET_IFNAME)",
			l->dev->name, addr_str(&l->dev->addr, a, sizeof(a)),
			strerror(e));
		if (fd >= 0)
			close(fd);
		free(l);
		return ncclSystemError;
	}
	l->fd = fd;
	if (getrandom(&l->nonce, sizeof(l->nonce), 0) != sizeof(l->nonce))
		l->nonce = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)l;
	l->magic = PN_MAGIC;
	memset(h, 0, NCCL_NET_HANDLE_MAXSIZE);
	h->magic = PN_MAGIC;
	h->version = PN_VERSION;
	h->nsocks = (uint16_t)l->nsocks;
	h->nonce = l->nonce;
	h->family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		h->port = s->sin_port;
		memcpy(h->addr, &s->sin_addr, 4);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		h->port = s->sin6_port;
		h->scope_id = s->sin6_scope_id;
		memcpy(h->addr, &s->sin6_addr, 16);
	}
	h->check = handle_check(h);
	*listen_comm = l;
	{
		char a[64];

		/* selftest's nccl-devmem check reads the port from this line
		 * (tools/common/hwcheck.c): keep "listening on IF ADDR:PORT" */
		PN_INFO(NCCL_NET, "NET/devmemtcp: listening on %s %s",
			l->dev->name, addr_str(&ss, a, sizeof(a)));
	}
	return ncclSuccess;
}

/*
 * NCCL_DEVMEMTCP_CONNECT_VIA=ADDR:PORT ([ADDR]:PORT for IPv6): connect
 * dials this address instead of the one in the listen handle, for a relay
 * that forwards to the listener (devmemtcp selftest's nccl-devmem check:
 * the peer host relays both comms' connections back through the NIC).
 * 0 with *ss filled, 1 when unset, -1 (WARN) when malformed.
 */
static int connect_via(struct sockaddr_storage *ss, socklen_t *sl)
{
	const char *v = getenv("NCCL_DEVMEMTCP_CONNECT_VIA");
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	if (!v || !*v)
		return 1;
	colon = strrchr(v, ':');
	if (!colon || colon == v)
		goto bad;
	hl = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hl < 3 || v[hl - 1] != ']')
			goto bad;
		v++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, v, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !port || port > 65535)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in6);
		return 0;
	}
bad:
	PN_WARN("NET/devmemtcp: NCCL_DEVMEMTCP_CONNECT_VIA=\"%s\": give "
		"ADDR:PORT or [ADDR6]:PORT with a numeric address, or unset it",
		getenv("NCCL_DEVMEMTCP_CONNECT_VIA"));
	return -1;
}

static struct pn_comm *comm_new(struct pn_dev *dev, int nsocks, bool is_send)
{
	struct pn_comm *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->magic = PN_MAGIC;
	c->dev = dev;
	c->nsocks = nsocks;
	c->is_send = is_send;
	c->ctrl_fd = -1;
	for (int i = 0; i < PN_MAX_SOCKS; i++)
		c->st[i].fd = -1;
	for (int i = 0; i < PN_MAX_REQS; i++)
		c->req[i].slot = -1;
	snprintf(c->peer, sizeof(c->peer), "?");
	pthread_mutex_lock(&pn_lock);
	c->serial = ++next_serial;
	c->next_all = all_comms;
	all_comms = c;
	pthread_mutex_unlock(&pn_lock);
	return c;
}

static void comm_free(struct pn_comm *c)
{
	pthread_mutex_lock(&pn_lock);
	for (int i = 0; i < PN_MAX_REQS; i++)
		if (c->req[i].slot >= 0)
			slot_put(c->req[i].slot);
	for (struct pn_comm **pp = &all_comms; *pp; pp = &(*pp)->next_all)
		if (*pp == c) {
			*pp = c->next_all;
			break;
		}
	pthread_mutex_unlock(&pn_lock);
	for (int i = 0; i < c->nsocks; i++) {
		dmt_tx_free(c->st[i].tx_host);
		dmt_tx_free(c->st[i].tx_dev);
		pn_gpu_stream_fini(c, &c->st[i]);
		if (c->st[i].fd >= 0)
			close(c->st[i].fd);
	}
	if (c->ctrl_fd >= 0)
		close(c->ctrl_fd);
	dmt_ctx_free(c->devctx);
	pn_gpu_comm_fini(c);
	c->magic = 0;
	free(c);
}

/* Connect state machine kept between calls, found by the handle's
 * address (NCCL calls again with the same handle until it gets a comm). */
struct pn_connecting {
	void *handle;
	struct pn_comm *c;
	int fds[PN_MAX_SOCKS + 1];
	uint32_t sent[PN_MAX_SOCKS + 1];
	bool connected[PN_MAX_SOCKS + 1];
	struct pn_hello hello[PN_MAX_SOCKS + 1];
	int n;
};
static struct pn_connecting *connecting[256];

static struct pn_connecting **connecting_find(void *handle)
{
	for (size_t i = 0; i < sizeof(connecting) / sizeof(connecting[0]); i++)
		if (connecting[i] && connecting[i]->handle == handle)
			return &connecting[i];
	return NULL;
}

static void connecting_drop(struct pn_connecting *k, bool close_fds)
{
	pthread_mutex_lock(&pn_lock);
	for (size_t i = 0; i < sizeof(connecting) / sizeof(connecting[0]); i++)
		if (connecting[i] == k)
			connecting[i] = NULL;
	pthread_mutex_unlock(&pn_lock);
	if (close_fds) {
		for (int i = 0; i < k->n; i++)
			if (k->fds[i] >= 0)
				close(k->fds[i]);
		comm_free(k->c);
	}
	free(k);
}

static void log_engine(struct pn_comm *c, const char *what, const char *engine,
		       const char *reason)
{
	PN_INFO(NCCL_INIT | NCCL_NET, "NET/devmemtcp: %s comm %s dev %d %s: %s "
		"engine %s: %s (%d data streams)", c->is_send ? "send" : "recv",
		c->peer, (int)(c->dev - pn_devs), c->dev->name, what, engine,
		reason, c->nsocks);
}

static ncclResult_t pn_connect(int dev, ncclNetCommConfig_v10_t *config,
			       void *handle, void **send_comm,
			       ncclNetDeviceHandle_t **send_dev)
{
	struct pn_handle *h = handle;
	struct pn_connecting **kp, *k;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t comm_id;

	*send_comm = NULL;
	if (send_dev)
		*send_dev = NULL;
	if (dev < 0 || dev >= pn_ndevs) {
		PN_WARN("NET/devmemtcp: connect: no device %d (there are %d)",
			dev, pn_ndevs);
		return ncclInvalidArgument;
	}
	pthread_mutex_lock(&pn_lock);
	kp = connecting_find(handle);
	k = kp ? *kp : NULL;
	pthread_mutex_unlock(&pn_lock);
	if (!k) {
		if (h->magic != PN_MAGIC || h->check != handle_check(h) ||
		    h->version != PN_VERSION || h->nsocks < 1 ||
		    h->nsocks > PN_MAX_SOCKS ||
		    (h->family != AF_INET && h->family != AF_INET6)) {
			PN_WARN("NET/devmemtcp: connect: the handle is not a "
				"devmemtcp listen handle (magic %#x, version %u): "
				"both ranks must set NCCL_NET_PLUGIN=devmemtcp "
				"with the same plugin build", h->magic, h->version);
			return ncclInvalidArgument;
		}
		k = calloc(1, sizeof(*k));
		if (!k)
			return ncclSystemError;
		k->handle = handle;
		k->n = h->nsocks + 1;
		k->c = comm_new(&pn_devs[dev], h->nsocks, true);
		if (!k->c) {
			free(k);
			return ncclSystemError;
		}
		if (getrandom(&comm_id, sizeof(comm_id), 0) != sizeof(comm_id))
			comm_id = (uint64_t)(uintptr_t)k ^ (uint64_t)getpid();
		memset(&ss, 0, sizeof(ss));
		if (h->family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;

			s->sin_family = AF_INET;
			s->sin_port = h->port;
			memcpy(&s->sin_addr, h->addr, 4);
			sl = sizeof(*s);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

			s->sin6_family = AF_INET6;
			s->sin6_port = h->port;
			s->sin6_scope_id = h->scope_id;
			memcpy(&s->sin6_addr, h->addr, 16);
			sl = sizeof(*s);
		}
		{
			int via = connect_via(&ss, &sl);

			if (via < 0) {
				comm_free(k->c);
				free(k);
				return ncclInvalidArgument;
			}
			if (via == 0)
				PN_INFO(NCCL_NET, "NET/devmemtcp: connecting through "
					"the relay NCCL_DEVMEMTCP_CONNECT_VIA=%s",
					getenv("NCCL_DEVMEMTCP_CONNECT_VIA"));
		}
		addr_str(&ss, k->c->peer, sizeof(k->c->peer));
		for (int i = 0; i < k->n; i++)
			k->fds[i] = -1;
		for (int i = 0; i < k->n; i++) {
			int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
					SOCK_NONBLOCK, 0);

			k->hello[i] = (struct pn_hello){ .magic = PN_HELLO_MAGIC,
				.index = (uint16_t)i, .nsocks = h->nsocks,
				.nonce = h->nonce, .comm_id = comm_id };
			k->fds[i] = fd;
			if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, sl) < 0 &&
				       errno != EINPROGRESS)) {
				int e = errno;

				PN_WARN("NET/devmemtcp: connect to %s failed: %s; "
					"check that the peer is running and that "
					"its address is reachable from %s",
					k->c->peer, strerror(e), pn_devs[dev].name);
				connecting_drop(k, true);
				return ncclSystemError;
			}
			tune(fd);
			if (config && config->trafficClass != NCCL_NET_TRAFFIC_CLASS_UNDEF) {
				int tos = config->trafficClass;

				setsockopt(fd, ss.ss_family == AF_INET ? IPPROTO_IP :
					   IPPROTO_IPV6, ss.ss_family == AF_INET ?
					   IP_TOS : IPV6_TCLASS, &tos, sizeof(tos));
			}
		}
		pthread_mutex_lock(&pn_lock);
		kp = NULL;
		for (size_t i = 0; i < sizeof(connecting) / sizeof(connecting[0]); i++)
			if (!connecting[i]) {
				connecting[i] = k;
				kp = &connecting[i];
				break;
			}
		pthread_mutex_unlock(&pn_lock);
		if (!kp) {
			PN_WARN("NET/devmemtcp: more than 256 connections in "
				"progress at once");
			k->handle = NULL;
			for (int i = 0; i < k->n; i++)
				close(k->fds[i]);
			comm_free(k->c);
			free(k);
			return ncclInternalError;
		}
	}
	/* Progress: connection, then the hello, on every socket. */
	bool all = true;

	for (int i = 0; i < k->n; i++) {
		if (!k->connected[i]) {
			struct pollfd p = { .fd = k->fds[i], .events = POLLOUT };
			int err = 0;
			socklen_t el = sizeof(err);

			if (poll(&p, 1, 0) <= 0) {
				all = false;
				continue;
			}
			getsockopt(k->fds[i], SOL_SOCKET, SO_ERROR, &err, &el);
			if (err) {
				PN_WARN("NET/devmemtcp: connect to %s failed: %s; "
					"the listening rank is gone or the handle "
					"came from another job", k->c->peer,
					strerror(err));
				connecting_drop(k, true);
				return ncclSystemError;
			}
			k->connected[i] = true;
		}
		while (k->sent[i] < sizeof(struct pn_hello)) {
			ssize_t n = send(k->fds[i], (char *)&k->hello[i] + k->sent[i],
					 sizeof(struct pn_hello) - k->sent[i],
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				PN_WARN("NET/devmemtcp: connect to %s: sending the "
					"greeting failed: %s", k->c->peer,
					strerror(errno));
				connecting_drop(k, true);
				return ncclSystemError;
			}
			k->sent[i] += (uint32_t)n;
		}
		if (k->sent[i] < sizeof(struct pn_hello))
			all = false;
	}
	if (!all)
		return ncclSuccess;
	struct pn_comm *c = k->c;

	c->ctrl_fd = k->fds[0];
	for (int i = 0; i < c->nsocks; i++)
		c->st[i].fd = k->fds[i + 1];
	k->n = 0;
	connecting_drop(k, false);
	*send_comm = c;
	PN_INFO(NCCL_NET, "NET/devmemtcp: send comm %s on %s connected",
		c->peer, c->dev->name);
	return ncclSuccess;
}

static ncclResult_t pn_accept(void *listen_comm, void **recv_comm,
			      ncclNetDeviceHandle_t **recv_dev)
{
	struct pn_listen *l = listen_comm;

	*recv_comm = NULL;
	if (recv_dev)
		*recv_dev = NULL;
	if (!l || l->magic != PN_MAGIC) {
		PN_WARN("NET/devmemtcp: accept: not a listen comm of this plugin");
		return ncclInvalidArgument;
	}
	while (l->npend < sizeof(l->pend) / sizeof(l->pend[0])) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				break;
			PN_WARN("NET/devmemtcp: accept on %s failed: %s",
				l->dev->name, strerror(errno));
			return ncclSystemError;
		}
		tune(fd);
		l->pend[l->npend++] = (struct pn_pending){ .fd = fd };
	}
	for (unsigned int i = 0; i < l->npend; i++) {
		struct pn_pending *p = &l->pend[i];
		bool bad = false;

		while (p->got < sizeof(p->hello)) {
			ssize_t n = recv(p->fd, (char *)&p->hello + p->got,
					 sizeof(p->hello) - p->got, MSG_DONTWAIT);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n <= 0) {
				bad = true;
				break;
			}
			p->got += (uint32_t)n;
		}
		if (!bad && p->got == sizeof(p->hello) &&
		    (p->hello.magic != PN_HELLO_MAGIC || p->hello.nonce != l->nonce ||
		     p->hello.nsocks != l->nsocks || p->hello.index > l->nsocks)) {
			PN_WARN("NET/devmemtcp: accept on %s: dropped a connection "
				"with a wrong greeting (a handle of another listen "
				"comm or another program)", l->dev->name);
			bad = true;
		}
		if (bad) {
			close(p->fd);
			l->pend[i--] = l->pend[--l->npend];
		}
	}
	/* A comm is ready when its control and every data socket are in. */
	for (unsigned int i = 0; i < l->npend; i++) {
		struct pn_pending *p = &l->pend[i];
		int have = 0, fds[PN_MAX_SOCKS + 1];

		if (p->got < sizeof(p->hello))
			continue;
		for (int j = 0; j <= l->nsocks; j++)
			fds[j] = -1;
		for (unsigned int j = 0; j < l->npend; j++) {
			struct pn_pending *q = &l->pend[j];

			if (q->got == sizeof(q->hello) &&
			    q->hello.comm_id == p->hello.comm_id &&
			    fds[q->hello.index] < 0) {
				fds[q->hello.index] = q->fd;
				have++;
			}
		}
		if (have < l->nsocks + 1)
			continue;
		struct pn_comm *c = comm_new(l->dev, l->nsocks, false);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (!c)
			return ncclSystemError;
		c->ctrl_fd = fds[0];
		for (int j = 0; j < l->nsocks; j++)
			c->st[j].fd = fds[j + 1];
		if (getpeername(c->ctrl_fd, (struct sockaddr *)&ss, &sl) == 0)
			addr_str(&ss, c->peer, sizeof(c->peer));
		for (unsigned int j = 0; j < l->npend; j++) {
			bool mine = false;

			for (int s = 0; s <= l->nsocks; s++)
				mine |= l->pend[j].fd == fds[s];
			if (mine)
				l->pend[j--] = l->pend[--l->npend];
		}
		if (l->dev->devmem)
			pn_gpu_recv_setup(c, l);
		log_engine(c, "receive", c->gpu ? "devmem (GPU buffers) / recv "
			   "(host buffers)" : "recv", c->gpu ? "devmem RX bound "
			   "for this comm" : "host memory is received in place "
			   "(one kernel copy)");
		*recv_comm = c;
		return ncclSuccess;
	}
	return ncclSuccess;
}

static ncclResult_t pn_close_listen(void *listen_comm)
{
	struct pn_listen *l = listen_comm;

	if (!l || l->magic != PN_MAGIC) {
		PN_WARN("NET/devmemtcp: closeListen: not a listen comm of this plugin");
		return ncclInvalidArgument;
	}
	for (unsigned int i = 0; i < l->npend; i++)
		close(l->pend[i].fd);
	close(l->fd);
	l->magic = 0;
	free(l);
	return ncclSuccess;
}

/* ------------------------------------------------------------------ */
/* Memory registration                                                 */
/* ------------------------------------------------------------------ */

static ncclResult_t pn_reg_mr(void *comm, void *data, size_t size, int type,
			      void **mhandle)
{
	struct pn_comm *c = comm;

	*mhandle = NULL;
	if (!c || c->magic != PN_MAGIC) {
		PN_WARN("NET/devmemtcp: regMr: not a comm of this plugin");
		return ncclInvalidArgument;
	}
	if (type != NCCL_PTR_HOST) {
		PN_WARN("NET/devmemtcp: regMr: GPU memory needs a dma-buf on "
			"this transport (regMrDmaBuf); enable NCCL_DMABUF_ENABLE=1 "
			"or let NCCL stage through host memory");
		return ncclInvalidUsage;
	}
	return pn_reg_mr_host(c, data, size, mhandle);
}

struct pn_mr *pn_mr_new(int type, void *data, size_t size)
{
	struct pn_mr *mr = calloc(1, sizeof(*mr));

	if (!mr)
		return NULL;
	mr->magic = PN_MAGIC;
	mr->type = type;
	mr->base = data;
	mr->size = size;
	return mr;
}

ncclResult_t pn_reg_mr_host(struct pn_comm *c, void *data, size_t size,
			    void **mhandle)
{
	struct pn_mr *mr;
	struct dmt_error err;

	(void)c;
	*mhandle = NULL;
	mr = pn_mr_new(NCCL_PTR_HOST, data, size);
	if (!mr)
		return ncclSystemError;
	if (size) {
		mr->buf = dmt_buf_wrap(data, size, &err);
		if (!mr->buf) {
			PN_WARN("NET/devmemtcp: regMr: %s", err.message);
			free(mr);
			return ncclInternalError;
		}
	}
	*mhandle = mr;
	return ncclSuccess;
}

static ncclResult_t pn_dereg_mr(void *comm, void *mhandle)
{
	struct pn_comm *c = comm;
	struct pn_mr *mr = mhandle;

	if (!c || c->magic != PN_MAGIC || !mr || mr->magic != PN_MAGIC) {
		PN_WARN("NET/devmemtcp: deregMr: not a comm or memory handle of "
			"this plugin");
		return ncclInvalidArgument;
	}
	/* A sender still using the region lets go of it first. */
	for (int i = 0; i < c->nsocks; i++) {
		struct pn_stream *s = &c->st[i];
		struct dmt_tx *tx = s->host_mr == mr ? s->tx_host :
				    s->dev_mr == mr ? s->tx_dev : NULL;

		if (s->cur_mr == mr)
			s->cur_mr = NULL;
		if (!tx)
			continue;
		if (dmt_tx_flush(tx, 10000) < 0)
			PN_WARN("NET/devmemtcp: deregMr: sends from the region did "
				"not complete in 10 s: %s",
				dmt_tx_last_error(tx)->message);
		if (s->host_mr == mr)
			s->host_mr = NULL;
		else
			s->dev_mr = NULL;
	}
	pn_gpu_mr_release(mr);
	dmt_buf_free(mr->buf);
	mr->magic = 0;
	free(mr);
	return ncclSuccess;
}

/* ------------------------------------------------------------------ */
/* Data path                                                           */
/* ------------------------------------------------------------------ */

static struct pn_req *req_new(struct pn_comm *c, void **request)
{
	struct pn_req *r;
	int slot;

	*request = NULL;
	if (c->tail - c->head >= PN_MAX_REQS)
		return NULL;
	r = &c->req[c->tail % PN_MAX_REQS];
	pthread_mutex_lock(&pn_lock);
	slot = slot_get(c, c->tail % PN_MAX_REQS);
	pthread_mutex_unlock(&pn_lock);
	if (slot < 0)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->slot = slot;
	r->seq = c->tail;
	c->tail++;
	*request = slot_id(slot);
	return r;
}

/* Queue the chunks of r on the streams, in the split both ends compute. */
static void queue_chunks(struct pn_comm *c, struct pn_req *r)
{
	uint64_t chunk, off = 0;
	unsigned int n = split(c, r->size, &chunk);

	r->pending = n;
	for (unsigned int j = 0; j < n; j++) {
		struct pn_stream *s = &c->st[(c->next_stream + j) % (unsigned)c->nsocks];
		struct pn_task *t = &s->task[s->tail % PN_MAX_REQS];
		uint64_t len = r->size - off < chunk ? r->size - off : chunk;

		*t = (struct pn_task){ .req = r, .off = off, .len = len,
				       .dst = r->dst ? r->dst + off : NULL };
		s->tail++;
		off += len;
	}
	c->next_stream = (c->next_stream + n) % (unsigned)c->nsocks;
}

/* The tx of stream s for mr: created on first use (engine chosen per
 * device, reason logged once per comm), switched with dmt_tx_set_buf. */
static int stream_tx(struct pn_comm *c, struct pn_stream *s, struct pn_mr *mr,
		     struct dmt_tx **out)
{
	bool dev = mr->dmabuf;
	struct dmt_tx **txp = dev ? &s->tx_dev : &s->tx_host;
	struct dmt_error err;

	*out = NULL;
	if (!*txp) {
		enum dmt_engine e = dev ? DMT_ENGINE_DEVMEM : pn_engine;

		/* Both zero-copy and devmem number their completions per
		 * socket: where devmem may share the socket, host memory
		 * takes an engine that does not (io_uring, else copy). */
		if (!dev && e == DMT_ENGINE_AUTO && c->dev->devmem)
			e = dmt_engine_built(DMT_ENGINE_URING) ?
			    DMT_ENGINE_URING : DMT_ENGINE_COPY;
		/* Non-blocking sends come back for the rest of a chunk in
		 * pieces; where the kernel copies anyway (auto's verdict) every
		 * piece that is not small goes by plain send(), not only those
		 * above the default 512 KiB. */
		DMT_OPTS(dmt_tx_opts, o, .engine = e, .nonblock = 1,
			 .ifname = c->dev->name, .auto_copy_min = 16384);
		if (dev && !c->devctx && !(c->devctx = dmt_ctx_new(NULL, &err)))
			return comm_fail(c, ncclSystemError, "devmem sender: %s",
					 err.message);
		pthread_mutex_lock(&pn_lock);
		*txp = dmt_tx_from_fd(dev ? c->devctx : pn_ctx, pn_mr_buf(mr),
				      s->fd, &o, &err);
		pthread_mutex_unlock(&pn_lock);
		if (!*txp)
			return comm_fail(c, ncclSystemError, "no sender on stream "
					 "%d: %s", (int)(s - c->st), err.message);
		if (dev) {
			/* The binding is ours (cached per dma-buf and device,
			 * released at deregMr): move the tx onto it. */
			if (dmt_tx_set_buf(*txp, pn_mr_buf(mr), mr->binding) < 0)
				return comm_fail(c, ncclSystemError, "devmem "
						 "sender: %s",
						 dmt_tx_last_error(*txp)->message);
		}
		if (!(dev ? c->logged_dev : c->logged_host)) {
			log_engine(c, dev ? "GPU memory send" : "host memory send",
				   dmt_engine_name(dmt_tx_engine(*txp)),
				   dmt_tx_engine_reason(*txp));
			if (dev)
				c->logged_dev = true;
			else
				c->logged_host = true;
		}
		s->cur_tx = *txp;
		s->cur_mr = mr;
		*(dev ? &s->dev_mr : &s->host_mr) = mr;
		*out = *txp;
		return 0;
	}
	if ((dev ? s->dev_mr : s->host_mr) != mr) {
		if (dmt_tx_outstanding(*txp)) {
			dmt_tx_reap(*txp);
			if (dmt_tx_outstanding(*txp))
				return 0;	/* wait, not yet */
		}
		if (dmt_tx_set_buf(*txp, pn_mr_buf(mr), dev ? mr->binding : 0) < 0)
			return comm_fail(c, ncclInternalError, "switching the "
					 "sender to another region: %s",
					 dmt_tx_last_error(*txp)->message);
		*(dev ? &s->dev_mr : &s->host_mr) = mr;
	}
	s->cur_tx = *txp;
	s->cur_mr = mr;
	*out = *txp;
	return 0;
}

static ncclResult_t progress_send_stream(struct pn_comm *c, struct pn_stream *s)
{
	/* Retire chunks whose bytes the kernel no longer reads. */
	for (;;) {
		while (s->head != s->sent) {
			struct pn_task *t = &s->task[s->head % PN_MAX_REQS];
			struct dmt_tx *tx = t->tx;

			if (tx && dmt_tx_region_busy(tx, t->req->mr_off + t->off,
						     t->len))
				break;
			t->req->pending--;
			s->head++;
		}
		if (s->head == s->sent || !s->task[s->head % PN_MAX_REQS].tx)
			break;
		if (dmt_tx_reap(s->task[s->head % PN_MAX_REQS].tx) <= 0)
			break;
	}
	/* A full socket reports POLLOUT once a good part of its buffer is
	 * free again: sending before that would queue a few KiB per call. */
	if (s->full && s->sent != s->tail) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };

		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLOUT | POLLERR | POLLHUP)))
			return ncclSuccess;
		s->full = false;
	}
	while (s->sent != s->tail) {
		struct pn_task *t = &s->task[s->sent % PN_MAX_REQS];
		struct dmt_tx *tx;

		if (t->len == t->done) {
			s->sent++;
			continue;
		}
		if (stream_tx(c, s, t->req->mr, &tx) < 0)
			return c->err;
		if (!tx)
			break;
		struct dmt_seg seg = { .off = t->req->mr_off + t->off + t->done,
				       .len = t->len - t->done };
		ssize_t n = dmt_tx_send(tx, &seg, 1);

		if (n == -EAGAIN) {
			s->full = true;
			break;
		}
		if (n < 0)
			return comm_fail(c, ncclSystemError, "send on stream %d: %s",
					 (int)(s - c->st),
					 dmt_tx_last_error(tx)->message);
		t->done += (uint64_t)n;
		if (t->done < t->len) {
			s->full = true;
			break;
		}
		t->tx = tx;
		s->sent++;
	}
	return ncclSuccess;
}

static ncclResult_t progress_send(struct pn_comm *c)
{
	ncclResult_t r;

	while (c->ctrl_sent < c->ctrl_queued) {
		size_t at = (size_t)(c->ctrl_sent % sizeof(c->ctrl_buf));
		size_t len = (size_t)(c->ctrl_queued - c->ctrl_sent);
		ssize_t n;

		if (len > sizeof(c->ctrl_buf) - at)
			len = sizeof(c->ctrl_buf) - at;
		n = send(c->ctrl_fd, c->ctrl_buf + at, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0)
			return comm_fail(c, ncclSystemError, "control stream: %s; "
					 "the receiving rank closed the connection "
					 "or exited", n < 0 ? strerror(errno) :
					 "closed");
		c->ctrl_sent += (uint64_t)n;
	}
	for (int i = 0; i < c->nsocks; i++)
		if ((r = progress_send_stream(c, &c->st[i])) != ncclSuccess)
			return r;
	return ncclSuccess;
}

static ncclResult_t pn_isend(void *send_comm, void *data, size_t size, int tag,
			     void *mhandle, void *phandle, void **request)
{
	struct pn_comm *c = send_comm;
	struct pn_mr *mr = mhandle;
	struct pn_req *r;
	struct { uint32_t magic, seq; uint64_t size; } hdr;

	(void)tag;
	(void)phandle;
	*request = NULL;
	if (!c || c->magic != PN_MAGIC || !c->is_send) {
		PN_WARN("NET/devmemtcp: isend: not a send comm of this plugin");
		return ncclInvalidArgument;
	}
	if (c->err)
		return c->err;
	if (size && (!mr || mr->magic != PN_MAGIC || (char *)data < (char *)mr->base ||
		     size > mr->size || (size_t)((char *)data - (char *)mr->base) >
		     mr->size - size)) {
		PN_WARN("NET/devmemtcp: isend of %zu bytes at %p: outside the "
			"registered region; register the buffer with regMr first",
			size, data);
		return ncclInvalidUsage;
	}
	if (size > INT_MAX) {
		PN_WARN("NET/devmemtcp: isend of %zu bytes: above maxP2pBytes", size);
		return ncclInvalidUsage;
	}
	r = req_new(c, request);
	if (!r)
		return progress_send(c);	/* full: NCCL retries */
	r->size = size;
	r->mr = size ? mr : NULL;
	r->mr_off = size ? (uint64_t)((char *)data - (char *)mr->base) +
		(mr->dmabuf ? mr->dmabuf_off : 0) : 0;
	hdr.magic = PN_MSG_MAGIC;
	hdr.seq = (uint32_t)r->seq;
	hdr.size = size;
	for (size_t i = 0; i < sizeof(hdr); i++)
		c->ctrl_buf[(c->ctrl_queued + i) % sizeof(c->ctrl_buf)] =
			((const char *)&hdr)[i];
	c->ctrl_queued += sizeof(hdr);
	r->ctrl_end = c->ctrl_queued;
	queue_chunks(c, r);
	/* The request exists: a failure from here on is reported by test(). */
	progress_send(c);
	return ncclSuccess;
}

static ncclResult_t progress_recv_stream(struct pn_comm *c, struct pn_stream *s)
{
	while (s->head != s->tail) {
		struct pn_task *t = &s->task[s->head % PN_MAX_REQS];

		if (t->req->mr && t->req->mr->type != NCCL_PTR_HOST) {
			int ret = pn_gpu_recv_task(c, s, t);

			if (ret < 0)
				return c->err;
			if (!ret)
				break;
		} else {
			while (t->done < t->len) {
				ssize_t n = recv(s->fd, t->dst + t->done,
						 t->len - t->done, MSG_DONTWAIT);

				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					return ncclSuccess;
				if (n <= 0)
					return comm_fail(c, ncclSystemError, "data "
						"stream %d: %s; the sending rank "
						"closed the connection or exited",
						(int)(s - c->st), n < 0 ?
						strerror(errno) : "closed early");
				t->done += (uint64_t)n;
			}
		}
		t->req->pending--;
		s->head++;
	}
	return ncclSuccess;
}

static ncclResult_t progress_recv(struct pn_comm *c)
{
	ncclResult_t r;

	/* Headers, one per posted receive, in order. */
	while (c->hdr_next != c->tail) {
		struct pn_req *q = &c->req[c->hdr_next % PN_MAX_REQS];
		ssize_t n;

		if (q->slot < 0 || q->flush) {
			c->hdr_next++;
			continue;
		}
		while (c->hdr_got < sizeof(c->hdr)) {
			n = recv(c->ctrl_fd, (char *)&c->hdr + c->hdr_got,
				 sizeof(c->hdr) - c->hdr_got, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				goto streams;
			if (n <= 0)
				return comm_fail(c, ncclSystemError, "control stream: "
						 "%s; the sending rank closed the "
						 "connection or exited",
						 n < 0 ? strerror(errno) : "closed");
			c->hdr_got += (uint32_t)n;
		}
		c->hdr_got = 0;
		if (c->hdr.magic != PN_MSG_MAGIC || c->hdr.seq != (uint32_t)c->hdr_seq)
			return comm_fail(c, ncclInternalError, "control stream out "
					 "of step (message %u, expected %u)",
					 c->hdr.seq, (uint32_t)c->hdr_seq);
		c->hdr_seq++;
		if (c->hdr.size > q->cap)
			return comm_fail(c, ncclInvalidUsage, "the peer sent %" PRIu64
					 " bytes to a receive of %" PRIu64 " bytes; "
					 "each send must fit the receive it matches",
					 c->hdr.size, q->cap);
		q->size = c->hdr.size;
		q->have_hdr = true;
		queue_chunks(c, q);
		c->hdr_next++;
	}
streams:
	for (int i = 0; i < c->nsocks; i++)
		if ((r = progress_recv_stream(c, &c->st[i])) != ncclSuccess)
			return r;
	return ncclSuccess;
}

static ncclResult_t pn_irecv(void *recv_comm, int n, void **data, size_t *sizes,
			     int *tags, void **mhandles, void **phandles,
			     void **request)
{
	struct pn_comm *c = recv_comm;
	struct pn_mr *mr;
	struct pn_req *r;

	(void)tags;
	(void)phandles;
	*request = NULL;
	if (!c || c->magic != PN_MAGIC || c->is_send) {
		PN_WARN("NET/devmemtcp: irecv: not a receive comm of this plugin");
		return ncclInvalidArgument;
	}
	if (n != 1) {
		PN_WARN("NET/devmemtcp: irecv of %d buffers: this plugin reports "
			"maxRecvs 1", n);
		return ncclInvalidUsage;
	}
	if (c->err)
		return c->err;
	mr = mhandles ? mhandles[0] : NULL;
	if (sizes[0] && (!mr || mr->magic != PN_MAGIC ||
			 (char *)data[0] < (char *)mr->base || sizes[0] > mr->size ||
			 (size_t)((char *)data[0] - (char *)mr->base) > mr->size - sizes[0])) {
		PN_WARN("NET/devmemtcp: irecv of %zu bytes at %p: outside the "
			"registered region; register the buffer with regMr first",
			sizes[0], data[0]);
		return ncclInvalidUsage;
	}
	r = req_new(c, request);
	if (!r)
		return progress_recv(c);
	r->cap = sizes[0];
	r->dst = data[0];
	r->mr = sizes[0] ? mr : NULL;
	r->mr_off = sizes[0] ? (uint64_t)((char *)data[0] - (char *)mr->base) : 0;
	progress_recv(c);	/* failures are reported by test() */
	return ncclSuccess;
}

static ncclResult_t pn_iflush(void *recv_comm, int n, void **data, int *sizes,
			      void **mhandles, void **request)
{
	struct pn_comm *c = recv_comm;
	struct pn_req *r;

	(void)data;
	(void)sizes;
	(void)mhandles;
	*request = NULL;
	if (!c || c->magic != PN_MAGIC || c->is_send) {
		PN_WARN("NET/devmemtcp: iflush: not a receive comm of this plugin");
		return ncclInvalidArgument;
	}
	if (n != 1) {
		PN_WARN("NET/devmemtcp: iflush of %d buffers: maxRecvs is 1", n);
		return ncclInvalidUsage;
	}
	/* The flush is ordered after every receive before it: it completes
	 * when they have and when the device copies they queued are done. */
	r = req_new(c, request);
	if (!r)
		return ncclSuccess;
	r->flush = true;
	r->have_hdr = true;
	pn_gpu_flush_mark(c, r);
	return ncclSuccess;
}

static bool req_complete(struct pn_comm *c, struct pn_req *r)
{
	if (r->slot < 0)
		return true;
	if (r->flush)
		return pn_gpu_flush_done(c, r);
	if (c->is_send)
		return r->pending == 0 && c->ctrl_sent >= r->ctrl_end;
	if (!r->have_hdr || r->pending)
		return false;
	return !r->mr || r->mr->type == NCCL_PTR_HOST || pn_gpu_flush_done(c, r);
}

/* ------------------------------------------------------------------ */
/* Waiting instead of spinning                                         */
/* ------------------------------------------------------------------ */

/*
 * NCCL's proxy thread calls test() in a loop and yields between passes
 * that made no progress. A test() that finds nothing to do would come back
 * at once and cost two or three system calls per call, hundreds per
 * message on a slow path. Instead, when every comm this thread is waiting
 * on is blocked on its sockets (send space, arriving bytes, zero-copy
 * completions), test() sleeps in poll() on all of their sockets for at
 * most NCCL_DEVMEMTCP_POLL_US: it wakes as soon as any of them can move,
 * as a blocking send() or recv() would, and never while some comm could
 * progress without the kernel (a completed request not yet tested, device
 * copies, a sender waiting to switch regions).
 */
#define PN_WAIT_COMMS 16
#define PN_WAIT_FDS 128
static __thread uint64_t wait_serial[PN_WAIT_COMMS];
static __thread unsigned int wait_n;

/* Add the sockets c waits on to p (n used of PN_WAIT_FDS): the count
 * added, or -1 when c could progress without a socket event. */
static int wait_set(struct pn_comm *c, struct pollfd *p, int n)
{
	int add = 0;

#define PN_WAIT_ON(f, ev)                                                    \
	do {                                                                 \
		if (n + add >= PN_WAIT_FDS)                                  \
			return -1;                                           \
		p[n + add++] = (struct pollfd){ .fd = (f), .events = (ev) }; \
	} while (0)
	if (c->err || c->gpu || c->head == c->tail)
		return c->err || c->gpu ? -1 : 0;
	if (req_complete(c, &c->req[c->head % PN_MAX_REQS]))
		return -1;
	if (c->is_send) {
		if (c->ctrl_sent < c->ctrl_queued)
			PN_WAIT_ON(c->ctrl_fd, POLLOUT);
		for (int i = 0; i < c->nsocks; i++) {
			struct pn_stream *s = &c->st[i];

			if (s->sent != s->tail) {
				if (!s->full)
					return -1;
				PN_WAIT_ON(s->fd, POLLOUT);
			} else if (s->head != s->sent) {
				struct dmt_tx *tx = s->task[s->head % PN_MAX_REQS].tx;
				short ev = 0;
				int fd = tx ? dmt_tx_completion_fd(tx, &ev) : -1;

				if (fd < 0)
					return -1;
				PN_WAIT_ON(fd, ev);
			}
		}
		return add;
	}
	for (uint64_t q = c->hdr_next; q != c->tail; q++) {
		struct pn_req *r = &c->req[q % PN_MAX_REQS];

		if (r->slot >= 0 && !r->flush) {
			PN_WAIT_ON(c->ctrl_fd, POLLIN);
			break;
		}
	}
	for (int i = 0; i < c->nsocks; i++) {
		struct pn_stream *s = &c->st[i];

		if (s->head == s->tail)
			continue;
		struct pn_task *t = &s->task[s->head % PN_MAX_REQS];

		if (t->req->mr && t->req->mr->type != NCCL_PTR_HOST)
			return -1;
		/* Wake when the rest of the chunk is there, or pn_rcvlowat
		 * bytes of it: a receiver woken for every segment reads a
		 * few KiB per call, and each read sends the sender a window
		 * update to process (veth, 4 MiB messages: 20 to 30% less
		 * CPU per GB for both ends, docs/nccl.md). */
		if (pn_rcvlowat) {
			uint64_t left = t->len - t->done;
			int lw = left > (uint64_t)pn_rcvlowat ? pn_rcvlowat : (int)left;

			if (lw != s->lowat && setsockopt(s->fd, SOL_SOCKET,
							 SO_RCVLOWAT, &lw,
							 sizeof(lw)) == 0)
				s->lowat = lw;
		}
		PN_WAIT_ON(s->fd, POLLIN);
	}
	return add;
#undef PN_WAIT_ON
}

/* c has a request in flight that is not done: remember it, then sleep
 * until a socket of one of this thread's waiting comms is ready, or until
 * the call's budget (pn_poll_us from its first wait) is spent. Returns
 * true when woken by a socket. */
static bool idle_wait(struct pn_comm *c, struct timespec *until, bool first)
{
	struct pollfd p[PN_WAIT_FDS];
	struct timespec ts, now;
	unsigned int i, keep = 0;
	bool known = false;
	int n = 0, add;

	if (!pn_poll_us)
		return false;
	/* One budget per test() call: the first wait sets it, later waits
	 * of the same call take what is left. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (first) {
		*until = now;
		until->tv_nsec += (long)pn_poll_us * 1000;
		if (until->tv_nsec >= 1000000000L) {
			until->tv_sec++;
			until->tv_nsec -= 1000000000L;
		}
	}
	ts.tv_sec = until->tv_sec - now.tv_sec;
	ts.tv_nsec = until->tv_nsec - now.tv_nsec;
	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000L;
	}
	if (ts.tv_sec < 0)
		return false;
	pthread_mutex_lock(&pn_lock);
	for (i = 0; i < wait_n; i++) {
		struct pn_comm *w;

		for (w = all_comms; w && w->serial != wait_serial[i]; w = w->next_all)
			;
		if (!w || w->head == w->tail)
			continue;	/* closed or idle: forget it */
		wait_serial[keep++] = wait_serial[i];
		known |= w == c;
	}
	wait_n = keep;
	if (!known) {
		if (wait_n == PN_WAIT_COMMS)
			memmove(wait_serial, wait_serial + 1,
				--wait_n * sizeof(wait_serial[0]));
		wait_serial[wait_n++] = c->serial;
	}
	for (i = 0; i < wait_n; i++) {
		struct pn_comm *w;

		for (w = all_comms; w && w->serial != wait_serial[i]; w = w->next_all)
			;
		if ((add = wait_set(w, p, n)) < 0) {
			n = -1;
			break;
		}
		n += add;
	}
	pthread_mutex_unlock(&pn_lock);
	if (n <= 0)
		return false;
	return ppoll(p, (nfds_t)n, &ts, NULL) > 0;
}

static ncclResult_t pn_test(void *request, int *done, int *size)
{
	uint64_t id = (uint64_t)(uintptr_t)request;
	uint32_t idx = (uint32_t)(id & 0xffffffffu), gen = (uint32_t)(id >> 32);
	struct pn_comm *c;
	struct pn_req *r;
	ncclResult_t ret;

	*done = 0;
	pthread_mutex_lock(&pn_lock);
	if (idx == 0 || idx > PN_SLOTS || !slots[idx - 1].used ||
	    slots[idx - 1].gen != gen) {
		pthread_mutex_unlock(&pn_lock);
		PN_WARN("NET/devmemtcp: test: request %p is not in flight (already "
			"completed, its comm closed, or not from this plugin)",
			request);
		return ncclInvalidUsage;
	}
	c = slots[idx - 1].comm;
	r = &c->req[slots[idx - 1].pos];
	pthread_mutex_unlock(&pn_lock);
	if (c->err)
		return c->err;
	struct timespec until;

	for (int pass = 0;; pass++) {
		bool all = true;

		ret = c->is_send ? progress_send(c) : progress_recv(c);
		if (ret != ncclSuccess)
			return ret;
		/* In order: r is done when it and every request before it
		 * are. */
		for (uint64_t s = c->head; all && s <= r->seq; s++)
			all = req_complete(c, &c->req[s % PN_MAX_REQS]);
		if (all)
			break;
		if (!idle_wait(c, &until, pass == 0))
			return ncclSuccess;
	}
	*done = 1;
	if (size)
		*size = (int)r->size;
	pthread_mutex_lock(&pn_lock);
	slot_put(r->slot);
	pthread_mutex_unlock(&pn_lock);
	r->slot = -1;
	while (c->head < c->tail && c->req[c->head % PN_MAX_REQS].slot < 0)
		c->head++;
	return ncclSuccess;
}

static ncclResult_t close_comm(void *comm, bool is_send)
{
	struct pn_comm *c = comm;

	if (!c || c->magic != PN_MAGIC || c->is_send != is_send) {
		PN_WARN("NET/devmemtcp: %s: not a %s comm of this plugin",
			is_send ? "closeSend" : "closeRecv", is_send ? "send" : "receive");
		return ncclInvalidArgument;
	}
	comm_free(c);
	return ncclSuccess;
}

static ncclResult_t pn_close_send(void *c) { return close_comm(c, true); }
static ncclResult_t pn_close_recv(void *c) { return close_comm(c, false); }

static ncclResult_t pn_get_device_mr(void *comm, void *mhandle, void **dptr)
{
	(void)comm;
	(void)mhandle;
	*dptr = NULL;
	return ncclInternalError;	/* no device offload (netDeviceType HOST) */
}

static ncclResult_t pn_irecv_consumed(void *comm, int n, void *request)
{
	(void)comm;
	(void)n;
	(void)request;
	return ncclSuccess;
}

static ncclResult_t pn_make_vdevice(int *d, ncclNetVDeviceProps_t *props)
{
	(void)props;
	(void)d;
	PN_WARN("NET/devmemtcp: virtual devices (NIC fusion) are not supported; "
		"unset NCCL_NET_MERGE_LEVEL");
	return ncclInvalidUsage;
}

/* ------------------------------------------------------------------ */
/* Exported versions                                                   */
/* ------------------------------------------------------------------ */

#define PN_EXPORT __attribute__((visibility("default")))

PN_EXPORT const ncclNet_v10_t ncclNetPlugin_v10 = {
	.name = "devmemtcp",
	.init = pn_init,
	.devices = pn_devices,
	.getProperties = pn_get_properties,
	.listen = pn_listen,
	.connect = pn_connect,
	.accept = pn_accept,
	.regMr = pn_reg_mr,
	.regMrDmaBuf = pn_reg_mr_dmabuf,
	.deregMr = pn_dereg_mr,
	.isend = pn_isend,
	.irecv = pn_irecv,
	.iflush = pn_iflush,
	.test = pn_test,
	.closeSend = pn_close_send,
	.closeRecv = pn_close_recv,
	.closeListen = pn_close_listen,
	.getDeviceMr = pn_get_device_mr,
	.irecvConsumed = pn_irecv_consumed,
	.makeVDevice = pn_make_vdevice,
};

/* v9: no profiler, no comm config; the same properties. */
static ncclResult_t v9_init(ncclDebugLogger_t l) { return pn_init(l, NULL); }
static ncclResult_t v9_connect(int dev, void *h, void **sc, ncclNetDeviceHandle_t **dc)
{
	return pn_connect(dev, NULL, h, sc, dc);
}
static ncclResult_t v9_isend(void *c, void *d, size_t s, int t, void *m, void **r)
{
	return pn_isend(c, d, s, t, m, NULL, r);
}
static ncclResult_t v9_irecv(void *c, int n, void **d, size_t *s, int *t, void **m,
			     void **r)
{
	return pn_irecv(c, n, d, s, t, m, NULL, r);
}

PN_EXPORT const ncclNet_v9_t ncclNetPlugin_v9 = {
	.name = "devmemtcp",
	.init = v9_init,
	.devices = pn_devices,
	.getProperties = pn_get_properties,
	.listen = pn_listen,
	.connect = v9_connect,
	.accept = pn_accept,
	.regMr = pn_reg_mr,
	.regMrDmaBuf = pn_reg_mr_dmabuf,
	.deregMr = pn_dereg_mr,
	.isend = v9_isend,
	.irecv = v9_irecv,
	.iflush = pn_iflush,
	.test = pn_test,
	.closeSend = pn_close_send,
	.closeRecv = pn_close_recv,
	.closeListen = pn_close_listen,
	.getDeviceMr = pn_get_device_mr,
	.irecvConsumed = pn_irecv_consumed,
	.makeVDevice = pn_make_vdevice,
};

/* v8: int sizes, smaller properties. */
static ncclResult_t v8_props(int dev, ncclNetProperties_v8_t *p)
{
	ncclNetProperties_v10_t q;
	ncclResult_t r = pn_get_properties(dev, &q);

	if (r != ncclSuccess)
		return r;
	p->name = q.name;
	p->pciPath = q.pciPath;
	p->guid = q.guid;
	p->ptrSupport = q.ptrSupport;
	p->regIsGlobal = q.regIsGlobal;
	p->speed = q.speed;
	p->port = q.port;
	p->latency = q.latency;
	p->maxComms = q.maxComms;
	p->maxRecvs = q.maxRecvs;
	p->netDeviceType = q.netDeviceType;
	p->netDeviceVersion = q.netDeviceVersion;
	return ncclSuccess;
}
static ncclResult_t v8_isend(void *c, void *d, int s, int t, void *m, void **r)
{
	if (s < 0) {
		PN_WARN("NET/devmemtcp: isend of %d bytes", s);
		return ncclInvalidArgument;
	}
	return pn_isend(c, d, (size_t)s, t, m, NULL, r);
}
static ncclResult_t v8_irecv(void *c, int n, void **d, int *s, int *t, void **m,
			     void **r)
{
	size_t sz;

	if (n != 1 || s[0] < 0) {
		PN_WARN("NET/devmemtcp: irecv of %d buffers (size %d): give one "
			"buffer of size >= 0", n, n > 0 ? s[0] : 0);
		return ncclInvalidUsage;
	}
	sz = (size_t)s[0];
	return pn_irecv(c, 1, d, &sz, t, m, NULL, r);
}

PN_EXPORT const ncclNet_v8_t ncclNetPlugin_v8 = {
	.name = "devmemtcp",
	.init = v9_init,
	.devices = pn_devices,
	.getProperties = v8_props,
	.listen = pn_listen,
	.connect = v9_connect,
	.accept = pn_accept,
	.regMr = pn_reg_mr,
	.regMrDmaBuf = pn_reg_mr_dmabuf,
	.deregMr = pn_dereg_mr,
	.isend = v8_isend,
	.irecv = v8_irecv,
	.iflush = pn_iflush,
	.test = pn_test,
	.closeSend = pn_close_send,
	.closeRecv = pn_close_recv,
	.closeListen = pn_close_listen,
	.getDeviceMr = pn_get_device_mr,
	.irecvConsumed = pn_irecv_consumed,
};
