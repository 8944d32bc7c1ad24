// SPDX-License-Identifier: MIT
/* Option parsing shared by the subcommands: numbers, sizes, seconds,
 * addresses (getaddrinfo), the one-line usage and run errors, and the
 * options several commands take; declared in common.h. */
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
