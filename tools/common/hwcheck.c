// SPDX-License-Identifier: MIT
/* The devmem hardware checks shared by `devmemtcp selftest` and the tier C
 * tests (hwcheck.h). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hwcheck.h"
#include "nccl_net.h"

#define RX_BYTES (1u << 20)

volatile sig_atomic_t hw_stop;
#define BUF_SIZE (64u << 20)	/* the udmabuf default limit */

static const struct {
	const char *name, *title;
	bool rx;
} checks[HW_NCHECKS] = {
	[HW_BIND_EMPTY] = { "bind-empty-queues", "bind-rx with an empty queue "
			    "list is refused", true },
	[HW_BIND_HDS_OFF] = { "bind-hds-off", "bind-rx with header split off "
			      "(auto) is refused", true },
	[HW_BIND] = { "bind", "bind-rx of the last queue with header split on",
		      true },
	[HW_CHANNEL_SHRINK] = { "channel-shrink", "removing a bound queue "
				"(ethtool -L) is refused", true },
	[HW_RX] = { "rx", "1 MiB from the peer lands in the dma-buf and "
		    "validates", true },
	[HW_RX_HDS] = { "rx-hds", "messages of 1..8192 bytes arrive with no "
			"linear data", true },
	[HW_TX] = { "tx", "the peer receives exactly what was sent", false },
	[HW_TX_CHUNKS] = { "tx-chunks", "3-byte iovecs (ncdevmem -z 3) arrive "
			   "intact", false },
	[HW_NCCL_DEVMEM] = { "nccl-devmem", "the NCCL plugin moves GPU memory "
			     "by devmem TX and RX (dma-buf send, device gather)",
			     false },
};

const char *hw_check_name(enum hw_check c)
{
	return (unsigned int)c < HW_NCHECKS ? checks[c].name : "?";
}

const char *hw_check_title(enum hw_check c)
{
	return (unsigned int)c < HW_NCHECKS ? checks[c].title : "?";
}

bool hw_check_is_rx(enum hw_check c)
{
	return (unsigned int)c < HW_NCHECKS && checks[c].rx;
}

const char *hw_result_name(enum hw_result r)
{
	return r == HW_PASS ? "pass" : r == HW_FAIL ? "FAIL" : "not run";
}

int hw_verdict(const struct hw_row *rows, unsigned int n)
{
	unsigned int pass = 0, notrun = 0;

	for (unsigned int i = 0; i < n; i++) {
		pass += rows[i].res == HW_PASS;
		notrun += rows[i].res == HW_NOT_RUN;
	}
	if (n && pass == n)
		return 0;
	if (notrun == n)
		return 3;
	return 1;
}

void hw_not_run(struct hw_row *row, enum hw_check c, const char *why)
{
	memset(row, 0, sizeof(*row));
	row->id = c;
	row->res = HW_NOT_RUN;
	snprintf(row->reason, sizeof(row->reason), "%s", why);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ms_left(double deadline)
{
	double l = hw_stop ? 0 : deadline - now();

	return l <= 0 ? 0 : (int)(l * 1000) + 1;
}

int hw_next_port(const struct hw_cfg *cfg)
{
	static int next;

	if (!next || next >= 60000)
		next = cfg->base_port >= 1024 && cfg->base_port < 60000 ?
		       cfg->base_port : 20000 + (int)(getpid() % 20000);
	return next++;
}

int hw_ssh_argv(const struct hw_cfg *cfg, const char *cmd, const char **out,
		int max)
{
	static const char *const pre[] = { "ssh", "-o", "BatchMode=yes", "-o",
					   "ConnectTimeout=10" };
	int n = 0;

	for (unsigned int i = 0; i < sizeof(pre) / sizeof(pre[0]) && n < max - 1;
	     i++)
		out[n++] = pre[i];
	if (n < max - 1)
		out[n++] = cfg->ssh;
	if (n < max - 1)
		out[n++] = "--";
	if (n < max - 1)
		out[n++] = cmd;
	out[n] = NULL;
	return n;
}

/* ---- the peer over ssh ---- */

struct peer {
	pid_t pid;
	int out;		/* its stdout, or -1 */
	char *got;		/* captured stdout */
	size_t len, cap;
};

static int peer_start(const struct hw_cfg *cfg, const char *cmd, bool capture,
		      struct peer *p)
{
	const char *argv[12];
	int pfd[2] = { -1, -1 };

	memset(p, 0, sizeof(*p));
	p->out = -1;
	hw_ssh_argv(cfg, cmd, argv, 12);
	if (capture && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	p->pid = fork();
	if (p->pid < 0) {
		int e = -errno;

		if (capture) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return e;
	}
	if (!p->pid) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(capture ? pfd[1] : nul, 1);
		execvp("ssh", (char *const *)argv);
		_exit(127);
	}
	if (capture) {
		close(pfd[1]);
		p->out = pfd[0];
		fcntl(p->out, F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* Read what the peer printed so far (non-blocking). */
static void peer_drain(struct peer *p)
{
	char b[4096];
	ssize_t r;

	while (p->out >= 0 && (r = read(p->out, b, sizeof(b))) > 0) {
		if (p->len + (size_t)r > p->cap) {
			size_t cap = (p->len + (size_t)r) * 2;
			char *q = realloc(p->got, cap);

			if (!q)
				return;
			p->got = q;
			p->cap = cap;
		}
		memcpy(p->got + p->len, b, (size_t)r);
		p->len += (size_t)r;
	}
}

/* Wait for the peer until deadline; kill it (by its pid) after that.
 * Returns its exit status, or -1 when it had to be killed. */
static int peer_wait(struct peer *p, double deadline)
{
	int st = 0;

	if (p->pid <= 0)
		return -1;
	for (;;) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		peer_drain(p);
		if (r == p->pid)
			break;
		if (!ms_left(deadline)) {
			kill(p->pid, SIGTERM);
			waitpid(p->pid, &st, 0);
			st = -1;
			break;
		}
		if (p->out >= 0) {
			struct pollfd pf = { .fd = p->out, .events = POLLIN };
			poll(&pf, 1, 100);
		} else {
			usleep(50000);
		}
	}
	peer_drain(p);
	p->pid = 0;
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	return st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void peer_free(struct peer *p)
{
	if (p->pid > 0)
		peer_wait(p, 0);
	free(p->got);
	p->got = NULL;
}

/* ---- helpers ---- */

static void why(struct hw_row *row, enum hw_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why(struct hw_row *row, enum hw_result r, const char *fmt, ...)
{
	va_list ap;

	row->res = r;
	va_start(ap, fmt);
	vsnprintf(row->reason, sizeof(row->reason), fmt, ap);
	va_end(ap);
}

static int local_addr(const struct hw_cfg *cfg, struct in_addr *a)
{
	struct ifaddrs *ifa, *i;
	int ret = -EADDRNOTAVAIL;

	if (cfg->addr)
		return inet_pton(AF_INET, cfg->addr, a) == 1 ? 0 : -EINVAL;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, cfg->ifname)) {
			*a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
			ret = 0;
			break;
		}
	freeifaddrs(ifa);
	return ret;
}

static struct dmt_buf *new_buf(const struct hw_cfg *cfg, size_t size,
			       struct dmt_error *e)
{
	DMT_OPTS(dmt_buf_opts, o, .device = cfg->device);
	struct dmt_buf *b;

	if (cfg->kind)
		return dmt_buf_new(cfg->kind, size, &o, e);
	/* default: udmabuf, else the system DMA heap */
	b = dmt_buf_new(DMT_BUF_UDMABUF, size, &o, e);
	if (!b) {
		struct dmt_error e2;

		b = dmt_buf_new(DMT_BUF_DMAHEAP, size, &o, &e2);
		if (!b)
			snprintf(e->message + strlen(e->message),
				 sizeof(e->message) - strlen(e->message),
				 "; and no DMA heap: %s", e2.message);
	}
	return b;
}

static unsigned char pat7(uint64_t pos)
{
	unsigned int s = (unsigned int)((pos + 1) % 7);

	return s ? (unsigned char)s : '\n';
}

/* Connect a TCP socket from src (port may be 0) to dst within deadline,
 * bound to the interface when ifname is set; retries while refused (the
 * peer's listener may still be starting). */
static int connect_to(const char *ifname, const struct sockaddr_in *src,
		      const struct sockaddr_in *dst, double deadline, char *err,
		      size_t errlen)
{
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
				0), one = 1, soerr = 0, ret;
		socklen_t sl = sizeof(soerr);
		struct pollfd pf;

		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
					 (socklen_t)strlen(ifname) + 1) < 0) {
			snprintf(err, errlen, "SO_BINDTODEVICE %s: %s", ifname,
				 strerror(errno));
			close(fd);
			return -1;
		}
		if (src && bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0) {
			snprintf(err, errlen, "bind to the local port: %s",
				 strerror(errno));
			close(fd);
			return -1;
		}
		ret = connect(fd, (const struct sockaddr *)dst, sizeof(*dst));
		if (ret < 0 && errno == EINPROGRESS) {
			pf.fd = fd;
			pf.events = POLLOUT;
			if (poll(&pf, 1, ms_left(deadline)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
				ret = soerr ? -1 : 0;
			errno = soerr ? soerr : ETIMEDOUT;
		}
		if (ret == 0) {
			/* blocking sends and receives stay bounded too */
			struct timeval tv = { .tv_sec = ms_left(deadline) / 1000 + 1 };

			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		snprintf(err, errlen, "connect to %s:%u: %s",
			 inet_ntoa(dst->sin_addr), ntohs(dst->sin_port),
			 strerror(errno));
		close(fd);
		if (errno != ECONNREFUSED || ms_left(deadline) < 300)
			return -1;
		usleep(200000);
	}
}

/* The -v 7 pattern generator on the peer: 01 02 03 04 05 06 0a ... */
static const char *v7cmd(void)
{
	return "yes \"$(printf '\\001\\002\\003\\004\\005\\006')\"";
}

/* ---- peer-less checks ---- */

static void run_nic_check(const struct hw_cfg *cfg, enum dmt_nic_check w,
			  struct hw_row *row)
{
	struct dmt_error e;
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, &e);
	struct dmt_buf *buf;
	char det[512];
	int ret;

	if (!ctx) {
		why(row, HW_NOT_RUN, "%s", e.message);
		return;
	}
	buf = new_buf(cfg, 1u << 20, &e);
	if (!buf) {
		why(row, HW_NOT_RUN, "%s", e.message);
		dmt_ctx_free(ctx);
		return;
	}
	ret = dmt_nic_check(ctx, (int)if_nametoindex(cfg->ifname), buf, w,
			    cfg->journal_dir, det, sizeof(det));
	if (ret == 0)
		why(row, HW_PASS, "%s", det);
	else if (ret == 1)
		why(row, HW_FAIL, "%s", det);
	else
		why(row, HW_FAIL, "could not run: %s",
		    dmt_ctx_last_error(ctx)->message);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
}

/* ---- RX ---- */

/*
 * One RX case on a fresh port: a NIC setup for the flow from the peer to
 * addr:port (5-tuple), then `len` bytes of the -v 7 pattern from the peer
 * (its sender over ssh, or the echo of what we send), each byte checked;
 * no linear bytes when strict. 0, or -1 with row's reason set. The setup
 * is undone before returning.
 */
static int rx_case(const struct hw_cfg *cfg, struct dmt_ctx *ctx,
		   struct dmt_buf *buf, size_t len, bool strict, struct hw_row *row)
{
	int port = hw_next_port(cfg), lfd = -1, cfd = -1, ret = -1, one = 1;
	int pport = cfg->ssh ? port : cfg->echo_port;
	struct sockaddr_in me = { .sin_family = AF_INET },
			   them = { .sin_family = AF_INET };
	static unsigned char tmp[1 << 20];
	double deadline = now() + cfg->timeout_s;
	struct dmt_rx_listener *l = NULL;
	struct dmt_frag f[256];
	struct dmt_rx *rx = NULL;
	struct dmt_error e;
	struct peer p = { 0 };
	size_t got = 0, sent = 0, bad = 0;
	char cmd[512], err[256];
	unsigned int n;

	if (local_addr(cfg, &me.sin_addr) < 0 ||
	    inet_pton(AF_INET, cfg->peer, &them.sin_addr) != 1) {
		why(row, HW_NOT_RUN, "no IPv4 address on %s (pass --addr)",
		    cfg->ifname);
		return -1;
	}
	me.sin_port = htons((uint16_t)port);
	them.sin_port = htons((uint16_t)pport);
	{
		/* the NIC setup and binding for the flow from the peer to
		 * me:port; the sockets are made here (no_socket) */
		DMT_OPTS(dmt_rx_listen_opts, lo, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = cfg->ifname, .peer_port = (uint16_t)pport,
			 .peer = (struct sockaddr *)&them,
			 .peer_len = sizeof(them), .no_socket = 1,
			 .journal_dir = cfg->journal_dir);

		l = dmt_rx_listen(ctx, buf, (struct sockaddr *)&me, sizeof(me),
				  &lo, &e);
		if (!l) {
			why(row, HW_FAIL, "setup: %s", e.message);
			return -1;
		}
	}
	if (cfg->ssh) {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
		    listen(lfd, 1) < 0) {
			why(row, HW_FAIL, "listen on port %d: %s", port,
			    strerror(errno));
			goto out;
		}
		snprintf(cmd, sizeof(cmd), "%s | head -c %zu | socat -u - "
			 "TCP4:%s:%d,bind=%s:%d", v7cmd(), len,
			 inet_ntoa(me.sin_addr), port, cfg->peer, port);
		if (peer_start(cfg, cmd, false, &p) < 0) {
			why(row, HW_NOT_RUN, "cannot start ssh: %s",
			    strerror(errno));
			goto out;
		}
		{
			struct pollfd pf = { .fd = lfd, .events = POLLIN };

			if (poll(&pf, 1, ms_left(deadline)) != 1) {
				why(row, HW_FAIL, hw_stop ? "interrupted" : "the "
				    "peer did not connect within %d s (ssh %s, "
				    "socat there?)", cfg->timeout_s, cfg->ssh);
				goto out;
			}
		}
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	} else {
		cfd = connect_to(NULL, &me, &them, deadline, err, sizeof(err));
		if (cfd < 0) {
			why(row, HW_FAIL, "echo peer: %s", err);
			goto out;
		}
		fcntl(cfd, F_SETFL, O_NONBLOCK);
	}
	if (cfd < 0) {
		why(row, HW_FAIL, "accept: %s", strerror(errno));
		goto out;
	}
	{
		DMT_OPTS(dmt_rx_opts, ro, .engine = DMT_ENGINE_DEVMEM,
			 .nonblock = 1, .no_linear = strict);
		rx = dmt_rx_from_fd(l, NULL, cfd, &ro, &e);
		if (!rx) {
			why(row, HW_FAIL, "rx: %s", e.message);
			goto out;
		}
	}
	for (;;) {
		struct pollfd pf = { .fd = cfd, .events = POLLIN };
		ssize_t r;

		if (!cfg->ssh && sent < len) {
			unsigned char chunk[4096];
			size_t c = len - sent < sizeof(chunk) ? len - sent :
				   sizeof(chunk);

			for (size_t i = 0; i < c; i++)
				chunk[i] = pat7(sent + i);
			r = send(cfd, chunk, c, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
			if (sent == len)
				shutdown(cfd, SHUT_WR);
			pf.events |= sent < len ? POLLOUT : 0;
		}
		r = dmt_rx_recv(rx, f, 256, &n);
		if (r == -EAGAIN || r == -EINTR) {
			if (hw_stop || poll(&pf, 1, ms_left(deadline)) == 0) {
				why(row, HW_FAIL, hw_stop ? "interrupted after %zu "
				    "of %zu bytes" : "%zu of %zu bytes after the "
				    "timeout", got, len);
				goto out;
			}
			continue;
		}
		if (r < 0) {
			why(row, HW_FAIL, "receive: %s",
			    dmt_rx_last_error(rx)->message);
			goto out;
		}
		if (r == 0)
			break;
		if (dmt_rx_gather(rx, f, n, tmp, sizeof(tmp)) != r) {
			why(row, HW_FAIL, "gather: %s",
			    dmt_rx_last_error(rx)->message);
			goto out;
		}
		for (ssize_t i = 0; i < r; i++)
			bad += tmp[i] != pat7(got + (size_t)i);
		dmt_rx_release(rx, f, n);
		got += (size_t)r;
	}
	{
		DMT_OPTS(dmt_rx_stats, st);

		dmt_rx_get_stats(rx, &st);
		if (got != len || bad)
			why(row, HW_FAIL, "%zu of %zu bytes, %zu differ from the "
			    "pattern", got, len, bad);
		else if (!st.devmem_bytes)
			why(row, HW_FAIL, "no byte arrived through devmem");
		else if (cfg->ssh && peer_wait(&p, deadline) != 0)
			why(row, HW_FAIL, "the peer's sender failed");
		else
			ret = 0;
	}
out:
	dmt_rx_free(rx);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	peer_free(&p);
	dmt_rx_listener_free(l);	/* unbinds, restores the NIC */
	return ret;
}

static void run_rx(const struct hw_cfg *cfg, bool sweep, struct hw_row *row)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 511,
					1000, 1024, 1448, 1500, 2048, 4095,
					4096, 4097, 8191, 8192 };
	struct dmt_error e;
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, &e);
	struct dmt_buf *buf;

	if (!ctx) {
		why(row, HW_NOT_RUN, "%s", e.message);
		return;
	}
	buf = new_buf(cfg, BUF_SIZE, &e);
	if (!buf) {
		why(row, HW_NOT_RUN, "%s", e.message);
		dmt_ctx_free(ctx);
		return;
	}
	if (!sweep) {
		if (rx_case(cfg, ctx, buf, RX_BYTES, false, row) == 0)
			why(row, HW_PASS, "%u bytes through devmem (%s), pattern "
			    "valid", RX_BYTES, dmt_buf_kind_name(dmt_buf_kind(buf)));
	} else {
		unsigned int i;

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			if (rx_case(cfg, ctx, buf, sizes[i], true, row) < 0) {
				char keep[sizeof(row->reason)];

				snprintf(keep, sizeof(keep), "%s", row->reason);
				why(row, row->res, "%zu-byte message: %s", sizes[i],
				    keep);
				break;
			}
		}
		if (i == sizeof(sizes) / sizeof(sizes[0]))
			why(row, HW_PASS, "21 sizes from 1 to 8192 bytes, no linear "
			    "data");
	}
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
}

/* ---- TX ---- */

static void run_tx(const struct hw_cfg *cfg, bool chunks, struct hw_row *row)
{
	static const char hello[] = "hello\nworld\n";
	size_t len = chunks ? 3 * 4096 + 17 : sizeof(hello) - 1;
	int port = cfg->ssh ? hw_next_port(cfg) : cfg->echo_port, fd = -1;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	double deadline = now() + cfg->timeout_s;
	unsigned char *want = malloc(len), *echo = NULL;
	struct dmt_seg *segs = NULL;
	struct dmt_tx *tx = NULL;
	struct dmt_buf *buf = NULL;
	struct dmt_ctx *ctx;
	struct peer p = { 0 };
	struct dmt_error e;
	size_t nseg = 0, got = 0;
	char cmd[256], err[256];

	ctx = dmt_ctx_new(NULL, &e);
	if (!ctx || !want) {
		why(row, HW_NOT_RUN, "%s", ctx ? "out of memory" : e.message);
		goto out;
	}
	if (inet_pton(AF_INET, cfg->peer, &dst.sin_addr) != 1) {
		why(row, HW_NOT_RUN, "--peer %s is not an IPv4 address", cfg->peer);
		goto out;
	}
	dst.sin_port = htons((uint16_t)port);
	for (size_t i = 0; i < len; i++)
		want[i] = chunks ? pat7(i) : (unsigned char)hello[i];
	buf = new_buf(cfg, 1u << 20, &e);
	if (!buf || dmt_buf_write(buf, 0, want, len) < 0) {
		why(row, HW_NOT_RUN, "%s", buf ? dmt_buf_last_error(buf)->message :
		    e.message);
		goto out;
	}
	if (cfg->ssh) {
		snprintf(cmd, sizeof(cmd), "timeout %d socat -u TCP4-LISTEN:%d,"
			 "reuseaddr STDOUT", cfg->timeout_s, port);
		if (peer_start(cfg, cmd, true, &p) < 0) {
			why(row, HW_NOT_RUN, "cannot start ssh: %s", strerror(errno));
			goto out;
		}
	}
	fd = connect_to(cfg->ifname, NULL, &dst, deadline, err, sizeof(err));
	if (fd < 0) {
		why(row, HW_FAIL, "%s", err);
		goto out;
	}
	{
		DMT_OPTS(dmt_tx_opts, to, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = cfg->ifname);
		tx = dmt_tx_from_fd(ctx, buf, fd, &to, &e);
		if (!tx) {
			why(row, HW_FAIL, "devmem TX: %s", e.message);
			goto out;
		}
	}
	nseg = chunks ? (len + 2) / 3 : 1;
	segs = calloc(nseg, sizeof(*segs));
	if (!segs) {
		why(row, HW_NOT_RUN, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nseg; i++) {
		segs[i].off = chunks ? i * 3 : 0;
		segs[i].len = chunks ? (len - i * 3 < 3 ? len - i * 3 : 3) : len;
	}
	for (size_t i = 0; i < nseg;) {
		size_t k = nseg - i < 1024 ? nseg - i : 1024;
		uint64_t bytes = 0;
		ssize_t r;

		for (size_t j = 0; j < k; j++)
			bytes += segs[i + j].len;
		r = dmt_tx_send(tx, segs + i, (unsigned int)k);
		if (r != (ssize_t)bytes) {
			why(row, HW_FAIL, "send: %s", dmt_tx_last_error(tx)->message);
			goto out;
		}
		i += k;
	}
	if (dmt_tx_flush(tx, ms_left(deadline)) < 0) {
		why(row, HW_FAIL, "completions: %s", dmt_tx_last_error(tx)->message);
		goto out;
	}
	if (dmt_tx_zerocopy_verdict(tx) != 1) {
		why(row, HW_FAIL, "completions came back COPIED: not device-memory "
		    "transmission");
		goto out;
	}
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	if (cfg->ssh) {
		int st = peer_wait(&p, deadline);

		echo = (unsigned char *)p.got;
		got = p.len;
		if (st != 0 && got < len) {
			why(row, HW_FAIL, "the peer's listener exited %d (ssh %s, "
			    "socat there?) after %zu bytes", st, cfg->ssh, got);
			goto out;
		}
	} else {
		echo = malloc(len + 1);
		while (echo && got <= len) {
			struct pollfd pf = { .fd = dmt_tx_fd(tx), .events = POLLIN };
			ssize_t r;

			if (poll(&pf, 1, ms_left(deadline)) != 1)
				break;
			r = recv(dmt_tx_fd(tx), echo + got, len + 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	if (got != len || !echo || memcmp(echo, want, len)) {
		size_t at = 0;

		while (echo && at < got && at < len && echo[at] == want[at])
			at++;
		why(row, HW_FAIL, "the peer received %zu of %zu bytes; first "
		    "difference at byte %zu", got, len, at);
	} else {
		why(row, HW_PASS, "%zu bytes in %zu iovec%s, the peer received "
		    "them exactly (%s, zero-copy completions)", len, nseg,
		    nseg == 1 ? "" : "s", dmt_buf_kind_name(dmt_buf_kind(buf)));
	}
	if (!cfg->ssh)
		free(echo);
out:
	if (tx)
		dmt_tx_free(tx);
	else if (fd >= 0)
		close(fd);
	peer_free(&p);
	free(segs);
	free(want);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
}

/* ---- the NCCL plugin's devmem paths ---- */

/*
 * nccl-devmem: libnccl-net-devmemtcp.so driven as NCCL drives it, with GPU
 * memory on both ends. One send comm and one receive comm in this process,
 * on IFACE; the send comm dials the peer (NCCL_DEVMEMTCP_CONNECT_VIA),
 * where socat relays every connection back to the listener, so the bytes
 * leave through the NIC from the registered dma-buf (devmem TX) and come
 * back through it into the plugin's GPU buffer (devmem RX), gathered on the
 * device into the receive buffer. The check plays NCCL's part: it owns the
 * CUDA context and the device buffers (the CUDA driver through dlopen) and
 * exports them as dma-bufs for regMrDmaBuf.
 */
typedef int hw_cures;
typedef unsigned long long hw_cuptr;
static struct {
	bool tried, ok;
	char why[200];
	hw_cures (*init)(unsigned int);
	hw_cures (*device_get)(int *, int);
	hw_cures (*primary_retain)(void **, int);
	hw_cures (*ctx_set)(void *);
	hw_cures (*alloc)(hw_cuptr *, size_t);
	hw_cures (*free)(hw_cuptr);
	hw_cures (*htod)(hw_cuptr, const void *, size_t);
	hw_cures (*dtoh)(void *, hw_cuptr, size_t);
	hw_cures (*handle)(void *, hw_cuptr, size_t, int, unsigned long long);
} hcu;

static bool hw_cuda(int device)
{
	const char *name = secure_getenv("DMT_CUDA_LIB");
	void *h, *ctx = NULL;
	int dev;

	if (hcu.tried)
		return hcu.ok;
	hcu.tried = true;
	h = dlopen(name && *name ? name : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(hcu.why, sizeof(hcu.why), "no CUDA driver (%s): the "
			 "check needs GPU memory on both ends", dlerror());
		return false;
	}
#define HW_SYM(f, s)                                                          \
	do {                                                                  \
		*(void **)&hcu.f = dlsym(h, s);                               \
		if (!hcu.f) {                                                 \
			snprintf(hcu.why, sizeof(hcu.why), "the CUDA driver " \
				 "lacks %s (older than CUDA 11.7: no dma-buf " \
				 "export)", s);                                \
			return false;                                         \
		}                                                             \
	} while (0)
	HW_SYM(init, "cuInit");
	HW_SYM(device_get, "cuDeviceGet");
	HW_SYM(primary_retain, "cuDevicePrimaryCtxRetain");
	HW_SYM(ctx_set, "cuCtxSetCurrent");
	HW_SYM(alloc, "cuMemAlloc_v2");
	HW_SYM(free, "cuMemFree_v2");
	HW_SYM(htod, "cuMemcpyHtoD_v2");
	HW_SYM(dtoh, "cuMemcpyDtoH_v2");
	HW_SYM(handle, "cuMemGetHandleForAddressRange");
#undef HW_SYM
	if (hcu.init(0) || hcu.device_get(&dev, device) ||
	    hcu.primary_retain(&ctx, dev) || hcu.ctx_set(ctx)) {
		snprintf(hcu.why, sizeof(hcu.why), "CUDA device %d is not usable "
			 "(cuInit, cuDeviceGet or its context failed)", device);
		return false;
	}
	hcu.ok = true;
	return true;
}

static char nlog[16384];
static size_t nlog_len;

static void nccl_logger(ncclDebugLogLevel lvl, unsigned long flags,
			const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void nccl_logger(ncclDebugLogLevel lvl, unsigned long flags,
			const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	(void)flags;
	(void)file;
	(void)line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(nlog + nlog_len, sizeof(nlog) - nlog_len, "%s%s\n",
		     lvl == NCCL_LOG_WARN ? "WARN " : "", msg);
	if (n > 0 && nlog_len + (size_t)n < sizeof(nlog))
		nlog_len += (size_t)n;
}

/* The text after `key` on the last log line holding it ("" if none). */
static const char *nlog_after(const char *key, char *out, size_t len)
{
	const char *p = NULL, *q = nlog;

	out[0] = '\0';
	while ((q = strstr(q, key)))
		p = q++;
	if (p) {
		p += strlen(key);
		snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
	}
	return out;
}

#define NCCL_MSGS 5
#define NCCL_BUF (8u << 20)

static unsigned char npat(size_t pos, int msg)
{
	return (unsigned char)(pos * 31 + (size_t)msg * 7 + 1);
}

/* Post one message and its receive, wait for both and the flush, copy
 * the receive back and compare. 0, or -1 with row's reason set. */
static int nccl_msg(const ncclNet_v10_t *net, void *sc, void *rc, void *smh,
		    void *rmh, hw_cuptr sb, hw_cuptr rb, unsigned char *host,
		    size_t soff, size_t len, int m, double deadline,
		    struct hw_row *row)
{
	void *sr = NULL, *rr = NULL, *fr = NULL, *rdata = (void *)(uintptr_t)rb;
	void *sdata = (void *)(uintptr_t)(sb + soff);
	size_t cap = NCCL_BUF;
	int tag = m, sdone = 0, rdone = 0, fdone = 0, rsize = -1, fsize = 0;
	int isize = (int)len;
	ncclResult_t r;

	while (!rr || !sr) {
		r = !rr ? net->irecv(rc, 1, &rdata, &cap, &tag, &rmh, NULL, &rr) :
		    net->isend(sc, sdata, len, m, smh, NULL, &sr);
		if (r != ncclSuccess || !ms_left(deadline)) {
			why(row, HW_FAIL, "message %d (%zu bytes): %s %s", m, len,
			    r != ncclSuccess ? "post failed:" : "not posted in time",
			    nlog_after("WARN ", (char[300]){ 0 }, 300));
			return -1;
		}
	}
	while (!sdone || !rdone) {
		if (!sdone && (r = net->test(sr, &sdone, NULL)) != ncclSuccess)
			break;
		if (!rdone && (r = net->test(rr, &rdone, &rsize)) != ncclSuccess)
			break;
		if (!ms_left(deadline)) {
			r = ncclSystemError;
			break;
		}
	}
	if (r == ncclSuccess && (r = net->iflush(rc, 1, &rdata, &isize, &rmh,
						 &fr)) == ncclSuccess && fr)
		while ((r = net->test(fr, &fdone, &fsize)) == ncclSuccess && !fdone &&
		       ms_left(deadline))
			;
	if (r != ncclSuccess || (fr && !fdone) || !sdone || !rdone) {
		char w[300];

		why(row, HW_FAIL, "message %d (%zu bytes): %s", m, len,
		    r != ncclSuccess ? nlog_after("WARN ", w, sizeof(w)) :
		    hw_stop ? "interrupted" : "not complete within the timeout");
		return -1;
	}
	if (rsize != (int)len) {
		why(row, HW_FAIL, "message %d: %d bytes received, %zu sent", m,
		    rsize, len);
		return -1;
	}
	if (len && hcu.dtoh(host, rb, len)) {
		why(row, HW_FAIL, "copying the receive buffer back failed");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (host[i] != npat(soff + i, 0)) {
			why(row, HW_FAIL, "message %d (%zu bytes): byte %zu is %#x, "
			    "sent %#x", m, len, i, host[i], npat(soff + i, 0));
			return -1;
		}
	return 0;
}

static void run_nccl(const struct hw_cfg *cfg, struct hw_row *row)
{
	/* message m goes from offset m * 4097 of the send buffer: the last
	 * one still fits */
	static const size_t sizes[NCCL_MSGS] = { 1, 4099, 65536 + 7, 1u << 20,
						 NCCL_BUF - 65536 };
	const char *path = cfg->nccl_plugin ? cfg->nccl_plugin :
			   getenv("DMT_NCCL_PLUGIN");
	char handle[NCCL_NET_HANDLE_MAXSIZE], ifs[IF_NAMESIZE + 2], via[64],
	     cmd[512], w[400], *old_if = getenv("NCCL_SOCKET_IFNAME");
	double deadline = now() + cfg->timeout_s;
	void *dl, *lc = NULL, *sc = NULL, *rc = NULL, *smh = NULL, *rmh = NULL;
	const ncclNet_v10_t *net;
	ncclNetProperties_v10_t props;
	hw_cuptr sb = 0, rb = 0;
	int sfd = -1, rfd = -1, ndev = 0, rport, m;
	unsigned char *host = NULL;
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct peer p = { 0 };
	unsigned long lport;
	ncclResult_t r;

	old_if = old_if ? strdup(old_if) : NULL;
	dl = dlopen(path && *path ? path : "libnccl-net-devmemtcp.so",
		    RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		why(row, HW_NOT_RUN, "the NCCL plugin does not load (%s): install "
		    "it (make install; ldconfig) or set DMT_NCCL_PLUGIN to its "
		    "path", dlerror());
		goto out;
	}
	net = dlsym(dl, "ncclNetPlugin_v10");
	if (!net) {
		why(row, HW_FAIL, "%s exports no ncclNetPlugin_v10", path ? path :
		    "libnccl-net-devmemtcp.so");
		goto out;
	}
	/* The plugin on IFACE only, connecting directly (until the relay). */
	snprintf(ifs, sizeof(ifs), "=%s", cfg->ifname);
	setenv("NCCL_SOCKET_IFNAME", ifs, 1);
	unsetenv("NCCL_DEVMEMTCP_CONNECT_VIA");
	nlog_len = 0;
	nlog[0] = '\0';
	if (net->init(nccl_logger, NULL) != ncclSuccess ||
	    net->devices(&ndev) != ncclSuccess || ndev < 1) {
		why(row, HW_NOT_RUN, "the plugin's init found no device on %s: %s",
		    cfg->ifname, nlog_after("WARN ", w, sizeof(w)));
		goto out;
	}
	if (net->getProperties(0, &props) != ncclSuccess ||
	    strcmp(props.name, cfg->ifname)) {
		why(row, HW_FAIL, "the plugin's device 0 is not %s", cfg->ifname);
		goto out;
	}
	/* The plugin's own verdict (doctor's TX, then RX, then the GPU
	 * runtime): NCCL would send GPU memory through host engines. */
	if (!(props.ptrSupport & NCCL_PTR_DMABUF)) {
		why(row, HW_NOT_RUN, "the plugin offers no GPU memory on %s (host "
		    "engines): %s", cfg->ifname,
		    nlog_after("host engines: ", w, sizeof(w)));
		goto out;
	}
	if (!hw_cuda(cfg->device)) {
		why(row, HW_NOT_RUN, "%s", hcu.why);
		goto out;
	}
	if (!cfg->ssh) {
		why(row, HW_NOT_RUN, "needs --ssh USER@HOST: the peer relays the "
		    "plugin's connections back to this host through the NIC "
		    "(socat there); an echo service cannot");
		goto out;
	}
	if (local_addr(cfg, &me.sin_addr) < 0) {
		why(row, HW_NOT_RUN, "no IPv4 address on %s (pass --addr)",
		    cfg->ifname);
		goto out;
	}
	if ((r = net->listen(0, handle, &lc)) != ncclSuccess) {
		why(row, HW_FAIL, "listen: %s", nlog_after("WARN ", w, sizeof(w)));
		goto out;
	}
	nlog_after("listening on ", w, sizeof(w));
	lport = strrchr(w, ':') ? strtoul(strrchr(w, ':') + 1, NULL, 10) : 0;
	if (!lport) {
		why(row, HW_FAIL, "the plugin did not log its listening port");
		goto out;
	}
	rport = hw_next_port(cfg);
	snprintf(cmd, sizeof(cmd), "timeout %d socat TCP4-LISTEN:%d,fork,"
		 "reuseaddr TCP4:%s:%lu", cfg->timeout_s, rport,
		 inet_ntoa(me.sin_addr), lport);
	if (peer_start(cfg, cmd, false, &p) < 0) {
		why(row, HW_NOT_RUN, "cannot start ssh: %s", strerror(errno));
		goto out;
	}
	snprintf(via, sizeof(via), "%s:%d", cfg->peer, rport);
	setenv("NCCL_DEVMEMTCP_CONNECT_VIA", via, 1);
	/* Both state machines in one thread, as NCCL's bootstrap would in
	 * two; connect again while the relay is not listening yet. */
	while (!sc || !rc) {
		if (!sc && net->connect(0, NULL, handle, &sc, NULL) != ncclSuccess) {
			if (!ms_left(deadline) || hw_stop)
				break;
			usleep(200000);
			continue;
		}
		if (!rc && net->accept(lc, &rc, NULL) != ncclSuccess)
			break;
		if ((!sc || !rc) && (!ms_left(deadline) || hw_stop))
			break;
		usleep(1000);
	}
	if (!sc || !rc) {
		why(row, HW_FAIL, "the comms did not connect through the relay on "
		    "%s:%d within %d s (ssh %s, socat there?): %s", cfg->peer,
		    rport, cfg->timeout_s, cfg->ssh,
		    nlog_after("WARN ", w, sizeof(w)));
		goto out;
	}
	if (!strstr(nlog, "devmem RX bound")) {
		why(row, HW_FAIL, "the receive comm has no devmem RX: %s",
		    nlog_after("no devmem RX", w, sizeof(w)));
		goto out;
	}
	host = malloc(NCCL_BUF);
	if (!host || hcu.alloc(&sb, NCCL_BUF) || hcu.alloc(&rb, NCCL_BUF)) {
		why(row, HW_NOT_RUN, "%s", host ? "cuMemAlloc of two 8 MiB "
		    "buffers failed" : "out of memory");
		goto out;
	}
	for (size_t i = 0; i < NCCL_BUF; i++)
		host[i] = npat(i, 0);
	if (hcu.htod(sb, host, NCCL_BUF) ||
	    hcu.handle(&sfd, sb, NCCL_BUF, 1 /* DMA_BUF_FD */, 0) ||
	    hcu.handle(&rfd, rb, NCCL_BUF, 1, 0)) {
		why(row, HW_NOT_RUN, "the CUDA driver does not export the buffers "
		    "as dma-bufs (cuMemGetHandleForAddressRange)");
		goto out;
	}
	if (net->regMrDmaBuf(sc, (void *)(uintptr_t)sb, NCCL_BUF, NCCL_PTR_CUDA,
			     0, sfd, &smh) != ncclSuccess ||
	    net->regMrDmaBuf(rc, (void *)(uintptr_t)rb, NCCL_BUF, NCCL_PTR_CUDA,
			     0, rfd, &rmh) != ncclSuccess) {
		why(row, HW_FAIL, "regMrDmaBuf: %s", nlog_after("WARN ", w,
								sizeof(w)));
		goto out;
	}
	for (m = 0; m < NCCL_MSGS; m++)
		if (nccl_msg(net, sc, rc, smh, rmh, sb, rb, host,
			     (size_t)m * 4097, sizes[m], m, deadline,
			     row) < 0)
			goto out;
	if (!strstr(nlog, "GPU memory send engine devmem")) {
		why(row, HW_FAIL, "the send comm did not take devmem TX: %s",
		    nlog_after("GPU memory send ", w, sizeof(w)));
		goto out;
	}
	why(row, HW_PASS, "%d messages of 1 B to %u KiB from GPU memory: devmem "
	    "TX from the registered dma-buf, back through the peer's relay, "
	    "devmem RX gathered on the device; every byte verified",
	    NCCL_MSGS, (NCCL_BUF - 65536) >> 10);
out:
	if (dl && net) {
		if (smh)
			net->deregMr(sc, smh);
		if (rmh)
			net->deregMr(rc, rmh);
		if (sc)
			net->closeSend(sc);
		if (rc)
			net->closeRecv(rc);	/* undoes its NIC setup */
		if (lc)
			net->closeListen(lc);
	}
	if (sfd >= 0)
		close(sfd);
	if (rfd >= 0)
		close(rfd);
	if (sb)
		hcu.free(sb);
	if (rb)
		hcu.free(rb);
	free(host);
	peer_free(&p);
	unsetenv("NCCL_DEVMEMTCP_CONNECT_VIA");
	if (old_if)
		setenv("NCCL_SOCKET_IFNAME", old_if, 1);
	else
		unsetenv("NCCL_SOCKET_IFNAME");
	free(old_if);
}

void hw_run(const struct hw_cfg *cfg, enum hw_check c, struct hw_row *row)
{
	double t0 = now();

	memset(row, 0, sizeof(*row));
	row->id = c;
	row->res = HW_FAIL;
	switch (c) {
	case HW_BIND_EMPTY:
		run_nic_check(cfg, DMT_NIC_CHECK_EMPTY_QUEUES, row);
		break;
	case HW_BIND_HDS_OFF:
		run_nic_check(cfg, DMT_NIC_CHECK_HDS_OFF, row);
		break;
	case HW_BIND:
		run_nic_check(cfg, DMT_NIC_CHECK_BIND, row);
		break;
	case HW_CHANNEL_SHRINK:
		run_nic_check(cfg, DMT_NIC_CHECK_CHANNEL_SHRINK, row);
		break;
	case HW_RX:
	case HW_RX_HDS:
		run_rx(cfg, c == HW_RX_HDS, row);
		break;
	case HW_TX:
	case HW_TX_CHUNKS:
		run_tx(cfg, c == HW_TX_CHUNKS, row);
		break;
	case HW_NCCL_DEVMEM:
		run_nccl(cfg, row);
		break;
	default:
		why(row, HW_NOT_RUN, "unknown check");
		break;
	}
	row->secs = now() - t0;
}
