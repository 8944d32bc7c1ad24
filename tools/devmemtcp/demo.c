// SPDX-License-Identifier: MIT
/*
 * devmemtcp demo: a server and a client in two private network namespaces
 * joined by a veth pair (loopback when not root), engine auto, at least
 * 1 GiB of the ncdevmem pattern verified by the server. Prints the engine
 * chosen, why devmem is or is not available here, throughput and CPU
 * seconds per GB. The namespaces are anonymous and held by child processes,
 * so they vanish on exit, on Ctrl-C and on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"
#include "netns.h"

#define DEMO_V 251		/* pattern modulus (a prime: no alignment luck) */
#define DEMO_PORT 5201
#define DEMO_DEADLINE_S 120	/* the whole demo, a hard bound */

struct probe {
	bool done;
	int bind_ret;		/* dmt_ctx_bind_tx() with a memfd */
	char ifname[IF_NAMESIZE];
	char extack[256];
	char message[512];
	char error[600];	/* the probe itself could not run */
};

struct shared {
	struct xfer_result res[2];	/* 0 client, 1 server */
	struct probe probe;
};

/* What was asked on the command line. */
struct demo_args {
	uint64_t size;
	enum dmt_engine eng;
	struct buf_choice bufc;
	bool have_buf, loopback, json;
};

/* One demo run: its topology, children and what they reported. */
struct demo {
	const struct demo_args *a;
	struct netpair np;
	bool ns;		/* namespaces made (else loopback) */
	const char *srv_addr;
	struct shared *sh;	/* shared with the children */
	struct client_cfg cc;
	struct server_cfg sc;
	int ready[2];		/* the server writes its port when listening */
	pid_t spid, cpid;
	int st_s, st_c;		/* their exit statuses, -1 before */
	struct cpu_snap m0;	/* the machine's CPU at the client's start */
	double mach_s;		/* ... busy seconds since */
	bool exp_ok;		/* a dma-buf exporter exists */
	char exporter[256];
	char note[1400];	/* what the reader should know first */
	char err[1200];		/* why the run failed */
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	g_stop = sig;
}

/* In the client's namespace: what does bind-tx say about the egress
 * device? A memfd is not a dma-buf, but the kernel checks the driver
 * first (host-facts.md §2), so a driver without netmem TX answers
 * EOPNOTSUPP "Driver does not support netmem TX" whatever the fd. */
static int probe_fn(void *arg)
{
	struct demo *d = arg;
	struct probe *p = &d->sh->probe;
	struct sockaddr_storage dst;
	struct dmt_error err = { 0 };
	struct dmt_ctx *ctx;
	socklen_t dl;
	uint32_t id = 0;
	int ifindex = 0, fd;

	parse_addr(d->srv_addr, DEMO_PORT, AF_UNSPEC, &dst, &dl);
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		snprintf(p->error, sizeof(p->error), "%s", err.message);
		return 1;
	}
	if (dmt_ctx_route_egress(ctx, (struct sockaddr *)&dst, dl, &ifindex) < 0) {
		snprintf(p->error, sizeof(p->error), "route lookup: %s",
			 dmt_ctx_last_error(ctx)->message);
		dmt_ctx_free(ctx);
		return 1;
	}
	if_indextoname((unsigned int)ifindex, p->ifname);
	fd = memfd_create("devmemtcp-demo-probe", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 4096) < 0) {
		snprintf(p->error, sizeof(p->error), "memfd: %s", strerror(errno));
		dmt_ctx_free(ctx);
		return 1;
	}
	p->bind_ret = dmt_ctx_bind_tx(ctx, ifindex, fd, &id);
	snprintf(p->extack, sizeof(p->extack), "%s",
		 dmt_ctx_last_error(ctx)->extack);
	snprintf(p->message, sizeof(p->message), "%s",
		 dmt_ctx_last_error(ctx)->message);
	p->done = true;
	close(fd);
	dmt_ctx_free(ctx);
	return 0;
}

static int server_fn(void *arg)
{
	struct demo *d = arg;

	close(d->ready[0]);
	cli_catch_stop();	/* a signal ends the run with its report */
	return server_run(&d->sc);
}

static int client_fn(void *arg)
{
	struct demo *d = arg;

	signal(SIGPIPE, SIG_IGN);
	cli_catch_stop();
	return client_run(&d->cc);
}

/* Run fn in a child: inside a namespace side, or here (loopback). */
static int spawn(struct demo *d, int side, int (*fn)(void *), pid_t *pid)
{
	if (d->ns)
		return netpair_run(&d->np, side, fn, d, pid);
	fflush(NULL);
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(d));
	}
	return 0;
}

/* Wait for pid; 0 with *status, or -EINTR when a stop signal came. */
static int wait_child(pid_t pid, int *status)
{
	int st;

	for (;;) {
		if (g_stop)
			return -EINTR;
		if (waitpid(pid, &st, 0) == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) :
						  128 + WTERMSIG(st);
			return 0;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/* Ask a child to stop (SIGTERM: it ends its run and reports into shared
 * memory); SIGKILL after 5 s. */
static void stop_child(pid_t *pid, int *status)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		int st;

		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) :
						  128 + WTERMSIG(st);
			*pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

static void kill_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	*pid = 0;
}

static bool have_exporter(const struct buf_choice *b, char *what, size_t len)
{
	bool u = access("/dev/udmabuf", F_OK) == 0;
	bool h = access("/dev/dma_heap", F_OK) == 0;

	if (buf_choice_gpu(b)) {
		snprintf(what, len, "the %s runtime (GPU memory exported as a "
			 "dma-buf)", b->kind == DMT_BUF_CUDA ? "CUDA" : "ROCm");
		return true;
	}
	if (u || h) {
		snprintf(what, len, "%s%s%s", u ? "/dev/udmabuf" : "",
			 u && h ? " and " : "", h ? "/dev/dma_heap/" : "");
		return true;
	}
	snprintf(what, len, "none: /dev/udmabuf and /dev/dma_heap are absent "
		 "(kernel without CONFIG_UDMABUF and CONFIG_DMABUF_HEAPS), and "
		 "no GPU runtime was asked for");
	return false;
}

static void demo_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp demo [--size N] [--engine E] [--buffer B] [--loopback] [--json]\n"
"  --size N      bytes to move, at least 1M (default 1G)\n"
"  --engine E    auto|devmem|uring|zerocopy|copy (default auto; staged is\n"
"                the client's, for GPU memory)\n"
"  --buffer B    auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N], for the client\n"
"                and the server (default auto: client udmabuf or host memory,\n"
"                server its own host memory)\n"
"  --loopback    use 127.0.0.1 instead of a private namespace pair\n"
"  --json        one JSON document on stdout\n"
"As root the demo builds two private network namespaces joined by veth\n"
"(198.18.0.1 <-> 198.18.0.2); they vanish when it exits or is interrupted.\n");
}

enum { O_SIZE = 256, O_ENGINE, O_LOOPBACK, O_JSON, O_BUFFER };

static const struct option demo_opts[] = {
	{ "size", required_argument, NULL, O_SIZE },
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "loopback", no_argument, NULL, O_LOOPBACK },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "json", no_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Why devmem TX is or is not available: the bind-tx probe's answer. */
static void print_devmem_why(const struct probe *p, bool devmem, bool exp_ok)
{
	if (p->done) {
		if (p->bind_ret == -EOPNOTSUPP || p->bind_ret == -DMT_ERR_NO_NETMEM_TX)
			printf("  bind-tx on %s: %s%s%s%s\n", p->ifname,
			       dmt_strerror(p->bind_ret),
			       p->extack[0] ? " (kernel: \"" : "", p->extack,
			       p->extack[0] ? "\")" : "");
		else if (p->bind_ret < 0)
			printf("  bind-tx on %s: the driver passed the netmem TX "
			       "check; the probe fd (a memfd) was refused as "
			       "expected: %s\n", p->ifname, p->message);
		else
			printf("  bind-tx on %s: accepted\n", p->ifname);
		if (p->bind_ret < 0 && p->message[0] &&
		    (p->bind_ret == -EOPNOTSUPP ||
		     p->bind_ret == -DMT_ERR_NO_NETMEM_TX))
			printf("  why: %s\n", p->message);
	} else if (p->error[0]) {
		printf("  bind-tx probe could not run: %s\n", p->error);
	}
	if (!exp_ok && !devmem)
		printf("  so devmem needs both a dma-buf exporter and a NIC "
		       "driver with netmem TX ('devmemtcp doctor' names the "
		       "drivers that have it)\n");
}

static void print_human(const struct demo *d, bool pass)
{
	uint64_t size = d->a->size;
	double mach_s = d->mach_s;
	const char *exporter = d->exporter, *note = d->note;
	bool exp_ok = d->exp_ok;
	const struct xfer_result *c = &d->sh->res[0], *s = &d->sh->res[1];
	const struct probe *p = &d->sh->probe;
	bool devmem = !strcmp(c->engine, "devmem");
	double secs = s->seconds > 0 ? s->seconds : c->seconds;

	printf("devmemtcp demo: %" PRIu64 " bytes (%.2f GiB) of the ncdevmem "
	       "pattern (modulus %d), verified by the server\n", size,
	       (double)size / (1u << 30), DEMO_V);
	if (note[0])
		printf("note: %s\n", note);
	if (d->ns)
		printf("topology: private network namespaces joined by veth: "
		       "client %s %s -> server %s %s\n", d->np.ifname[0],
		       d->np.addr[0], d->np.ifname[1], d->np.addr[1]);
	else
		printf("topology: loopback 127.0.0.1\n");
	printf("devmem TX here: %s\n", devmem ? "available" : "not available");
	printf("  dma-buf exporter: %s\n", exporter);
	printf("  buffer: %s (%s)\n", c->buffer[0] ? c->buffer : "?",
	       c->buffer_reason);
	if (s->buffer[0])
		printf("  server buffer: %s (%s)\n", s->buffer, s->buffer_reason);
	print_devmem_why(p, devmem, exp_ok);
	printf("engine: %s (%s)\n", c->engine[0] ? c->engine : "-",
	       c->engine_reason);
	printf("server engine: %s (%s)\n", s->engine[0] ? s->engine : "-",
	       s->engine_reason);
	printf("result: %" PRIu64 " bytes received in %.2f s: %.2f GB/s "
	       "(%.2f Gbit/s), %" PRIu64 " mismatches\n", s->bytes, secs,
	       secs > 0 ? (double)s->bytes / secs / 1e9 : 0,
	       secs > 0 ? (double)s->bytes * 8 / secs / 1e9 : 0, s->mismatches);
	if (!strcmp(s->validation, "sampled"))
		printf("validation: sampled, %" PRIu64 " of %" PRIu64 " bytes "
		       "checked (GPU memory is read back; see devmemtcp(1))\n",
		       s->checked, s->bytes);
	printf("cpu: client %.2f s/GB, server %.2f s/GB, machine %.2f s/GB\n",
	       per_gb(c->cpu_s, c->bytes), per_gb(s->cpu_s, s->bytes),
	       per_gb(mach_s, s->bytes));
	if (c->zc_completed)
		printf("zero-copy completions: %" PRIu64 ", %" PRIu64 " COPIED "
		       "(%.0f%%): zc=%s%s\n", c->zc_completed, c->zc_copied,
		       100.0 * (double)c->zc_copied / (double)c->zc_completed,
		       c->zc_verdict == 1 ? "y" : "n", c->zc_verdict == 1 ? "" :
		       " (the kernel copied: delivery inside one host always "
		       "copies)");
	if (c->error[0])
		printf("client error: %s\n", c->error);
	if (s->error[0])
		printf("server error: %s\n", s->error);
	printf("demo: %s\n", pass ? "PASS" : "FAIL");
}

/* A value rounded to the given decimals, as the text output shows it. */
static double rnd(double v, double scale)
{
	return round(v * scale) / scale;
}

/* "" is an absent value: null */
static void set_opt_str(json_t *o, const char *key, const char *s)
{
	jout_set_str(o, key, s && s[0] ? s : NULL);
}

static json_t *json_res(const struct xfer_result *r)
{
	json_t *o = json_object();

	set_opt_str(o, "engine", r->engine);
	set_opt_str(o, "engine_reason", r->engine_reason);
	if (r->buffer[0]) {
		jout_set_str(o, "buffer", r->buffer);
		jout_set_str(o, "buffer_reason", r->buffer_reason);
	}
	jout_set_int(o, "status", r->status);
	jout_set_u64(o, "bytes", r->bytes);
	jout_set_num(o, "seconds", rnd(r->seconds, 1e6));
	jout_set_num(o, "cpu_s", rnd(r->cpu_s, 1e3));
	/* s per 10^9 bytes = ns per byte; the name says the unit */
	jout_set_num(o, "cpu_ns_per_byte", rnd(per_gb(r->cpu_s, r->bytes), 1e3));
	jout_set_u64(o, "mismatches", r->mismatches);
	jout_set_u64(o, "sends", r->sends);
	jout_set_u64(o, "syscalls", r->syscalls);
	jout_set_u64(o, "zc_completions", r->zc_completed);
	jout_set_u64(o, "zc_copied", r->zc_copied);
	if (r->validation[0]) {
		jout_set_str(o, "validation", r->validation);
		jout_set_u64(o, "checked_bytes", r->checked);
	}
	set_opt_str(o, "error", r->error);
	return o;
}

static void print_json(const struct demo *d, bool pass)
{
	uint64_t size = d->a->size;
	double mach_s = d->mach_s;
	const char *exporter = d->exporter, *note = d->note;
	bool exp_ok = d->exp_ok;
	const struct xfer_result *c = &d->sh->res[0], *s = &d->sh->res[1];
	const struct probe *p = &d->sh->probe;
	double secs = s->seconds > 0 ? s->seconds : c->seconds, rate;
	json_t *doc = json_object(), *dm = json_object(), *pr = json_object();

	jout_set_str(doc, "role", "demo");
	jout_set_new(doc, "start", jout_start());
	jout_set_u64(doc, "size", size);
	jout_set_int(doc, "validation", DEMO_V);
	jout_set_str(doc, "topology", d->ns ? "netns-veth" : "loopback");
	set_opt_str(doc, "note", note);
	jout_set_bool(dm, "available", !strcmp(c->engine, "devmem"));
	jout_set_bool(dm, "exporter_present", exp_ok);
	jout_set_str(dm, "exporter", exporter);
	jout_set_bool(pr, "ran", p->done);
	if (p->done)
		jout_set_int(pr, "errno", -p->bind_ret);
	else
		jout_set_null(pr, "errno");
	set_opt_str(pr, "ifname", p->ifname);
	set_opt_str(pr, "extack", p->extack);
	set_opt_str(pr, "message", p->done ? p->message : p->error);
	jout_set_new(dm, "bind_tx_probe", pr);
	jout_set_new(doc, "devmem", dm);
	jout_set_new(doc, "client", json_res(c));
	jout_set_new(doc, "server", json_res(s));
	/* rates as whole numbers with their unit in the name (bench does
	 * the same): bits = 8 x bytes, no GB/Gbit to confuse */
	rate = secs > 0 ? (double)s->bytes / secs : 0;
	jout_set_u64(doc, "bytes_per_second", (uint64_t)llround(rate));
	jout_set_u64(doc, "bits_per_second", (uint64_t)llround(rate * 8));
	jout_set_num(doc, "machine_cpu_ns_per_byte",
		     rnd(per_gb(mach_s, s->bytes), 1e3));
	jout_set_bool(doc, "pass", pass);
	jout_emit(doc, JOUT_COMPACT);
}

/* ---- the command line ---- */

static int parse_args(int argc, char **argv, struct demo_args *a, bool *done)
{
	int opt, ret;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", demo_opts, NULL)) != -1) {
		switch (opt) {
		case O_SIZE:
			if (parse_size(optarg, &a->size) || a->size < (1u << 20))
				return usage_error("demo", "bad size '%s' (--size): "
						   "give at least 1M, e.g. 1G", optarg);
			break;
		case O_ENGINE:
			if ((ret = opt_tx_engine("demo", optarg, false, &a->eng)))
				return ret;
			break;
		case O_LOOPBACK:
			a->loopback = true;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("demo", optarg, &a->bufc)))
				return ret;
			a->have_buf = true;
			break;
		case O_JSON:
			a->json = true;
			break;
		case 'h':
			*done = true;
			return help_out("demo", demo_usage);
		default:
			return getopt_error("demo", opt, argv);
		}
	}
	jout_set(a->json, false);
	return optind < argc ? extra_args_error("demo", argc, argv) : 0;
}

/* The checks across options and of the buffer, before anything is set
 * up. 0, or the exit status. */
static int check_args(const struct demo_args *a)
{
	if (buf_choice_gpu(&a->bufc) && a->eng != DMT_ENGINE_AUTO &&
	    a->eng != DMT_ENGINE_DEVMEM)
		return usage_error("demo", "engine %s sends from a CPU mapping, "
				   "and --buffer %s has none: use --engine auto "
				   "or devmem", dmt_engine_name(a->eng),
				   a->bufc.kind == DMT_BUF_CUDA ? "cuda" : "rocm");
	if (a->have_buf && a->bufc.kind) {
		/* in a child: a GPU runtime must not start in this process,
		 * which forks the client and the server afterwards */
		char why[1024];

		if (probe_buffer(&a->bufc, CLI_DEFAULT_BUF, why, sizeof(why)) < 0)
			return run_error("demo", "%s", why);
	}
	return 0;
}

/* ---- the run ---- */

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(DEMO_DEADLINE_S);
}

/* Private namespaces joined by veth as root, else loopback with a note. */
static void choose_topology(struct demo *d)
{
	if (d->a->loopback)
		snprintf(d->note, sizeof(d->note), "--loopback: running over "
			 "127.0.0.1");
	else if (geteuid() != 0)
		snprintf(d->note, sizeof(d->note), "not root, so no private "
			 "namespaces: running over loopback (127.0.0.1)");
	else if (netpair_create(&d->np, 0, d->err, sizeof(d->err)) < 0)
		snprintf(d->note, sizeof(d->note), "%s: running over loopback "
			 "(127.0.0.1) instead", d->err);
	else
		d->ns = true;
	d->err[0] = '\0';
	d->srv_addr = d->ns ? d->np.addr[1] : "127.0.0.1";
}

/* What bind-tx says about the client's egress device (a child fills
 * d->sh->probe). -EINTR when a stop signal came. */
static int run_probe(struct demo *d)
{
	pid_t pid;
	int st;

	if (spawn(d, 0, probe_fn, &pid) == 0 && wait_child(pid, &st) < 0) {
		kill_child(&pid);
		return -EINTR;
	}
	return 0;
}

/* Start the server and wait until it listens: 0 with *port, -EINTR when
 * a stop signal came, -1 with d->err. */
static int start_server(struct demo *d, uint32_t *port)
{
	struct pollfd pf;
	int pr;

	if (pipe2(d->ready, O_CLOEXEC) < 0) {
		snprintf(d->err, sizeof(d->err), "pipe: %s", strerror(errno));
		return -1;
	}
	d->sc = (struct server_cfg){
		.addr = d->srv_addr, .port = d->ns ? DEMO_PORT : 0, .v = DEMO_V,
		.have_size = true, .size = d->a->size, .engine = "auto",
		.have_buf = d->a->have_buf, .buf = d->a->bufc,
		.buf_size = CLI_DEFAULT_RX_BUF,
		.timeout_s = 30, .quiet = true, .ready_fd = d->ready[1],
		.res = &d->sh->res[1],
	};
	if (spawn(d, 1, server_fn, &d->spid) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot start the server: %s",
			 strerror(errno));
		return -1;
	}
	close(d->ready[1]);
	d->ready[1] = -1;
	pf = (struct pollfd){ .fd = d->ready[0], .events = POLLIN };
	do {
		pr = poll(&pf, 1, 10000);
	} while (pr < 0 && errno == EINTR && !g_stop);
	if (g_stop)
		return -EINTR;
	if (pr <= 0 || read(d->ready[0], port, sizeof(*port)) != sizeof(*port)) {
		snprintf(d->err, sizeof(d->err), "the server did not start: %s",
			 d->sh->res[1].error[0] ? d->sh->res[1].error :
			 "no answer within 10 s");
		return -1;
	}
	return 0;
}

/* After a client that failed: give the server 2 s to report what it got,
 * then stop it rather than wait for its own timeout. */
static void reap_server_soon(struct demo *d)
{
	for (int i = 0; i < 200 && !g_stop; i++) {
		int st;

		if (waitpid(d->spid, &st, WNOHANG) == d->spid) {
			d->st_s = WIFEXITED(st) ? WEXITSTATUS(st) :
						  128 + WTERMSIG(st);
			d->spid = 0;
			return;
		}
		usleep(10000);
	}
	if (!g_stop)
		kill_child(&d->spid);
}

/* Run the client against the server on port, then collect the server.
 * 0, -EINTR when a stop signal came, -1 with d->err. */
static int run_transfer(struct demo *d, uint32_t port)
{
	d->cc = (struct client_cfg){
		.server = d->srv_addr, .port = port, .v = DEMO_V,
		.engine = d->a->eng, .have_size = true, .size = d->a->size,
		.buf = d->a->bufc, .buf_size = CLI_DEFAULT_BUF,
		.msg_size = CLI_DEFAULT_MSG, .timeout_s = 30, .quiet = true,
		.res = &d->sh->res[0],
	};
	cpu_snap_take(&d->m0);
	if (spawn(d, 0, client_fn, &d->cpid) < 0) {
		snprintf(d->err, sizeof(d->err), "cannot start the client: %s",
			 strerror(errno));
		return -1;
	}
	if (wait_child(d->cpid, &d->st_c) < 0)
		return -EINTR;
	d->cpid = 0;
	if (d->st_c != 0)
		reap_server_soon(d);
	if (g_stop || (d->spid && wait_child(d->spid, &d->st_s) < 0))
		return -EINTR;
	d->spid = 0;
	return 0;
}

static void take_machine_cpu(struct demo *d)
{
	struct cpu_snap m1, md;

	cpu_snap_take(&m1);
	cpu_snap_delta(&d->m0, &m1, &md);
	d->mach_s = md.machine_s;
}

static void report(const struct demo *d, bool pass)
{
	if (d->a->json)
		print_json(d, pass);
	else
		print_human(d, pass);
}

/* A stop signal or the deadline: stop the children, report what was done
 * so far (the namespaces go first), and the error. The exit status. */
static int report_stopped(struct demo *d)
{
	const char *by = g_stop == SIGALRM ? "the 120 s limit" :
			 g_stop == SIGTERM ? "SIGTERM" : "SIGINT";
	size_t l = strlen(d->note);
	int rc = g_stop == SIGALRM ? 1 : 128 + (int)g_stop;

	stop_child(&d->cpid, &d->st_c);
	stop_child(&d->spid, &d->st_s);
	take_machine_cpu(d);
	snprintf(d->note + l, sizeof(d->note) - l, "%sstopped by %s before the "
		 "end: the figures are what was done so far", l ? "; " : "", by);
	report(d, false);
	if (d->ns)
		netpair_destroy(&d->np);
	d->ns = false;
	fflush(stdout);
	snprintf(d->err, sizeof(d->err), "%s: stopped; children and namespaces "
		 "removed", g_stop == SIGALRM ? "took longer than the 120 s "
		 "limit" : g_stop == SIGTERM ? "terminated" : "interrupted");
	fprintf(stderr, "devmemtcp demo: %s\n", d->err);
	jout_note_error("demo", rc, d->err);	/* the --json error document */
	return rc;
}

/* Topology, probe, server, client, report. The exit status. */
static int demo_run(struct demo *d)
{
	uint32_t port = 0;
	bool pass;
	int ret;

	catch_signals();
	choose_topology(d);
	d->exp_ok = have_exporter(&d->a->bufc, d->exporter, sizeof(d->exporter));
	cpu_snap_take(&d->m0);
	if (g_stop)
		return report_stopped(d);
	if (!d->a->json)
		printf("devmemtcp demo: setting up (%s)...\n",
		       d->ns ? "private namespaces + veth" : "loopback");
	fflush(stdout);
	if (run_probe(d) < 0)
		return report_stopped(d);
	ret = start_server(d, &port);
	if (ret == 0)
		ret = run_transfer(d, port);
	if (ret == -EINTR)
		return report_stopped(d);
	if (ret < 0) {
		kill_child(&d->cpid);
		kill_child(&d->spid);
		return run_error("demo", "%s", d->err);
	}
	take_machine_cpu(d);
	alarm(0);
	pass = d->st_c == 0 && d->st_s == 0 && d->sh->res[1].bytes == d->a->size &&
	       d->sh->res[1].mismatches == 0 && d->sh->res[1].done;
	report(d, pass);
	return pass ? 0 : 1;
}

int cmd_demo(int argc, char **argv)
{
	struct demo_args a = { .size = 1ull << 30, .eng = DMT_ENGINE_AUTO };
	struct demo *d;
	bool done = false;
	int rc;

	if ((rc = parse_args(argc, argv, &a, &done)) || done)
		return rc;
	if ((rc = check_args(&a)))
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return run_error("demo", "out of memory");
	d->sh = mmap(NULL, sizeof(*d->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->sh == MAP_FAILED) {
		free(d);
		return run_error("demo", "mmap: %s", strerror(errno));
	}
	d->a = &a;
	d->ready[0] = d->ready[1] = -1;
	d->st_c = d->st_s = -1;
	rc = demo_run(d);
	if (d->ns)
		netpair_destroy(&d->np);
	if (d->ready[0] >= 0)
		close(d->ready[0]);
	if (d->ready[1] >= 0)
		close(d->ready[1]);
	munmap(d->sh, sizeof(*d->sh));
	free(d);
	return rc;
}
