// SPDX-License-Identifier: MIT
/*
 * ROCm buffers: device memory from an HSA memory pool, exported as a
 * dma-buf with hsa_amd_portable_export_dmabuf.
 *
 * The HSA runtime (libhsa-runtime64.so.1, ROCr) is opened with dlopen at
 * run time; nothing ROCm is needed at build time. Types and constants are
 * the few this file uses, with the values of ROCr's public headers:
 *   hsa.h:          hsa_status_t (HSA_STATUS_SUCCESS 0, HSA_STATUS_INFO_BREAK
 *                   0x1, HSA_STATUS_ERROR 0x1000, ..._OUT_OF_RESOURCES
 *                   0x1008), hsa_agent_t {uint64_t handle},
 *                   HSA_AGENT_INFO_NAME 0, HSA_AGENT_INFO_DEVICE 17,
 *                   HSA_DEVICE_TYPE_GPU 1
 *   hsa_ext_amd.h:  hsa_amd_memory_pool_t {uint64_t handle},
 *                   HSA_AMD_MEMORY_POOL_INFO_SEGMENT 0, _GLOBAL_FLAGS 1,
 *                   _RUNTIME_ALLOC_ALLOWED 5, _RUNTIME_ALLOC_GRANULE 6,
 *                   HSA_AMD_SEGMENT_GLOBAL 0,
 *                   HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED 2,
 *                   _COARSE_GRAINED 4, HSA_AMD_AGENT_INFO_BDFID 0xA006,
 *                   HSA_AMD_AGENT_INFO_DOMAIN 0xA00F
 *
 * hsa_amd_portable_export_dmabuf(ptr, size, &fd, &offset) may export the
 * whole allocation and report where ptr lies in it: that offset is kept in
 * b->dmabuf_off, which the devmem engine adds to every iov offset.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gpu.h"

typedef int hsa_status_t;
typedef struct { uint64_t handle; } hsa_agent_t;
typedef struct { uint64_t handle; } hsa_amd_memory_pool_t;

#define HSA_STATUS_SUCCESS 0x0
#define HSA_STATUS_INFO_BREAK 0x1
#define HSA_STATUS_ERROR 0x1000
#define HSA_STATUS_ERROR_OUT_OF_RESOURCES 0x1008

#define HSA_AGENT_INFO_NAME 0
#define HSA_AGENT_INFO_DEVICE 17
#define HSA_DEVICE_TYPE_GPU 1
#define HSA_AMD_AGENT_INFO_BDFID 0xA006
#define HSA_AMD_AGENT_INFO_DOMAIN 0xA00F

#define HSA_AMD_MEMORY_POOL_INFO_SEGMENT 0
#define HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS 1
#define HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED 5
#define HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE 6
#define HSA_AMD_SEGMENT_GLOBAL 0
#define HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_FINE_GRAINED 2
#define HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED 4

#define ROCM_MAX_PINS 4

struct hsa_api {
	void *h;
	hsa_status_t (*init)(void);
	hsa_status_t (*shut_down)(void);
	hsa_status_t (*status_string)(hsa_status_t s, const char **str);
	hsa_status_t (*iterate_agents)(hsa_status_t (*cb)(hsa_agent_t, void *),
				       void *data);
	hsa_status_t (*agent_get_info)(hsa_agent_t a, int attr, void *val);
	hsa_status_t (*iterate_pools)(hsa_agent_t a,
				      hsa_status_t (*cb)(hsa_amd_memory_pool_t,
							 void *), void *data);
	hsa_status_t (*pool_get_info)(hsa_amd_memory_pool_t p, int attr,
				      void *val);
	hsa_status_t (*pool_allocate)(hsa_amd_memory_pool_t p, size_t size,
				      uint32_t flags, void **ptr);
	hsa_status_t (*pool_free)(void *ptr);
	hsa_status_t (*export_dmabuf)(const void *ptr, size_t size, int *fd,
				      uint64_t *offset);
	hsa_status_t (*close_dmabuf)(int fd);
	hsa_status_t (*memory_copy)(void *dst, const void *src, size_t size);
	hsa_status_t (*memory_lock)(void *host, size_t size, hsa_agent_t *agents,
				    int nagents, void **agent_ptr);
	hsa_status_t (*memory_unlock)(void *host);
};

struct rocm_pin {
	char *host;
	char *agent;
	size_t len;
};

struct rocm_buf {
	struct hsa_api api;
	bool inited;
	hsa_agent_t agent;
	int ordinal;
	void *ptr;
	char name[64];
	pthread_mutex_t pin_mu;
	struct rocm_pin pins[ROCM_MAX_PINS];
};

static const char *lib_name(void)
{
	return dmt_gpu_lib_name("DMT_ROCM_LIB", DMT_ROCM_LIB_DEFAULT);
}

static const char *hsa_str(const struct hsa_api *a, hsa_status_t st)
{
	const char *s = NULL;

	if (a->status_string && a->status_string(st, &s) == HSA_STATUS_SUCCESS && s)
		return s;
	return "unknown HSA status";
}

static int hsa_fail(struct dmt_error *e, const struct hsa_api *a,
		    hsa_status_t st, const char *what, const char *hint)
{
	return dmt_err_set(e, st == HSA_STATUS_ERROR_OUT_OF_RESOURCES ? -ENOMEM :
			   -DMT_ERR_GPU, "%s: HSA status 0x%x (%s)%s", what,
			   (unsigned int)st, hsa_str(a, st), hint ? hint : "");
}

#define SYM DMT_GPU_SYM

static int load_api(struct hsa_api *a, struct dmt_error *e)
{
	const char *lib = lib_name();
	const char *missing;

	memset(a, 0, sizeof(*a));
	if (dmt_gpu_dlopen(&a->h, "DMT_BUF_ROCM", "DMT_ROCM_LIB", DMT_ROCM_LIB_DEFAULT,
			   "no ROCm runtime on this host", e) < 0)
		return -DMT_ERR_GPU;
	SYM(status_string, "hsa_status_string", false);
	SYM(init, "hsa_init", true);
	SYM(shut_down, "hsa_shut_down", true);
	SYM(iterate_agents, "hsa_iterate_agents", true);
	SYM(agent_get_info, "hsa_agent_get_info", true);
	SYM(iterate_pools, "hsa_amd_agent_iterate_memory_pools", true);
	SYM(pool_get_info, "hsa_amd_memory_pool_get_info", true);
	SYM(pool_allocate, "hsa_amd_memory_pool_allocate", true);
	SYM(pool_free, "hsa_amd_memory_pool_free", true);
	SYM(memory_copy, "hsa_memory_copy", true);
	SYM(memory_lock, "hsa_amd_memory_lock", false);
	SYM(memory_unlock, "hsa_amd_memory_unlock", false);
	SYM(export_dmabuf, "hsa_amd_portable_export_dmabuf", true);
	SYM(close_dmabuf, "hsa_amd_portable_close_dmabuf", true);
	return 0;
missing:
	/* The runtime stays loaded (dlopen is reference counted; unloading
	 * a runtime that started threads is not safe). */
	if (!strncmp(missing, "hsa_amd_portable_", 17))
		return dmt_err_set(e, -DMT_ERR_NO_EXPORTER, "DMT_BUF_ROCM: %s has "
			"no %s: the ROCm runtime is too old for dma-buf export "
			"(needs ROCm 5.6 or newer)", lib, missing);
	return dmt_err_set(e, -DMT_ERR_GPU, "DMT_BUF_ROCM: %s lacks %s: not a "
			   "usable HSA runtime", lib, missing);
}

struct agent_walk {
	const struct hsa_api *a;
	int want;		/* index among GPU agents, or -1 */
	bool by_bus;
	unsigned int domain, bdf;
	int seen;		/* GPU agents seen */
	bool found;
	hsa_agent_t agent;
	int ordinal;
};

static hsa_status_t agent_cb(hsa_agent_t agent, void *data)
{
	struct agent_walk *w = data;
	uint32_t type = 0;

	if (w->a->agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type) !=
	    HSA_STATUS_SUCCESS || type != HSA_DEVICE_TYPE_GPU)
		return HSA_STATUS_SUCCESS;
	if (!w->found) {
		bool match;

		if (w->by_bus) {
			uint32_t bdf = 0, dom = 0;
			w->a->agent_get_info(agent, HSA_AMD_AGENT_INFO_BDFID, &bdf);
			w->a->agent_get_info(agent, HSA_AMD_AGENT_INFO_DOMAIN, &dom);
			match = bdf == w->bdf && dom == w->domain;
		} else {
			match = w->seen == w->want;
		}
		if (match) {
			w->found = true;
			w->agent = agent;
			w->ordinal = w->seen;
		}
	}
	w->seen++;
	return HSA_STATUS_SUCCESS;	/* keep counting */
}

struct pool_walk {
	const struct hsa_api *a;
	bool found;
	uint32_t flags;
	hsa_amd_memory_pool_t pool;
	size_t granule;
};

static hsa_status_t pool_cb(hsa_amd_memory_pool_t pool, void *data)
{
	struct pool_walk *w = data;
	uint32_t seg = ~0u, flags = 0;
	bool alloc = false;
	size_t granule = 0;

	if (w->a->pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_SEGMENT, &seg) ||
	    seg != HSA_AMD_SEGMENT_GLOBAL)
		return HSA_STATUS_SUCCESS;
	if (w->a->pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_ALLOWED,
				&alloc) || !alloc)
		return HSA_STATUS_SUCCESS;
	w->a->pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_GLOBAL_FLAGS, &flags);
	w->a->pool_get_info(pool, HSA_AMD_MEMORY_POOL_INFO_RUNTIME_ALLOC_GRANULE,
			    &granule);
	/* Device-local VRAM is the coarse-grained global pool of a GPU agent;
	 * take a fine-grained one only if there is nothing else. */
	if (!w->found || ((flags & HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED) &&
			  !(w->flags & HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED))) {
		w->found = true;
		w->pool = pool;
		w->flags = flags;
		w->granule = granule;
	}
	if (flags & HSA_AMD_MEMORY_POOL_GLOBAL_FLAG_COARSE_GRAINED)
		return HSA_STATUS_INFO_BREAK;
	return HSA_STATUS_SUCCESS;
}

static int parse_busid(const char *s, unsigned int *domain, unsigned int *bdf)
{
	unsigned int d = 0, b, dev, fn;

	if (sscanf(s, "%x:%x:%x.%x", &d, &b, &dev, &fn) != 4) {
		d = 0;
		if (sscanf(s, "%x:%x.%x", &b, &dev, &fn) != 3)
			return -EINVAL;
	}
	if (b > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	*domain = d;
	*bdf = (b << 8) | (dev << 3) | fn;
	return 0;
}

static void rocm_release(struct rocm_buf *r)
{
	if (r->ptr)
		r->api.pool_free(r->ptr);
	r->ptr = NULL;
	if (r->inited)
		r->api.shut_down();
	r->inited = false;
}

/* Load, init, pick the agent and a pool, allocate and export. */
static int rocm_open(struct rocm_buf *r, size_t size, int index,
		     const char *busid, int *count, int *fd, uint64_t *off,
		     struct dmt_error *e)
{
	struct agent_walk aw = { .a = &r->api, .want = index };
	struct pool_walk pw = { .a = &r->api };
	size_t ps = dmt_page_size(), asz;
	hsa_status_t st;
	int ret;

	ret = load_api(&r->api, e);
	if (ret < 0)
		return ret;
	st = r->api.init();
	if (st != HSA_STATUS_SUCCESS)
		return hsa_fail(e, &r->api, st, "DMT_BUF_ROCM: hsa_init failed",
				": is the amdgpu kernel driver loaded and /dev/kfd "
				"accessible (group render/video)?");
	r->inited = true;
	if (busid && busid[0]) {
		if (parse_busid(busid, &aw.domain, &aw.bdf) < 0) {
			ret = dmt_err_set(e, -EINVAL, "DMT_BUF_ROCM: \"%s\" is not a "
					  "PCI bus id (domain:bus:device.function)",
					  busid);
			goto fail;
		}
		aw.by_bus = true;
		aw.want = -1;
	}
	st = r->api.iterate_agents(agent_cb, &aw);
	*count = aw.seen;
	if (st != HSA_STATUS_SUCCESS && st != HSA_STATUS_INFO_BREAK) {
		ret = hsa_fail(e, &r->api, st, "DMT_BUF_ROCM: hsa_iterate_agents",
			       NULL);
		goto fail;
	}
	if (!aw.seen) {
		ret = dmt_err_set(e, -ENODEV, "DMT_BUF_ROCM: no ROCm GPU on this "
				  "host (the HSA runtime lists no GPU agent)");
		goto fail;
	}
	if (!aw.found) {
		if (aw.by_bus)
			ret = dmt_err_set(e, -ENODEV, "DMT_BUF_ROCM: no ROCm GPU "
				"at PCI bus id %s (%d present; rocm-smi "
				"lists their bus ids)", busid, aw.seen);
		else
			ret = dmt_err_set(e, -ENODEV, "DMT_BUF_ROCM: no ROCm GPU "
				"%d: this host has %d (use 0..%d)", index, aw.seen,
				aw.seen - 1);
		goto fail;
	}
	r->agent = aw.agent;
	r->ordinal = aw.ordinal;
	if (r->api.agent_get_info(r->agent, HSA_AGENT_INFO_NAME, r->name))
		snprintf(r->name, sizeof(r->name), "GPU agent");
	r->name[sizeof(r->name) - 1] = '\0';
	st = r->api.iterate_pools(r->agent, pool_cb, &pw);
	if ((st != HSA_STATUS_SUCCESS && st != HSA_STATUS_INFO_BREAK) || !pw.found) {
		ret = dmt_err_set(e, -ENODEV, "DMT_BUF_ROCM: GPU %d (%s) has no "
				  "device memory pool the runtime may allocate from",
				  r->ordinal, r->name);
		goto fail;
	}
	if (size % ps) {
		ret = dmt_err_set(e, -EINVAL, "DMT_BUF_ROCM: size %zu is not a "
				  "multiple of the host page size (%zu)", size, ps);
		goto fail;
	}
	asz = size;
	if (pw.granule > 1)
		asz = (size + pw.granule - 1) / pw.granule * pw.granule;
	st = r->api.pool_allocate(pw.pool, asz, 0, &r->ptr);
	if (st != HSA_STATUS_SUCCESS) {
		char what[320];
		r->ptr = NULL;
		snprintf(what, sizeof(what), "DMT_BUF_ROCM: cannot allocate %zu "
			 "MiB on GPU %d (%s)", asz >> 20, r->ordinal, r->name);
		ret = hsa_fail(e, &r->api, st, what,
			       st == HSA_STATUS_ERROR_OUT_OF_RESOURCES ?
			       ": out of device memory; use a smaller buffer" : NULL);
		goto fail;
	}
	if ((uintptr_t)r->ptr % ps) {
		ret = dmt_err_set(e, -EINVAL, "DMT_BUF_ROCM: the pool returned a "
				  "pointer not aligned to the host page size (%zu)",
				  ps);
		goto fail;
	}
	*fd = -1;
	*off = 0;
	st = r->api.export_dmabuf(r->ptr, size, fd, off);
	if (st != HSA_STATUS_SUCCESS || *fd < 0) {
		*fd = -1;
		ret = hsa_fail(e, &r->api, st, "DMT_BUF_ROCM: "
			       "hsa_amd_portable_export_dmabuf failed",
			       ": needs the amdgpu driver with dma-buf export "
			       "(kernel 5.12+ KFD, ROCm 5.6+) and device memory");
		if (st == HSA_STATUS_SUCCESS)
			ret = -DMT_ERR_GPU;
		goto fail;
	}
	return 0;
fail:
	rocm_release(r);
	return ret;
}

static void rocm_destroy(struct dmt_buf *b)
{
	struct rocm_buf *r = b->priv;

	if (!r)
		return;
	if (b->dmabuf_fd >= 0)
		r->api.close_dmabuf(b->dmabuf_fd);	/* closes the fd */
	b->dmabuf_fd = -1;
	for (int i = 0; i < ROCM_MAX_PINS; i++)
		if (r->pins[i].host && r->api.memory_unlock)
			r->api.memory_unlock(r->pins[i].host);
	rocm_release(r);
	pthread_mutex_destroy(&r->pin_mu);
	free(r);
	b->priv = NULL;
}

/* Agent-visible address of host range [p, p+len) when pinned, else p. */
static void *pinned_view(struct rocm_buf *r, const void *p, size_t len)
{
	const char *c = p;
	void *v = (void *)(uintptr_t)p;

	pthread_mutex_lock(&r->pin_mu);
	for (int i = 0; i < ROCM_MAX_PINS; i++) {
		struct rocm_pin *pin = &r->pins[i];
		if (pin->host && c >= pin->host && len <= pin->len &&
		    (size_t)(c - pin->host) <= pin->len - len) {
			v = pin->agent + (c - pin->host);
			break;
		}
	}
	pthread_mutex_unlock(&r->pin_mu);
	return v;
}

static int rocm_write(struct dmt_buf *b, uint64_t off, const void *src,
		      size_t len)
{
	struct rocm_buf *r = b->priv;
	hsa_status_t st;

	if (!len)
		return 0;
	st = r->api.memory_copy((char *)r->ptr + off, pinned_view(r, src, len), len);
	if (st != HSA_STATUS_SUCCESS) {
		char what[128];
		snprintf(what, sizeof(what), "rocm: hsa_memory_copy of %zu bytes to "
			 "offset %llu", len, (unsigned long long)off);
		return hsa_fail(&b->err, &r->api, st, what, NULL);
	}
	return 0;
}

static int rocm_read(struct dmt_buf *b, uint64_t off, void *dst, size_t len)
{
	struct rocm_buf *r = b->priv;
	hsa_status_t st;

	if (!len)
		return 0;
	st = r->api.memory_copy(pinned_view(r, dst, len), (char *)r->ptr + off, len);
	if (st != HSA_STATUS_SUCCESS) {
		char what[128];
		snprintf(what, sizeof(what), "rocm: hsa_memory_copy of %zu bytes "
			 "from offset %llu", len, (unsigned long long)off);
		return hsa_fail(&b->err, &r->api, st, what, NULL);
	}
	return 0;
}

static const struct dmt_buf_ops rocm_ops = {
	.destroy = rocm_destroy,
	.write = rocm_write,
	.read = rocm_read,
};

int dmt_rocm_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e)
{
	struct rocm_buf *r = calloc(1, sizeof(*r));
	int count = 0, fd = -1, ret;
	uint64_t off = 0;

	if (!r)
		return dmt_err_set(e, -ENOMEM, "out of memory");
	ret = rocm_open(r, b->size, DMT_OPTS_FIELD(o, device, 0),
			DMT_OPTS_FIELD(o, pci_bus_id, NULL), &count, &fd, &off, e);
	if (ret < 0) {
		free(r);
		return ret;
	}
	pthread_mutex_init(&r->pin_mu, NULL);
	b->dmabuf_fd = fd;
	b->dmabuf_off = off;	/* where the allocation starts in the dma-buf */
	b->map = NULL;
	b->map_len = 0;
	b->ops = &rocm_ops;
	b->priv = r;
	return 0;
}

int dmt_rocm_pin(struct dmt_buf *b, void *p, size_t len)
{
	struct rocm_buf *r = b->priv;
	void *agent_ptr = NULL;
	int slot = -1;

	if (b->kind != DMT_BUF_ROCM || !r || !r->api.memory_lock ||
	    !r->api.memory_unlock)
		return 0;
	pthread_mutex_lock(&r->pin_mu);
	for (int i = 0; i < ROCM_MAX_PINS && slot < 0; i++)
		if (!r->pins[i].host)
			slot = i;
	if (slot >= 0 && r->api.memory_lock(p, len, &r->agent, 1, &agent_ptr) ==
	    HSA_STATUS_SUCCESS && agent_ptr) {
		r->pins[slot].host = p;
		r->pins[slot].agent = agent_ptr;
		r->pins[slot].len = len;
	} else {
		slot = -1;
	}
	pthread_mutex_unlock(&r->pin_mu);
	return slot >= 0;
}

void dmt_rocm_unpin(struct dmt_buf *b, void *p)
{
	struct rocm_buf *r = b->priv;

	if (b->kind != DMT_BUF_ROCM || !r)
		return;
	pthread_mutex_lock(&r->pin_mu);
	for (int i = 0; i < ROCM_MAX_PINS; i++) {
		if (r->pins[i].host == p) {
			r->api.memory_unlock(p);
			memset(&r->pins[i], 0, sizeof(r->pins[i]));
			break;
		}
	}
	pthread_mutex_unlock(&r->pin_mu);
}

int dmt_rocm_probe(int device, struct dmt_gpu_probe *p)
{
	struct rocm_buf *r = calloc(1, sizeof(*r));
	struct dmt_error e = { 0 };
	int count = -1, fd = -1, ret;
	uint64_t off = 0;

	memset(p, 0, sizeof(*p));
	p->lib_found = p->ndevices = p->dmabuf_supported = -1;
	p->export_ok = p->pcie_mapping = -1;
	p->driver_version = 0;
	snprintf(p->lib, sizeof(p->lib), "%s", lib_name());
	if (!r) {
		snprintf(p->message, sizeof(p->message), "out of memory");
		return -ENOMEM;
	}
	ret = rocm_open(r, 2u << 20, device, NULL, &count, &fd, &off, &e);
	p->lib_found = r->api.h != NULL;
	if (r->api.h)
		p->dmabuf_supported = r->api.export_dmabuf != NULL;
	p->ndevices = count;
	p->export_ok = ret == 0;
	if (count > 0)
		snprintf(p->device_name, sizeof(p->device_name), "%s", r->name);
	if (ret == 0) {
		r->api.close_dmabuf(fd);
		rocm_release(r);
	} else if (count == 0 && !e.message[0]) {
		snprintf(e.message, sizeof(e.message), "no ROCm GPU");
	}
	snprintf(p->message, sizeof(p->message), "%s", e.message);
	free(r);
	return ret;
}
