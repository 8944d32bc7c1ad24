// SPDX-License-Identifier: MIT
/*
 * tier B: buffer providers against this host. Where an exporter exists
 * (udmabuf, DMA heap) a buffer is allocated, checked to be a real dma-buf
 * (fdinfo exp_name), written and read back through the sync brackets, and
 * re-imported. Where it does not, the error must name the missing piece.
 * Importing a non-dma-buf fd is refused.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"

static int fd_is_dmabuf(int fd)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line, "exp_name:", 9);
	fclose(f);
	return found;
}

static void exercise(struct dmt_buf *b)
{
	char in[5000], outb[5000];
	struct dmt_error err;
	struct dmt_buf *imp;

	T_CHECK(fd_is_dmabuf(dmt_buf_dmabuf_fd(b)), "not a dma-buf");
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	T_CHECK(dmt_buf_write(b, 100, in, sizeof(in)) == 0, "write");
	T_CHECK(dmt_buf_read(b, 100, outb, sizeof(outb)) == 0, "read");
	T_CHECK(!memcmp(in, outb, sizeof(in)), "round trip");
	imp = dmt_buf_import(dmt_buf_dmabuf_fd(b), 0, &err);
	T_CHECK(imp, "import: %s", err.message);
	T_CHECK(dmt_buf_dmabuf_fd(imp) != dmt_buf_dmabuf_fd(b), "import dups");
	T_CHECK(dmt_buf_size(imp) == dmt_buf_size(b), "import size");
	dmt_buf_free(imp);
}

int main(void)
{
	struct dmt_error err;
	struct dmt_buf *b;
	int fd, tested = 0;

	/* udmabuf */
	b = dmt_buf_new(DMT_BUF_UDMABUF, 1 << 20, NULL, &err);
	if (b) {
		printf("udmabuf: allocated %zu bytes\n", dmt_buf_size(b));
		exercise(b);
		dmt_buf_free(b);
		tested++;
		b = dmt_buf_new(DMT_BUF_UDMABUF, 1ull << 40, NULL, &err);
		T_CHECK(!b && strstr(err.message, "size_limit_mb"),
			"oversized udmabuf: %s", err.message);
	} else if (errno == DMT_ERR_NO_EXPORTER &&
		   access("/dev/udmabuf", F_OK) != 0) {
		printf("udmabuf: %s\n", err.message);
		T_CHECK(err.err == -DMT_ERR_NO_EXPORTER, "code %d", err.err);
		T_CHECK(strstr(err.message, "/dev/udmabuf not found: kernel built "
			       "without CONFIG_UDMABUF"), "message: %s", err.message);
	} else {
		T_CHECK(0, "udmabuf present but allocation failed: %s", err.message);
	}
	/* DMA heap */
	b = dmt_buf_new(DMT_BUF_DMAHEAP, 1 << 20, NULL, &err);
	if (b) {
		printf("dma heap: allocated %zu bytes\n", dmt_buf_size(b));
		exercise(b);
		dmt_buf_free(b);
		tested++;
	} else {
		printf("dma heap: %s\n", err.message);
		T_CHECK(access("/dev/dma_heap/system", F_OK) != 0,
			"heap present but allocation failed: %s", err.message);
		T_CHECK(err.err == -DMT_ERR_NO_EXPORTER &&
			strstr(err.message, "/dev/dma_heap/system not found"),
			"message: %s", err.message);
	}
	{
		DMT_OPTS(dmt_buf_opts, o, .heap = "../x");
		T_CHECK(!dmt_buf_new(DMT_BUF_DMAHEAP, 4096, &o, &err) &&
			errno == EINVAL, "heap name with '/'");
	}
	/* importing something that is not a dma-buf */
	fd = memfd_create("plain", MFD_CLOEXEC);
	T_CHECK(fd >= 0 && ftruncate(fd, 4096) == 0, "memfd");
	b = dmt_buf_import(fd, 0, &err);
	T_CHECK(!b && err.err == -DMT_ERR_NOT_DMABUF &&
		strstr(err.message, "not a dma-buf"), "import memfd: %s", err.message);
	close(fd);
	b = dmt_buf_import(12345, 0, &err);
	T_CHECK(!b, "import of a closed fd");
	printf("buf_providers: ok (%d exporter%s exercised)\n", tested,
	       tested == 1 ? "" : "s");
	return T_PASS;
}
