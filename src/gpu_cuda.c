// SPDX-License-Identifier: MIT
/*
 * CUDA buffers: device memory exported as a dma-buf.
 *
 * The driver API (libcuda.so.1, part of the NVIDIA driver, not of the
 * toolkit) is opened with dlopen at run time; nothing CUDA is needed at
 * build time. The types and constants below are the few this file uses,
 * with the values of the driver API's cuda.h:
 *   CUresult is an int enum, CUdevice an int, CUcontext an opaque pointer,
 *   CUdeviceptr an unsigned long long (64-bit builds).
 *
 * Steps (each failure names its cause): load the library, cuInit, pick the
 * device (index or PCI bus id), check CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED,
 * retain the primary context, cuMemAlloc a page-aligned range, export it
 * with cuMemGetHandleForAddressRange(DMA_BUF_FD) asking for the PCIe
 * mapping type first (what a NIC importer needs) and without it when the
 * driver does not know the flag.
 *
 * Every driver call runs with the primary context pushed and popped again,
 * from whichever thread makes it (the staged engine copies from a helper
 * thread), and leaves the caller's own current context alone.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gpu.h"

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef unsigned long long CUdeviceptr;

/* CUresult values (cuda.h) */
#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_OUT_OF_MEMORY 2
#define CUDA_ERROR_NOT_INITIALIZED 3
#define CUDA_ERROR_INSUFFICIENT_DRIVER 35
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_INVALID_DEVICE 101
#define CUDA_ERROR_NOT_SUPPORTED 801

#define CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED 124
#define CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD 1
#define CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE 1ULL
#define CU_MEMHOSTREGISTER_PORTABLE 1u

/* cuMemAlloc hands out 2 MiB-aligned ranges for allocations of that size;
 * rounding the allocation up to it gives page-aligned pointers in practice. */
#define CUDA_ALLOC_GRANULE (2u << 20)

struct cuda_api {
	void *h;
	CUresult (*Init)(unsigned int flags);
	CUresult (*DriverGetVersion)(int *v);
	CUresult (*DeviceGetCount)(int *n);
	CUresult (*DeviceGet)(CUdevice *d, int ordinal);
	CUresult (*DeviceGetByPCIBusId)(CUdevice *d, const char *busid);
	CUresult (*DeviceGetAttribute)(int *v, int attr, CUdevice d);
	CUresult (*DeviceGetName)(char *name, int len, CUdevice d);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *c, CUdevice d);
	CUresult (*DevicePrimaryCtxRelease)(CUdevice d);
	CUresult (*CtxPushCurrent)(CUcontext c);
	CUresult (*CtxPopCurrent)(CUcontext *c);
	CUresult (*MemAlloc)(CUdeviceptr *p, size_t len);
	CUresult (*MemFree)(CUdeviceptr p);
	CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t len);
	CUresult (*MemcpyDtoH)(void *dst, CUdeviceptr src, size_t len);
	CUresult (*MemGetHandleForAddressRange)(void *handle, CUdeviceptr p,
						size_t len, int type,
						unsigned long long flags);
	CUresult (*MemHostRegister)(void *p, size_t len, unsigned int flags);
	CUresult (*MemHostUnregister)(void *p);
	CUresult (*GetErrorName)(CUresult r, const char **s);
	CUresult (*GetErrorString)(CUresult r, const char **s);
};

struct cuda_buf {
	struct cuda_api api;
	CUdevice dev;
	int ordinal;
	CUcontext ctx;
	bool ctx_retained;
	CUdeviceptr base;	/* what cuMemAlloc returned (freed) */
	CUdeviceptr ptr;	/* page-aligned start of the buffer */
	bool pcie_mapping;	/* export took the PCIe mapping flag */
	char name[128];
};

static const char *cu_name(const struct cuda_api *a, CUresult r)
{
	const char *s = NULL;

	if (a->GetErrorName && a->GetErrorName(r, &s) == CUDA_SUCCESS && s)
		return s;
	return "CUDA_ERROR_UNKNOWN";
}

static const char *cu_string(const struct cuda_api *a, CUresult r)
{
	const char *s = NULL;

	if (a->GetErrorString && a->GetErrorString(r, &s) == CUDA_SUCCESS && s)
		return s;
	return "no description";
}

static int cu_errno(CUresult r)
{
	switch (r) {
	case CUDA_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_INVALID_DEVICE:
		return -ENODEV;
	case CUDA_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -DMT_ERR_GPU;
	}
}

/* "<what>: CUDA_ERROR_X (text)<hint>" */
static int cu_fail(struct dmt_error *e, const struct cuda_api *a, CUresult r,
		   const char *what, const char *hint)
{
	return dmt_err_set(e, cu_errno(r), "%s: %s (%s)%s", what, cu_name(a, r),
			   cu_string(a, r), hint ? hint : "");
}

static const char *lib_name(void)
{
	return dmt_gpu_lib_name("DMT_CUDA_LIB", DMT_CUDA_LIB_DEFAULT);
}

#define SYM DMT_GPU_SYM

static int load_api(struct cuda_api *a, struct dmt_error *e)
{
	const char *lib = lib_name();
	const char *missing;

	memset(a, 0, sizeof(*a));
	if (dmt_gpu_dlopen(&a->h, "DMT_BUF_CUDA", "DMT_CUDA_LIB", DMT_CUDA_LIB_DEFAULT,
			   "no NVIDIA driver on this host", e) < 0)
		return -DMT_ERR_GPU;
	SYM(GetErrorName, "cuGetErrorName", false);
	SYM(GetErrorString, "cuGetErrorString", false);
	SYM(Init, "cuInit", true);
	SYM(DriverGetVersion, "cuDriverGetVersion", false);
	SYM(DeviceGetCount, "cuDeviceGetCount", true);
	SYM(DeviceGet, "cuDeviceGet", true);
	SYM(DeviceGetByPCIBusId, "cuDeviceGetByPCIBusId", true);
	SYM(DeviceGetAttribute, "cuDeviceGetAttribute", true);
	SYM(DeviceGetName, "cuDeviceGetName", false);
	SYM(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", true);
	SYM(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", false);
	if (!a->DevicePrimaryCtxRelease)
		SYM(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease", true);
	SYM(CtxPushCurrent, "cuCtxPushCurrent_v2", true);
	SYM(CtxPopCurrent, "cuCtxPopCurrent_v2", true);
	SYM(MemAlloc, "cuMemAlloc_v2", true);
	SYM(MemFree, "cuMemFree_v2", true);
	SYM(MemcpyHtoD, "cuMemcpyHtoD_v2", true);
	SYM(MemcpyDtoH, "cuMemcpyDtoH_v2", true);
	SYM(MemHostRegister, "cuMemHostRegister_v2", false);
	SYM(MemHostUnregister, "cuMemHostUnregister", false);
	SYM(MemGetHandleForAddressRange, "cuMemGetHandleForAddressRange", true);
	return 0;
missing:
	/* The library stays loaded: unloading libcuda is not safe once it
	 * has started threads, and dlopen is reference counted anyway. */
	if (!strcmp(missing, "cuMemGetHandleForAddressRange"))
		return dmt_err_set(e, -DMT_ERR_GPU, "DMT_BUF_CUDA: %s has no "
			"cuMemGetHandleForAddressRange: the NVIDIA driver is too "
			"old for dma-buf export (needs CUDA 11.7, driver 515 or "
			"newer)", lib);
	return dmt_err_set(e, -DMT_ERR_GPU, "DMT_BUF_CUDA: %s lacks %s: not "
			   "a usable CUDA driver library", lib, missing);
}

static int ctx_push(struct cuda_buf *c, struct dmt_error *e)
{
	CUresult r = c->api.CtxPushCurrent(c->ctx);

	if (r != CUDA_SUCCESS)
		return cu_fail(e, &c->api, r, "cuda: cuCtxPushCurrent", NULL);
	return 0;
}

static void ctx_pop(struct cuda_buf *c)
{
	CUcontext old;

	c->api.CtxPopCurrent(&old);
}

/* cuInit and device selection. Fills c->dev, c->ordinal, c->name. */
static int pick_device(struct cuda_buf *c, int index, const char *busid,
		       int *count, struct dmt_error *e)
{
	struct cuda_api *a = &c->api;
	CUresult r;
	int n = 0;

	r = a->Init(0);
	if (r == CUDA_ERROR_NO_DEVICE)
		return dmt_err_set(e, -ENODEV, "DMT_BUF_CUDA: the NVIDIA driver "
				   "reports no CUDA device on this host (cuInit: "
				   "%s)", cu_name(a, r));
	if (r != CUDA_SUCCESS)
		return cu_fail(e, a, r, "DMT_BUF_CUDA: cuInit failed",
			       r == CUDA_ERROR_INSUFFICIENT_DRIVER ?
			       ": the kernel module is older than libcuda.so.1" :
			       ": is the nvidia kernel module loaded (nvidia-smi)?");
	r = a->DeviceGetCount(&n);
	if (r != CUDA_SUCCESS)
		return cu_fail(e, a, r, "DMT_BUF_CUDA: cuDeviceGetCount", NULL);
	*count = n;
	if (n <= 0)
		return dmt_err_set(e, -ENODEV, "DMT_BUF_CUDA: no CUDA device on "
				   "this host");
	if (busid && busid[0]) {
		r = a->DeviceGetByPCIBusId(&c->dev, busid);
		if (r != CUDA_SUCCESS)
			return dmt_err_set(e, -ENODEV, "DMT_BUF_CUDA: no CUDA "
				"device at PCI bus id %s (%d present; nvidia-smi "
				"-q lists their bus ids): %s", busid, n,
				cu_name(a, r));
		c->ordinal = -1;
		for (int i = 0; i < n; i++) {
			CUdevice d;
			if (a->DeviceGet(&d, i) == CUDA_SUCCESS && d == c->dev)
				c->ordinal = i;
		}
	} else {
		if (index < 0 || index >= n)
			return dmt_err_set(e, -ENODEV, "DMT_BUF_CUDA: no CUDA "
				"device %d: this host has %d (use 0..%d)", index,
				n, n - 1);
		r = a->DeviceGet(&c->dev, index);
		if (r != CUDA_SUCCESS)
			return cu_fail(e, a, r, "DMT_BUF_CUDA: cuDeviceGet", NULL);
		c->ordinal = index;
	}
	if (!a->DeviceGetName ||
	    a->DeviceGetName(c->name, (int)sizeof(c->name), c->dev) != CUDA_SUCCESS)
		snprintf(c->name, sizeof(c->name), "CUDA device");
	c->name[sizeof(c->name) - 1] = '\0';
	return 0;
}

static int check_dmabuf(struct cuda_buf *c, struct dmt_error *e)
{
	int v = 0;
	CUresult r = c->api.DeviceGetAttribute(&v,
			CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, c->dev);

	if (r == CUDA_ERROR_INVALID_VALUE)
		return dmt_err_set(e, -DMT_ERR_NO_EXPORTER, "DMT_BUF_CUDA: the "
			"driver does not know CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED: "
			"it is too old for dma-buf export (needs CUDA 11.7, "
			"driver 515 or newer, open kernel modules)");
	if (r != CUDA_SUCCESS)
		return cu_fail(e, &c->api, r, "DMT_BUF_CUDA: cuDeviceGetAttribute"
			       "(DMA_BUF_SUPPORTED)", NULL);
	if (!v)
		return dmt_err_set(e, -DMT_ERR_NO_EXPORTER, "DMT_BUF_CUDA: "
			"device %d (%s) cannot export dma-bufs (DMA_BUF_SUPPORTED "
			"= 0): needs the NVIDIA open kernel modules (Turing or "
			"newer) and a kernel with dma-buf", c->ordinal, c->name);
	return 0;
}

/* Allocate size bytes starting on a host page boundary. */
static int alloc_aligned(struct cuda_buf *c, size_t size, struct dmt_error *e)
{
	struct cuda_api *a = &c->api;
	size_t ps = dmt_page_size();
	size_t asz = (size + CUDA_ALLOC_GRANULE - 1) &
		     ~(size_t)(CUDA_ALLOC_GRANULE - 1);
	CUresult r;

	if (size % ps)
		return dmt_err_set(e, -EINVAL, "DMT_BUF_CUDA: size %zu is not a "
				   "multiple of the host page size (%zu): dma-buf "
				   "export needs page-aligned ranges", size, ps);
	for (int pass = 0; pass < 2; pass++) {
		r = a->MemAlloc(&c->base, asz);
		if (r != CUDA_SUCCESS) {
			char what[320];
			snprintf(what, sizeof(what), "DMT_BUF_CUDA: cannot "
				 "allocate %zu MiB on device %d (%s)", asz >> 20,
				 c->ordinal, c->name);
			return cu_fail(e, a, r, what, r == CUDA_ERROR_OUT_OF_MEMORY ?
				       ": out of device memory; use a smaller "
				       "buffer" : NULL);
		}
		if (!(c->base % ps)) {
			c->ptr = c->base;
			return 0;
		}
		if (pass == 1)
			break;
		/* Not page aligned: allocate one granule (or page) more and
		 * start the buffer at the first page boundary inside it. */
		a->MemFree(c->base);
		c->base = 0;
		asz += ps > CUDA_ALLOC_GRANULE ? ps : CUDA_ALLOC_GRANULE;
	}
	c->ptr = (c->base + ps - 1) & ~(CUdeviceptr)(ps - 1);
	return 0;
}

static int export_dmabuf(struct cuda_buf *c, size_t size, int *fd,
			 struct dmt_error *e)
{
	struct cuda_api *a = &c->api;
	CUresult r;

	*fd = -1;
	r = a->MemGetHandleForAddressRange(fd, c->ptr, size,
				CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD,
				CU_MEM_RANGE_FLAG_DMA_BUF_MAPPING_TYPE_PCIE);
	c->pcie_mapping = r == CUDA_SUCCESS;
	if (r == CUDA_ERROR_INVALID_VALUE) {
		/* Drivers before the PCIe mapping type reject the flag. */
		*fd = -1;
		r = a->MemGetHandleForAddressRange(fd, c->ptr, size,
				CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
	}
	if (r == CUDA_SUCCESS && *fd >= 0)
		return 0;
	*fd = -1;
	if (r == CUDA_SUCCESS)
		return dmt_err_set(e, -DMT_ERR_GPU, "DMT_BUF_CUDA: "
				   "cuMemGetHandleForAddressRange returned no fd");
	if (r == CUDA_ERROR_NOT_SUPPORTED)
		return cu_fail(e, a, r, "DMT_BUF_CUDA: dma-buf export refused",
			       ": needs the NVIDIA open kernel modules (Turing or "
			       "newer) and a kernel with dma-buf");
	return cu_fail(e, a, r, "DMT_BUF_CUDA: cuMemGetHandleForAddressRange"
		       "(DMA_BUF_FD) failed",
		       r == CUDA_ERROR_INVALID_VALUE ? ": the range must be "
		       "aligned to the host page size and lie in one allocation"
		       : NULL);
}

static void cuda_release(struct cuda_buf *c)
{
	if (c->base && ctx_push(c, NULL) == 0) {
		c->api.MemFree(c->base);
		ctx_pop(c);
	}
	c->base = 0;
	if (c->ctx_retained)
		c->api.DevicePrimaryCtxRelease(c->dev);
	c->ctx_retained = false;
}

static void cuda_destroy(struct dmt_buf *b)
{
	struct cuda_buf *c = b->priv;

	if (!c)
		return;
	/* Drop the dma-buf first so no importer view outlives the memory. */
	if (b->dmabuf_fd >= 0)
		close(b->dmabuf_fd);
	b->dmabuf_fd = -1;
	cuda_release(c);
	free(c);
	b->priv = NULL;
}

/* One host <-> device copy in the buffer's context. */
static int cuda_copy(struct dmt_buf *b, uint64_t off, void *host, size_t len,
		     bool to_device)
{
	struct cuda_buf *c = b->priv;
	CUresult r;
	int ret;

	if (!len)
		return 0;
	ret = ctx_push(c, &b->err);
	if (ret < 0)
		return ret;
	r = to_device ? c->api.MemcpyHtoD(c->ptr + off, host, len) :
			c->api.MemcpyDtoH(host, c->ptr + off, len);
	ctx_pop(c);
	if (r != CUDA_SUCCESS) {
		char what[128];
		snprintf(what, sizeof(what), "cuda: cuMemcpy%s of %zu bytes at "
			 "offset %llu", to_device ? "HtoD" : "DtoH", len,
			 (unsigned long long)off);
		return cu_fail(&b->err, &c->api, r, what, NULL);
	}
	return 0;
}

static int cuda_write(struct dmt_buf *b, uint64_t off, const void *src,
		      size_t len)
{
	return cuda_copy(b, off, (void *)src, len, true);
}

static int cuda_read(struct dmt_buf *b, uint64_t off, void *dst, size_t len)
{
	return cuda_copy(b, off, dst, len, false);
}

static const struct dmt_buf_ops cuda_ops = {
	.destroy = cuda_destroy,
	.write = cuda_write,
	.read = cuda_read,
};

/* Everything up to and including the export; on failure c is released. */
static int cuda_open(struct cuda_buf *c, size_t size, int index,
		     const char *busid, int *count, int *fd,
		     struct dmt_error *e)
{
	CUresult r;
	int ret;

	ret = load_api(&c->api, e);
	if (ret < 0)
		return ret;
	ret = pick_device(c, index, busid, count, e);
	if (ret < 0)
		return ret;
	ret = check_dmabuf(c, e);
	if (ret < 0)
		return ret;
	r = c->api.DevicePrimaryCtxRetain(&c->ctx, c->dev);
	if (r != CUDA_SUCCESS)
		return cu_fail(e, &c->api, r, "DMT_BUF_CUDA: cannot create the "
			       "device's primary context",
			       ": is the GPU in exclusive-process mode and busy?");
	c->ctx_retained = true;
	ret = ctx_push(c, e);
	if (ret < 0)
		goto fail;
	ret = alloc_aligned(c, size, e);
	if (ret == 0)
		ret = export_dmabuf(c, size, fd, e);
	ctx_pop(c);
	if (ret == 0)
		return 0;
fail:
	cuda_release(c);
	return ret;
}

int dmt_cuda_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e)
{
	struct cuda_buf *c = calloc(1, sizeof(*c));
	int count = 0, fd = -1, ret;

	if (!c)
		return dmt_err_set(e, -ENOMEM, "out of memory");
	ret = cuda_open(c, b->size, DMT_OPTS_FIELD(o, device, 0),
			DMT_OPTS_FIELD(o, pci_bus_id, NULL), &count, &fd, e);
	if (ret < 0) {
		free(c);
		return ret;
	}
	b->dmabuf_fd = fd;
	b->dmabuf_off = 0;	/* the fd's offset 0 is c->ptr */
	b->map = NULL;		/* device memory is not CPU-mapped */
	b->map_len = 0;
	b->ops = &cuda_ops;
	b->priv = c;
	return 0;
}

int dmt_cuda_reexport_plain(struct dmt_buf *b, struct dmt_error *e)
{
	struct cuda_buf *c = b->priv;
	CUresult r;
	int fd = -1, ret;

	if (b->kind != DMT_BUF_CUDA || !c || !c->pcie_mapping)
		return 0;
	ret = ctx_push(c, e);
	if (ret < 0)
		return ret;
	r = c->api.MemGetHandleForAddressRange(&fd, c->ptr, b->size,
				CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
	ctx_pop(c);
	if (r != CUDA_SUCCESS || fd < 0)
		return cu_fail(e, &c->api, r, "DMT_BUF_CUDA: re-exporting the "
			       "dma-buf without the PCIe mapping flag failed",
			       NULL);
	/* Keep the fd number: whoever holds it now holds the new export. */
	if (dup3(fd, b->dmabuf_fd, O_CLOEXEC) < 0) {
		ret = dmt_neg_errno();
		close(fd);
		return dmt_err_set(e, ret, "DMT_BUF_CUDA: dup3: %s",
				   dmt_strerror(ret));
	}
	close(fd);
	c->pcie_mapping = false;
	return 1;
}

int dmt_cuda_pin(struct dmt_buf *b, void *p, size_t len)
{
	struct cuda_buf *c = b->priv;
	CUresult r;

	if (b->kind != DMT_BUF_CUDA || !c || !c->api.MemHostRegister ||
	    !c->api.MemHostUnregister || ctx_push(c, NULL) < 0)
		return 0;
	r = c->api.MemHostRegister(p, len, CU_MEMHOSTREGISTER_PORTABLE);
	ctx_pop(c);
	return r == CUDA_SUCCESS;
}

void dmt_cuda_unpin(struct dmt_buf *b, void *p)
{
	struct cuda_buf *c = b->priv;

	if (b->kind != DMT_BUF_CUDA || !c || !c->api.MemHostUnregister ||
	    ctx_push(c, NULL) < 0)
		return;
	c->api.MemHostUnregister(p);
	ctx_pop(c);
}

int dmt_cuda_probe(int device, struct dmt_gpu_probe *p)
{
	struct cuda_buf *c = calloc(1, sizeof(*c));
	struct dmt_error e = { 0 };
	int count = -1, fd = -1, ret;

	memset(p, 0, sizeof(*p));
	p->lib_found = p->driver_version = p->ndevices = -1;
	p->dmabuf_supported = p->export_ok = p->pcie_mapping = -1;
	snprintf(p->lib, sizeof(p->lib), "%s", lib_name());
	if (!c) {
		snprintf(p->message, sizeof(p->message), "out of memory");
		return -ENOMEM;
	}
	ret = load_api(&c->api, &e);
	p->lib_found = ret == 0 || c->api.h;
	if (ret == 0) {
		int v = 0;
		if (c->api.DriverGetVersion && c->api.DriverGetVersion(&v) == 0)
			p->driver_version = v;
		ret = pick_device(c, device, NULL, &count, &e);
		p->ndevices = count;
	}
	if (ret == 0) {
		snprintf(p->device_name, sizeof(p->device_name), "%s", c->name);
		ret = check_dmabuf(c, &e);
		p->dmabuf_supported = ret == 0;
		if (ret == 0)
			ret = 1; /* go on to the export */
	}
	if (ret == 1) {
		/* cuda_open repeats the cheap steps and does the export. */
		ret = cuda_open(c, CUDA_ALLOC_GRANULE, device, NULL, &count, &fd, &e);
		p->export_ok = ret == 0;
		if (ret == 0) {
			p->pcie_mapping = c->pcie_mapping;
			close(fd);
			cuda_release(c);
		}
	}
	snprintf(p->message, sizeof(p->message), "%s", e.message);
	free(c);
	return ret;
}
