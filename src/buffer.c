// SPDX-License-Identifier: MIT
/* Buffers: host memfd, udmabuf, DMA heap, imported dma-buf. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buffer.h"
#include "uapi.h"

#define UDMABUF_DEV "/dev/udmabuf"
#define UDMABUF_LIMIT "/sys/module/udmabuf/parameters/size_limit_mb"
#define DMA_HEAP_DIR "/dev/dma_heap/"

static const char *const kind_names[] = {
	[DMT_BUF_HOST] = "host",	 [DMT_BUF_UDMABUF] = "udmabuf",
	[DMT_BUF_DMAHEAP] = "dmaheap", [DMT_BUF_IMPORT] = "import",
	[DMT_BUF_CUDA] = "cuda",	 [DMT_BUF_ROCM] = "rocm",
};

DMT_EXPORT const char *dmt_buf_kind_name(enum dmt_buf_kind kind)
{
	if ((unsigned int)kind < ARRAY_SIZE(kind_names) && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

/* udmabuf's per-buffer limit in bytes, 0 when unknown. */
static uint64_t udmabuf_limit(void)
{
	unsigned long long mb;
	FILE *f = fopen(UDMABUF_LIMIT, "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu", &mb);
	fclose(f);
	return n == 1 ? (uint64_t)mb << 20 : 0;
}

static int map_shared(struct dmt_buf *b, int fd, bool optional)
{
	void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED) {
		int ret = dmt_neg_errno();
		if (optional)
			return 0;
		return dmt_err_set(&b->err, ret, "mmap of %zu bytes failed: %s",
				   b->size, dmt_strerror(ret));
	}
	b->map = p;
	b->map_len = b->size;
	return 0;
}

static int host_memfd(struct dmt_buf *b, unsigned int flags)
{
	b->memfd = memfd_create("devmemtcp", MFD_CLOEXEC | flags);
	if (b->memfd < 0) {
		int ret = dmt_neg_errno();
		return dmt_err_set(&b->err, ret, "memfd_create failed: %s",
				   dmt_strerror(ret));
	}
	if (ftruncate(b->memfd, (off_t)b->size) < 0) {
		int ret = dmt_neg_errno();
		return dmt_err_set(&b->err, ret,
				   "cannot size a %zu-byte memfd: %s", b->size,
				   dmt_strerror(ret));
	}
	return 0;
}

static int init_host(struct dmt_buf *b)
{
	int ret = host_memfd(b, 0);

	return ret < 0 ? ret : map_shared(b, b->memfd, false);
}

static int init_udmabuf(struct dmt_buf *b)
{
	struct dmt_uapi_udmabuf_create c = { 0 };
	uint64_t limit = udmabuf_limit();
	int dev, ret;

	dev = open(UDMABUF_DEV, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		ret = dmt_neg_errno();
		if (ret == -ENOENT)
			return dmt_err_set(&b->err, -DMT_ERR_NO_EXPORTER,
				UDMABUF_DEV " not found: kernel built without "
				"CONFIG_UDMABUF (or the module is not loaded: "
				"modprobe udmabuf); use DMT_BUF_HOST with a "
				"fallback engine");
		if (ret == -EACCES || ret == -EPERM)
			return dmt_err_set(&b->err, ret, UDMABUF_DEV
				": permission denied: run as root or add the "
				"user to the group owning " UDMABUF_DEV);
		return dmt_err_set(&b->err, ret, "cannot open " UDMABUF_DEV ": %s",
				   dmt_strerror(ret));
	}
	if (limit && b->size > limit) {
		close(dev);
		return dmt_err_set(&b->err, -E2BIG,
			"%zu MiB exceeds the udmabuf size limit of %llu MiB "
			"(size_limit_mb); use a smaller buffer or raise it: "
			"echo N > " UDMABUF_LIMIT, b->size >> 20,
			(unsigned long long)(limit >> 20));
	}
	ret = host_memfd(b, MFD_ALLOW_SEALING);
	if (ret < 0)
		goto out;
	/* udmabuf requires SHRINK sealed and WRITE not sealed. */
	if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		ret = dmt_err_set(&b->err, dmt_neg_errno(),
				  "cannot seal the memfd (F_SEAL_SHRINK): %s",
				  dmt_strerror(-errno));
		goto out;
	}
	c.memfd = (uint32_t)b->memfd;
	c.flags = DMT_UDMABUF_FLAGS_CLOEXEC;
	c.offset = 0;
	c.size = b->size;
	b->dmabuf_fd = ioctl(dev, DMT_UDMABUF_CREATE, &c);
	if (b->dmabuf_fd < 0) {
		ret = dmt_neg_errno();
		if (ret == -EINVAL && !limit)
			dmt_err_set(&b->err, ret, "UDMABUF_CREATE of %zu bytes "
				    "failed: %s: the size may exceed udmabuf's "
				    "size_limit_mb (default 64 MiB)", b->size,
				    dmt_strerror(ret));
		else
			dmt_err_set(&b->err, ret, "UDMABUF_CREATE of %zu bytes "
				    "failed: %s", b->size, dmt_strerror(ret));
		goto out;
	}
	ret = map_shared(b, b->dmabuf_fd, false);
out:
	close(dev);
	return ret;
}

static int init_dmaheap(struct dmt_buf *b, const char *heap)
{
	struct dmt_uapi_dma_heap_allocation_data d = { 0 };
	char path[128];
	int dev, ret;

	if (strchr(heap, '/'))
		return dmt_err_set(&b->err, -EINVAL,
				   "DMA heap name \"%s\" must not contain '/'", heap);
	snprintf(path, sizeof(path), DMA_HEAP_DIR "%s", heap);
	dev = open(path, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		ret = dmt_neg_errno();
		if (ret == -ENOENT)
			return dmt_err_set(&b->err, -DMT_ERR_NO_EXPORTER,
				"%s not found: kernel built without "
				"CONFIG_DMABUF_HEAPS_SYSTEM (or no heap named "
				"\"%s\"); use DMT_BUF_UDMABUF or DMT_BUF_HOST", path,
				heap);
		return dmt_err_set(&b->err, ret, "cannot open %s: %s", path,
				   dmt_strerror(ret));
	}
	d.len = b->size;
	d.fd_flags = O_RDWR | O_CLOEXEC;
	if (ioctl(dev, DMT_DMA_HEAP_IOCTL_ALLOC, &d) < 0) {
		ret = dmt_neg_errno();
		close(dev);
		return dmt_err_set(&b->err, ret, "DMA heap %s: allocating %zu "
				   "bytes failed: %s", heap, b->size,
				   dmt_strerror(ret));
	}
	close(dev);
	b->dmabuf_fd = (int)d.fd;
	return map_shared(b, b->dmabuf_fd, false);
}

static struct dmt_buf *buf_alloc(enum dmt_buf_kind kind, size_t size)
{
	struct dmt_buf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->kind = kind;
	b->size = size;
	b->dmabuf_fd = -1;
	b->memfd = -1;
	return b;
}

static struct dmt_buf *buf_fail(struct dmt_buf *b, int ret,
				struct dmt_error *err)
{
	dmt_err_copy(err, &b->err);
	if (err && !err->message[0])
		dmt_err_set(err, ret, "buffer: %s", dmt_strerror(ret));
	dmt_buf_free(b);
	errno = ret < 0 ? -ret : EIO;
	return NULL;
}

DMT_EXPORT struct dmt_buf *dmt_buf_new(enum dmt_buf_kind kind, size_t size,
				       const struct dmt_buf_opts *opts,
				       struct dmt_error *err)
{
	size_t ps = dmt_page_size();
	struct dmt_buf *b;
	int ret;

	dmt_err_clear(err);
	if (!DMT_OPTS_CHECK(opts, dmt_buf_opts, err))
		return NULL;
	if (size == 0 || size > SIZE_MAX - ps) {
		dmt_err_set(err, -EINVAL, "buffer size must be > 0 (got %zu)", size);
		errno = EINVAL;
		return NULL;
	}
	if (kind == DMT_BUF_IMPORT) {
		dmt_err_set(err, -EINVAL, "use dmt_buf_import() for a dma-buf fd");
		errno = EINVAL;
		return NULL;
	}
	size = (size + ps - 1) & ~(ps - 1);
	b = buf_alloc(kind, size);
	if (!b) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	switch (kind) {
	case DMT_BUF_HOST:
		ret = init_host(b);
		break;
	case DMT_BUF_UDMABUF:
		ret = init_udmabuf(b);
		break;
	case DMT_BUF_DMAHEAP:
		ret = init_dmaheap(b, DMT_OPTS_OR(opts, heap, "system"));
		break;
	case DMT_BUF_CUDA:
		ret = dmt_cuda_buf_init(b, opts, &b->err);
		break;
	case DMT_BUF_ROCM:
		ret = dmt_rocm_buf_init(b, opts, &b->err);
		break;
	default:
		ret = dmt_err_set(&b->err, -EINVAL, "unknown buffer kind %d", kind);
		break;
	}
	if (ret < 0)
		return buf_fail(b, ret, err);
	if (b->dmabuf_fd >= 0)
		b->dmabuf_size = dmt_dmabuf_real_size(b->dmabuf_fd);
	return b;
}

static void wrap_destroy(struct dmt_buf *b)
{
	b->map = NULL;	/* the caller's memory: never unmapped here */
}

static const struct dmt_buf_ops wrap_ops = { .destroy = wrap_destroy };

DMT_EXPORT struct dmt_buf *dmt_buf_wrap(void *addr, size_t size,
					struct dmt_error *err)
{
	struct dmt_buf *b;

	dmt_err_clear(err);
	if (!addr || size == 0) {
		dmt_err_set(err, -EINVAL, "dmt_buf_wrap: give a non-NULL address "
			    "and a size > 0 (got %p, %zu)", addr, size);
		errno = EINVAL;
		return NULL;
	}
	b = buf_alloc(DMT_BUF_HOST, size);
	if (!b) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->map = addr;
	b->ops = &wrap_ops;
	return b;
}

uint64_t dmt_dmabuf_real_size(int fd)
{
	off_t cur, end;

	cur = lseek(fd, 0, SEEK_CUR);
	end = lseek(fd, 0, SEEK_END);
	if (cur >= 0)
		lseek(fd, cur, SEEK_SET);
	return end > 0 ? (uint64_t)end : 0;
}

uint64_t dmt_buf_read_span(const struct dmt_buf *b)
{
	uint64_t span = dmt_buf_dmabuf_span(b);

	if (b->ops && b->ops->read)
		return span;
	if (b->map && b->map_len < span)
		return b->map_len > b->size ? b->map_len : b->size;
	return b->map ? span : b->size;
}

int dmt_buf_read_any(struct dmt_buf *b, uint64_t off, void *dst, size_t len)
{
	uint64_t span = dmt_buf_read_span(b);
	int ret;

	if (off <= b->size && len <= b->size - off)
		return dmt_buf_read(b, off, dst, len);
	if (off > span || len > span - off)
		return dmt_ret(dmt_err_set(&b->err, -EINVAL, "read [%llu, +%zu) "
			"lies outside the %llu bytes of the dma-buf after this "
			"buffer's start", (unsigned long long)off, len,
			(unsigned long long)span));
	if (b->ops && b->ops->read)
		return dmt_ret(b->ops->read(b, off, dst, len));
	ret = dmt_buf_begin_cpu(b, DMT_SYNC_READ);
	if (ret < 0)
		return ret;
	memcpy(dst, (const char *)b->map + off, len);
	return dmt_buf_end_cpu(b, DMT_SYNC_READ);
}

/* 1 when /proc/self/fdinfo shows the dma-buf exporter line, 0 when not,
 * -errno when fdinfo cannot be read. */
static int is_dmabuf(int fd)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return dmt_neg_errno();
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "exp_name:", 9))
			found = 1;
	fclose(f);
	return found;
}

DMT_EXPORT struct dmt_buf *dmt_buf_import(int dmabuf_fd, size_t size,
					  struct dmt_error *err)
{
	struct dmt_buf *b;
	off_t end;
	int fd;

	dmt_err_clear(err);
	if (is_dmabuf(dmabuf_fd) == 0) {
		dmt_err_set(err, -DMT_ERR_NOT_DMABUF, "fd %d is not a dma-buf (its "
			    "fdinfo names no exporter): pass an fd from udmabuf, a "
			    "DMA heap or a GPU export", dmabuf_fd);
		errno = DMT_ERR_NOT_DMABUF;
		return NULL;
	}
	fd = fcntl(dmabuf_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		int ret = dmt_neg_errno();
		dmt_err_set(err, ret, "dma-buf fd %d: %s", dmabuf_fd,
			    dmt_strerror(ret));
		return NULL;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (size && (uint64_t)size > (uint64_t)end)) {
		int ret = end < 0 ? dmt_neg_errno() : -EINVAL;
		if (end < 0)
			dmt_err_set(err, ret, "fd %d does not report a size (%s): "
				    "is it a dma-buf?", dmabuf_fd, dmt_strerror(ret));
		else
			dmt_err_set(err, ret, "size %zu is larger than the dma-buf "
				    "(%lld bytes)", size, (long long)end);
		close(fd);
		errno = -ret;
		return NULL;
	}
	lseek(fd, 0, SEEK_SET);
	b = buf_alloc(DMT_BUF_IMPORT, size ? size : (size_t)end);
	if (!b) {
		close(fd);
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	b->dmabuf_fd = fd;
	b->dmabuf_size = (uint64_t)end;
	/* Map the whole dma-buf: a NIC bound to it may fill all of it, also
	 * beyond the size asked for. Exporters may refuse CPU mappings. */
	b->size = (size_t)end;
	map_shared(b, fd, true);
	b->size = size ? size : (size_t)end;
	return b;
}

DMT_EXPORT void dmt_buf_free(struct dmt_buf *b)
{
	if (!b)
		return;
	if (b->ops && b->ops->destroy)
		b->ops->destroy(b);
	if (b->map)
		munmap(b->map, b->map_len);
	if (b->dmabuf_fd >= 0)
		close(b->dmabuf_fd);
	if (b->memfd >= 0)
		close(b->memfd);
	free(b);
}

DMT_EXPORT enum dmt_buf_kind dmt_buf_kind(const struct dmt_buf *b)
{
	return b->kind;
}

DMT_EXPORT size_t dmt_buf_size(const struct dmt_buf *b)
{
	return b->size;
}

DMT_EXPORT int dmt_buf_dmabuf_fd(const struct dmt_buf *b)
{
	return b->dmabuf_fd;
}

DMT_EXPORT void *dmt_buf_map(const struct dmt_buf *b)
{
	return b->map;
}

DMT_EXPORT uint64_t dmt_buf_dmabuf_offset(const struct dmt_buf *b)
{
	return b->dmabuf_off;
}

DMT_EXPORT const struct dmt_error *dmt_buf_last_error(const struct dmt_buf *b)
{
	return &b->err;
}

static int do_sync(struct dmt_buf *b, unsigned int flags, uint64_t phase)
{
	struct dmt_uapi_dma_buf_sync s;

	if (b->dmabuf_fd < 0 || !b->map)
		return 0;
	if (!flags || (flags & ~DMT_SYNC_RW))
		return dmt_ret(dmt_err_set(&b->err, -EINVAL,
			"sync flags must be DMT_SYNC_READ, _WRITE or _RW"));
	s.flags = phase | ((flags & DMT_SYNC_READ) ? DMT_DMA_BUF_SYNC_READ : 0) |
		  ((flags & DMT_SYNC_WRITE) ? DMT_DMA_BUF_SYNC_WRITE : 0);
	while (ioctl(b->dmabuf_fd, DMT_DMA_BUF_IOCTL_SYNC, &s) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			continue;
		return dmt_ret(dmt_err_set(&b->err, dmt_neg_errno(),
			"DMA_BUF_IOCTL_SYNC failed: %s", strerror(errno)));
	}
	return 0;
}

DMT_EXPORT int dmt_buf_begin_cpu(struct dmt_buf *b, unsigned int flags)
{
	return do_sync(b, flags, DMT_DMA_BUF_SYNC_START);
}

DMT_EXPORT int dmt_buf_end_cpu(struct dmt_buf *b, unsigned int flags)
{
	return do_sync(b, flags, DMT_DMA_BUF_SYNC_END);
}

static int check_range(struct dmt_buf *b, uint64_t off, size_t len,
		       const char *what)
{
	if (!dmt_buf_range_ok(b, off, len))
		return dmt_ret(dmt_err_set(&b->err, -EINVAL,
			"%s [%llu, +%zu) lies outside the %zu-byte buffer", what,
			(unsigned long long)off, len, b->size));
	return 0;
}

DMT_EXPORT int dmt_buf_write(struct dmt_buf *b, uint64_t off, const void *src,
			     size_t len)
{
	int ret = check_range(b, off, len, "write");

	if (ret < 0)
		return ret;
	if (b->ops && b->ops->write)
		return dmt_ret(b->ops->write(b, off, src, len));
	if (!b->map)
		return dmt_ret(dmt_err_set(&b->err, -DMT_ERR_NOT_DMABUF,
			"this %s buffer has no CPU mapping", dmt_buf_kind_name(b->kind)));
	ret = dmt_buf_begin_cpu(b, DMT_SYNC_WRITE);
	if (ret < 0)
		return ret;
	memcpy((char *)b->map + off, src, len);
	return dmt_buf_end_cpu(b, DMT_SYNC_WRITE);
}

DMT_EXPORT int dmt_buf_read(struct dmt_buf *b, uint64_t off, void *dst,
			    size_t len)
{
	int ret = check_range(b, off, len, "read");

	if (ret < 0)
		return ret;
	if (b->ops && b->ops->read)
		return dmt_ret(b->ops->read(b, off, dst, len));
	if (!b->map)
		return dmt_ret(dmt_err_set(&b->err, -DMT_ERR_NOT_DMABUF,
			"this %s buffer has no CPU mapping", dmt_buf_kind_name(b->kind)));
	ret = dmt_buf_begin_cpu(b, DMT_SYNC_READ);
	if (ret < 0)
		return ret;
	memcpy(dst, (const char *)b->map + off, len);
	return dmt_buf_end_cpu(b, DMT_SYNC_READ);
}

int dmt_buf_pinnable(struct dmt_buf *b)
{
	struct iovec v;
	ssize_t n;
	int p[2], e;

	if (!b->map)
		return 0;
	if (b->pin_state)
		return b->pin_state > 0;
	/* the rule, for when the probe cannot decide */
	b->pin_state = b->dmabuf_fd >= 0 ? -1 : 1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return b->pin_state > 0;
	v.iov_base = b->map;
	v.iov_len = 1;
	n = vmsplice(p[1], &v, 1, SPLICE_F_NONBLOCK);
	e = errno;
	close(p[0]);
	close(p[1]);
	if (n == 1)
		b->pin_state = 1;
	else if (n < 0 && e == EFAULT)
		b->pin_state = -1;
	return b->pin_state > 0;
}
