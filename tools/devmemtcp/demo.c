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
	int bind_ret;		/* dmt_bind_tx() with a memfd */
	char ifname[IF_NAMESIZE];
	char extack[256];
	char message[512];
	char error[600];	/* the probe itself could not run */
};

struct shared {
	struct xfer_result res[2];	/* 0 client, 1 server */
	struct probe probe;
};

struct demo {
	struct netpair np;
	bool ns;
	const char *srv_addr;
	struct shared *sh;
	struct client_cfg cc;
	struct server_cfg sc;
	int ready[2];
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
	if (dmt_route_egress(ctx, (struct sockaddr *)&dst, dl, &ifindex) < 0) {
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
	p->bind_ret = dmt_bind_tx(ctx, ifindex, fd, &id);
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

static void print_human(const struct demo *d, uint64_t size, double mach_s,
			bool pass, const char *exporter, bool exp_ok,
			const char *note)
{
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
		       "driver with netmem TX ('devmemtcp doctor' names them)\n");
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
	jout_set_num(o, "cpu_s_per_GB", rnd(per_gb(r->cpu_s, r->bytes), 1e3));
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

static void print_json(const struct demo *d, uint64_t size, double mach_s,
		       bool pass, const char *exporter, bool exp_ok,
		       const char *note)
{
	const struct xfer_result *c = &d->sh->res[0], *s = &d->sh->res[1];
	const struct probe *p = &d->sh->probe;
	double secs = s->seconds > 0 ? s->seconds : c->seconds;
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
	jout_set_num(doc, "throughput_GBps",
		     rnd(secs > 0 ? (double)s->bytes / secs / 1e9 : 0, 1e3));
	jout_set_num(doc, "machine_cpu_s_per_GB", rnd(per_gb(mach_s, s->bytes), 1e3));
	jout_set_bool(doc, "pass", pass);
	jout_emit(doc, JOUT_COMPACT);
}

int cmd_demo(int argc, char **argv)
{
	uint64_t size = 1ull << 30;
	enum dmt_engine eng = DMT_ENGINE_AUTO;
	struct buf_choice bufc = { 0 };
	bool have_buf = false;
	bool loopback = false, json = false, pass, exp_ok;
	struct sigaction sa = { .sa_handler = on_signal };
	struct cpu_snap m0, m1, md;
	char err[1200] = "", note[1400] = "", exporter[256];
	pid_t spid = 0, cpid = 0;
	struct demo *d;
	int opt, ret, st_c = -1, st_s = -1, rc = 1;
	uint32_t port;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", demo_opts, NULL)) != -1) {
		switch (opt) {
		case O_SIZE:
			if (parse_size(optarg, &size) || size < (1u << 20))
				return usage_error("demo", "bad size '%s' (--size): "
						   "give at least 1M, e.g. 1G", optarg);
			break;
		case O_ENGINE:
			if ((ret = opt_tx_engine("demo", optarg, false, &eng)))
				return ret;
			break;
		case O_LOOPBACK:
			loopback = true;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("demo", optarg, &bufc)))
				return ret;
			have_buf = true;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			return help_out("demo", demo_usage);
		default:
			return getopt_error("demo", opt, argv);
		}
	}
	jout_set(json, false);
	if (optind < argc)
		return extra_args_error("demo", argc, argv);
	if (buf_choice_gpu(&bufc) && eng != DMT_ENGINE_AUTO &&
	    eng != DMT_ENGINE_DEVMEM)
		return usage_error("demo", "engine %s sends from a CPU mapping, "
				   "and --buffer %s has none: use --engine auto "
				   "or devmem", dmt_engine_name(eng),
				   bufc.kind == DMT_BUF_CUDA ? "cuda" : "rocm");
	if (have_buf && bufc.kind) {
		/* in a child: a GPU runtime must not start in this process,
		 * which forks the client and the server afterwards */
		char why[1024];

		if (probe_buffer(&bufc, CLI_DEFAULT_BUF, why, sizeof(why)) < 0)
			return run_error("demo", "%s", why);
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return run_error("demo", "out of memory");
	d->sh = mmap(NULL, sizeof(*d->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->sh == MAP_FAILED) {
		free(d);
		return run_error("demo", "mmap: %s", strerror(errno));
	}
	d->ready[0] = d->ready[1] = -1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alarm(DEMO_DEADLINE_S);

	if (loopback) {
		snprintf(note, sizeof(note), "--loopback: running over 127.0.0.1");
	} else if (geteuid() != 0) {
		snprintf(note, sizeof(note), "not root, so no private namespaces: "
			 "running over loopback (127.0.0.1)");
	} else if (netpair_create(&d->np, 0, err, sizeof(err)) < 0) {
		snprintf(note, sizeof(note), "%s: running over loopback "
			 "(127.0.0.1) instead", err);
	} else {
		d->ns = true;
	}
	exp_ok = have_exporter(&bufc, exporter, sizeof(exporter));
	cpu_snap_take(&m0);
	if (g_stop)
		goto stopped;
	d->srv_addr = d->ns ? d->np.addr[1] : "127.0.0.1";
	if (!json)
		printf("devmemtcp demo: setting up (%s)...\n",
		       d->ns ? "private namespaces + veth" : "loopback");
	fflush(stdout);

	/* what bind-tx says about the client's egress device */
	{
		pid_t ppid;
		int pst;

		if (spawn(d, 0, probe_fn, &ppid) == 0 &&
		    wait_child(ppid, &pst) < 0) {
			kill_child(&ppid);
			goto stopped;
		}
	}

	if (pipe2(d->ready, O_CLOEXEC) < 0) {
		snprintf(err, sizeof(err), "pipe: %s", strerror(errno));
		goto fail;
	}
	d->sc = (struct server_cfg){
		.addr = d->srv_addr, .port = d->ns ? DEMO_PORT : 0, .v = DEMO_V,
		.have_size = true, .size = size, .engine = "auto",
		.have_buf = have_buf, .buf = bufc,
		.buf_size = CLI_DEFAULT_RX_BUF,
		.timeout_s = 30, .quiet = true, .ready_fd = d->ready[1],
		.res = &d->sh->res[1],
	};
	if (spawn(d, 1, server_fn, &spid) < 0) {
		snprintf(err, sizeof(err), "cannot start the server: %s",
			 strerror(errno));
		goto fail;
	}
	close(d->ready[1]);
	d->ready[1] = -1;
	{
		struct pollfd pf = { .fd = d->ready[0], .events = POLLIN };
		int pr;

		do {
			pr = poll(&pf, 1, 10000);
		} while (pr < 0 && errno == EINTR && !g_stop);
		if (g_stop)
			goto stopped;
		if (pr <= 0 || read(d->ready[0], &port, sizeof(port)) !=
			       sizeof(port)) {
			snprintf(err, sizeof(err), "the server did not start: %s",
				 d->sh->res[1].error[0] ? d->sh->res[1].error :
				 "no answer within 10 s");
			goto fail;
		}
	}
	d->cc = (struct client_cfg){
		.server = d->srv_addr, .port = port, .v = DEMO_V,
		.engine = eng, .have_size = true, .size = size, .buf = bufc,
		.buf_size = CLI_DEFAULT_BUF, .msg_size = CLI_DEFAULT_MSG,
		.timeout_s = 30, .quiet = true, .res = &d->sh->res[0],
	};
	cpu_snap_take(&m0);
	if (spawn(d, 0, client_fn, &cpid) < 0) {
		snprintf(err, sizeof(err), "cannot start the client: %s",
			 strerror(errno));
		goto fail;
	}
	if (wait_child(cpid, &st_c) < 0)
		goto stopped;
	cpid = 0;
	if (st_c != 0) {
		/* no (complete) sender: give the server 2 s to report what it
		 * got, then stop it rather than wait for its own timeout */
		for (int i = 0; i < 200 && !g_stop; i++) {
			int st;

			if (waitpid(spid, &st, WNOHANG) == spid) {
				st_s = WIFEXITED(st) ? WEXITSTATUS(st) :
						       128 + WTERMSIG(st);
				spid = 0;
				break;
			}
			usleep(10000);
		}
		if (g_stop)
			goto stopped;
		kill_child(&spid);
	}
	if (spid && wait_child(spid, &st_s) < 0)
		goto stopped;
	spid = 0;
	cpu_snap_take(&m1);
	cpu_snap_delta(&m0, &m1, &md);
	alarm(0);

	pass = st_c == 0 && st_s == 0 && d->sh->res[1].bytes == size &&
	       d->sh->res[1].mismatches == 0 && d->sh->res[1].done;
	if (json)
		print_json(d, size, md.machine_s, pass, exporter, exp_ok, note);
	else
		print_human(d, size, md.machine_s, pass, exporter, exp_ok, note);
	rc = pass ? 0 : 1;
	goto out;

stopped:
	/* the report of what was done so far, then the namespaces go */
	stop_child(&cpid, &st_c);
	stop_child(&spid, &st_s);
	cpu_snap_take(&m1);
	cpu_snap_delta(&m0, &m1, &md);
	{
		size_t l = strlen(note);

		snprintf(note + l, sizeof(note) - l, "%sstopped by %s before the "
			 "end: the figures are what was done so far", l ? "; " : "",
			 g_stop == SIGALRM ? "the 120 s limit" : g_stop == SIGTERM ?
			 "SIGTERM" : "SIGINT");
	}
	if (json)
		print_json(d, size, md.machine_s, false, exporter, exp_ok, note);
	else
		print_human(d, size, md.machine_s, false, exporter, exp_ok, note);
	if (d->ns)
		netpair_destroy(&d->np);
	d->ns = false;
	fflush(stdout);
	rc = g_stop == SIGALRM ? 1 : 128 + (int)g_stop;
	snprintf(err, sizeof(err), "%s: stopped; children and namespaces "
		 "removed", g_stop == SIGALRM ? "took longer than the 120 s "
		 "limit" : g_stop == SIGTERM ? "terminated" : "interrupted");
	fprintf(stderr, "devmemtcp demo: %s\n", err);
	jout_note_error("demo", rc, err);	/* the --json error document */
	goto out;
fail:
	kill_child(&cpid);
	kill_child(&spid);
	run_error("demo", "%s", err);
	rc = 1;
out:
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
