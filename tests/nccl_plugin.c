// SPDX-License-Identifier: MIT
/*
 * Drive libnccl-net-devmemtcp.so as NCCL does: dlopen it, resolve the
 * versioned structs (ncclNetPlugin_v10, v9, v8), and run two processes
 * through init, devices, getProperties, listen / connect / accept polling,
 * regMr, isend / irecv / test of 0 B .. 64 MiB (receives larger than their
 * sends included), NCCL_NET_MAX_REQUESTS in flight, two interleaved comms
 * and closes, every byte verified; then bad use (a garbage handle, a handle
 * whose listener is gone, a request tested after close or twice, a send
 * larger than its receive) must give an NCCL error and a WARN line.
 *
 *   t_nccl_plugin lo      two processes over loopback
 *   t_nccl_plugin veth    two processes in private namespaces over veth
 *   t_nccl_plugin perf [lo|veth] [MiB]
 *                         throughput and CPU per GB of the plugin next to
 *                         a direct dmt_tx loop on the same path
 *   t_nccl_plugin relay   connect through a socat relay
 *                         (NCCL_DEVMEMTCP_CONNECT_VIA), as nccl-devmem does
 *   t_nccl_plugin hwcheck the nccl-devmem check of `devmemtcp selftest`
 *                         on lo and a veth: not run, with the kernel's
 *                         reason; a plugin that does not load: not run
 *   t_nccl_plugin devmem  tier C: the nccl-devmem check on devmem
 *                         hardware (DMT_TEST_IFNAME, tests/hw_env.h)
 * DMT_NCCL_PLUGIN: path of the plugin (set by CTest).
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw_env.h"	/* and helpers.h */
#include "measure.h"
#include "netns.h"
#include "../nccl/nccl_net.h"

#define DEADLINE_S 60

/* ------------------------------------------------------------------ */
/* The plugin, version-neutral                                         */
/* ------------------------------------------------------------------ */

static int ver;			/* 10, 9 or 8 */
static const ncclNet_v10_t *n10;
static const ncclNet_v9_t *n9;
static const ncclNet_v8_t *n8;
static int warns;
static char last_warn[1024];
static char last_listen[256];	/* "listening on IF ADDR:PORT" */

static void logger(ncclDebugLogLevel lvl, unsigned long flags, const char *file,
		   int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void logger(ncclDebugLogLevel lvl, unsigned long flags, const char *file,
		   int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	(void)flags;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lvl == NCCL_LOG_WARN) {
		warns++;
		snprintf(last_warn, sizeof(last_warn), "%s", msg);
	}
	if (strstr(msg, "listening on "))
		snprintf(last_listen, sizeof(last_listen), "%s",
			 strstr(msg, "listening on "));
	if (lvl == NCCL_LOG_WARN || getenv("T_VERBOSE") ||
	    (lvl == NCCL_LOG_INFO && (strstr(msg, "engine") || strstr(msg, "dev "))))
		fprintf(stderr, "[%d] %s %s:%d %s\n", getpid(),
			lvl == NCCL_LOG_WARN ? "WARN" : "INFO", file, line, msg);
}

static void load(int version)
{
	const char *path = getenv("DMT_NCCL_PLUGIN");
	void *h;

	T_CHECK(path && *path, "DMT_NCCL_PLUGIN not set");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	T_CHECK(h, "dlopen %s: %s", path, dlerror());
	ver = version;
	n10 = dlsym(h, "ncclNetPlugin_v10");
	n9 = dlsym(h, "ncclNetPlugin_v9");
	n8 = dlsym(h, "ncclNetPlugin_v8");
	T_CHECK(n10 && n9 && n8, "plugin lacks a versioned struct");
	T_CHECK(!dlsym(h, "ncclNetPlugin_v11"), "v11 exported but not declared");
	T_CHECK(!strcmp(n10->name, "devmemtcp") && !strcmp(n9->name, "devmemtcp") &&
		!strcmp(n8->name, "devmemtcp"), "plugin name");
}

static ncclResult_t p_init(void)
{
	return ver == 10 ? n10->init(logger, NULL) :
	       ver == 9 ? n9->init(logger) : n8->init(logger);
}
static ncclResult_t p_devices(int *n)
{
	return ver == 10 ? n10->devices(n) : ver == 9 ? n9->devices(n) :
	       n8->devices(n);
}
static ncclResult_t p_listen(int dev, void *h, void **l)
{
	return ver == 10 ? n10->listen(dev, h, l) : ver == 9 ? n9->listen(dev, h, l) :
	       n8->listen(dev, h, l);
}
static ncclResult_t p_connect(int dev, void *h, void **s)
{
	ncclNetDeviceHandle_t *dh = NULL;

	return ver == 10 ? n10->connect(dev, NULL, h, s, &dh) :
	       ver == 9 ? n9->connect(dev, h, s, &dh) : n8->connect(dev, h, s, &dh);
}
static ncclResult_t p_accept(void *l, void **r)
{
	ncclNetDeviceHandle_t *dh = NULL;

	return ver == 10 ? n10->accept(l, r, &dh) : ver == 9 ? n9->accept(l, r, &dh) :
	       n8->accept(l, r, &dh);
}
static ncclResult_t p_regmr(void *c, void *d, size_t sz, void **m)
{
	return ver == 10 ? n10->regMr(c, d, sz, NCCL_PTR_HOST, m) :
	       ver == 9 ? n9->regMr(c, d, sz, NCCL_PTR_HOST, m) :
	       n8->regMr(c, d, sz, NCCL_PTR_HOST, m);
}
static ncclResult_t p_deregmr(void *c, void *m)
{
	return ver == 10 ? n10->deregMr(c, m) : ver == 9 ? n9->deregMr(c, m) :
	       n8->deregMr(c, m);
}
static ncclResult_t p_isend(void *c, void *d, size_t sz, void *m, void **r)
{
	return ver == 10 ? n10->isend(c, d, sz, 0, m, NULL, r) :
	       ver == 9 ? n9->isend(c, d, sz, 0, m, r) :
	       n8->isend(c, d, (int)sz, 0, m, r);
}
static ncclResult_t p_irecv(void *c, void *d, size_t sz, void *m, void **r)
{
	int tag = 0, isz = (int)sz;

	return ver == 10 ? n10->irecv(c, 1, &d, &sz, &tag, &m, NULL, r) :
	       ver == 9 ? n9->irecv(c, 1, &d, &sz, &tag, &m, r) :
	       n8->irecv(c, 1, &d, &isz, &tag, &m, r);
}
static ncclResult_t p_test(void *r, int *done, int *size)
{
	return ver == 10 ? n10->test(r, done, size) : ver == 9 ? n9->test(r, done, size) :
	       n8->test(r, done, size);
}
static ncclResult_t p_close_send(void *c)
{
	return ver == 10 ? n10->closeSend(c) : ver == 9 ? n9->closeSend(c) :
	       n8->closeSend(c);
}
static ncclResult_t p_close_recv(void *c)
{
	return ver == 10 ? n10->closeRecv(c) : ver == 9 ? n9->closeRecv(c) :
	       n8->closeRecv(c);
}
static ncclResult_t p_close_listen(void *c)
{
	return ver == 10 ? n10->closeListen(c) : ver == 9 ? n9->closeListen(c) :
	       n8->closeListen(c);
}

static void check_props(int ndev)
{
	for (int d = 0; d < ndev; d++) {
		ncclNetProperties_v10_t p10;
		ncclNetProperties_v8_t p8;

		T_CHECK(n10->getProperties(d, &p10) == ncclSuccess, "props v10 %d", d);
		T_CHECK(n8->getProperties(d, &p8) == ncclSuccess, "props v8 %d", d);
		T_CHECK(p10.name && *p10.name && !strcmp(p10.name, p8.name), "name");
		T_CHECK(p10.ptrSupport & NCCL_PTR_HOST, "HOST pointers");
		T_CHECK(!(p10.ptrSupport & (NCCL_PTR_CUDA | NCCL_PTR_DMABUF)) ||
			(p10.ptrSupport & (NCCL_PTR_CUDA | NCCL_PTR_DMABUF)) ==
			(NCCL_PTR_CUDA | NCCL_PTR_DMABUF), "CUDA without DMABUF");
		T_CHECK(p10.speed > 0 && p10.speed == p8.speed, "speed %d", p10.speed);
		T_CHECK(p10.maxRecvs == 1 && p10.maxComms > 0, "maxRecvs/maxComms");
		T_CHECK(p10.maxP2pBytes > 0 && p10.maxCollBytes > 0, "max bytes");
		T_CHECK(p10.guid == p8.guid && p10.vProps.ndevs == 1 &&
			p10.vProps.devs[0] == d, "guid / vProps");
		T_CHECK(p10.netDeviceType == NCCL_NET_DEVICE_HOST, "device type");
		/* Virtual devices (lo, veth) have no PCI path. */
		if (!strcmp(p10.name, "lo") || !strncmp(p10.name, "dmt", 3))
			T_CHECK(p10.pciPath == NULL, "%s has a PCI path %s",
				p10.name, p10.pciPath);
	}
	ncclNetProperties_v10_t p;
	int w = warns;

	T_CHECK(n10->getProperties(ndev, &p) != ncclSuccess && warns > w,
		"getProperties of a device that does not exist");
}

static double deadline;
static void arm(void) { deadline = mono_s() + DEADLINE_S; }
static void check_time(const char *what)
{
	T_CHECK(mono_s() < deadline, "%s did not finish in %d s", what, DEADLINE_S);
}

/* ------------------------------------------------------------------ */
/* Handle exchange and the scripted exchange                           */
/* ------------------------------------------------------------------ */

static void xwrite(int fd, const void *p, size_t n)
{
	T_CHECK(write(fd, p, n) == (ssize_t)n, "pipe write: %s", strerror(errno));
}
static void xread(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);

		T_CHECK(r > 0, "pipe read: %s", r < 0 ? strerror(errno) : "EOF");
		got += (size_t)r;
	}
}

static unsigned char pat(int comm, int msg, size_t pos)
{
	return (unsigned char)(pos * 131u + (pos >> 9) + (unsigned)msg * 7u +
			       (unsigned)comm * 29u + 1u);
}
static void fill(unsigned char *b, size_t n, int comm, int msg)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(comm, msg, i);
}
static void verify(const unsigned char *b, size_t n, int comm, int msg)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(comm, msg, i))
			T_CHECK(0, "comm %d message %d: byte %zu of %zu is %#x, "
				"expected %#x", comm, msg, i, n, b[i],
				pat(comm, msg, i));
}

struct msg {
	size_t send;		/* bytes sent */
	size_t recv;		/* bytes posted (>= send) */
};
#define MiB (1024 * 1024)
static const struct msg full_script[] = {
	{ 0, 0 }, { 1, 1 }, { 7, 64 }, { 4095, 4095 }, { 4096, 8192 },
	{ 0, 4096 }, { 65535, 65535 }, { 65536, 65536 }, { 65537, 1 * MiB },
	{ MiB + 3, MiB + 3 }, { 3 * MiB + 5, 4 * MiB }, { 8 * MiB, 8 * MiB },
	{ 64 * MiB, 64 * MiB }, { 17, 64 * MiB }, { 100000, 100000 },
};
static const struct msg short_script[] = {
	{ 0, 0 }, { 1, 1 }, { 4097, 8192 }, { 65537, 65537 }, { MiB + 1, 2 * MiB },
};
static const struct msg *script;
static int nscript;
#define HALF (64 * MiB + 16384)
#define BUF (2 * HALF)
#define SIDE_BUF (1 * MiB)

/* Each comm sends from two registered regions in turn (the big one for
 * odd messages, a small one for even messages that fit), so the sender
 * switches regions on its streams. */
struct end {
	void *comm;
	unsigned char *big, *side;
	void *mbig, *mside;
	int id;
};

static unsigned char *region(struct end *e, int m, size_t need, void **mh)
{
	if ((m & 1) == 0 && need <= SIDE_BUF) {
		*mh = e->mside;
		return e->side;
	}
	/* messages in flight at once (m and m+1) never overlap; starts vary */
	*mh = e->mbig;
	return e->big + (size_t)(m & 1) * HALF + (size_t)(m % 3) * 4096;
}

static int poll_sleep_us;
static uint64_t n_tests;	/* test() calls made, for the perf report */

static void wait_req(void *req, int *size, const char *what)
{
	int done = 0;

	arm();
	while (!done) {
		ncclResult_t r = p_test(req, &done, size);

		n_tests++;

		T_CHECK(r == ncclSuccess, "test (%s) returned %d: %s", what, r,
			last_warn);
		check_time(what);
		/* NCCL's proxy thread yields when a pass made no progress
		 * (T_POLL_SLEEP_US: sleep instead, to separate the cost of
		 * polling from the cost per byte). */
		if (!done) {
			if (poll_sleep_us)
				usleep((useconds_t)poll_sleep_us);
			else
				sched_yield();
		}
	}
}

static void end_setup(struct end *e, int id)
{
	e->id = id;
	e->big = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	e->side = mmap(NULL, SIDE_BUF, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_CHECK(e->big != MAP_FAILED && e->side != MAP_FAILED, "mmap");
	T_CHECK(p_regmr(e->comm, e->big, BUF, &e->mbig) == ncclSuccess, "regMr");
	T_CHECK(p_regmr(e->comm, e->side, SIDE_BUF, &e->mside) == ncclSuccess,
		"regMr");
}

static void end_teardown(struct end *e, bool send)
{
	T_CHECK(p_deregmr(e->comm, e->mbig) == ncclSuccess, "deregMr");
	T_CHECK(p_deregmr(e->comm, e->mside) == ncclSuccess, "deregMr");
	T_CHECK((send ? p_close_send(e->comm) : p_close_recv(e->comm)) ==
		ncclSuccess, "close");
	munmap(e->big, BUF);
	munmap(e->side, SIDE_BUF);
}

/* The script on two comms, messages interleaved: A0 B0 A1 B1 ... with up
 * to two messages per comm in flight. */
static void run_script(struct end *ends, bool send)
{
	void *req[2][2] = { { 0 } };
	int msgof[2][2];

	for (int m = 0; m < nscript + 2; m++) {
		for (int k = 0; k < 2; k++) {
			struct end *e = &ends[k];
			int slot = m & 1;

			/* complete message m-2 of this comm */
			if (req[k][slot]) {
				int size = -1, mm = msgof[k][slot];
				void *mh;
				unsigned char *b = region(e, mm, script[mm].recv, &mh);

				wait_req(req[k][slot], &size, send ? "send" : "recv");
				T_CHECK((size_t)size == script[mm].send, "comm %d msg %d: "
					"size %d, sent %zu", k, mm, size,
					script[mm].send);
				if (!send)
					verify(b, script[mm].send, k, mm);
				req[k][slot] = NULL;
			}
			if (m >= nscript)
				continue;
			void *mh;
			size_t need = send ? script[m].send : script[m].recv;
			unsigned char *b = region(e, m, need, &mh);

			if (send)
				fill(b, script[m].send, k, m);
			else
				memset(b, 0xee, script[m].recv);
			arm();
			while (!req[k][slot]) {
				ncclResult_t r = send ? p_isend(e->comm, b, need, mh,
								&req[k][slot]) :
					p_irecv(e->comm, b, need, mh, &req[k][slot]);

				T_CHECK(r == ncclSuccess, "%s: %d %s", send ? "isend" :
					"irecv", r, last_warn);
				check_time("posting");
			}
			msgof[k][slot] = m;
		}
	}
}

/* NCCL_NET_MAX_REQUESTS in flight, then one more is refused (NULL). */
static void run_window(struct end *e, bool send)
{
	void *req[NCCL_NET_MAX_REQUESTS + 1];
	const size_t sz = 48 * 1024;
	void *extra = NULL;

	for (int i = 0; i < NCCL_NET_MAX_REQUESTS; i++) {
		unsigned char *b = e->big + (size_t)i * sz;

		if (send)
			fill(b, sz, 7, i);
		else
			memset(b, 0, sz);
		req[i] = NULL;
		T_CHECK((send ? p_isend(e->comm, b, sz, e->mbig, &req[i]) :
			 p_irecv(e->comm, b, sz, e->mbig, &req[i])) == ncclSuccess &&
			req[i], "request %d of %d refused", i, NCCL_NET_MAX_REQUESTS);
	}
	T_CHECK((send ? p_isend(e->comm, e->side, 1, e->mside, &extra) :
		 p_irecv(e->comm, e->side, 1, e->mside, &extra)) == ncclSuccess &&
		!extra, "request %d accepted", NCCL_NET_MAX_REQUESTS + 1);
	for (int i = 0; i < NCCL_NET_MAX_REQUESTS; i++) {
		int size = -1;

		wait_req(req[i], &size, "window");
		T_CHECK((size_t)size == sz, "window size %d", size);
		if (!send)
			verify(e->big + (size_t)i * sz, sz, 7, i);
	}
}

static void *accept_poll(void *lc)
{
	void *rc = NULL;

	arm();
	while (!rc) {
		T_CHECK(p_accept(lc, &rc) == ncclSuccess, "accept: %s", last_warn);
		check_time("accept");
	}
	return rc;
}

static void *connect_poll(int dev, void *handle)
{
	void *sc = NULL;

	arm();
	while (!sc) {
		T_CHECK(p_connect(dev, handle, &sc) == ncclSuccess, "connect: %s",
			last_warn);
		check_time("connect");
	}
	return sc;
}

static int init_dev0(void)
{
	int ndev = 0;

	T_CHECK(p_init() == ncclSuccess, "init: %s", last_warn);
	T_CHECK(p_devices(&ndev) == ncclSuccess && ndev >= 1, "devices: %d", ndev);
	check_props(ndev);
	return 0;
}

static int receiver(int fd)
{
	char h[3][NCCL_NET_HANDLE_MAXSIZE];
	void *lc[3];
	struct end e[2];
	int w;

	alarm(120);
	init_dev0();
	for (int i = 0; i < 3; i++) {
		T_CHECK(p_listen(0, h[i], &lc[i]) == ncclSuccess, "listen");
		xwrite(fd, h[i], sizeof(h[i]));
	}
	e[0].comm = accept_poll(lc[0]);
	e[1].comm = accept_poll(lc[1]);
	end_setup(&e[0], 0);
	end_setup(&e[1], 1);
	run_script(e, false);
	run_window(&e[0], false);
	end_teardown(&e[1], false);

	/* Bad use, receiving side: a send larger than its receive. */
	struct end c = { .comm = accept_poll(lc[2]) };
	void *req = NULL, *mh;
	int done = 0, size;
	ncclResult_t r = ncclSuccess;

	end_setup(&c, 2);
	w = warns;
	T_CHECK(p_irecv(c.comm, c.big, 4096, c.mbig, &req) == ncclSuccess && req,
		"irecv");
	arm();
	while (r == ncclSuccess && !done) {
		r = p_test(req, &done, &size);
		check_time("oversized send");
	}
	T_CHECK(r == ncclInvalidUsage && warns > w && strstr(last_warn, "fit"),
		"send larger than receive: result %d, warn \"%s\"", r, last_warn);
	mh = c.mbig;
	(void)mh;
	end_teardown(&c, false);
	/* Closed while idle: comm 0 after its window. */
	end_teardown(&e[0], false);

	/* A handle whose listener is gone: the sender must fail to connect. */
	char dead[NCCL_NET_HANDLE_MAXSIZE];
	void *dl;

	T_CHECK(p_listen(0, dead, &dl) == ncclSuccess, "listen");
	T_CHECK(p_close_listen(dl) == ncclSuccess, "closeListen");
	xwrite(fd, dead, sizeof(dead));
	for (int i = 0; i < 3; i++)
		T_CHECK(p_close_listen(lc[i]) == ncclSuccess, "closeListen");
	xread(fd, &done, sizeof(done));	/* the sender is through */
	return 0;
}

static int sender(int fd)
{
	char h[3][NCCL_NET_HANDLE_MAXSIZE];
	struct end e[2];
	int w;

	alarm(120);
	init_dev0();
	for (int i = 0; i < 3; i++)
		xread(fd, h[i], sizeof(h[i]));

	/* A garbage handle is refused with a WARN, not followed. */
	char junk[NCCL_NET_HANDLE_MAXSIZE];
	void *sc = NULL;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	w = warns;
	T_CHECK(p_connect(0, junk, &sc) == ncclInvalidArgument && !sc && warns > w,
		"garbage handle accepted");
	/* A handle changed in transit (one byte) is refused too. */
	memcpy(junk, h[0], sizeof(junk));
	junk[20] ^= 0x40;
	w = warns;
	T_CHECK(p_connect(0, junk, &sc) == ncclInvalidArgument && !sc && warns > w,
		"corrupted handle accepted");

	e[0].comm = connect_poll(0, h[0]);
	e[1].comm = connect_poll(0, h[1]);
	end_setup(&e[0], 0);
	end_setup(&e[1], 1);
	run_script(e, true);
	run_window(&e[0], true);
	end_teardown(&e[1], true);

	/* A send larger than its receive (the receiver reports it). */
	struct end c = { .comm = connect_poll(0, h[2]) };
	void *req = NULL;
	int done = 0, size;

	end_setup(&c, 2);
	fill(c.big, 8192, 0, 0);
	T_CHECK(p_isend(c.comm, c.big, 8192, c.mbig, &req) == ncclSuccess && req,
		"isend");
	wait_req(req, &size, "oversized send");
	/* Tested again after it completed: refused. */
	w = warns;
	T_CHECK(p_test(req, &done, &size) == ncclInvalidUsage && warns > w,
		"completed request tested again");
	/* A request tested after its comm was closed: refused, no crash. */
	req = NULL;
	T_CHECK(p_isend(c.comm, c.side, 0, c.mside, &req) == ncclSuccess && req,
		"isend");
	end_teardown(&c, true);
	w = warns;
	T_CHECK(p_test(req, &done, &size) == ncclInvalidUsage && warns > w,
		"request tested after close");
	/* A request number never handed out. */
	w = warns;
	T_CHECK(p_test((void *)(uintptr_t)0x12345678, &done, &size) ==
		ncclInvalidUsage && warns > w, "made-up request");
	end_teardown(&e[0], true);

	/* The handle of a closed listener. */
	char dead[NCCL_NET_HANDLE_MAXSIZE];
	ncclResult_t r = ncclSuccess;

	xread(fd, dead, sizeof(dead));
	w = warns;
	arm();
	sc = NULL;
	while (r == ncclSuccess && !sc) {
		r = p_connect(0, dead, &sc);
		check_time("connect to a closed listener");
	}
	T_CHECK(r == ncclSystemError && !sc && warns > w,
		"connect to a closed listener: %d", r);
	xwrite(fd, &done, sizeof(done));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Two processes                                                       */
/* ------------------------------------------------------------------ */

struct side_arg {
	int fd;
	int version;
	const char *ifname;
	bool send;
	int (*fn)(int);
};

static int side_main(void *p)
{
	struct side_arg *a = p;

	setenv("NCCL_SOCKET_IFNAME", a->ifname, 1);
	int ret;

	load(a->version);
	ret = a->fn(a->fd);
	fflush(stdout);
	return ret;
}

static int run_pair(struct netpair *np, int version, int (*rfn)(int),
		    int (*sfn)(int))
{
	int sv[2], rs, ss;
	pid_t rp, sp;
	struct side_arg ra, sa;

	T_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
		"socketpair");
	ra = (struct side_arg){ .fd = sv[0], .version = version,
				.ifname = np ? "=dmt1" : "=lo", .fn = rfn };
	sa = (struct side_arg){ .fd = sv[1], .version = version,
				.ifname = np ? "=dmt0" : "=lo", .send = true,
				.fn = sfn };
	if (np) {
		T_CHECK(netpair_run(np, 1, side_main, &ra, &rp) == 0, "netpair_run");
		T_CHECK(netpair_run(np, 0, side_main, &sa, &sp) == 0, "netpair_run");
	} else {
		rp = fork();
		if (rp == 0)
			_exit(side_main(&ra));
		sp = fork();
		if (sp == 0)
			_exit(side_main(&sa));
		T_CHECK(rp > 0 && sp > 0, "fork");
	}
	close(sv[0]);
	close(sv[1]);
	/* When one side fails, the other would wait for it: end it. */
	rs = ss = -1;
	while (rs < 0 || ss < 0) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		int code;

		if (p < 0)
			break;
		if (p != rp && p != sp)
			continue;
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (p == rp)
			rs = code;
		else
			ss = code;
		if (code != 0)
			kill(p == rp ? sp : rp, SIGKILL);
	}
	if (rs || ss)
		fprintf(stderr, "v%d: receiver exit %d, sender exit %d\n", version,
			rs, ss);
	return rs || ss ? T_FAIL : T_PASS;
}

/* ------------------------------------------------------------------ */
/* Device selection (NCCL_SOCKET_IFNAME), inside namespace A: lo, dmt0  */
/* ------------------------------------------------------------------ */

/* init in a fresh process with NCCL_SOCKET_IFNAME=spec (NULL: unset):
 * the device names it found, "" when init failed (and a WARN came). */
static void devices_with(const char *spec, char *out, size_t outlen)
{
	int pfd[2];
	pid_t pid;

	T_CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char names[256] = "";
		int n = 0;

		if (spec)
			setenv("NCCL_SOCKET_IFNAME", spec, 1);
		else
			unsetenv("NCCL_SOCKET_IFNAME");
		load(10);
		if (p_init() == ncclSuccess && p_devices(&n) == ncclSuccess) {
			for (int d = 0; d < n; d++) {
				ncclNetProperties_v10_t p;

				n10->getProperties(d, &p);
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", d ? "," : "", p.name);
			}
		} else if (!warns) {
			snprintf(names, sizeof(names), "init failed without a WARN");
		}
		xwrite(pfd[1], names, sizeof(names));
		_exit(0);
	}
	close(pfd[1]);
	memset(out, 0, outlen);
	xread(pfd[0], out, outlen < 256 ? outlen : 256);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
}

/* init in a fresh process with NCCL_DEVMEMTCP_ENGINE=name: its result,
 * and whether a WARN came. */
static ncclResult_t init_with_engine(const char *name, bool *warned)
{
	int pfd[2], res[2] = { -1, 0 };
	pid_t pid;

	T_CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		setenv("NCCL_DEVMEMTCP_ENGINE", name, 1);
		load(10);
		res[0] = p_init();
		res[1] = warns;
		xwrite(pfd[1], res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	xread(pfd[0], res, sizeof(res));
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	*warned = res[1] > 0;
	return (ncclResult_t)res[0];
}

static int ifname_checks(void *arg)
{
	static const struct { const char *spec, *want; } cases[] = {
		{ NULL, "dmt0" },	/* default: lo only when nothing else */
		{ "dmt", "dmt0" },	/* prefix */
		{ "=dmt", "" },		/* exact: no such interface, init fails */
		{ "=dmt0", "dmt0" },
		{ "^dmt", "lo" },	/* exclude a prefix */
		{ "^=dmt0", "lo" },	/* exclude an exact name */
		{ "lo,dmt0", "lo,dmt0" },
		{ "dmt0:5000", "dmt0" },	/* a port suffix is ignored */
		{ "nosuch", "" },
	};
	char got[256];

	(void)arg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		devices_with(cases[i].spec, got, sizeof(got));
		T_CHECK(!strcmp(got, cases[i].want), "NCCL_SOCKET_IFNAME=%s: "
			"devices \"%s\", expected \"%s\"", cases[i].spec ?
			cases[i].spec : "(unset)", got, cases[i].want);
	}
	printf("NCCL_SOCKET_IFNAME: %zu selections as NCCL's socket transport "
	       "makes them\n", sizeof(cases) / sizeof(cases[0]));
	/* NCCL_DEVMEMTCP_ENGINE names a host-memory engine: devmem is taken
	 * per region (dma-bufs), never for host memory. */
	for (int i = 0; i < 2; i++) {
		const char *bad = i ? "nosuch" : "devmem";
		bool warned;
		ncclResult_t r = init_with_engine(bad, &warned);

		T_CHECK(r == ncclInvalidArgument && warned, "init with "
			"NCCL_DEVMEMTCP_ENGINE=%s: %d%s, expected "
			"ncclInvalidArgument and a WARN", bad, r,
			warned ? "" : " without a WARN");
	}
	T_CHECK(init_with_engine("copy", &(bool){ false }) == ncclSuccess,
		"init with NCCL_DEVMEMTCP_ENGINE=copy failed");
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Throughput: the plugin next to a direct dmt_tx loop                 */
/* ------------------------------------------------------------------ */

#define PERF_MSG (4 * MiB)
#define PERF_WIN 8
#define PERF_ROUNDS 5
static int perf_mib = 512;	/* per round and path */

struct perf {
	double secs, cpu;
	double tests;		/* plugin: test() calls per message */
};

static int perf_n(void)
{
	return perf_mib / (PERF_MSG / MiB);
}

/* One round through the plugin: perf_n() messages, PERF_WIN in flight. */
static struct perf plugin_round(void *comm, unsigned char *buf, void *mh,
				bool send)
{
	void *req[PERF_WIN] = { 0 };
	int n = perf_n(), size;
	struct perf p;
	double t0 = mono_s(), c0 = cpu_self_s();
	uint64_t t_0 = n_tests;

	for (int i = 0; i < n + PERF_WIN; i++) {
		void **r = &req[i % PERF_WIN];
		unsigned char *b = buf + (size_t)(i % PERF_WIN) * PERF_MSG;

		if (i >= PERF_WIN) {
			wait_req(*r, &size, "perf");
			*r = NULL;
		}
		arm();
		while (i < n && !*r) {
			T_CHECK((send ? p_isend(comm, b, PERF_MSG, mh, r) :
				 p_irecv(comm, b, PERF_MSG, mh, r)) == ncclSuccess,
				"post: %s", last_warn);
			check_time("perf post");
		}
	}
	p.secs = mono_s() - t0;
	p.cpu = cpu_self_s() - c0;
	p.tests = (double)(n_tests - t_0) / n;
	return p;
}

static int perf_recv(int fd)
{
	char h[NCCL_NET_HANDLE_MAXSIZE];
	void *lc, *rc, *mh;
	unsigned char *buf = malloc(PERF_WIN * PERF_MSG);
	uint64_t total = (uint64_t)perf_n() * PERF_MSG;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int port, lfd, cfd;
	struct perf p;

	T_CHECK(buf, "malloc");
	init_dev0();
	T_CHECK(p_listen(0, h, &lc) == ncclSuccess, "listen");
	xwrite(fd, h, sizeof(h));
	rc = accept_poll(lc);
	T_CHECK(p_regmr(rc, buf, PERF_WIN * PERF_MSG, &mh) == ncclSuccess, "regMr");
	/* Direct: a plain TCP receiver reading into the same memory, as the
	 * plugin's host receive does. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		listen(lfd, 1) == 0 &&
		getsockname(lfd, (struct sockaddr *)&a, &al) == 0, "listen");
	port = ntohs(a.sin_port);
	xwrite(fd, &port, sizeof(port));
	cfd = accept(lfd, NULL, NULL);
	T_CHECK(cfd >= 0, "accept");
	for (int round = -1; round < PERF_ROUNDS; round++) {	/* -1: warm-up */
		uint64_t got = 0;
		double t0, c0;

		p = plugin_round(rc, buf, mh, false);
		xwrite(fd, &p, sizeof(p));
		t0 = mono_s();
		c0 = cpu_self_s();
		while (got < total) {
			size_t at = (size_t)(got % ((uint64_t)PERF_WIN * PERF_MSG));
			ssize_t r = recv(cfd, buf + at, PERF_WIN * PERF_MSG - at, 0);

			T_CHECK(r > 0, "direct recv");
			got += (uint64_t)r;
		}
		p.secs = mono_s() - t0;
		p.cpu = cpu_self_s() - c0;
		p.tests = 0;
		xwrite(fd, &p, sizeof(p));
	}
	close(cfd);
	close(lfd);
	p_deregmr(rc, mh);
	p_close_recv(rc);
	p_close_listen(lc);
	free(buf);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int perf_send(int fd)
{
	char h[NCCL_NET_HANDLE_MAXSIZE];
	void *sc, *mh;
	unsigned char *buf = malloc(PERF_WIN * PERF_MSG);
	int n = perf_n(), port, cfd;
	double gb = (double)n * PERF_MSG / 1e9;
	double pt[PERF_ROUNDS], dt[PERF_ROUNDS], pc[PERF_ROUNDS], dc[PERF_ROUNDS];
	double rt[PERF_ROUNDS], rc[PERF_ROUNDS];
	struct dmt_error err;
	struct dmt_ctx *ctx;
	struct dmt_buf *b;
	struct dmt_tx *tx;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	const char *peer = getenv("T_PEER");

	T_CHECK(buf, "malloc");
	memset(buf, 0x5a, PERF_WIN * PERF_MSG);
	init_dev0();
	xread(fd, h, sizeof(h));
	sc = connect_poll(0, h);
	T_CHECK(p_regmr(sc, buf, PERF_WIN * PERF_MSG, &mh) == ncclSuccess, "regMr");
	/* Direct: one dmt_tx with the engine the plugin takes (auto), from
	 * the same memory (dmt_buf_wrap), blocking sends of the same size on
	 * one stream, the same number in flight. */
	ctx = dmt_ctx_new(NULL, &err);
	T_CHECK(ctx, "%s", err.message);
	b = dmt_buf_wrap(buf, PERF_WIN * PERF_MSG, &err);
	T_CHECK(b, "%s", err.message);
	xread(fd, &port, sizeof(port));
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, peer ? peer : "127.0.0.1", &dst.sin_addr);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_CHECK(connect(cfd, (struct sockaddr *)&dst, sizeof(dst)) == 0,
		"direct connect: %s", strerror(errno));
	tx = dmt_tx_from_fd(ctx, b, cfd, NULL, &err);
	T_CHECK(tx, "%s", err.message);
	printf("direct dmt_tx engine %s\n", dmt_engine_name(dmt_tx_engine(tx)));
	for (int round = -1; round < PERF_ROUNDS; round++) {	/* -1: warm-up */
		struct perf ps, pr, ds, dr;
		double t0, c0;

		ps = plugin_round(sc, buf, mh, true);
		xread(fd, &pr, sizeof(pr));
		t0 = mono_s();
		c0 = cpu_self_s();
		for (int i = 0; i < n; i++) {
			struct dmt_seg s = { .off = (uint64_t)(i % PERF_WIN) * PERF_MSG,
					     .len = PERF_MSG };

			T_CHECK(dmt_tx_wait_region(tx, s.off, s.len, 10000) == 0,
				"wait");
			T_CHECK(dmt_tx_send(tx, &s, 1) == PERF_MSG, "direct send: %s",
				dmt_tx_last_error(tx)->message);
		}
		T_CHECK(dmt_tx_flush(tx, 10000) == 0, "flush");
		ds.secs = mono_s() - t0;
		ds.cpu = cpu_self_s() - c0;
		xread(fd, &dr, sizeof(dr));
		if (round < 0)
			continue;
		pt[round] = gb * 8 / (ps.secs > pr.secs ? ps.secs : pr.secs);
		dt[round] = gb * 8 / (ds.secs > dr.secs ? ds.secs : dr.secs);
		pc[round] = (ps.cpu + pr.cpu) / gb;
		dc[round] = (ds.cpu + dr.cpu) / gb;
		rt[round] = (dt[round] / pt[round] - 1) * 100;
		rc[round] = (pc[round] / dc[round] - 1) * 100;
		printf("round %d: plugin %.2f Gb/s %.3f CPU s/GB (send %.3f recv "
		       "%.3f; test() calls per message: send %.0f recv %.0f) | "
		       "direct %.2f Gb/s %.3f CPU s/GB (send %.3f recv %.3f)\n",
		       round, pt[round], pc[round], ps.cpu / gb, pr.cpu / gb,
		       ps.tests, pr.tests, dt[round], dc[round], ds.cpu / gb,
		       dr.cpu / gb);
	}
	printf("median of %d rounds of %.2f GB in %d MiB messages: plugin %.2f "
	       "Gb/s %.3f CPU s/GB, direct %.2f Gb/s %.3f CPU s/GB\n", PERF_ROUNDS,
	       gb, PERF_MSG / MiB, median(pt, PERF_ROUNDS), median(pc, PERF_ROUNDS),
	       median(dt, PERF_ROUNDS), median(dc, PERF_ROUNDS));
	printf("plugin overhead (median of per-round ratios): time per byte "
	       "%+.1f%%, CPU per GB %+.1f%%\n", median(rt, PERF_ROUNDS),
	       median(rc, PERF_ROUNDS));
	dmt_tx_free(tx);
	close(cfd);
	dmt_buf_free(b);
	dmt_ctx_free(ctx);
	p_deregmr(sc, mh);
	p_close_send(sc);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The nccl-devmem check of devmemtcp selftest                         */
/* ------------------------------------------------------------------ */

struct hw_case {
	const char *ifname, *peer, *plugin;
	const char *want;	/* in the reason */
};

/* Run the check in a child (the plugin's state is per process) and
 * compare its row with the case. */
static int hw_case_run(void *arg)
{
	const struct hw_case *k = arg;
	struct hw_cfg cfg = { .ifname = k->ifname, .peer = k->peer,
			      .ssh = "nobody@198.18.0.9", .timeout_s = 5,
			      .nccl_plugin = k->plugin };
	struct hw_row row;

	hw_run(&cfg, HW_NCCL_DEVMEM, &row);
	printf("nccl-devmem on %s: %s: %s\n", k->ifname,
	       hw_result_name(row.res), row.reason);
	fflush(stdout);
	T_CHECK(row.id == HW_NCCL_DEVMEM && row.res == HW_NOT_RUN,
		"%s: %s, want not run", k->ifname, hw_result_name(row.res));
	T_CHECK(strstr(row.reason, k->want), "%s: reason \"%s\" lacks \"%s\"",
		k->ifname, row.reason, k->want);
	T_CHECK(!getenv("NCCL_DEVMEMTCP_CONNECT_VIA") &&
		!getenv("NCCL_SOCKET_IFNAME"), "the check left its settings");
	return 0;
}

static int hw_case_fork(struct netpair *np, const struct hw_case *k)
{
	int st = 0;
	pid_t pid;

	if (np) {
		T_CHECK(netpair_run(np, 0, hw_case_run, (void *)k, &pid) == 0,
			"netns run");
	} else {
		pid = fork();
		T_CHECK(pid >= 0, "fork");
		if (!pid)
			_exit(hw_case_run((void *)k));
	}
	T_CHECK(waitpid(pid, &st, 0) == pid, "wait");
	return WIFEXITED(st) ? WEXITSTATUS(st) : T_FAIL;
}

static int hwcheck_mode(void)
{
	const char *plugin = getenv("DMT_NCCL_PLUGIN");
	/* The reasons are the kernel's and the plugin's own: lo has no
	 * queues; veth has neither netmem TX (the plugin asks doctor for
	 * TX first) nor header split. */
	const struct hw_case lo = { "lo", "127.0.0.1", plugin,
				    "loopback has no devmem queues" };
	const struct hw_case veth = { "dmt0", "198.18.0.2", plugin,
				      "does not support netmem TX" };
	const struct hw_case gone = { "lo", "127.0.0.1",
				      "/nonexistent/libnccl-net-devmemtcp.so",
				      "the NCCL plugin does not load" };
	struct netpair np;
	int ret = T_PASS;

	t_require_root();
	unsetenv("NCCL_SOCKET_IFNAME");
	ret |= hw_case_fork(NULL, &lo);
	ret |= hw_case_fork(NULL, &gone);
	t_netpair(&np);
	ret |= hw_case_fork(&np, &veth);
	netpair_destroy(&np);
	if (ret == T_PASS)
		printf("PASS: nccl-devmem is not run here, with the reason\n");
	return ret;
}

static int devmem_mode(void)
{
	static const enum hw_check c[] = { HW_NCCL_DEVMEM };
	struct hw_cfg cfg;
	const char *dev = getenv("DMT_TEST_GPU_DEVICE");

	hw_env(&cfg, DMT_BUF_CUDA, dev ? atoi(dev) : 0);
	cfg.nccl_plugin = getenv("DMT_NCCL_PLUGIN");
	T_SKIP_IF(!cfg.ssh, "nccl-devmem needs DMT_TEST_SSH: the peer relays "
		  "the plugin's connections back (an echo service cannot)");
	return hw_run_list(&cfg, c, ARRAY_SIZE(c), "nccl_plugin_devmem");
}

/* ------------------------------------------------------------------ */
/* NCCL_DEVMEMTCP_CONNECT_VIA through socat, as nccl-devmem does       */
/* ------------------------------------------------------------------ */

static int relay_mode(void)
{
	static const char *const bad[] = { "127.0.0.1", "127.0.0.1:0",
					   "127.0.0.1:70000", "nohost:5000",
					   "[::1:5000", ":5000" };
	static const size_t sizes[] = { 0, 1, 4099, 200000, 3 * MiB + 5 };
	char h[NCCL_NET_HANDLE_MAXSIZE], cmd[256], via[64];
	unsigned char *sb, *rb;
	void *lc, *sc = NULL, *rc = NULL, *smh, *rmh;
	unsigned long lport;
	int rport = 20000 + (int)(getpid() % 20000), w, size;
	pid_t relay;

	T_SKIP_IF(system("command -v socat >/dev/null 2>&1") != 0,
		  "socat is not installed (the relay of nccl-devmem)");
	setenv("NCCL_SOCKET_IFNAME", "=lo", 1);
	load(10);
	init_dev0();
	/* A malformed relay address: refused at connect, with a WARN. */
	T_CHECK(p_listen(0, h, &lc) == ncclSuccess, "listen");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NCCL_DEVMEMTCP_CONNECT_VIA", bad[i], 1);
		w = warns;
		T_CHECK(p_connect(0, h, &sc) == ncclInvalidArgument && !sc &&
			warns > w && strstr(last_warn, "CONNECT_VIA"),
			"NCCL_DEVMEMTCP_CONNECT_VIA=%s accepted", bad[i]);
	}
	/* The relay the peer runs in nccl-devmem, here on loopback. */
	T_CHECK(strrchr(last_listen, ':'), "no listening line: %s", last_listen);
	lport = strtoul(strrchr(last_listen, ':') + 1, NULL, 10);
	snprintf(cmd, sizeof(cmd), "TCP4-LISTEN:%d,fork,reuseaddr,bind=127.0.0.1",
		 rport);
	snprintf(via, sizeof(via), "TCP4:127.0.0.1:%lu", lport);
	relay = fork();
	T_CHECK(relay >= 0, "fork");
	if (!relay) {
		execlp("timeout", "timeout", "60", "socat", cmd, via, (char *)NULL);
		_exit(127);
	}
	snprintf(via, sizeof(via), "127.0.0.1:%d", rport);
	setenv("NCCL_DEVMEMTCP_CONNECT_VIA", via, 1);
	arm();
	while (!sc || !rc) {
		/* refused until socat listens: connect again */
		if (!sc && p_connect(0, h, &sc) != ncclSuccess)
			usleep(100000);
		if (!rc)
			T_CHECK(p_accept(lc, &rc) == ncclSuccess, "accept: %s",
				last_warn);
		check_time("connect through the relay");
	}
	sb = malloc(4 * MiB);
	rb = malloc(4 * MiB);
	T_CHECK(sb && rb, "malloc");
	T_CHECK(p_regmr(sc, sb, 4 * MiB, &smh) == ncclSuccess &&
		p_regmr(rc, rb, 4 * MiB, &rmh) == ncclSuccess, "regMr");
	for (size_t m = 0; m < sizeof(sizes) / sizeof(sizes[0]); m++) {
		void *sr = NULL, *rr = NULL;
		int sd = 0, rd = 0;

		fill(sb, sizes[m], 9, (int)m);
		memset(rb, 0, sizes[m] + 1);
		arm();
		while (!rr || !sr) {
			T_CHECK((!rr ? p_irecv(rc, rb, 4 * MiB, rmh, &rr) :
				 p_isend(sc, sb, sizes[m], smh, &sr)) == ncclSuccess,
				"post: %s", last_warn);
			check_time("post");
		}
		arm();
		while (!sd || !rd) {
			T_CHECK(sd || p_test(sr, &sd, NULL) == ncclSuccess, "test: %s",
				last_warn);
			T_CHECK(rd || p_test(rr, &rd, &size) == ncclSuccess, "test: %s",
				last_warn);
			check_time("message through the relay");
		}
		T_CHECK(size == (int)sizes[m], "received %d of %zu", size, sizes[m]);
		verify(rb, sizes[m], 9, (int)m);
		T_CHECK(rb[sizes[m]] == 0, "byte past the message written");
	}
	p_deregmr(sc, smh);
	p_deregmr(rc, rmh);
	p_close_send(sc);
	p_close_recv(rc);
	p_close_listen(lc);
	kill(relay, SIGTERM);
	waitpid(relay, NULL, 0);
	free(sb);
	free(rb);
	printf("PASS: %zu messages through a socat relay "
	       "(NCCL_DEVMEMTCP_CONNECT_VIA), every byte verified; %zu malformed "
	       "relay addresses refused\n", sizeof(sizes) / sizeof(sizes[0]),
	       sizeof(bad) / sizeof(bad[0]));
	return T_PASS;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "lo";
	struct netpair np, *npp = NULL;
	int ret = T_PASS;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("T_POLL_SLEEP_US"))
		poll_sleep_us = atoi(getenv("T_POLL_SLEEP_US"));
	T_SKIP_IF(!getenv("DMT_NCCL_PLUGIN"), "DMT_NCCL_PLUGIN not set (run "
		  "through ctest)");
	if (!strcmp(mode, "hwcheck"))
		return hwcheck_mode();
	if (!strcmp(mode, "relay"))
		return relay_mode();
	if (!strcmp(mode, "devmem"))
		return devmem_mode();
	if (!strcmp(mode, "perf")) {
		if (argc > 2 && !strcmp(argv[2], "veth")) {
			t_require_root();
			t_netpair(&np);
			npp = &np;
			setenv("T_PEER", "198.18.0.2", 1);
		}
		if (argc > 3 && atoi(argv[3]) >= PERF_WIN * PERF_MSG / MiB)
			perf_mib = atoi(argv[3]);
		setenv("NCCL_DEVMEMTCP_NSOCKS", "1", 0);
		ret = run_pair(npp, 10, perf_recv, perf_send);
		if (npp)
			netpair_destroy(npp);
		return ret;
	}
	if (!strcmp(mode, "veth")) {
		t_require_root();
		t_netpair(&np);
		npp = &np;
		if (netpair_run(npp, 0, ifname_checks, NULL, NULL) != 0) {
			netpair_destroy(npp);
			T_CHECK(0, "device selection");
		}
	}
	/* The newest version with every size, the older ones with a short
	 * script: each struct's own entry points are exercised. */
	script = full_script;
	nscript = (int)(sizeof(full_script) / sizeof(full_script[0]));
	printf("ncclNet_v10 over %s\n", npp ? "veth" : "loopback");
	fflush(stdout);
	ret |= run_pair(npp, 10, receiver, sender);
	script = short_script;
	nscript = (int)(sizeof(short_script) / sizeof(short_script[0]));
	for (int v = 9; v >= 8 && ret == T_PASS; v--) {
		printf("ncclNet_v%d over %s\n", v, npp ? "veth" : "loopback");
		fflush(stdout);
		ret |= run_pair(npp, v, receiver, sender);
	}
	if (npp)
		netpair_destroy(npp);
	if (ret == T_PASS)
		printf("PASS: every byte verified\n");
	return ret;
}
