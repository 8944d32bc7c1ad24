// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: accept one connection, receive the stream, validate it
 * against the ncdevmem pattern, report. The receive path is a pluggable
 * engine (struct rx_engine): "copy" is plain recv(); a devmem engine plugs
 * in as another entry of rx_engines[] and hands its bytes to srv_deliver().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"

#define RECV_SIZE (1u << 20)

struct srv {
	const struct server_cfg *c;
	struct out o;
	struct pat pat;
	uint64_t bytes;
	char err[320];
};

/* Every received byte goes through here, in stream order. */
static void srv_deliver(struct srv *s, const void *data, size_t len)
{
	pat_check(&s->pat, data, len);
	s->bytes += len;
	out_tick(&s->o, s->bytes);
}

/* A receive engine reads the connected socket fd until the peer closes,
 * handing every byte to srv_deliver(). Returns 0 on a clean close (EOF),
 * -errno otherwise with s->err filled. */
struct rx_engine {
	const char *name;
	const char *why;	/* reason line when chosen */
	int (*run)(struct srv *s, int fd);
};

static int rx_copy_run(struct srv *s, int fd)
{
	unsigned char *buf = malloc(RECV_SIZE);

	if (!buf) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_SIZE, 0);

		if (n > 0) {
			srv_deliver(s, buf, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			snprintf(s->err, sizeof(s->err), "no data for %d s "
				 "(--timeout): the peer stalled", s->c->timeout_s);
		else
			snprintf(s->err, sizeof(s->err), "recv failed after %"
				 PRIu64 " bytes: %s%s", s->bytes, strerror(errno),
				 errno == ECONNRESET ? " (the peer reset the "
				 "connection)" : "");
		free(buf);
		return -errno;
	}
	free(buf);
	return 0;
}

static const struct rx_engine rx_engines[] = {
	{ "copy", "plain recv() into host memory", rx_copy_run },
};

static const struct rx_engine *rx_pick(const char *name, const char **why)
{
	if (!name || !strcmp(name, "auto")) {
		*why = "auto: plain recv() (devmem receive engine not built in)";
		return &rx_engines[0];
	}
	for (size_t i = 0; i < sizeof(rx_engines) / sizeof(rx_engines[0]); i++)
		if (!strcmp(name, rx_engines[i].name)) {
			*why = rx_engines[i].why;
			return &rx_engines[i];
		}
	return NULL;
}

static int listen_on(struct srv *s, struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, zero = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(s->err, sizeof(s->err), "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)ss, sl) < 0 || listen(fd, 1) < 0) {
		char a[80];

		snprintf(s->err, sizeof(s->err), "cannot listen on %s: %s%s",
			 addr_str((struct sockaddr *)ss, a, sizeof(a)),
			 strerror(errno), errno == EADDRINUSE ?
			 " (another server on that port? pick another -p)" :
			 errno == EADDRNOTAVAIL ? " (no interface has that "
			 "address)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int accept_one(struct srv *s, int lfd, struct sockaddr_storage *peer)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	socklen_t pl = sizeof(*peer);
	int r, fd;

	for (;;) {
		r = poll(&p, 1, s->c->timeout_s ? s->c->timeout_s * 1000 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(s->err, sizeof(s->err), "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			snprintf(s->err, sizeof(s->err), "no connection within "
				 "%d s (--timeout)", s->c->timeout_s);
			return -1;
		}
		fd = accept4(lfd, (struct sockaddr *)peer, &pl, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != ECONNABORTED) {
			snprintf(s->err, sizeof(s->err), "accept: %s",
				 strerror(errno));
			return -1;
		}
	}
}

int server_run(const struct server_cfg *c)
{
	struct sockaddr_storage ss, peer;
	struct cpu_snap c0, c1, cd;
	const struct rx_engine *eng;
	const char *why = "";
	char as[80], offs[256] = "";
	int lfd = -1, fd = -1, ret = 1, rr = -1;
	double t0 = 0, t1 = 0, secs;
	uint32_t port32;
	socklen_t sl;
	struct srv *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return run_error("server", "out of memory");
	s->c = c;
	out_init(&s->o, "server", c->json, c->quiet, c->interval);
	if (pat_init(&s->pat, c->v) < 0) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	eng = rx_pick(c->engine, &why);
	if (!eng) {
		snprintf(s->err, sizeof(s->err), "unknown receive engine");
		goto out;
	}
	parse_addr(c->addr, c->port, AF_UNSPEC, &ss, &sl);
	lfd = listen_on(s, &ss, sl);
	if (lfd < 0)
		goto out;
	sl = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &sl);
	out_kv(&s->o, OUT_CONFIG, "listen", true, "%s",
	       addr_str((struct sockaddr *)&ss, as, sizeof(as)));
	out_kv(&s->o, OUT_CONFIG, "validation", false, "%u", c->v);
	out_kv(&s->o, OUT_CONFIG, "size", false, "%" PRIu64,
	       c->have_size ? c->size : 0);
	out_kv(&s->o, OUT_CONFIG, "interval", false, "%g", c->interval);
	out_kv(&s->o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);
	out_kv(&s->o, OUT_CONFIG, "engine", true, "%s", eng->name);
	out_kv(&s->o, OUT_CONFIG, "engine_reason", true, "%s", why);
	out_line(&s->o, "engine: %s (%s)", eng->name, why);
	fflush(stdout);
	port32 = ss.ss_family == AF_INET ?
		ntohs(((struct sockaddr_in *)&ss)->sin_port) :
		ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (c->res) {
		c->res->port = port32;
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng->name);
		snprintf(c->res->engine_reason, sizeof(c->res->engine_reason),
			 "%s", why);
	}
	if (c->ready_fd >= 0) {
		/* the demo waits for this; a short write shows as EOF there */
		ssize_t w = write(c->ready_fd, &port32, sizeof(port32));
		(void)w;
	}

	fd = accept_one(s, lfd, &peer);
	if (fd < 0)
		goto out;
	close(lfd);
	lfd = -1;
	out_kv(&s->o, OUT_CONFIG, "peer", true, "%s",
	       addr_str((struct sockaddr *)&peer, as, sizeof(as)));
	if (c->timeout_s) {
		struct timeval tv = { .tv_sec = c->timeout_s };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	cpu_snap_take(&c0);
	t0 = now_s();
	out_start(&s->o, t0, 0);
	rr = eng->run(s, fd);
	t1 = now_s();
	cpu_snap_take(&c1);
	cpu_snap_delta(&c0, &c1, &cd);
	out_tick_final(&s->o, s->bytes);
	secs = t1 - t0;

	ret = 0;
	if (rr < 0)
		ret = 1;
	if (!ret && s->pat.mismatches) {
		snprintf(s->err, sizeof(s->err), "%" PRIu64 " mismatching bytes, "
			 "the first at offset %" PRIu64, s->pat.mismatches,
			 s->pat.bad[0].off);
		ret = 1;
	}
	if (!ret && c->have_size && s->bytes != c->size) {
		snprintf(s->err, sizeof(s->err), "received %" PRIu64 " bytes, "
			 "expected %" PRIu64 " (--size)", s->bytes, c->size);
		ret = 1;
	}
	for (unsigned int i = 0; i < s->pat.nbad; i++) {
		size_t l = strlen(offs);

		snprintf(offs + l, sizeof(offs) - l, "%s%" PRIu64, i ? "," : "",
			 s->pat.bad[i].off);
		out_line(&s->o, "mismatch at offset %" PRIu64 ": got 0x%02x, "
			 "expected 0x%02x", s->pat.bad[i].off, s->pat.bad[i].got,
			 s->pat.bad[i].want);
	}
	out_kv(&s->o, OUT_RESULT, "bytes", false, "%" PRIu64, s->bytes);
	out_kv(&s->o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(&s->o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)s->bytes / secs / 1e9 : 0);
	out_kv(&s->o, OUT_RESULT, "throughput_Gbps", false, "%.3f",
	       secs > 0 ? (double)s->bytes * 8 / secs / 1e9 : 0);
	out_kv(&s->o, OUT_RESULT, "cpu_s", false, "%.3f", cd.proc_s);
	out_kv(&s->o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(cd.proc_s, s->bytes));
	out_kv(&s->o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(cd.machine_s, s->bytes));
	out_kv(&s->o, OUT_RESULT, "validated", false, "%s", c->v ? "true" : "false");
	out_kv(&s->o, OUT_RESULT, "mismatches", false, "%" PRIu64, s->pat.mismatches);
	if (s->o.json)
		out_kv(&s->o, OUT_RESULT, "mismatch_offsets", false, "[%s]", offs);
	else if (offs[0])
		out_kv(&s->o, OUT_RESULT, "mismatch_offsets", false, "%s", offs);
	out_kv(&s->o, OUT_RESULT, "peer_closed", false, "%s", rr == 0 ? "true" : "false");
	out_kv(&s->o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(&s->o, OUT_RESULT, "error", true, "%s", s->err);
	out_line(&s->o, "summary: received %" PRIu64 " bytes in %.2f s, %.2f GB/s "
		 "(%.2f Gbit/s), %.2f CPU s/GB (machine %.2f), %s",
		 s->bytes, secs, secs > 0 ? (double)s->bytes / secs / 1e9 : 0,
		 secs > 0 ? (double)s->bytes * 8 / secs / 1e9 : 0,
		 per_gb(cd.proc_s, s->bytes), per_gb(cd.machine_s, s->bytes),
		 !c->v ? "not validated" : s->pat.mismatches ?
		 "MISMATCHES" : "verified");
	if (c->res) {
		c->res->bytes = s->bytes;
		c->res->seconds = secs;
		c->res->cpu_s = cd.proc_s;
		c->res->mismatches = s->pat.mismatches;
		c->res->first_bad = s->pat.nbad ? s->pat.bad[0].off : 0;
	}
out:
	if (ret && !s->err[0])
		snprintf(s->err, sizeof(s->err), "failed");
	out_finish(&s->o);
	if (ret && !c->quiet)
		run_error("server", "%s", s->err);
	if (c->res) {
		snprintf(c->res->error, sizeof(c->res->error), "%s",
			 ret ? s->err : "");
		c->res->status = ret;
		c->res->done = true;
	}
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	pat_free(&s->pat);
	out_free(&s->o);
	free(s);
	return ret;
}

static void server_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp server [-l] [-s ADDR] [-p PORT] [-v MOD] [--size N]\n"
"                        [--engine E] [--once] [-i SEC] [--timeout SEC] [--json]\n"
"  -l               listen (accepted for ncdevmem compatibility)\n"
"  -s ADDR          address to listen on (default: all, IPv6 and IPv4)\n"
"  -p PORT          port (default %u; 0 picks one, printed as listen=)\n"
"  -v MOD           validate the ncdevmem pattern of modulus 2..256 (0: off)\n"
"  --size N         expected bytes; fewer or more is a failure\n"
"  --engine E       receive engine: auto|copy (default auto)\n"
"  --once           serve one connection, then exit (the default)\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --timeout SEC    give up after SEC without a connection or data\n"
"  --json           one JSON document on stdout\n", CLI_DEFAULT_PORT);
}

enum { O_ENGINE = 256, O_SIZE, O_JSON, O_ONCE, O_TIMEOUT };

static const struct option server_opts[] = {
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "once", no_argument, NULL, O_ONCE },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "interval", required_argument, NULL, 'i' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_server(int argc, char **argv)
{
	struct server_cfg c = {
		.port = CLI_DEFAULT_PORT, .interval = 1, .ready_fd = -1,
	};
	struct sockaddr_storage ss;
	const char *why;
	socklen_t sl;
	uint64_t u;
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":ls:p:v:i:h", server_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
		case O_ONCE:
			break;
		case 's':
			c.addr = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 65535, &u))
				return usage_error("server", "bad port '%s' (-p): "
						   "give 0..65535", optarg);
			c.port = (unsigned int)u;
			break;
		case 'v':
			if (parse_uint(optarg, 0, PAT_MAX_V, &u) || u == 1)
				return usage_error("server", "bad validation modulus "
						   "'%s' (-v): give 2..256, or 0 for "
						   "none", optarg);
			c.v = (unsigned int)u;
			break;
		case 'i':
			if (parse_seconds(optarg, &c.interval))
				return usage_error("server", "bad interval '%s' (-i):"
						   " give seconds, 0 for none", optarg);
			break;
		case O_ENGINE:
			if (!rx_pick(optarg, &why))
				return usage_error("server", "unknown receive engine "
						   "'%s' (--engine): use auto or copy",
						   optarg);
			c.engine = optarg;
			break;
		case O_SIZE:
			if (parse_size(optarg, &c.size))
				return usage_error("server", "bad size '%s' (--size):"
						   " give bytes with an optional K/M/G "
						   "suffix", optarg);
			c.have_size = true;
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_TIMEOUT:
			if (parse_uint(optarg, 1, 86400, &u))
				return usage_error("server", "bad timeout '%s' "
						   "(--timeout): give seconds 1..86400",
						   optarg);
			c.timeout_s = (int)u;
			break;
		case 'h':
			server_usage(stdout);
			return 0;
		case ':':
			return usage_error("server", "option '%s' needs a value: "
					   "see 'devmemtcp server --help'",
					   argv[optind - 1]);
		default:
			return usage_error("server", "unknown option '%s': see "
					   "'devmemtcp server --help'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("server", "unexpected argument '%s': see "
				   "'devmemtcp server --help'", argv[optind]);
	if (c.addr && parse_addr(c.addr, c.port, AF_UNSPEC, &ss, &sl))
		return usage_error("server", "bad listen address '%s' (-s): give "
				   "an IPv4 or IPv6 literal", c.addr);
	return server_run(&c);
}
