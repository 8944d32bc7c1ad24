// SPDX-License-Identifier: MIT
/* Shared CLI code: pattern, parsing, output, CPU accounting. */
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

/* Store a resolved address with port; IPv4-mapped IPv6 becomes AF_INET. */
static int set_addr(const struct sockaddr *sa, unsigned int port,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (sa->sa_family == AF_INET) {
		memcpy(a4, sa, sizeof(*a4));
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -EINVAL;
	memcpy(a6, sa, sizeof(*a6));
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		struct in_addr in4;

		memcpy(&in4, &a6->sin6_addr.s6_addr[12], 4);
		memset(ss, 0, sizeof(*ss));
		a4->sin_family = AF_INET;
		a4->sin_addr = in4;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	a6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*a6);
	return 0;
}

/* A host name (RFC 1123 letters, digits, '-' and '.'; not all digits and
 * dots, which is a broken IPv4 literal, not a name worth a DNS query). */
static bool looks_like_name(const char *s)
{
	bool alpha = false;

	if (strlen(s) > 253)
		return false;
	for (const char *c = s; *c; c++) {
		if (isalpha((unsigned char)*c))
			alpha = true;
		else if (!isdigit((unsigned char)*c) && *c != '-' && *c != '.')
			return false;
	}
	return alpha && s[0] != '-' && s[0] != '.';
}

int parse_addr(const char *s, unsigned int port, int want_family,
	       struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int ret = -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		return -EINVAL;
	if (!s) {
		struct sockaddr_in a4 = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_ANY) };
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
					   .sin6_addr = IN6ADDR_ANY_INIT };

		if (want_family == AF_INET)
			return set_addr((struct sockaddr *)&a4, port, ss, len);
		return set_addr((struct sockaddr *)&a6, port, ss, len);
	}
	if (!*s)
		return -EINVAL;
	/* literals first (a scope "%eth0" included), names after */
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_family = want_family == AF_INET ? AF_INET : AF_UNSPEC;
	if (getaddrinfo(s, NULL, &hints, &res) != 0) {
		res = NULL;
		if (!looks_like_name(s))
			return -EINVAL;
		hints.ai_flags = AI_ADDRCONFIG;
		hints.ai_family = want_family;
		if (getaddrinfo(s, NULL, &hints, &res) != 0)
			return -EINVAL;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (!set_addr(ai->ai_addr, port, ss, len)) {
			ret = 0;
			break;
		}
	freeaddrinfo(res);
	return ret;
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
		char scope[IF_NAMESIZE + 1] = "";

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		if (a->sin6_scope_id) {
			scope[0] = '%';
			if (!if_indextoname(a->sin6_scope_id, scope + 1))
				snprintf(scope, sizeof(scope), "%%%u",
					 a->sin6_scope_id);
		}
		snprintf(buf, len, "[%s%s]:%u", ip, scope, ntohs(a->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

static int vmsg(const char *cmd, int rc, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int vmsg(const char *cmd, int rc, const char *fmt, va_list ap)
{
	char raw[1024], line[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	cli_advice(raw, line, sizeof(line));	/* library terms -> flags */
	/* exactly one line: fold any newline the library text carried */
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
	fflush(stdout);
	fprintf(stderr, "devmemtcp %s: %s\n", cmd, line);
	jout_note_error(cmd, rc, line);
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
	if (dmt_engine_from_name(arg, e) < 0)
		return usage_error(cmd, "unknown engine '%s' (--engine): use auto, "
				   "devmem, uring, zerocopy, copy%s", arg,
				   staged_ok ? " or staged" : " (staged is the "
				   "client's, for GPU memory)");
	if (!staged_ok && *e == DMT_ENGINE_STAGED)
		return usage_error(cmd, "engine staged is not for %s (--engine): "
				   "it is the client's, for GPU memory; use auto, "
				   "devmem, uring, zerocopy or copy", cmd);
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
	struct rlimit rl;
	char line[256];
	uint64_t avail = 0;
	bool have = false;
	FILE *f;

	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    size > (uint64_t)rl.rlim_cur)
		return usage_error(cmd, "a %" PRIu64 "-byte buffer is more than "
				   "the address-space limit (ulimit -v, %" PRIu64
				   " KiB) allows: lower --buffer-size or raise "
				   "the limit", size, (uint64_t)rl.rlim_cur >> 10);
	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    size > (uint64_t)rl.rlim_cur)
		return usage_error(cmd, "a %" PRIu64 "-byte buffer is more than "
				   "the data-segment limit (ulimit -d, %" PRIu64
				   " KiB) allows: lower --buffer-size or raise "
				   "the limit", size, (uint64_t)rl.rlim_cur >> 10);
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

/* ------------------------------------------------------------------ */
/* SIGINT / SIGTERM                                                    */
/* ------------------------------------------------------------------ */

volatile sig_atomic_t cli_stop;

static void on_stop(int sig)
{
	cli_stop = sig;
}

void cli_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: blocking calls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void cli_release_stop(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

const char *cli_stop_name(void)
{
	return cli_stop == SIGINT ? "SIGINT" : cli_stop == SIGTERM ? "SIGTERM" :
	       "a signal";
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

void out_init(struct out *o, const char *role, bool json, bool quiet,
	      double period)
{
	memset(o, 0, sizeof(*o));
	o->role = role;
	o->json = json;
	o->stream = json && !quiet && jout_stream();	/* --json-stream */
	o->quiet = quiet;
	o->period = period;
	if (o->json && !quiet) {
		for (int i = 0; i < OUT_NSEC; i++)
			o->sec[i] = json_object();
		o->ivl = json_array();
	}
}

void out_free(struct out *o)
{
	for (int i = 0; i < OUT_NSEC; i++)
		json_decref(o->sec[i]);
	json_decref(o->ivl);
	memset(o->sec, 0, sizeof(o->sec));
	o->ivl = NULL;
}

void out_kv(struct out *o, enum out_sec sec, const char *key, bool str,
	    const char *fmt, ...)
{
	va_list ap;
	char *val = NULL;
	int n;

	if (o->quiet)
		return;
	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (str) {	/* library terms -> flags */
		size_t len = (size_t)n * 2 + 64;
		char *adv = malloc(len);

		if (adv) {
			cli_advice(val, adv, len);
			free(val);
			val = adv;
		}
	}
	o->seclen[sec]++;
	if (!o->json)
		printf("%s=%s\n", key, val);
	else
		jout_set_new(o->sec[sec], key, str ? jout_str(val) : jout_raw(val));
	free(val);
}

void out_kv_str(struct out *o, enum out_sec sec, const char *key,
		const char *s)
{
	size_t len = s ? strlen(s) * 2 + 64 : 0;
	char *adv = s ? malloc(len) : NULL;

	if (o->quiet) {
		free(adv);
		return;
	}
	if (adv)	/* library terms -> flags */
		s = cli_advice(s, adv, len);
	o->seclen[sec]++;
	if (!o->json)
		printf("%s=%s\n", key, s ? s : "");
	else
		jout_set_str(o->sec[sec], key, s);
	free(adv);
}

void out_kv_u64s(struct out *o, enum out_sec sec, const char *key,
		 const uint64_t *v, unsigned int n)
{
	json_t *a;

	if (o->quiet || (!o->json && !n))
		return;
	o->seclen[sec]++;
	if (!o->json) {
		printf("%s=", key);
		for (unsigned int i = 0; i < n; i++)
			printf("%s%" PRIu64, i ? "," : "", v[i]);
		putchar('\n');
		return;
	}
	a = json_array();
	for (unsigned int i = 0; i < n; i++)
		json_array_append_new(a, v[i] <= INT64_MAX ?
				      json_integer((json_int_t)v[i]) :
				      json_real((double)v[i]));
	jout_set_new(o->sec[sec], key, a);
}

int help_out(const char *cmd, void (*usage)(FILE *f))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	json_t *d;

	if (!jout_on()) {
		usage(stdout);
		return 0;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return run_error(cmd, "out of memory");
	usage(f);
	fclose(f);
	d = jout_doc();
	jout_set_str(d, "command", cmd);
	jout_set_str(d, "help", text);
	free(text);
	if (jout_stream())
		jout_event("end", d);
	else
		jout_emit(d, JOUT_COMPACT);
	return 0;
}

void out_line(struct out *o, const char *fmt, ...)
{
	va_list ap;

	char raw[2048], line[4096];

	if (o->quiet || o->json)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	puts(cli_advice(raw, line, sizeof(line)));	/* library terms -> flags */
	fflush(stdout);
}

static json_t *out_doc(struct out *o);

void out_start(struct out *o, double t0, uint64_t bytes0)
{
	o->t0 = o->last_t = t0;
	o->last_bytes = bytes0;
	if (o->stream && !o->quiet && !o->started) {
		jout_event("start", out_doc(o));
		o->started = true;
	}
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
		json_t *iv = json_object();

		/* milliseconds are what the clock resolution here is worth */
		jout_set_num(iv, "start", round(a * 1000) / 1000);
		jout_set_num(iv, "end", round(b * 1000) / 1000);
		jout_set_u64(iv, "bytes", db);
		jout_set_u64(iv, "bits_per_second", (uint64_t)llround(gbit * 1e9));
		if (o->stream)
			jout_event("interval", iv);
		else
			json_array_append_new(o->ivl, iv);
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

/* The document's head: role, start, config so far. */
static json_t *out_doc(struct out *o)
{
	json_t *d = json_object();

	jout_set_str(d, "role", o->role);
	jout_set_new(d, "start", jout_start());
	json_object_set(d, "config", o->sec[OUT_CONFIG]);
	return d;
}

void out_finish(struct out *o)
{
	json_t *d;

	if (o->quiet || !o->json) {
		fflush(stdout);
		return;
	}
	if (o->stream) {
		if (!o->started) {
			jout_event("start", out_doc(o));
			o->started = true;
		}
		d = json_object();
		json_object_set_new(d, "role", json_string(o->role));
		json_object_set(d, "result", o->sec[OUT_RESULT]);
		jout_event("end", d);
		return;
	}
	d = out_doc(o);
	json_object_set(d, "intervals", o->ivl);
	json_object_set(d, "result", o->sec[OUT_RESULT]);
	jout_emit(d, JOUT_COMPACT);
}
