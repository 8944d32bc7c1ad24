// SPDX-License-Identifier: MIT
/* Buffer policy: the --buffer kinds, auto's choice, the probe in a child
 * process, and whether a host buffer fits; declared in common.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "advice.h"
#include "common.h"
#include "json_out.h"
#include "measure.h"


int parse_buffer(const char *s, struct buf_choice *out)
{
	static const struct {
		const char *name;
		int kind;
		bool dev;
	} k[] = {
		{ "auto", 0, false },
		{ "host", DMT_BUF_HOST, false },
		{ "udmabuf", DMT_BUF_UDMABUF, false },
		{ "dmaheap", DMT_BUF_DMAHEAP, false },
		{ "cuda", DMT_BUF_CUDA, true },
		{ "rocm", DMT_BUF_ROCM, true },
	};
	const char *colon = strchr(s, ':');
	size_t nlen = colon ? (size_t)(colon - s) : strlen(s);

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		uint64_t dev = 0;

		if (strlen(k[i].name) != nlen || strncmp(s, k[i].name, nlen))
			continue;
		if (colon && (!k[i].dev || parse_uint(colon + 1, 0, 255, &dev)))
			return -EINVAL;
		out->kind = k[i].kind;
		out->device = (int)dev;
		return 0;
	}
	return -EINVAL;
}

struct dmt_buf *alloc_buffer(const struct buf_choice *c, size_t size,
			     char *why, size_t whylen)
{
	DMT_OPTS(dmt_buf_opts, bo, .device = c->device);
	struct dmt_error err = { 0 };
	struct dmt_buf *b;

	char adv[1024];	/* the library's message, with this tool's flags */
#define ERRTXT (err.message[0] ? cli_advice(err.message, adv, sizeof(adv)) : \
		dmt_strerror(-errno))

	why[0] = '\0';
	if (c->kind) {
		b = dmt_buf_new((enum dmt_buf_kind)c->kind, size, &bo, &err);
		if (b)
			snprintf(why, whylen, "requested");
		else
			snprintf(why, whylen, "%s", ERRTXT);
		return b;
	}
	b = dmt_buf_new(DMT_BUF_UDMABUF, size, &bo, &err);
	if (b) {
		snprintf(why, whylen, "auto: udmabuf available");
		return b;
	}
	snprintf(why, whylen, "auto: udmabuf unavailable: %s", ERRTXT);
	b = dmt_buf_new(DMT_BUF_HOST, size, &bo, &err);
	if (!b)
		snprintf(why, whylen, "host memory: %s", ERRTXT);
#undef ERRTXT
	return b;
}

bool buf_choice_gpu(const struct buf_choice *c)
{
	return c->kind == DMT_BUF_CUDA || c->kind == DMT_BUF_ROCM;
}

int probe_buffer(const struct buf_choice *c, size_t size, char *why,
		 size_t whylen)
{
	char msg[1024] = "";
	size_t got = 0;
	int p[2], st = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		struct dmt_buf *b;
		ssize_t w;

		close(p[0]);
		b = alloc_buffer(c, size, msg, sizeof(msg));
		w = write(p[1], msg, strlen(msg));
		(void)w;
		dmt_buf_free(b);
		_exit(b ? 0 : 1);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], msg + got, sizeof(msg) - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(msg) - 1)
			break;
	}
	msg[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	snprintf(why, whylen, "%s", msg);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (!msg[0])
		snprintf(why, whylen, "the buffer probe died (%s)",
			 WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "no answer");
	return -1;
}

int check_buffer_fits(const char *cmd, uint64_t size)
{
	static const struct {
		int res;
		const char *what, *flag;
	} limits[] = {
		{ RLIMIT_AS, "address-space", "-v" },
		{ RLIMIT_DATA, "data-segment", "-d" },
	};
	struct rlimit rl;
	char line[256];
	uint64_t avail = 0;
	bool have = false;
	FILE *f;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (getrlimit(limits[i].res, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && size > (uint64_t)rl.rlim_cur)
			return usage_error(cmd, "a %" PRIu64 "-byte buffer is "
					   "more than the %s limit (ulimit %s, %"
					   PRIu64 " KiB) allows: lower "
					   "--buffer-size or raise the limit", size,
					   limits[i].what, limits[i].flag,
					   (uint64_t)rl.rlim_cur >> 10);
	f = fopen("/proc/meminfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			avail = (uint64_t)kb << 10;
			have = true;
			break;
		}
	}
	if (f)
		fclose(f);
	if (have && size > avail)
		return usage_error(cmd, "a %" PRIu64 "-byte buffer is more than "
				   "this machine has available (MemAvailable %"
				   PRIu64 " MiB): lower --buffer-size", size,
				   avail >> 20);
	return 0;
}
