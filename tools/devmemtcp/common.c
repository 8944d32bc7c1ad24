// SPDX-License-Identifier: MIT
/* Shared CLI code: pattern, parsing, output, CPU accounting. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "measure.h"

/* ------------------------------------------------------------------ */
/* pattern                                                             */
/* ------------------------------------------------------------------ */

#define PAT_BLOCK (64u << 10)

int pat_init(struct pat *p, unsigned int v)
{
	memset(p, 0, sizeof(*p));
	if (v == 0)
		return 0;
	if (v < 2 || v > PAT_MAX_V)
		return -EINVAL;
	p->v = v;
	p->seed = 1;
	p->block = PAT_BLOCK;
	p->table = malloc(v + p->block);
	if (!p->table)
		return -ENOMEM;
	for (size_t i = 0; i < v + p->block; i++)
		p->table[i] = pat_byte((unsigned int)(i % v));
	return 0;
}

void pat_free(struct pat *p)
{
	free(p->table);
	p->table = NULL;
}

void pat_fill(struct pat *p, void *dst, size_t len)
{
	unsigned char *d = dst;

	if (!p->v) {
		memset(dst, 0, len);
		p->pos += len;
		return;
	}
	while (len) {
		size_t n = len < p->block ? len : p->block;

		memcpy(d, p->table + p->seed, n);
		p->seed = (unsigned int)((p->seed + n) % p->v);
		p->pos += n;
		d += n;
		len -= n;
	}
}

static void pat_scan(struct pat *p, const unsigned char *s, size_t n)
{
	unsigned int seed = p->seed;

	for (size_t i = 0; i < n; i++) {
		unsigned char want = pat_byte(seed);

		if (s[i] != want) {
			if (p->nbad < PAT_MAX_BAD) {
				p->bad[p->nbad].off = p->pos + i;
				p->bad[p->nbad].got = s[i];
				p->bad[p->nbad].want = want;
				p->nbad++;
			}
			p->mismatches++;
		}
		if (++seed == p->v)
			seed = 0;
	}
}

uint64_t pat_check(struct pat *p, const void *src, size_t len)
{
	const unsigned char *s = src;
	uint64_t before = p->mismatches;

	if (!p->v) {
		p->pos += len;
		return 0;
	}
	while (len) {
		size_t n = len < p->block ? len : p->block;

		if (memcmp(s, p->table + p->seed, n))
			pat_scan(p, s, n);
		p->seed = (unsigned int)((p->seed + n) % p->v);
		p->pos += n;
		s += n;
		len -= n;
	}
	return p->mismatches - before;
}

void pat_seek(struct pat *p, uint64_t pos)
{
	p->pos = pos;
	p->seed = p->v ? (unsigned int)((1 + pos) % p->v) : 0;
}

/* ------------------------------------------------------------------ */
/* sampled validation                                                  */
/* ------------------------------------------------------------------ */

void sampler_init(struct sampler *sm, enum val_mode m, bool have_size,
		  uint64_t size)
{
	sm->full_to = UINT64_MAX;
	sm->tail_from = UINT64_MAX;
	if (m == VAL_AUTO && have_size && size <= VAL_FULL_MAX)
		return;				/* full */
	if (m == VAL_AUTO && !have_size) {
		sm->full_to = VAL_FULL_MAX;	/* tail: at end of stream */
		return;
	}
	if (m == VAL_AUTO || m == VAL_SAMPLED) {
		sm->full_to = VAL_EDGE;
		if (have_size)
			sm->tail_from = size > VAL_EDGE ? size - VAL_EDGE : 0;
	}
}

bool sampler_at(const struct sampler *sm, uint64_t x, uint64_t *end)
{
	uint64_t w;

	if (x >= sm->tail_from) {
		*end = UINT64_MAX;
		return true;
	}
	if (x < sm->full_to) {
		*end = sm->full_to < sm->tail_from ? sm->full_to : sm->tail_from;
		return true;
	}
	w = x - x % VAL_PERIOD;
	if (x < w + VAL_WINDOW) {
		*end = w + VAL_WINDOW;
	} else {
		*end = w + VAL_PERIOD;
		if (*end < w)	/* overflow near UINT64_MAX */
			*end = UINT64_MAX;
	}
	if (*end > sm->tail_from)
		*end = sm->tail_from;
	return x < w + VAL_WINDOW;
}

int parse_validate(const char *s, enum val_mode *m)
{
	static const char *const names[] = { "auto", "full", "sampled", "off" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*m = (enum val_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *val_mode_name(enum val_mode m)
{
	switch (m) {
	case VAL_FULL: return "full";
	case VAL_SAMPLED: return "sampled";
	case VAL_OFF: return "off";
	default: return "auto";
	}
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */
/* ------------------------------------------------------------------ */

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	else if (!shift && !strcmp(end, "B"))
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_addr(const char *s, unsigned int port, int want_family,
	       struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct in6_addr in6;
	struct in_addr in4;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		return -EINVAL;
	if (!s || !*s) {
		if (want_family == AF_INET) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
			*len = sizeof(*a4);
		} else {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			a6->sin6_addr = in6addr_any;
			*len = sizeof(*a6);
		}
		return 0;
	}
	if (inet_pton(AF_INET, s, &in4) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		a4->sin_addr = in4;
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&in6)) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			memcpy(&a4->sin_addr, &in6.s6_addr[12], 4);
			*len = sizeof(*a4);
			return 0;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		a6->sin6_addr = in6;
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

static int vmsg(const char *cmd, int rc, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int vmsg(const char *cmd, int rc, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* exactly one line: fold any newline the library text carried */
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
	fflush(stdout);
	fprintf(stderr, "devmemtcp %s: %s\n", cmd, line);
	return rc;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vmsg(cmd, 2, fmt, ap);
	va_end(ap);
	return rc;
}

int getopt_error(const char *cmd, int c, char **argv)
{
	if (c == ':')
		return usage_error(cmd, "option '%s' needs a value: see "
				   "'devmemtcp %s --help'", argv[optind - 1], cmd);
	return usage_error(cmd, "unknown option '%s': see 'devmemtcp %s --help'",
			   argv[optind - 1], cmd);
}

int extra_args_error(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s': see "
				   "'devmemtcp %s --help'", argv[optind], cmd);
	return 0;
}

int run_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vmsg(cmd, 1, fmt, ap);
	va_end(ap);
	return rc;
}

int opt_buffer(const char *cmd, const char *arg, struct buf_choice *b)
{
	if (parse_buffer(arg, b))
		return usage_error(cmd, "unknown buffer '%s' (--buffer): use auto, "
				   "host, udmabuf, dmaheap, cuda[:N] or rocm[:N]",
				   arg);
	return 0;
}

int opt_buffer_size(const char *cmd, const char *arg, uint64_t *v)
{
	if (parse_size(arg, v) || *v < 4096 || *v > (64ull << 30))
		return usage_error(cmd, "bad buffer size '%s' (--buffer-size): "
				   "give 4K..64G", arg);
	return 0;
}

int opt_interval(const char *cmd, const char *arg, double *v)
{
	if (parse_seconds(arg, v))
		return usage_error(cmd, "bad interval '%s' (-i): give seconds, 0 "
				   "for none", arg);
	return 0;
}

int opt_timeout(const char *cmd, const char *arg, int *v)
{
	uint64_t u;

	if (parse_uint(arg, 1, 86400, &u))
		return usage_error(cmd, "bad timeout '%s' (--timeout): give "
				   "seconds 1..86400", arg);
	*v = (int)u;
	return 0;
}

int opt_tx_engine(const char *cmd, const char *arg, bool staged_ok,
		  enum dmt_engine *e)
{
	if (dmt_engine_from_name(arg, e) < 0 ||
	    (!staged_ok && *e == DMT_ENGINE_STAGED))
		return usage_error(cmd, "unknown engine '%s' (--engine): use auto, "
				   "devmem, uring, zerocopy or copy", arg);
	if (!dmt_engine_built(*e))
		return usage_error(cmd, "engine %s is not built into this "
				   "devmemtcp%s: use auto, zerocopy or copy", arg,
				   *e == DMT_ENGINE_URING ? " (liburing was "
				   "missing at build time)" : "");
	return 0;
}

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

	why[0] = '\0';
	if (c->kind) {
		b = dmt_buf_new((enum dmt_buf_kind)c->kind, size, &bo, &err);
		if (b)
			snprintf(why, whylen, "requested");
		else
			snprintf(why, whylen, "%s", err.message[0] ? err.message :
				 dmt_strerror(-errno));
		return b;
	}
	b = dmt_buf_new(DMT_BUF_UDMABUF, size, &bo, &err);
	if (b) {
		snprintf(why, whylen, "auto: udmabuf available");
		return b;
	}
	snprintf(why, whylen, "auto: udmabuf unavailable: %s",
		 err.message[0] ? err.message : dmt_strerror(-errno));
	b = dmt_buf_new(DMT_BUF_HOST, size, &bo, &err);
	if (!b)
		snprintf(why, whylen, "host memory: %s",
			 err.message[0] ? err.message : dmt_strerror(-errno));
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

/* ------------------------------------------------------------------ */
/* time and CPU                                                        */
/* ------------------------------------------------------------------ */

double now_s(void)
{
	return mono_s();
}


void cpu_snap_take(struct cpu_snap *c)
{
	c->proc_s = cpu_self_s();
	c->machine_s = machine_busy_s();
}

void cpu_snap_delta(const struct cpu_snap *start, const struct cpu_snap *end,
		    struct cpu_snap *d)
{
	d->proc_s = end->proc_s - start->proc_s;
	d->machine_s = end->machine_s - start->machine_s;
}

double per_gb(double seconds, uint64_t bytes)
{
	return bytes ? seconds / ((double)bytes / 1e9) : 0.0;
}

/* ------------------------------------------------------------------ */
/* output                                                              */
/* ------------------------------------------------------------------ */

static void sappend(char **s, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sappend(char **s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *t;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	t = realloc(*s, *len + (size_t)n + 1);
	if (!t)
		return;
	*s = t;
	va_start(ap, fmt);
	vsnprintf(*s + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
}

static void sappend_json_str(char **s, size_t *len, const char *v)
{
	sappend(s, len, "\"");
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '\\')
			sappend(s, len, "\\%c", *c);
		else if (*c < 0x20)
			sappend(s, len, "\\u%04x", *c);
		else
			sappend(s, len, "%c", *c);
	}
	sappend(s, len, "\"");
}

void json_escape(FILE *f, const char *s)
{
	char *b = NULL;
	size_t l = 0;

	sappend_json_str(&b, &l, s);
	if (b)
		fputs(b, f);
	free(b);
}

void out_init(struct out *o, const char *role, bool json, bool quiet,
	      double period)
{
	memset(o, 0, sizeof(*o));
	o->role = role;
	o->json = json;
	o->quiet = quiet;
	o->period = period;
}

void out_free(struct out *o)
{
	for (int i = 0; i < OUT_NSEC; i++)
		free(o->sec[i]);
	free(o->ivl);
	memset(o->sec, 0, sizeof(o->sec));
	o->ivl = NULL;
}

void out_kv(struct out *o, enum out_sec sec, const char *key, bool str,
	    const char *fmt, ...)
{
	char val[1024];
	va_list ap;

	if (o->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!o->json) {
		printf("%s=%s\n", key, val);
		return;
	}
	if (o->seclen[sec])
		sappend(&o->sec[sec], &o->seclen[sec], ",");
	sappend_json_str(&o->sec[sec], &o->seclen[sec], key);
	sappend(&o->sec[sec], &o->seclen[sec], ":");
	if (str)
		sappend_json_str(&o->sec[sec], &o->seclen[sec], val);
	else
		sappend(&o->sec[sec], &o->seclen[sec], "%s", val[0] ? val : "null");
}

void out_line(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet || o->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void out_start(struct out *o, double t0, uint64_t bytes0)
{
	o->t0 = o->last_t = t0;
	o->last_bytes = bytes0;
}

static void emit_interval(struct out *o, double t, uint64_t bytes)
{
	double dt = t - o->last_t;
	uint64_t db = bytes - o->last_bytes;
	double a = o->last_t - o->t0, b = t - o->t0;
	double gbit = dt > 0 ? (double)db * 8 / dt / 1e9 : 0;

	if (o->quiet)
		return;
	if (o->json) {
		if (o->ivllen)
			sappend(&o->ivl, &o->ivllen, ",");
		sappend(&o->ivl, &o->ivllen, "{\"start\":%.3f,\"end\":%.3f,"
			"\"bytes\":%" PRIu64 ",\"bits_per_second\":%.0f}", a, b,
			db, gbit * 1e9);
	} else {
		if (!o->header_done) {
			printf("[ ID] Interval           Transfer     Bitrate\n");
			o->header_done = true;
		}
		printf("[  1] %6.2f-%-6.2f sec  %6.2f GBytes  %6.2f Gbits/sec\n",
		       a, b, (double)db / (1u << 30), gbit);
		fflush(stdout);
	}
}

void out_tick(struct out *o, uint64_t bytes)
{
	double t;

	if (o->period <= 0)
		return;
	t = now_s();
	if (t - o->last_t < o->period)
		return;
	emit_interval(o, t, bytes);
	o->last_t = t;
	o->last_bytes = bytes;
}

void out_tick_final(struct out *o, uint64_t bytes)
{
	double t;

	if (o->period <= 0 || bytes == o->last_bytes)
		return;
	/* Only when at least one full line was printed: a short transfer
	 * gets just the summary, as iperf3 does for its last interval. */
	if (o->last_t == o->t0)
		return;
	t = now_s();
	emit_interval(o, t, bytes);
	o->last_t = t;
	o->last_bytes = bytes;
}

void out_finish(struct out *o)
{
	if (o->quiet || !o->json) {
		fflush(stdout);
		return;
	}
	printf("{\"role\":\"%s\",\"config\":{%s},\"intervals\":[%s],"
	       "\"result\":{%s}}\n", o->role, o->sec[OUT_CONFIG] ? o->sec[OUT_CONFIG] : "",
	       o->ivl ? o->ivl : "", o->sec[OUT_RESULT] ? o->sec[OUT_RESULT] : "");
	fflush(stdout);
}
