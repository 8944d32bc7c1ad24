/* SPDX-License-Identifier: MIT */
/*
 * GPU providers (gpu_cuda.c, gpu_rocm.c): internal hooks beyond the buffer
 * initialisers declared in buffer.h. Not installed.
 *
 * The GPU runtimes are opened with dlopen at run time, never linked. The
 * library names can be overridden for tests with the environment variables
 * DMT_CUDA_LIB and DMT_ROCM_LIB (the tier A tests point them at fake
 * runtimes built in tests/).
 */
#ifndef DMT_GPU_H
#define DMT_GPU_H

#include "buffer.h"

#define DMT_CUDA_LIB_DEFAULT "libcuda.so.1"
#define DMT_ROCM_LIB_DEFAULT "libhsa-runtime64.so.1"

/* The runtime library to open: $env when set, else deflib. */
const char *dmt_gpu_lib_name(const char *env, const char *deflib);
/*
 * dlopen the runtime of the buffer kind named `kind` ("DMT_BUF_CUDA",
 * "DMT_BUF_ROCM") with RTLD_NOW | RTLD_LOCAL (gpu.c). On failure fills e
 * with "<kind>: <deflib> not found: <absent>" (naming the override and
 * dlerror() when one was set) and returns -DMT_ERR_GPU.
 */
int dmt_gpu_dlopen(void **h, const char *kind, const char *env,
		   const char *deflib, const char *absent, struct dmt_error *e);

/* Resolve a->field = dlsym(a->h, name); a missing required symbol jumps
 * to the caller's `missing:` label with `missing` set to its name. */
#define DMT_GPU_SYM(field, name, required)                                   \
	do {                                                                  \
		*(void **)&a->field = dlsym(a->h, name);                      \
		if (!a->field && (required)) {                                \
			missing = name;                                       \
			goto missing;                                         \
		}                                                             \
	} while (0)

/*
 * What a probe found (for doctor). Every field is filled; -1 means "not
 * reached" (an earlier step failed, message says which).
 */
struct dmt_gpu_probe {
	int lib_found;		/* the runtime library loaded */
	int driver_version;	/* CUDA: cuDriverGetVersion (12040 = 12.4); ROCm: 0 */
	int ndevices;		/* GPUs the runtime reports */
	int dmabuf_supported;	/* CUDA: DMA_BUF_SUPPORTED of the device; ROCm: 1
				 * when the export entry point exists */
	int export_ok;		/* a 2 MiB allocation was exported as a dma-buf */
	int pcie_mapping;	/* CUDA: the export took the PCIe mapping flag */
	char lib[128];		/* library name tried */
	char device_name[128];
	char message[512];	/* the failure, as dmt_buf_new() would report it */
};

/*
 * Probe the CUDA / ROCm dma-buf path on device index `device`: load the
 * runtime, count devices, check dma-buf support and try one export of a
 * 2 MiB allocation (freed again). Returns 0 when an export succeeded, else
 * the negative error dmt_buf_new() would return; p is filled either way.
 */
int dmt_cuda_probe(int device, struct dmt_gpu_probe *p);
int dmt_rocm_probe(int device, struct dmt_gpu_probe *p);

/*
 * Register host memory [p, p+len) with the runtime that owns b so device
 * copies to and from it run at DMA speed (cuMemHostRegister,
 * hsa_amd_memory_lock). Returns 1 when pinned, 0 when b is not GPU memory
 * or the runtime refused (copies then still work, slower). Unpin before
 * freeing b or the memory.
 */
int dmt_gpu_pin(struct dmt_buf *b, void *p, size_t len);
void dmt_gpu_unpin(struct dmt_buf *b, void *p);

/*
 * A bind with a CUDA dma-buf exported with the PCIe mapping flag failed
 * with ENOTSUPP (524): the NVIDIA driver refuses a direct PCIe mapping on
 * this topology, although the export succeeded. Export again without the
 * flag onto the same fd number. Returns 1 when re-exported (retry the
 * bind), 0 when there is nothing to retry, -errno with e on failure.
 */
int dmt_cuda_reexport_plain(struct dmt_buf *b, struct dmt_error *e);
/* Bind errno 524 (ENOTSUPP, kernel-internal). */
#define DMT_ENOTSUPP 524

/* Per-provider implementations behind dmt_gpu_pin(). */
int dmt_cuda_pin(struct dmt_buf *b, void *p, size_t len);
void dmt_cuda_unpin(struct dmt_buf *b, void *p);
int dmt_rocm_pin(struct dmt_buf *b, void *p, size_t len);
void dmt_rocm_unpin(struct dmt_buf *b, void *p);

#endif
