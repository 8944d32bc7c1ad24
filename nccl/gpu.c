// SPDX-License-Identifier: MIT
/*
 * GPU memory: devmem TX from NCCL's dma-bufs (bindings cached per dma-buf
 * and device, released at deregMr) and RX into GPU memory. A receive comm
 * on a devmem-ready device gets a plugin-owned GPU buffer bound to an RX
 * queue of the NIC (the library's reversible NIC setup, a flow rule on the
 * comm's port); fragments landing there are copied on the device into
 * NCCL's buffer on a CUDA stream, and a receive completes (and so does an
 * iflush after it) when its copies have. Where devmem RX cannot be set up,
 * GPU receives go through a host bounce buffer and a host-to-device copy.
 *
 * The CUDA driver API is loaded with dlopen (libcuda.so.1), never linked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include "pn.h"

typedef int CUresult;
typedef void *CUcontext;
typedef void *CUstream;
typedef void *CUevent;
typedef unsigned long long CUdeviceptr;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NOT_READY 600
#define CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD 1
#define CU_EVENT_DISABLE_TIMING 2
#define CU_STREAM_NON_BLOCKING 1

static struct {
	bool tried, ok;
	char why[160];
	CUresult (*init)(unsigned int);
	CUresult (*ctx_get_current)(CUcontext *);
	CUresult (*ctx_set_current)(CUcontext);
	CUresult (*mem_alloc)(CUdeviceptr *, size_t);
	CUresult (*mem_free)(CUdeviceptr);
	CUresult (*get_handle)(void *, CUdeviceptr, size_t, int, unsigned long long);
	CUresult (*dtod)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*htod)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*stream_create)(CUstream *, unsigned int);
	CUresult (*stream_destroy)(CUstream);
	CUresult (*stream_sync)(CUstream);
	CUresult (*event_create)(CUevent *, unsigned int);
	CUresult (*event_record)(CUevent, CUstream);
	CUresult (*event_query)(CUevent);
	CUresult (*event_sync)(CUevent);
	CUresult (*event_destroy)(CUevent);
	CUresult (*error_string)(CUresult, const char **);
} cu;

static bool cuda_load(void)
{
	const char *name;
	void *h;

	if (cu.tried)
		return cu.ok;
	cu.tried = true;
	name = secure_getenv("DMT_CUDA_LIB");
	h = dlopen(name && *name ? name : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(cu.why, sizeof(cu.why), "no CUDA driver: %s", dlerror());
		return false;
	}
#define SYM(f, s)                                                           \
	do {                                                                \
		*(void **)&cu.f = dlsym(h, s);                              \
		if (!cu.f) {                                                \
			snprintf(cu.why, sizeof(cu.why), "CUDA driver lacks %s " \
				 "(driver too old for dma-buf export)", s); \
			return false;                                       \
		}                                                           \
	} while (0)
	SYM(init, "cuInit");
	SYM(ctx_get_current, "cuCtxGetCurrent");
	SYM(ctx_set_current, "cuCtxSetCurrent");
	SYM(mem_alloc, "cuMemAlloc_v2");
	SYM(mem_free, "cuMemFree_v2");
	SYM(get_handle, "cuMemGetHandleForAddressRange");
	SYM(dtod, "cuMemcpyDtoDAsync_v2");
	SYM(htod, "cuMemcpyHtoDAsync_v2");
	SYM(stream_create, "cuStreamCreate");
	SYM(stream_destroy, "cuStreamDestroy_v2");
	SYM(stream_sync, "cuStreamSynchronize");
	SYM(event_create, "cuEventCreate");
	SYM(event_record, "cuEventRecord");
	SYM(event_query, "cuEventQuery");
	SYM(event_sync, "cuEventSynchronize");
	SYM(event_destroy, "cuEventDestroy_v2");
	SYM(error_string, "cuGetErrorString");
#undef SYM
	if (cu.init(0) != CUDA_SUCCESS) {
		snprintf(cu.why, sizeof(cu.why), "cuInit failed (no usable GPU)");
		return false;
	}
	cu.ok = true;
	return true;
}

static const char *cu_err(CUresult r)
{
	const char *s = NULL;

	if (cu.error_string)
		cu.error_string(r, &s);
	return s ? s : "unknown CUDA error";
}

/* ------------------------------------------------------------------ */
/* devmem TX: dma-buf registration and the binding cache               */
/* ------------------------------------------------------------------ */

struct pn_binding {
	struct pn_binding *next;
	dev_t st_dev;
	ino_t st_ino;		/* identity of the dma-buf (fd numbers recycle) */
	int ifindex;
	unsigned int refs;
	struct dmt_ctx *ctx;	/* owns the binding: freed, it releases it */
	struct dmt_buf *buf;	/* the imported dma-buf */
	uint32_t id;
};
static struct pn_binding *bindings;

ncclResult_t pn_reg_mr_dmabuf(void *comm, void *data, size_t size, int type,
			      uint64_t offset, int fd, void **mhandle)
{
	struct pn_comm *c = comm;
	struct pn_binding *b;
	struct pn_mr *mr;
	struct dmt_error err;
	struct stat stt;
	int ret;

	*mhandle = NULL;
	if (!c || c->magic != PN_MAGIC) {
		PN_WARN("NET/devmemtcp: regMrDmaBuf: not a comm of this plugin");
		return ncclInvalidArgument;
	}
	if (type == NCCL_PTR_HOST)
		return c->err ? c->err : pn_reg_mr_host(c, data, size, mhandle);
	if (!c->dev->devmem) {
		PN_WARN("NET/devmemtcp: regMrDmaBuf on %s: the device is not "
			"devmem-ready (%s); GPU memory cannot be sent or received "
			"on it", c->dev->name, c->dev->why);
		return ncclInvalidUsage;
	}
	if (fstat(fd, &stt) < 0) {
		PN_WARN("NET/devmemtcp: regMrDmaBuf: fd %d: %s", fd, strerror(errno));
		return ncclSystemError;
	}
	mr = pn_mr_new(type, data, size);
	if (!mr)
		return ncclSystemError;
	mr->dmabuf = true;
	mr->dmabuf_off = offset;
	if (!c->is_send) {
		/* Receives are copied on the device to data: nothing to bind. */
		*mhandle = mr;
		return ncclSuccess;
	}
	pthread_mutex_lock(&pn_lock);
	for (b = bindings; b; b = b->next)
		if (b->st_dev == stt.st_dev && b->st_ino == stt.st_ino &&
		    b->ifindex == c->dev->ifindex)
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			goto nomem;
		b->st_dev = stt.st_dev;
		b->st_ino = stt.st_ino;
		b->ifindex = c->dev->ifindex;
		b->buf = dmt_buf_import(fd, 0, &err);
		if (!b->buf)
			goto fail;
		b->ctx = dmt_ctx_new(NULL, &err);
		if (!b->ctx)
			goto fail;
		ret = dmt_ctx_bind_tx(b->ctx, c->dev->ifindex,
				  dmt_buf_dmabuf_fd(b->buf), &b->id);
		if (ret < 0) {
			err = *dmt_ctx_last_error(b->ctx);
			goto fail;
		}
		b->next = bindings;
		bindings = b;
		PN_INFO(NCCL_NET, "NET/devmemtcp: dma-buf (inode %lu) bound for "
			"TX on %s: binding %u", (unsigned long)stt.st_ino,
			c->dev->name, b->id);
	}
	b->refs++;
	pthread_mutex_unlock(&pn_lock);
	if (offset > dmt_buf_size(b->buf) || size > dmt_buf_size(b->buf) - offset) {
		PN_WARN("NET/devmemtcp: regMrDmaBuf: %zu bytes at offset %lu do not "
			"fit the %zu-byte dma-buf", size, (unsigned long)offset,
			dmt_buf_size(b->buf));
		mr->bind = b;
		pn_gpu_mr_release(mr);
		free(mr);
		return ncclInvalidArgument;
	}
	mr->buf = NULL;		/* the cache entry owns the import */
	mr->bind = b;
	mr->binding = b->id;
	*mhandle = mr;
	return ncclSuccess;
fail:
	PN_WARN("NET/devmemtcp: regMrDmaBuf on %s: %s", c->dev->name, err.message);
	if (b) {
		dmt_ctx_free(b->ctx);
		dmt_buf_free(b->buf);
		free(b);
	}
	pthread_mutex_unlock(&pn_lock);
	free(mr);
	return ncclSystemError;
nomem:
	pthread_mutex_unlock(&pn_lock);
	free(mr);
	return ncclSystemError;
}

struct dmt_buf *pn_mr_buf(struct pn_mr *mr)
{
	return mr->bind ? mr->bind->buf : mr->buf;
}

void pn_gpu_mr_release(struct pn_mr *mr)
{
	struct pn_binding *b = mr->bind, **pp;

	if (!b)
		return;
	pthread_mutex_lock(&pn_lock);
	if (--b->refs == 0) {
		for (pp = &bindings; *pp; pp = &(*pp)->next)
			if (*pp == b) {
				*pp = b->next;
				break;
			}
		PN_INFO(NCCL_NET, "NET/devmemtcp: releasing TX binding %u", b->id);
		dmt_ctx_free(b->ctx);	/* the kernel releases the binding */
		dmt_buf_free(b->buf);
		free(b);
	}
	pthread_mutex_unlock(&pn_lock);
	mr->bind = NULL;
}

/* ------------------------------------------------------------------ */
/* RX into GPU memory                                                  */
/* ------------------------------------------------------------------ */

#define PN_FRAGS 64
#define PN_BATCHES 8
#define PN_BOUNCE (1u << 20)

struct pn_batch {
	struct dmt_frag frag[PN_FRAGS];
	unsigned int n;
	CUevent ev;
};

struct pn_gpu_stream {
	struct dmt_rx *rx;
	/* fragments from the last dmt_rx_recv not yet copied out */
	struct dmt_frag frag[PN_FRAGS];
	unsigned int nfrag, at;
	uint32_t used;		/* bytes of frag[at] already copied */
	/* fragments copied, released once their copies are done */
	struct pn_batch batch[PN_BATCHES];
	unsigned int bhead, btail;
	char *bounce;		/* host bounce (no devmem RX) */
};

struct pn_gpu_comm {
	CUcontext cuctx;
	CUstream stream;
	CUevent ev[PN_MAX_REQS];
	bool recorded[PN_MAX_REQS];
	CUdeviceptr rxmem;
	size_t rxsize;
	struct dmt_ctx *ctx;	/* owns the RX binding */
	struct dmt_buf *rxbuf;
	struct dmt_rx_listener *rxl;	/* the NIC setup and the binding */
	bool devmem;		/* devmem RX bound, else host bounce */
};

static struct pn_gpu_comm *gpu_comm_new(struct pn_comm *c)
{
	struct pn_gpu_comm *g;
	CUresult r;

	if (c->gpu)
		return c->gpu;
	if (!cuda_load()) {
		pn_fail(c, "%s", cu.why);
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	/* NCCL's proxy thread runs with the rank's device context current. */
	if ((r = cu.ctx_get_current(&g->cuctx)) != CUDA_SUCCESS || !g->cuctx) {
		pn_fail(c, "no current CUDA context in the calling thread");
		free(g);
		return NULL;
	}
	if ((r = cu.stream_create(&g->stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS) {
		pn_fail(c, "cuStreamCreate: %s", cu_err(r));
		free(g);
		return NULL;
	}
	for (int i = 0; i < PN_MAX_REQS; i++)
		if ((r = cu.event_create(&g->ev[i], CU_EVENT_DISABLE_TIMING)) !=
		    CUDA_SUCCESS) {
			pn_fail(c, "cuEventCreate: %s", cu_err(r));
			c->gpu = g;
			pn_gpu_comm_fini(c);
			return NULL;
		}
	c->gpu = g;
	return g;
}

void pn_gpu_recv_setup(struct pn_comm *c, struct pn_listen *l)
{
	struct pn_gpu_comm *g = gpu_comm_new(c);
	struct sockaddr_storage local, peer;
	socklen_t ll = sizeof(local), pl = sizeof(peer);
	struct dmt_error err;
	int dmabuf_fd = -1;
	CUresult r;

	if (!g)
		return;
	g->rxsize = (size_t)pn_env_mb("NCCL_DEVMEMTCP_RX_BUF_MB", 64) << 20;
	if ((r = cu.mem_alloc(&g->rxmem, g->rxsize)) != CUDA_SUCCESS) {
		PN_INFO(NCCL_NET, "NET/devmemtcp: recv comm %s: no devmem RX: GPU "
			"buffer of %zu bytes: %s", c->peer, g->rxsize, cu_err(r));
		g->rxmem = 0;
		return;
	}
	if ((r = cu.get_handle(&dmabuf_fd, g->rxmem, g->rxsize,
			       CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0)) != CUDA_SUCCESS) {
		PN_INFO(NCCL_NET, "NET/devmemtcp: recv comm %s: no devmem RX: "
			"dma-buf export: %s", c->peer, cu_err(r));
		return;
	}
	g->rxbuf = dmt_buf_import(dmabuf_fd, g->rxsize, &err);
	close(dmabuf_fd);
	if (!g->rxbuf)
		goto fail;
	g->ctx = dmt_ctx_new(NULL, &err);
	if (!g->ctx)
		goto fail;
	getsockname(c->st[0].fd, (struct sockaddr *)&local, &ll);
	getpeername(c->st[0].fd, (struct sockaddr *)&peer, &pl);
	{
		/* the connections exist already: the listener only sets the
		 * NIC up and binds (no_socket) */
		char ifname[IF_NAMESIZE] = "";
		DMT_OPTS(dmt_rx_listen_opts, lo, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = if_indextoname((unsigned int)l->dev->ifindex,
						  ifname),
			 .no_socket = 1);

		g->rxl = dmt_rx_listen(g->ctx, g->rxbuf,
				       (struct sockaddr *)&local, ll, &lo, &err);
		if (!g->rxl)
			goto fail;
	}
	for (int i = 0; i < c->nsocks; i++) {
		struct pn_gpu_stream *gs = calloc(1, sizeof(*gs));

		if (!gs)
			goto nomem;
		c->st[i].gpu = gs;
		DMT_OPTS(dmt_rx_opts, ro, .engine = DMT_ENGINE_DEVMEM,
			 .nonblock = 1);
		gs->rx = dmt_rx_from_fd(g->rxl, NULL, c->st[i].fd, &ro, &err);
		if (!gs->rx)
			goto fail;
	}
	g->devmem = true;
	return;
fail:
	PN_INFO(NCCL_NET, "NET/devmemtcp: recv comm %s: no devmem RX, GPU "
		"receives go through host memory: %s", c->peer, err.message);
nomem:
	for (int i = 0; i < c->nsocks; i++)
		pn_gpu_stream_fini(c, &c->st[i]);
	dmt_rx_listener_free(g->rxl);	/* undoes the NIC changes */
	g->rxl = NULL;
	dmt_ctx_free(g->ctx);
	g->ctx = NULL;
	dmt_buf_free(g->rxbuf);
	g->rxbuf = NULL;
}

void pn_gpu_stream_fini(struct pn_comm *c, struct pn_stream *s)
{
	struct pn_gpu_stream *gs = s->gpu;

	if (!gs)
		return;
	if (c->gpu && c->gpu->stream)
		cu.stream_sync(c->gpu->stream);
	for (unsigned int b = gs->bhead; b != gs->btail; b++) {
		struct pn_batch *bt = &gs->batch[b % PN_BATCHES];

		if (gs->rx)
			dmt_rx_release(gs->rx, bt->frag, bt->n);
	}
	for (unsigned int b = 0; b < PN_BATCHES; b++)
		if (gs->batch[b].ev)
			cu.event_destroy(gs->batch[b].ev);
	dmt_rx_free(gs->rx);	/* releases what is still lent */
	free(gs->bounce);
	free(gs);
	s->gpu = NULL;
}

void pn_gpu_comm_fini(struct pn_comm *c)
{
	struct pn_gpu_comm *g = c->gpu;

	if (!g)
		return;
	if (g->stream)
		cu.stream_sync(g->stream);
	for (int i = 0; i < PN_MAX_REQS; i++)
		if (g->ev[i])
			cu.event_destroy(g->ev[i]);
	if (g->stream)
		cu.stream_destroy(g->stream);
	dmt_rx_listener_free(g->rxl);
	dmt_ctx_free(g->ctx);
	dmt_buf_free(g->rxbuf);
	if (g->rxmem)
		cu.mem_free(g->rxmem);
	free(g);
	c->gpu = NULL;
}

/* Release batches whose copies are done; wait for the oldest when all
 * slots are taken. */
static int retire_batches(struct pn_comm *c, struct pn_gpu_stream *gs, bool need)
{
	while (gs->bhead != gs->btail) {
		struct pn_batch *b = &gs->batch[gs->bhead % PN_BATCHES];
		CUresult r = need && gs->btail - gs->bhead == PN_BATCHES ?
			     cu.event_sync(b->ev) : cu.event_query(b->ev);

		if (r == CUDA_ERROR_NOT_READY)
			break;
		if (r != CUDA_SUCCESS)
			return pn_fail(c, "device copy failed: %s", cu_err(r));
		if (dmt_rx_release(gs->rx, b->frag, b->n) < 0)
			return pn_fail(c, "returning devmem buffers: %s",
					     dmt_rx_last_error(gs->rx)->message);
		gs->bhead++;
	}
	return 0;
}

static int recv_devmem(struct pn_comm *c, struct pn_stream *s, struct pn_task *t)
{
	struct pn_gpu_comm *g = c->gpu;
	struct pn_gpu_stream *gs = s->gpu;
	CUresult r;

	while (t->done < t->len) {
		if (gs->at == gs->nfrag) {
			ssize_t n;

			if (retire_batches(c, gs, true) < 0)
				return -1;
			n = dmt_rx_recv(gs->rx, gs->frag, PN_FRAGS, &gs->nfrag);
			if (n == -EAGAIN) {
				gs->nfrag = 0;
				return 0;
			}
			if (n <= 0)
				return pn_fail(c, "devmem receive on stream %d: "
					"%s", (int)(s - c->st), n == 0 ?
					"the sending rank closed the connection" :
					dmt_rx_last_error(gs->rx)->message);
			gs->at = 0;
			gs->used = 0;
			struct pn_batch *b = &gs->batch[gs->btail % PN_BATCHES];

			b->n = 0;
		}
		struct dmt_frag *f = &gs->frag[gs->at];
		uint64_t take = f->len - gs->used;
		CUdeviceptr dst = (CUdeviceptr)(uintptr_t)(t->dst + t->done);

		if (take > t->len - t->done)
			take = t->len - t->done;
		if (f->flags & DMT_FRAG_LINEAR) {
			/* Host bytes, overwritten by the next receive: copy
			 * now and wait (rare: header split missed). */
			const char *lin = (const char *)dmt_rx_linear(gs->rx);

			r = cu.htod(dst, lin + f->off + gs->used, take, g->stream);
			if (r == CUDA_SUCCESS)
				r = cu.stream_sync(g->stream);
		} else {
			r = cu.dtod(dst, (CUdeviceptr)(g->rxmem + f->off + gs->used),
				    take, g->stream);
		}
		if (r != CUDA_SUCCESS)
			return pn_fail(c, "device copy: %s", cu_err(r));
		gs->used += (uint32_t)take;
		t->done += take;
		if (gs->used == f->len) {
			struct pn_batch *b = &gs->batch[gs->btail % PN_BATCHES];

			b->frag[b->n++] = *f;
			gs->at++;
			gs->used = 0;
			if (gs->at == gs->nfrag) {
				if (!b->ev && (r = cu.event_create(&b->ev,
						CU_EVENT_DISABLE_TIMING)) != CUDA_SUCCESS)
					return pn_fail(c, "cuEventCreate: %s",
							     cu_err(r));
				if ((r = cu.event_record(b->ev, g->stream)) != CUDA_SUCCESS)
					return pn_fail(c, "cuEventRecord: %s",
							     cu_err(r));
				gs->btail++;
			}
		}
	}
	return 1;
}

static int recv_bounce(struct pn_comm *c, struct pn_stream *s, struct pn_task *t)
{
	struct pn_gpu_comm *g = c->gpu;
	struct pn_gpu_stream *gs = s->gpu;
	CUresult r;

	if (!gs) {
		gs = s->gpu = calloc(1, sizeof(*gs));
		if (!gs)
			return pn_fail(c, "out of memory");
	}
	if (!gs->bounce && !(gs->bounce = malloc(PN_BOUNCE)))
		return pn_fail(c, "out of memory");
	while (t->done < t->len) {
		uint64_t want = t->len - t->done < PN_BOUNCE ? t->len - t->done :
				PN_BOUNCE;
		ssize_t n = recv(s->fd, gs->bounce, want, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return pn_fail(c, "data stream %d: %s", (int)(s - c->st),
					     n < 0 ? strerror(errno) :
					     "the sending rank closed the connection");
		r = cu.htod((CUdeviceptr)(uintptr_t)(t->dst + t->done), gs->bounce,
			    (size_t)n, g->stream);
		if (r == CUDA_SUCCESS)
			r = cu.stream_sync(g->stream);
		if (r != CUDA_SUCCESS)
			return pn_fail(c, "host to device copy: %s", cu_err(r));
		t->done += (uint64_t)n;
	}
	return 1;
}

int pn_gpu_recv_task(struct pn_comm *c, struct pn_stream *s, struct pn_task *t)
{
	if (!gpu_comm_new(c))
		return -1;
	return c->gpu->devmem ? recv_devmem(c, s, t) : recv_bounce(c, s, t);
}

void pn_gpu_flush_mark(struct pn_comm *c, struct pn_req *r)
{
	(void)c;
	r->flush_mark = 1;
}

/* A GPU receive (or a flush) is complete when the device copies queued
 * before it are: an event recorded once on the comm's copy stream. */
bool pn_gpu_flush_done(struct pn_comm *c, struct pn_req *r)
{
	struct pn_gpu_comm *g = c->gpu;
	unsigned int pos = (unsigned int)(r->seq % PN_MAX_REQS);
	CUresult res;

	if (!g)
		return true;	/* nothing was ever copied on the device */
	if (!g->recorded[pos]) {
		if (cu.event_record(g->ev[pos], g->stream) != CUDA_SUCCESS)
			return true;
		g->recorded[pos] = true;
	}
	res = cu.event_query(g->ev[pos]);
	if (res == CUDA_ERROR_NOT_READY)
		return false;
	g->recorded[pos] = false;
	if (res != CUDA_SUCCESS)
		pn_fail(c, "device copy failed: %s", cu_err(res));
	return true;
}
