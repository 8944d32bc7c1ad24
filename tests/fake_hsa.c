// SPDX-License-Identifier: MIT
/*
 * FAKE libhsa-runtime64 for tests. NOT AMD's ROCm runtime.
 *
 * Implements the HSA entry points libdevmemtcp uses, loaded through
 * DMT_ROCM_LIB. Agents: one CPU agent, then FAKE_HSA_GPUS GPU agents
 * (default 1; GPU i sits at PCI bus i+1). Each GPU has a fine-grained and
 * a coarse-grained global pool. "Device memory" is a memfd mapped
 * PROT_NONE (so a stray CPU dereference by the library crashes the test);
 * copies go through pread/pwrite. The exported "dma-buf" is the
 * allocation's memfd reopened (NOT a dma-buf), covering the whole
 * allocation, with the offset of the pointer inside it reported as ROCm
 * does.
 *   FAKE_HSA_GPUS=N          number of GPU agents
 *   FAKE_HSA_EXPORT_OFFSET=1 allocations start 64 KiB into their memfd, so
 *                            the export reports offset 65536
 *   FAKE_HSA_EXPORT_ERR=N    export fails with status N
 * Built with -DFAKE_HSA_OLD it lacks the dma-buf export entry points.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fake_gpu.h"

typedef int hsa_status_t;
typedef struct { uint64_t handle; } hsa_agent_t;
typedef struct { uint64_t handle; } hsa_amd_memory_pool_t;

#define API __attribute__((visibility("default")))
#define OK 0
#define BREAK 1
#define E_ERR 0x1000
#define E_INVALID_ARG 0x1001
#define E_OOR 0x1008
#define E_NOT_INIT 0x100B
#define MAXALLOC 32
#define HDR (64u << 10)

struct alloc {
	char *map;	/* PROT_NONE mapping of the whole memfd */
	size_t len;	/* memfd length */
	size_t hdr;	/* where the returned pointer starts */
	int fd;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct alloc allocs[MAXALLOC];
static struct fake_hsa_stats st;

static int envint(const char *n, int d)
{
	const char *s = getenv(n);

	return s && s[0] ? atoi(s) : d;
}

API void fake_hsa_get_stats(struct fake_hsa_stats *s)
{
	pthread_mutex_lock(&mu);
	*s = st;
	pthread_mutex_unlock(&mu);
}

API hsa_status_t hsa_status_string(hsa_status_t s, const char **str)
{
	*str = s == E_OOR ? "fake: out of resources" : "fake HSA error";
	return OK;
}

API hsa_status_t hsa_init(void)
{
	st.refs++;
	return OK;
}

API hsa_status_t hsa_shut_down(void)
{
	if (!st.refs)
		return E_NOT_INIT;
	st.refs--;
	return OK;
}

API hsa_status_t hsa_iterate_agents(hsa_status_t (*cb)(hsa_agent_t, void *),
				    void *data)
{
	int n = envint("FAKE_HSA_GPUS", 1);

	if (!st.refs)
		return E_NOT_INIT;
	for (int i = -1; i < n; i++) {
		hsa_agent_t a = { i < 0 ? 1 : 100 + (uint64_t)i };
		hsa_status_t r = cb(a, data);
		if (r != OK)
			return r;
	}
	return OK;
}

API hsa_status_t hsa_agent_get_info(hsa_agent_t a, int attr, void *v)
{
	bool gpu = a.handle >= 100;

	switch (attr) {
	case 0: /* NAME, char[64] */
		snprintf(v, 64, gpu ? "gfx-fake-%d" : "fake-cpu",
			 (int)(a.handle - 100));
		return OK;
	case 17: /* DEVICE */
		*(uint32_t *)v = gpu ? 1 : 0;
		return OK;
	case 0xA006: /* BDFID */
		*(uint32_t *)v = gpu ? (uint32_t)(a.handle - 99) << 8 : 0;
		return OK;
	case 0xA00F: /* DOMAIN */
		*(uint32_t *)v = 0;
		return OK;
	default:
		return E_INVALID_ARG;
	}
}

/* pools: 1 = group segment, 2 = fine-grained global, 3 = coarse global */
API hsa_status_t hsa_amd_agent_iterate_memory_pools(hsa_agent_t a,
		hsa_status_t (*cb)(hsa_amd_memory_pool_t, void *), void *data)
{
	if (a.handle < 100)
		return OK;
	for (uint64_t p = 1; p <= 3; p++) {
		hsa_amd_memory_pool_t pool = { p };
		hsa_status_t r = cb(pool, data);
		if (r != OK)
			return r;
	}
	return OK;
}

API hsa_status_t hsa_amd_memory_pool_get_info(hsa_amd_memory_pool_t p, int attr,
					      void *v)
{
	switch (attr) {
	case 0: /* SEGMENT: GLOBAL 0, GROUP 3 */
		*(uint32_t *)v = p.handle == 1 ? 3 : 0;
		return OK;
	case 1: /* GLOBAL_FLAGS */
		*(uint32_t *)v = p.handle == 3 ? 4 : 2;
		return OK;
	case 5: /* RUNTIME_ALLOC_ALLOWED */
		*(bool *)v = p.handle != 1;
		return OK;
	case 6: /* RUNTIME_ALLOC_GRANULE */
		*(size_t *)v = 4096;
		return OK;
	default:
		return E_INVALID_ARG;
	}
}

API hsa_status_t hsa_amd_memory_pool_allocate(hsa_amd_memory_pool_t p,
					      size_t size, uint32_t flags,
					      void **ptr)
{
	size_t hdr = envint("FAKE_HSA_EXPORT_OFFSET", 0) ? HDR : 0;
	hsa_status_t r = E_OOR;

	(void)flags;
	if (p.handle != 3)	/* the library must pick the coarse pool */
		return E_INVALID_ARG;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAXALLOC; i++) {
		struct alloc *a = &allocs[i];
		if (a->map)
			continue;
		a->fd = memfd_create("fake-hsa-vram", MFD_CLOEXEC);
		if (a->fd < 0 || ftruncate(a->fd, (off_t)(size + hdr)) < 0)
			break;
		a->map = mmap(NULL, size + hdr, PROT_NONE, MAP_SHARED, a->fd, 0);
		if (a->map == MAP_FAILED) {
			a->map = NULL;
			break;
		}
		a->len = size + hdr;
		a->hdr = hdr;
		*ptr = a->map + hdr;
		st.live_allocs++;
		r = OK;
		break;
	}
	pthread_mutex_unlock(&mu);
	return r;
}

static struct alloc *find(const void *p, size_t len)
{
	const char *c = p;

	for (int i = 0; i < MAXALLOC; i++) {
		struct alloc *a = &allocs[i];
		if (a->map && c >= a->map && len <= a->len &&
		    (size_t)(c - a->map) <= a->len - len)
			return a;
	}
	return NULL;
}

API hsa_status_t hsa_amd_memory_pool_free(void *ptr)
{
	hsa_status_t r = E_INVALID_ARG;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAXALLOC; i++) {
		struct alloc *a = &allocs[i];
		if (a->map && a->map + a->hdr == ptr) {
			munmap(a->map, a->len);
			close(a->fd);
			memset(a, 0, sizeof(*a));
			st.live_allocs--;
			r = OK;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return r;
}

API hsa_status_t hsa_memory_copy(void *dst, const void *src, size_t n)
{
	struct alloc *d, *s;
	hsa_status_t r = OK;

	pthread_mutex_lock(&mu);
	d = find(dst, n);
	s = find(src, n);
	if (d && !s) {
		if (pwrite(d->fd, src, n, (char *)dst - d->map) != (ssize_t)n)
			r = E_ERR;
	} else if (s && !d) {
		if (pread(s->fd, dst, n, (const char *)src - s->map) != (ssize_t)n)
			r = E_ERR;
	} else {
		r = E_INVALID_ARG;	/* host-host or device-device: unused */
	}
	pthread_mutex_unlock(&mu);
	return r;
}

API hsa_status_t hsa_amd_memory_lock(void *host, size_t size, hsa_agent_t *agents,
				     int n, void **agent_ptr)
{
	if (!host || !size || !agents || n != 1 || agents[0].handle < 100)
		return E_INVALID_ARG;
	pthread_mutex_lock(&mu);
	st.locked++;
	pthread_mutex_unlock(&mu);
	*agent_ptr = host;
	return OK;
}

API hsa_status_t hsa_amd_memory_unlock(void *host)
{
	(void)host;
	pthread_mutex_lock(&mu);
	st.locked--;
	pthread_mutex_unlock(&mu);
	return OK;
}

#ifndef FAKE_HSA_OLD
API hsa_status_t hsa_amd_portable_export_dmabuf(const void *ptr, size_t size,
						int *fd, uint64_t *offset)
{
	struct alloc *a;
	char path[64];
	hsa_status_t r = envint("FAKE_HSA_EXPORT_ERR", 0);

	if (r)
		return r;
	pthread_mutex_lock(&mu);
	a = find(ptr, size);
	if (a) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", a->fd);
		*fd = open(path, O_RDWR | O_CLOEXEC);
		*offset = (uint64_t)((const char *)ptr - a->map);
		if (*fd >= 0)
			st.open_exports++;
	}
	pthread_mutex_unlock(&mu);
	return a && *fd >= 0 ? OK : E_INVALID_ARG;
}

API hsa_status_t hsa_amd_portable_close_dmabuf(int fd)
{
	if (close(fd) < 0)
		return E_INVALID_ARG;
	pthread_mutex_lock(&mu);
	st.open_exports--;
	pthread_mutex_unlock(&mu);
	return OK;
}
#endif
