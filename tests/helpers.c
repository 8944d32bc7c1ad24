// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "netns.h"

void t_require_root(void)
{
	T_SKIP_IF(geteuid() != 0, "tier B needs root (network namespaces, "
		  "sysctls, CAP_NET_ADMIN)");
}

const char *t_cli(void)
{
	const char *p = getenv("DMT_CLI");

	return p && *p ? p : "devmemtcp";
}

int t_run(const char *cmd, char *out, size_t outlen)
{
	char full[4096];
	size_t used = 0;
	FILE *f;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	if (!f)
		return -1;
	if (out && outlen) {
		size_t n;
		while (used + 1 < outlen &&
		       (n = fread(out + used, 1, outlen - 1 - used, f)) > 0)
			used += n;
		out[used] = '\0';
	}
	{
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	if (st < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int t_listen(const char *addr, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_CHECK(fd >= 0, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &a.sin_addr);
	a.sin_port = htons((uint16_t)*port);
	T_CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s",
		strerror(errno));
	T_CHECK(listen(fd, 16) == 0, "listen: %s", strerror(errno));
	getsockname(fd, (struct sockaddr *)&a, &alen);
	*port = ntohs(a.sin_port);
	return fd;
}

#include <pthread.h>

static pthread_t sink_thread;

void *t_sink_main(void *arg)
{
	struct t_sink *s = arg;
	static __thread unsigned char buf[1 << 16];
	int c = accept(s->fd, NULL, NULL);

	if (c < 0) {
		s->err = errno;
		return NULL;
	}
	if (s->stall_ms)
		usleep((useconds_t)s->stall_ms * 1000);
	for (;;) {
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->err = errno;
			break;
		}
		if (n == 0)
			break;
		if (s->v) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] != t_pattern_byte(s->got + (unsigned long long)i, s->v)) {
					if (!s->bad)
						s->first_bad = s->got + (unsigned long long)i;
					s->bad++;
				}
			}
		}
		s->got += (unsigned long long)n;
	}
	close(c);
	return NULL;
}

void t_sink_start(struct t_sink *s)
{
	T_CHECK(pthread_create(&sink_thread, NULL, t_sink_main, s) == 0,
		"pthread_create");
}

void t_sink_join(struct t_sink *s)
{
	(void)s;
	pthread_join(sink_thread, NULL);
}

#include <arpa/inet.h>

struct dmt_ctx *t_ctx(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, &err);

	T_SKIP_IF(!ctx && err.err == -DMT_ERR_NO_FAMILY,
		  "no netdev netlink family: %s", err.message);
	T_CHECK(ctx, "dmt_ctx_new: %s", err.message);
	return ctx;
}

void t_netpair(struct netpair *np)
{
	char why[256];
	int ret = netpair_create(np, 0, why, sizeof(why));

	T_SKIP_IF(ret == -EPERM, "network namespaces not permitted: %s", why);
	T_CHECK(ret == 0, "namespace pair: %s", why);
}

struct dmt_tx *t_tx_loopback(struct dmt_ctx *ctx, struct dmt_buf *buf,
			     int port, const struct dmt_tx_opts *opts,
			     struct dmt_error *err)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };

	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	return dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst),
			      NULL, 0, opts, err);
}

struct dmt_tx *t_sink_tx(struct dmt_ctx *ctx, struct t_sink *sink,
			 size_t bufsize, const struct dmt_tx_opts *opts,
			 struct dmt_buf **buf)
{
	struct dmt_error err;
	struct dmt_tx *tx;
	int port = 0;

	sink->fd = t_listen("127.0.0.1", &port);
	t_sink_start(sink);
	*buf = dmt_buf_new(DMT_BUF_HOST, bufsize, NULL, &err);
	T_CHECK(*buf, "buffer: %s", err.message);
	tx = t_tx_loopback(ctx, *buf, port, opts, &err);
	T_CHECK(tx, "connect %s: %s", dmt_engine_name(opts ? opts->engine :
		DMT_ENGINE_AUTO), err.message);
	return tx;
}

void t_print_tx_stats(const char *label, const struct dmt_tx_stats *st)
{
	printf("%s: bytes %llu sends %llu syscalls %llu partial %llu ids %llu "
	       "notifications %llu completed %llu copied %llu plain %llu\n", label,
	       (unsigned long long)st->bytes, (unsigned long long)st->sends,
	       (unsigned long long)st->syscalls, (unsigned long long)st->partial,
	       (unsigned long long)st->zc_ids,
	       (unsigned long long)st->zc_notifications,
	       (unsigned long long)st->zc_completed,
	       (unsigned long long)st->zc_copied,
	       (unsigned long long)st->copy_sends);
}

ssize_t t_rx_staged_fill(struct dmt_buf *buf, int fd, uint64_t len,
			 size_t chunk, struct dmt_rx_stats *st, char *err,
			 size_t errlen)
{
	DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_STAGED,
		 .stage_chunk = chunk);
	struct dmt_frag keep[256], f[16];
	unsigned int nkeep = 0, n;
	struct dmt_error e;
	struct dmt_rx *rx;
	uint64_t got = 0;
	ssize_t r = 0;

	err[0] = '\0';
	rx = dmt_rx_from_fd(NULL, buf, fd, &o, &e);
	if (!rx) {
		snprintf(err, errlen, "%s", e.message);
		return -1;
	}
	while (got < len && (r = dmt_rx_recv(rx, f, 16, &n)) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			if (f[i].off != got || nkeep == 256) {
				snprintf(err, errlen, "fragment at %llu, want %llu "
					 "(or more than 256 fragments)",
					 (unsigned long long)f[i].off,
					 (unsigned long long)got);
				r = -1;
				goto out;
			}
			keep[nkeep++] = f[i];
			got += f[i].len;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", dmt_rx_last_error(rx)->message);
		goto out;
	}
	/* the sender closes: with the ring given back, end of stream */
	if (got == len && (dmt_rx_release(rx, keep, nkeep) != (int)nkeep ||
			   dmt_rx_recv(rx, f, 16, &n) != 0))
		snprintf(err, errlen, "no end of stream after %llu bytes: %s",
			 (unsigned long long)got, dmt_rx_last_error(rx)->message);
	if (st)
		dmt_rx_get_stats(rx, st);
out:
	dmt_rx_free(rx);
	return r < 0 ? -1 : (ssize_t)got;
}
