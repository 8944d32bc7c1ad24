// SPDX-License-Identifier: MIT
/*
 * tier B: the receive listener on the real kernel (this one has no devmem
 * NIC and no dma-buf exporter, so devmem never runs; the tests pin down
 * what it says instead):
 *  - a forced devmem on lo with host memory names every blocker at once
 *    (not a dma-buf, no header split, no netmem RX), with the first one's
 *    code; AUTO falls back to copy with that text as its one reason
 *  - AUTO without an interface says which option field is missing
 *  - the same on the veth end in a private namespace
 *  - connections from the listener: accept + receive verified bytes, the
 *    peer through dmt_rx_fd, one copy receiver at a time on the listener's
 *    buffer (-EBUSY), and N parallel connections served from N threads,
 *    each with its own buffer, byte for byte
 *  - the staged engine on a connected socket (host memory stands in for
 *    GPU memory: the pipeline is the same)
 *  - a listener without a socket refuses dmt_rx_accept
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "netns.h"

#define NPAR 4
#define PAR_BYTES (6u << 20)

static struct sockaddr_in lo_addr(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

static void blockers_on(struct dmt_ctx *ctx, const char *ifname, bool hds)
{
	struct dmt_buf *buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, NULL);
	struct sockaddr_in a = lo_addr(0);
	struct dmt_rx_listener *l;
	struct dmt_error e;

	T_CHECK(buf, "host buffer");
	{
		DMT_OPTS(dmt_rx_listen_opts, o, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = ifname, .port = 9);

		l = dmt_rx_listen(ctx, buf, NULL, 0, &o, &e);
	}
	T_CHECK(!l && errno == DMT_ERR_NOT_DMABUF && e.err == -DMT_ERR_NOT_DMABUF,
		"forced devmem on %s: %p errno %d err %d", ifname, (void *)l,
		errno, e.err);
	T_CHECK(strstr(e.message, "devmem RX cannot run: ") &&
		strstr(e.message, "not a dma-buf") &&
		strstr(e.message, "netmem RX") &&
		(!hds || strstr(e.message, "header split")),
		"every blocker: %s", e.message);
	printf("  %s forced: %s\n", ifname, e.message);
	{
		DMT_OPTS(dmt_rx_listen_opts, o, .ifname = ifname);

		l = dmt_rx_listen(ctx, buf, (struct sockaddr *)&a, sizeof(a), &o,
				  &e);
	}
	T_CHECK(l, "auto on %s: %s", ifname, e.message);
	T_CHECK(dmt_rx_listener_engine(l) == DMT_ENGINE_COPY, "auto: copy");
	T_CHECK(strstr(dmt_rx_listener_engine_reason(l), "devmem RX unavailable") &&
		strstr(dmt_rx_listener_engine_reason(l), "netmem RX") &&
		strstr(dmt_rx_listener_engine_reason(l), "not a dma-buf") &&
		strstr(dmt_rx_listener_engine_reason(l), "copy"),
		"auto reason: %s", dmt_rx_listener_engine_reason(l));
	T_CHECK(!strchr(dmt_rx_listener_engine_reason(l), '\n'), "one line");
	T_CHECK(!strcmp(dmt_rx_listener_summary(l), ""), "nothing changed");
	printf("  %s auto: %s\n", ifname, dmt_rx_listener_engine_reason(l));
	dmt_rx_listener_free(l);
	dmt_buf_free(buf);
}

static void no_interface(struct dmt_ctx *ctx)
{
	struct dmt_buf *buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, NULL);
	struct dmt_rx_listener *l;
	struct dmt_error e;

	l = dmt_rx_listen(ctx, buf, NULL, 0, NULL, &e);
	T_CHECK(l && dmt_rx_listener_engine(l) == DMT_ENGINE_COPY &&
		dmt_rx_listener_fd(l) == -1, "auto, no socket: %s", e.message);
	T_CHECK(strstr(dmt_rx_listener_engine_reason(l),
		       "dmt_rx_listen_opts.ifname"), "reason: %s",
		dmt_rx_listener_engine_reason(l));
	T_CHECK(!dmt_rx_accept(l, NULL, NULL, &e) && e.err == -EINVAL &&
		strstr(e.message, "dmt_rx_from_fd"), "accept without a socket: %s",
		e.message);
	printf("  no interface: %s\n", dmt_rx_listener_engine_reason(l));
	dmt_rx_listener_free(l);
	{
		DMT_OPTS(dmt_rx_listen_opts, o, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = "dmt-no-such0");

		l = dmt_rx_listen(ctx, buf, NULL, 0, &o, &e);
		T_CHECK(!l && strstr(e.message, "no interface dmt-no-such0") &&
			strstr(e.message, "no port for the flow rule"),
			"unknown interface: %s", e.message);
	}
	dmt_buf_free(buf);
}

static int connect_lo(int port)
{
	struct sockaddr_in a = lo_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	T_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
		"connect: %s", strerror(errno));
	return fd;
}

static int listener_port(const struct dmt_rx_listener *l)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	T_CHECK(getsockname(dmt_rx_listener_fd(l), (struct sockaddr *)&a, &al) == 0,
		"getsockname");
	return ntohs(a.sin_port);
}

/* Receive everything on rx, check the pattern of modulus v. */
static uint64_t drain(struct dmt_rx *rx, int v)
{
	static __thread unsigned char tmp[1 << 20];
	struct dmt_frag f[64];
	uint64_t pos = 0;
	unsigned int n;
	ssize_t r;

	while ((r = dmt_rx_recv(rx, f, 64, &n)) > 0) {
		T_CHECK(dmt_rx_gather(rx, f, n, tmp, sizeof(tmp)) == r, "gather");
		for (ssize_t i = 0; i < r; i++)
			T_CHECK(tmp[i] == t_pattern_byte(pos + (uint64_t)i, v),
				"byte %llu", (unsigned long long)(pos + (uint64_t)i));
		pos += (uint64_t)r;
		T_CHECK(dmt_rx_release(rx, f, n) == (int)n, "release: %s",
			dmt_rx_last_error(rx)->message);
	}
	T_CHECK(r == 0, "recv: %s", dmt_rx_last_error(rx)->message);
	return pos;
}

static void send_pattern(int fd, uint64_t len, int v)
{
	static __thread unsigned char b[1 << 16];
	uint64_t pos = 0;

	while (pos < len) {
		size_t c = len - pos < sizeof(b) ? (size_t)(len - pos) : sizeof(b);
		ssize_t w;

		for (size_t i = 0; i < c; i++)
			b[i] = t_pattern_byte(pos + i, v);
		w = send(fd, b, c, MSG_NOSIGNAL);
		T_CHECK(w > 0, "send: %s", strerror(errno));
		pos += (uint64_t)w;
	}
}

struct par {
	struct dmt_rx_listener *l;
	int port, v;
	uint64_t got;
	pthread_t thr;
	struct dmt_buf *buf;
};

static void *par_recv(void *arg)
{
	struct par *p = arg;
	struct dmt_error e;
	struct dmt_rx *rx = dmt_rx_accept(p->l, p->buf, NULL, &e);

	T_CHECK(rx, "accept: %s", e.message);
	p->got = drain(rx, 11);	/* every sender: modulus 11 */
	dmt_rx_free(rx);
	return NULL;
}

static void *par_send(void *arg)
{
	struct par *p = arg;
	int fd = connect_lo(p->port);

	send_pattern(fd, PAR_BYTES, 11);
	close(fd);
	return NULL;
}

static void connections(struct dmt_ctx *ctx)
{
	struct dmt_buf *buf = dmt_buf_new(DMT_BUF_HOST, 256 << 10, NULL, NULL);
	struct sockaddr_in a = lo_addr(0), peer;
	socklen_t pl = sizeof(peer);
	struct dmt_rx_listener *l;
	struct dmt_rx *rx, *rx2;
	struct par p[NPAR], s[NPAR];
	struct dmt_error e;
	int fd, fd2, port;

	l = dmt_rx_listen(ctx, buf, (struct sockaddr *)&a, sizeof(a), NULL, &e);
	T_CHECK(l && dmt_rx_listener_fd(l) >= 0, "listen: %s", e.message);
	port = listener_port(l);
	fd = connect_lo(port);
	rx = dmt_rx_accept(l, NULL, NULL, &e);
	T_CHECK(rx && dmt_rx_engine(rx) == DMT_ENGINE_COPY, "accept: %s",
		e.message);
	T_CHECK(!strcmp(dmt_rx_engine_reason(rx), dmt_rx_listener_engine_reason(l)),
		"the listener's reason");
	/* the documented use of dmt_rx_fd: who is on the other end */
	T_CHECK(getpeername(dmt_rx_fd(rx), (struct sockaddr *)&peer, &pl) == 0 &&
		peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "getpeername");
	/* the listener's buffer takes one copy receiver at a time */
	fd2 = connect_lo(port);
	rx2 = dmt_rx_accept(l, NULL, NULL, &e);
	T_CHECK(!rx2 && e.err == -EBUSY && strstr(e.message, "buffer of its own"),
		"second receiver on the listener's buffer: %s", e.message);
	close(fd2);
	send_pattern(fd, 3u << 20, 7);
	close(fd);
	T_CHECK(drain(rx, 7) == 3u << 20, "3 MiB through a 256 KiB buffer");
	dmt_rx_free(rx);
	printf("  accept: 3 MiB verified, second receiver refused: %s\n",
	       e.message);
	/* parallel streams: N connections, N threads, a buffer each */
	for (int i = 0; i < NPAR; i++) {
		p[i] = (struct par){ .l = l, .port = port };
		p[i].buf = dmt_buf_new(DMT_BUF_HOST, 512 << 10, NULL, NULL);
		s[i] = p[i];
		T_CHECK(p[i].buf, "buffer %d", i);
		T_CHECK(pthread_create(&p[i].thr, NULL, par_recv, &p[i]) == 0,
			"thread");
	}
	for (int i = 0; i < NPAR; i++)
		T_CHECK(pthread_create(&s[i].thr, NULL, par_send, &s[i]) == 0,
			"thread");
	for (int i = 0; i < NPAR; i++) {
		pthread_join(s[i].thr, NULL);
		pthread_join(p[i].thr, NULL);
		T_CHECK(p[i].got == PAR_BYTES, "stream %d: %llu bytes", i,
			(unsigned long long)p[i].got);
		dmt_buf_free(p[i].buf);
	}
	printf("  %d parallel connections from one listener, %u bytes each, "
	       "verified\n", NPAR, PAR_BYTES);
	dmt_rx_listener_free(l);
	dmt_buf_free(buf);
}

static void *send5(void *arg)
{
	int fd = *(int *)arg;

	send_pattern(fd, 5u << 20, 13);
	close(fd);
	return NULL;
}

static void staged(void)
{
	struct dmt_buf *buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, NULL);
	int port = 0, lfd = t_listen("127.0.0.1", &port), cfd, afd;
	DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_STAGED,
		 .stage_chunk = 64 << 10);
	DMT_OPTS(dmt_rx_stats, st);
	struct dmt_error e;
	struct dmt_rx *rx;
	pthread_t thr;

	cfd = connect_lo(port);
	afd = accept(lfd, NULL, NULL);
	T_CHECK(buf && afd >= 0, "setup");
	rx = dmt_rx_from_fd(NULL, buf, afd, &o, &e);
	T_CHECK(rx && dmt_rx_engine(rx) == DMT_ENGINE_STAGED, "staged: %s",
		e.message);
	T_CHECK(pthread_create(&thr, NULL, send5, &cfd) == 0, "thread");
	T_CHECK(drain(rx, 13) == 5u << 20, "5 MiB staged");
	pthread_join(thr, NULL);
	T_CHECK(dmt_rx_get_stats(rx, &st) == 0 && st.copied_bytes == 5u << 20 &&
		st.stage_chunk == 64 << 10 && st.stage_chunks >= (5u << 20) /
		(64 << 10), "stats: chunk %llu chunks %llu",
		(unsigned long long)st.stage_chunk,
		(unsigned long long)st.stage_chunks);
	printf("  staged: 5 MiB verified in %llu chunk copies\n",
	       (unsigned long long)st.stage_chunks);
	dmt_rx_free(rx);
	close(afd);
	close(lfd);
	dmt_buf_free(buf);
}

int main(void)
{
	struct dmt_ctx *ctx;
	struct netpair np;

	t_require_root();
	ctx = t_ctx();
	printf("blockers:\n");
	blockers_on(ctx, "lo", true);
	no_interface(ctx);
	printf("connections:\n");
	connections(ctx);
	staged();
	dmt_ctx_free(ctx);
	printf("veth in a private namespace:\n");
	t_netpair(&np);
	T_CHECK(netpair_enter(&np, 0) == 0, "enter side 0");
	ctx = t_ctx();
	blockers_on(ctx, np.ifname[0], false);
	dmt_ctx_free(ctx);
	netpair_destroy(&np);
	printf("rx_listen: ok\n");
	return T_PASS;
}
