// SPDX-License-Identifier: MIT
/*
 * tier V: the buffer providers' success paths against a kernel that has a
 * dma-buf exporter (scripts/vm-test.sh 6.12 boots one). udmabuf: sizes and
 * page rounding, the size limit, the memfd's seals, page alignment,
 * DMA_BUF_IOCTL_SYNC, CPU writes visible both ways between the memfd and
 * the dma-buf mapping; the system DMA heap; import of both (fdinfo
 * exp_name, size); refusal of a non-dma-buf fd; the pinning probe (PFN
 * mappings cannot be pinned by zero-copy sends). Skips without
 * /dev/udmabuf.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buffer.h"
#include "helpers.h"
#include "uapi.h"

/* The exporter name in fdinfo, "" when the fd is not a dma-buf. */
static void exp_name(int fd, char *name, size_t len)
{
	char path[64], line[256];
	FILE *f;

	name[0] = '\0';

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	T_CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "exp_name:", 9)) {
			char *v = line + 9;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(name, len, "%s", v);
			break;
		}
	fclose(f);
}

static void import_check(struct dmt_buf *b, const char *want_exp)
{
	char name[64];
	struct dmt_error err;
	struct dmt_buf *imp;
	unsigned char *m;

	exp_name(dmt_buf_dmabuf_fd(b), name, sizeof(name));
	T_CHECK(!strcmp(name, want_exp), "exp_name %s, want %s", name, want_exp);
	imp = dmt_buf_import(dmt_buf_dmabuf_fd(b), 0, &err);
	T_CHECK(imp, "import: %s", err.message);
	T_CHECK(dmt_buf_kind(imp) == DMT_BUF_IMPORT, "kind");
	T_CHECK(dmt_buf_size(imp) == dmt_buf_size(b), "import size %zu, want %zu",
		dmt_buf_size(imp), dmt_buf_size(b));
	T_CHECK(dmt_buf_dmabuf_fd(imp) != dmt_buf_dmabuf_fd(b), "import dups the fd");
	exp_name(dmt_buf_dmabuf_fd(imp), name, sizeof(name));
	T_CHECK(!strcmp(name, want_exp), "imported exp_name %s", name);
	/* the import maps the same memory */
	m = dmt_buf_map(imp);
	T_CHECK(m, "import has no CPU mapping");
	T_CHECK(dmt_buf_write(b, 4096, "shared", 6) == 0, "write");
	T_CHECK(dmt_buf_begin_cpu(imp, DMT_SYNC_READ) == 0, "sync start: %s",
		dmt_buf_last_error(imp)->message);
	T_CHECK(!memcmp(m + 4096, "shared", 6), "import does not see the write");
	T_CHECK(dmt_buf_end_cpu(imp, DMT_SYNC_READ) == 0, "sync end");
	/* a size larger than the dma-buf is refused */
	T_CHECK(!dmt_buf_import(dmt_buf_dmabuf_fd(b), dmt_buf_size(b) + 4096, &err) &&
		strstr(err.message, "larger than the dma-buf"),
		"oversized import: %s", err.message);
	dmt_buf_free(imp);
}

static void sync_check(struct dmt_buf *b)
{
	struct dmt_uapi_dma_buf_sync s = { .flags = 0x80 }; /* no such flag */

	T_CHECK(dmt_buf_begin_cpu(b, DMT_SYNC_RW) == 0, "begin: %s",
		dmt_buf_last_error(b)->message);
	T_CHECK(dmt_buf_end_cpu(b, DMT_SYNC_RW) == 0, "end: %s",
		dmt_buf_last_error(b)->message);
	T_CHECK(dmt_buf_begin_cpu(b, 0) == -EINVAL, "flags 0 accepted");
	/* the kernel validates the ioctl too */
	T_CHECK(ioctl(dmt_buf_dmabuf_fd(b), DMT_DMA_BUF_IOCTL_SYNC, &s) < 0 &&
		errno == EINVAL, "DMA_BUF_IOCTL_SYNC with bad flags: %s",
		strerror(errno));
}

static void udmabuf_checks(void)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct dmt_error err;
	struct dmt_buf *b;
	unsigned char *m;
	unsigned char c;
	char word[8];
	int seals;

	/* sizes: one byte rounds up to a page; odd sizes to whole pages */
	b = dmt_buf_new(DMT_BUF_UDMABUF, 1, NULL, &err);
	T_CHECK(b, "1-byte udmabuf: %s", err.message);
	T_CHECK(dmt_buf_size(b) == ps, "size %zu, want %zu", dmt_buf_size(b), ps);
	dmt_buf_free(b);
	b = dmt_buf_new(DMT_BUF_UDMABUF, 3 * ps + 5, NULL, &err);
	T_CHECK(b, "odd-size udmabuf: %s", err.message);
	T_CHECK(dmt_buf_size(b) == 4 * ps, "size %zu", dmt_buf_size(b));
	T_CHECK(lseek(dmt_buf_dmabuf_fd(b), 0, SEEK_END) == (off_t)(4 * ps),
		"dma-buf size %lld", (long long)lseek(dmt_buf_dmabuf_fd(b), 0, SEEK_END));
	dmt_buf_free(b);

	/* the limit: exactly size_limit_mb works, one page more is refused */
	{
		FILE *f = fopen("/sys/module/udmabuf/parameters/size_limit_mb", "re");
		unsigned long mb = 0;
		T_CHECK(f && fscanf(f, "%lu", &mb) == 1, "size_limit_mb unreadable");
		fclose(f);
		printf("udmabuf size_limit_mb %lu\n", mb);
		b = dmt_buf_new(DMT_BUF_UDMABUF, mb << 20, NULL, &err);
		T_CHECK(b, "udmabuf of the limit (%lu MiB): %s", mb, err.message);
		dmt_buf_free(b);
		b = dmt_buf_new(DMT_BUF_UDMABUF, (mb << 20) + ps, NULL, &err);
		T_CHECK(!b && err.err == -E2BIG && strstr(err.message, "size_limit_mb"),
			"over the limit: %s", err.message);
	}

	b = dmt_buf_new(DMT_BUF_UDMABUF, 1 << 20, NULL, &err);
	T_CHECK(b, "udmabuf: %s", err.message);
	/* sealing: udmabuf needs SHRINK sealed and WRITE not sealed */
	seals = fcntl(b->memfd, F_GET_SEALS);
	T_CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && !(seals & F_SEAL_WRITE),
		"seals %#x", seals);
	T_CHECK(ftruncate(b->memfd, 4096) < 0 && errno == EPERM,
		"the sealed memfd shrank");
	/* page alignment */
	m = dmt_buf_map(b);
	T_CHECK(m && ((uintptr_t)m % ps) == 0, "mapping %p not page aligned", (void *)m);
	T_CHECK(dmt_buf_dmabuf_offset(b) == 0, "offset %llu",
		(unsigned long long)dmt_buf_dmabuf_offset(b));
	sync_check(b);
	/* CPU writes through the dma-buf mapping reach the memfd's pages ... */
	T_CHECK(dmt_buf_write(b, 12345, "devmem", 6) == 0, "write");
	T_CHECK(pread(b->memfd, word, 6, 12345) == 6 && !memcmp(word, "devmem", 6),
		"memfd does not see the dma-buf write");
	/* ... and the other way */
	T_CHECK(pwrite(b->memfd, "memfd!", 6, 777) == 6, "pwrite");
	T_CHECK(dmt_buf_read(b, 777, word, 6) == 0 && !memcmp(word, "memfd!", 6),
		"dma-buf does not see the memfd write");
	/* a whole-buffer pattern survives */
	for (size_t i = 0; i < dmt_buf_size(b); i += 4093) {
		c = (unsigned char)(i * 31);
		T_CHECK(dmt_buf_write(b, i, &c, 1) == 0, "write %zu", i);
	}
	for (size_t i = 0; i < dmt_buf_size(b); i += 4093) {
		T_CHECK(pread(b->memfd, &c, 1, (off_t)i) == 1 &&
			c == (unsigned char)(i * 31), "byte %zu", i);
	}
	/* the mapping is a PFN map: zero-copy sends cannot pin it */
	printf("udmabuf pinnable by zero-copy sends: %s\n",
	       dmt_buf_pinnable(b) ? "yes" : "no");
	import_check(b, "udmabuf");
	dmt_buf_free(b);
}

static void heap_checks(void)
{
	struct dmt_error err;
	struct dmt_buf *b;
	unsigned char *m;
	char word[8];
	void *m2;

	b = dmt_buf_new(DMT_BUF_DMAHEAP, 3 << 20, NULL, &err);
	T_CHECK(b, "system heap: %s", err.message);
	m = dmt_buf_map(b);
	T_CHECK(m, "no mapping");
	sync_check(b);
	T_CHECK(dmt_buf_write(b, (3 << 20) - 6, "heap!!", 6) == 0, "write");
	/* a second mapping of the dma-buf sees it */
	m2 = mmap(NULL, 3 << 20, PROT_READ, MAP_SHARED, dmt_buf_dmabuf_fd(b), 0);
	T_CHECK(m2 != MAP_FAILED, "mmap: %s", strerror(errno));
	memcpy(word, (char *)m2 + (3 << 20) - 6, 6);
	T_CHECK(!memcmp(word, "heap!!", 6), "second mapping differs");
	munmap(m2, 3 << 20);
	printf("system heap pinnable by zero-copy sends: %s\n",
	       dmt_buf_pinnable(b) ? "yes" : "no");
	import_check(b, "system");
	dmt_buf_free(b);
	/* an unknown heap names the missing piece */
	DMT_OPTS(dmt_buf_opts, o, .heap = "no-such-heap");
	T_CHECK(!dmt_buf_new(DMT_BUF_DMAHEAP, 4096, &o, &err) &&
		err.err == -DMT_ERR_NO_EXPORTER && strstr(err.message, "no-such-heap"),
		"unknown heap: %s", err.message);
}

int main(void)
{
	struct dmt_error err;
	struct dmt_buf *h;
	int fd;

	T_SKIP_IF(access("/dev/udmabuf", R_OK | W_OK) != 0,
		  "no dma-buf exporter here (/dev/udmabuf: %s); tier V runs in "
		  "a kernel that has one: scripts/vm-test.sh 6.12", strerror(errno));
	udmabuf_checks();
	if (access("/dev/dma_heap/system", R_OK) == 0)
		heap_checks();
	else
		printf("no /dev/dma_heap/system: heap checks not run\n");

	/* refusal of fds that are not dma-bufs: a memfd, a pipe */
	fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	T_CHECK(fd >= 0 && ftruncate(fd, 8192) == 0, "memfd");
	T_CHECK(!dmt_buf_import(fd, 0, &err) && err.err == -DMT_ERR_NOT_DMABUF &&
		strstr(err.message, "not a dma-buf"), "memfd import: %s", err.message);
	close(fd);
	/* host memory is pinnable: the probe tells them apart */
	h = dmt_buf_new(DMT_BUF_HOST, 1 << 16, NULL, &err);
	T_CHECK(h, "host: %s", err.message);
	T_CHECK(dmt_buf_pinnable(h) == 1, "host memory reported unpinnable");
	dmt_buf_free(h);
	printf("PASS\n");
	return T_PASS;
}
