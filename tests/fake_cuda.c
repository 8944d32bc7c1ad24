// SPDX-License-Identifier: MIT
/*
 * FAKE libcuda for tests. NOT the NVIDIA driver.
 *
 * A tiny stand-in for the CUDA driver API entry points libdevmemtcp uses,
 * loaded through DMT_CUDA_LIB so the whole CUDA provider can run on a host
 * without a GPU. "Device memory" is host memory behind opaque fake device
 * addresses (never CPU-dereferenceable: a stray dereference by the library
 * crashes the test); the exported "dma-buf" is a memfd named
 * "fake-cuda-dmabuf" kept coherent with writes (it is NOT a dma-buf: the
 * kernel will refuse to bind it, which is what the tests expect).
 *
 * Behaviour is steered per call by environment variables:
 *   FAKE_CUDA_DEVICES=N       number of devices (default 1; 0: cuInit fails
 *                             with CUDA_ERROR_NO_DEVICE)
 *   FAKE_CUDA_DMABUF=0        CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0
 *   FAKE_CUDA_NO_PCIE_FLAG=1  export rejects the PCIe mapping flag with
 *                             CUDA_ERROR_INVALID_VALUE (older drivers)
 *   FAKE_CUDA_EXPORT_ERR=N    export fails with CUresult N
 *   FAKE_CUDA_MISALIGN=1      cuMemAlloc returns pointers 256 B past a page
 *   FAKE_CUDA_OOM=1           cuMemAlloc fails with CUDA_ERROR_OUT_OF_MEMORY
 *   FAKE_CUDA_COPY_ERR=N      cuMemcpy* fail with CUresult N
 * Built with -DFAKE_CUDA_OLD it lacks cuMemGetHandleForAddressRange (a
 * driver older than CUDA 11.7).
 *
 * Device memory calls check that a context is current on the calling
 * thread, as the real driver does, so a missing cuCtxPushCurrent in the
 * library (e.g. on the staging copy thread) fails the tests.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fake_gpu.h"

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef unsigned long long CUdeviceptr;

#define OK 0
#define E_INVALID_VALUE 1
#define E_OOM 2
#define E_NOT_INIT 3
#define E_NO_DEVICE 100
#define E_INVALID_DEVICE 101
#define E_INVALID_CONTEXT 201
#define E_NOT_SUPPORTED 801

#define API __attribute__((visibility("default")))
#define FAKE_BASE 0x100000000000ULL	/* 16 TiB: nothing of ours lives there */
#define GRANULE (2ULL << 20)
#define MAXDEV 8
#define MAXALLOC 64
#define MAXEXP 64

struct ctx_st { int dev; };
struct CUctx_st { int dev; };

struct alloc {
	CUdeviceptr base;
	size_t len;
	char *mem;
};

struct exp {
	int fd;
	CUdeviceptr start;
	size_t len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct CUctx_st ctxs[MAXDEV];
static int ctx_ref[MAXDEV];
static struct alloc allocs[MAXALLOC];
static struct exp exps[MAXEXP];
static CUdeviceptr next_addr = FAKE_BASE;
static int inited;
static struct fake_cuda_stats stats;
static __thread CUcontext stack[16];
static __thread int depth;

static int envint(const char *name, int def)
{
	const char *s = getenv(name);

	return s && s[0] ? atoi(s) : def;
}

static int ndev(void)
{
	int n = envint("FAKE_CUDA_DEVICES", 1);

	return n < 0 ? 0 : n > MAXDEV ? MAXDEV : n;
}

/* cuInit called, and d a device of ours */
static CUresult check_dev(int d)
{
	if (!inited)
		return E_NOT_INIT;
	return d < 0 || d >= ndev() ? E_INVALID_DEVICE : OK;
}

API void fake_cuda_get_stats(struct fake_cuda_stats *s)
{
	pthread_mutex_lock(&mu);
	*s = stats;
	pthread_mutex_unlock(&mu);
}

API CUresult cuGetErrorName(CUresult r, const char **s)
{
	switch (r) {
	case OK: *s = "CUDA_SUCCESS"; break;
	case E_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
	case E_OOM: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
	case E_NOT_INIT: *s = "CUDA_ERROR_NOT_INITIALIZED"; break;
	case E_NO_DEVICE: *s = "CUDA_ERROR_NO_DEVICE"; break;
	case E_INVALID_DEVICE: *s = "CUDA_ERROR_INVALID_DEVICE"; break;
	case E_INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; break;
	case E_NOT_SUPPORTED: *s = "CUDA_ERROR_NOT_SUPPORTED"; break;
	default: *s = NULL; return E_INVALID_VALUE;
	}
	return OK;
}

API CUresult cuGetErrorString(CUresult r, const char **s)
{
	if (cuGetErrorName(r, s) != OK)
		return E_INVALID_VALUE;
	*s = "fake driver error";
	return OK;
}

API CUresult cuInit(unsigned int flags)
{
	if (flags)
		return E_INVALID_VALUE;
	if (!ndev())
		return E_NO_DEVICE;
	inited = 1;
	return OK;
}

API CUresult cuDriverGetVersion(int *v)
{
	*v = 12040;
	return OK;
}

API CUresult cuDeviceGetCount(int *n)
{
	if (!inited)
		return E_NOT_INIT;
	*n = ndev();
	return OK;
}

API CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
	CUresult r;

	if ((r = check_dev(ordinal)) != OK)
		return r;
	*d = ordinal;
	return OK;
}

/* Fake device N sits at PCI bus N+1: "0000:0N:00.0". */
API CUresult cuDeviceGetByPCIBusId(CUdevice *d, const char *id)
{
	unsigned int dom = 0, bus, dev, fn;

	if (!inited)
		return E_NOT_INIT;
	if (sscanf(id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4 &&
	    sscanf(id, "%x:%x.%x", &bus, &dev, &fn) != 3)
		return E_INVALID_VALUE;
	if (dom || dev || fn || bus < 1 || (int)bus > ndev())
		return E_INVALID_DEVICE;
	*d = (int)bus - 1;
	return OK;
}

API CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
	if (d < 0 || d >= ndev())
		return E_INVALID_DEVICE;
	snprintf(name, (size_t)len, "Fake CUDA Device %d", d);
	return OK;
}

API CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d)
{
	CUresult r;

	if ((r = check_dev(d)) != OK)
		return r;
	if (attr != 124)
		return E_INVALID_VALUE;
	*v = envint("FAKE_CUDA_DMABUF", 1) ? 1 : 0;
	return OK;
}

API CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d)
{
	CUresult r;

	if ((r = check_dev(d)) != OK)
		return r;
	pthread_mutex_lock(&mu);
	ctxs[d].dev = d;
	ctx_ref[d]++;
	stats.ctx_refs++;
	pthread_mutex_unlock(&mu);
	*c = &ctxs[d];
	return OK;
}

API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d)
{
	CUresult r = OK;

	pthread_mutex_lock(&mu);
	if (d < 0 || d >= MAXDEV || !ctx_ref[d])
		r = E_INVALID_CONTEXT;
	else {
		ctx_ref[d]--;
		stats.ctx_refs--;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

API CUresult cuCtxPushCurrent_v2(CUcontext c)
{
	if (!c || depth >= 16)
		return E_INVALID_CONTEXT;
	stack[depth++] = c;
	return OK;
}

API CUresult cuCtxPopCurrent_v2(CUcontext *c)
{
	if (!depth)
		return E_INVALID_CONTEXT;
	depth--;
	if (c)
		*c = stack[depth];
	return OK;
}

static int have_ctx(void)
{
	return depth > 0 && stack[depth - 1];
}

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t len)
{
	CUresult r = E_OOM;

	if (!have_ctx())
		return E_INVALID_CONTEXT;
	if (!len)
		return E_INVALID_VALUE;
	if (envint("FAKE_CUDA_OOM", 0))
		return E_OOM;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAXALLOC; i++) {
		if (allocs[i].mem)
			continue;
		allocs[i].mem = calloc(1, len);
		if (!allocs[i].mem)
			break;
		allocs[i].len = len;
		allocs[i].base = next_addr +
			(envint("FAKE_CUDA_MISALIGN", 0) ? 256 : 0);
		next_addr += (len + 256 + GRANULE - 1) / GRANULE * GRANULE +
			     GRANULE;
		*p = allocs[i].base;
		stats.live_allocs++;
		r = OK;
		break;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

API CUresult cuMemFree_v2(CUdeviceptr p)
{
	CUresult r = E_INVALID_VALUE;

	if (!have_ctx())
		return E_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAXALLOC; i++) {
		if (allocs[i].mem && allocs[i].base == p) {
			for (int k = 0; k < MAXEXP; k++) {
				if (exps[k].fd > 0 && exps[k].start >= p &&
				    exps[k].start < p + allocs[i].len) {
					close(exps[k].fd);
					memset(&exps[k], 0, sizeof(exps[k]));
				}
			}
			free(allocs[i].mem);
			memset(&allocs[i], 0, sizeof(allocs[i]));
			stats.live_allocs--;
			r = OK;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/* The allocation holding [p, p+len), or NULL (mu held). */
static struct alloc *find(CUdeviceptr p, size_t len)
{
	for (int i = 0; i < MAXALLOC; i++) {
		struct alloc *a = &allocs[i];
		if (a->mem && p >= a->base && len <= a->len &&
		    p - a->base <= a->len - len)
			return a;
	}
	return NULL;
}

API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t len)
{
	struct alloc *a;
	CUresult r = envint("FAKE_CUDA_COPY_ERR", 0);

	if (!have_ctx())
		return E_INVALID_CONTEXT;
	if (r)
		return r;
	pthread_mutex_lock(&mu);
	a = find(dst, len);
	if (!a) {
		pthread_mutex_unlock(&mu);
		return E_INVALID_VALUE;
	}
	memcpy(a->mem + (dst - a->base), src, len);
	/* keep the fake dma-bufs coherent */
	for (int i = 0; i < MAXEXP; i++) {
		struct exp *x = &exps[i];
		CUdeviceptr lo, hi;
		if (x->fd <= 0)
			continue;
		lo = dst > x->start ? dst : x->start;
		hi = dst + len < x->start + x->len ? dst + len : x->start + x->len;
		if (lo < hi && pwrite(x->fd, (const char *)src + (lo - dst),
				      hi - lo, (off_t)(lo - x->start)) < 0)
			r = E_INVALID_VALUE;
	}
	stats.htod_bytes += (long long)len;
	pthread_mutex_unlock(&mu);
	return r;
}

API CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t len)
{
	struct alloc *a;
	CUresult r = envint("FAKE_CUDA_COPY_ERR", 0);

	if (!have_ctx())
		return E_INVALID_CONTEXT;
	if (r)
		return r;
	pthread_mutex_lock(&mu);
	a = find(src, len);
	if (a) {
		memcpy(dst, a->mem + (src - a->base), len);
		stats.dtoh_bytes += (long long)len;
	}
	pthread_mutex_unlock(&mu);
	return a ? OK : E_INVALID_VALUE;
}

API CUresult cuMemHostRegister_v2(void *p, size_t len, unsigned int flags)
{
	(void)flags;
	if (!have_ctx())
		return E_INVALID_CONTEXT;
	if (!p || !len)
		return E_INVALID_VALUE;
	pthread_mutex_lock(&mu);
	stats.registered++;
	pthread_mutex_unlock(&mu);
	return OK;
}

API CUresult cuMemHostUnregister(void *p)
{
	if (!have_ctx())
		return E_INVALID_CONTEXT;
	if (!p)
		return E_INVALID_VALUE;
	pthread_mutex_lock(&mu);
	stats.registered--;
	pthread_mutex_unlock(&mu);
	return OK;
}

#ifndef FAKE_CUDA_OLD
API CUresult cuMemGetHandleForAddressRange(void *handle, CUdeviceptr p,
					   size_t len, int type,
					   unsigned long long flags)
{
	long ps = sysconf(_SC_PAGESIZE);
	struct alloc *a;
	CUresult r;
	int fd, slot = -1;

	if (!have_ctx())
		return E_INVALID_CONTEXT;
	pthread_mutex_lock(&mu);
	stats.export_calls++;
	stats.last_export_flags = flags;
	pthread_mutex_unlock(&mu);
	r = envint("FAKE_CUDA_EXPORT_ERR", 0);
	if (r)
		return r;
	if (type != 1 || flags > 1)
		return E_INVALID_VALUE;
	if (flags == 1 && envint("FAKE_CUDA_NO_PCIE_FLAG", 0))
		return E_INVALID_VALUE;
	if (!envint("FAKE_CUDA_DMABUF", 1))
		return E_NOT_SUPPORTED;
	if (!len || p % (CUdeviceptr)ps || len % (size_t)ps)
		return E_INVALID_VALUE;
	pthread_mutex_lock(&mu);
	a = find(p, len);
	for (int i = 0; i < MAXEXP && slot < 0; i++)
		if (exps[i].fd <= 0)
			slot = i;
	if (!a || slot < 0) {
		pthread_mutex_unlock(&mu);
		return E_INVALID_VALUE;
	}
	fd = memfd_create("fake-cuda-dmabuf", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 ||
	    pwrite(fd, a->mem + (p - a->base), len, 0) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		pthread_mutex_unlock(&mu);
		return E_OOM;
	}
	/* The fake keeps its own descriptor for coherence; the caller owns
	 * the one returned. */
	exps[slot].fd = dup(fd);
	exps[slot].start = p;
	exps[slot].len = len;
	stats.exports++;
	pthread_mutex_unlock(&mu);
	*(int *)handle = fd;
	return OK;
}
#endif
