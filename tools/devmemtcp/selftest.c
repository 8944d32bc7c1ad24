// SPDX-License-Identifier: MIT
/*
 * devmemtcp selftest: the whole devmem hardware check in one command.
 * doctor first; then each check of tools/common/hwcheck.c in order (the
 * kernel selftests' negative cases, rx, rx-hds, tx, tx-chunks), each with
 * its own port, timeout and restore; a table (or one JSON document) at the
 * end. Exit 0: all passed; 1: one failed or could not run; 3: the host
 * cannot run them at all (doctor's blockers); 2: usage error.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "hwcheck.h"
#include "json_out.h"

#define CMD "selftest"

static void usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp selftest IFACE --peer ADDR [--ssh USER@HOST]\n"
"                          [--buffer udmabuf|dmaheap|cuda[:N]|rocm[:N]]\n"
"                          [--addr ADDR] [--echo-port P] [--port P]\n"
"                          [--timeout S] [--journal-dir DIR] [--json]\n"
"\n"
"Runs every devmem hardware check against a real peer host: doctor, then\n"
"bind-empty-queues, bind-hds-off, bind, channel-shrink, rx, rx-hds, tx,\n"
"tx-chunks (and nccl-devmem with --buffer cuda), each on its own port,\n"
"with a timeout, restoring the NIC after it. With --ssh the peer runs\n"
"socat for each check (as the kernel's devmem.py does); without it the\n"
"peer must run an echo service on --echo-port:\n"
"socat TCP-LISTEN:P,fork,reuseaddr EXEC:cat.\n"
"nccl-devmem drives the NCCL plugin (DMT_NCCL_PLUGIN, else\n"
"libnccl-net-devmemtcp.so) with CUDA memory (--buffer cuda:N picks the\n"
"GPU) and needs --ssh: the peer relays its connections back.\n"
"  -P, --peer ADDR      the peer's IPv4 address on IFACE's network\n"
"  -S, --ssh USER@HOST  start the peer's side over ssh (needs socat there)\n"
"  -b, --buffer KIND    dma-buf for the checks (default udmabuf, else\n"
"                       the system DMA heap)\n"
"  -a, --addr ADDR      this host's IPv4 on IFACE (default: its first)\n"
"  -e, --echo-port P    the peer's echo port without --ssh (default 5201)\n"
"  -p, --port P         first port of the checks (default: per process)\n"
"  -T, --timeout S      bound on every wait of a check (default 30)\n"
"      --journal-dir D  NIC setup journals (default /run/devmemtcp)\n"
"  -j, --json           one JSON document instead of the table\n"
"Exit status: 0 all passed, 1 a check failed or could not run, 3 this\n"
"host cannot run them (every check not run, with the reason), 2 usage.\n");
}

static void on_signal(int sig)
{
	hw_stop = sig;
}

/* Doctor's verdict for IFACE: rx/tx blockers (empty when ready). */
static int doctor_blockers(const char *ifname, char *rx, size_t rxl, char *tx,
			   size_t txl)
{
	const char *names[1] = { ifname };
	DMT_OPTS(dmt_doctor_opts, o, .ifnames = names, .nifnames = 1);
	const struct dmt_doctor_iface *f;
	struct dmt_doctor *d;
	struct dmt_error e;

	rx[0] = tx[0] = '\0';
	d = dmt_doctor_run(&o, &e);
	if (!d) {
		snprintf(rx, rxl, "doctor: %s", e.message);
		snprintf(tx, txl, "doctor: %s", e.message);
		return -1;
	}
	f = dmt_doctor_iface_at(d, 0);
	if (!f) {
		snprintf(rx, rxl, "doctor found no interface %s", ifname);
		snprintf(tx, txl, "doctor found no interface %s", ifname);
	} else {
		if (!f->rx_ready)
			snprintf(rx, rxl, "doctor: devmem RX is not possible on "
				 "%s: %s", ifname, f->rx_reason);
		if (!f->tx_ready)
			snprintf(tx, txl, "doctor: devmem TX is not possible on "
				 "%s: %s", ifname, f->tx_reason);
	}
	dmt_doctor_free(d);
	return 0;
}

static void print_table(const struct hw_row *rows, unsigned int n, int verdict)
{
	printf("%-18s %-8s %8s  %s\n", "check", "result", "seconds", "reason");
	for (unsigned int i = 0; i < n; i++)
		printf("%-18s %-8s %8.1f  %s\n", hw_check_name(rows[i].id),
		       hw_result_name(rows[i].res), rows[i].secs, rows[i].reason);
	printf("verdict: %s\n", verdict == 0 ? "PASS: every check passed" :
	       verdict == 3 ? "CANNOT RUN: this host cannot run the devmem "
	       "checks (see the reasons)" : "FAIL: a check failed or could "
	       "not run");
}

static void print_json(const struct hw_cfg *c, const struct hw_row *rows,
		       unsigned int n, int verdict)
{
	json_t *d = jout_doc(), *a = json_array();

	jout_set_str(d, "command", "selftest");
	jout_set_str(d, "interface", c->ifname);
	jout_set_str(d, "peer", c->peer);
	jout_set_str(d, "ssh", c->ssh);
	jout_set_str(d, "buffer", c->kind ? dmt_buf_kind_name(c->kind) :
		     "udmabuf or dmaheap");
	for (unsigned int i = 0; a && i < n; i++) {
		json_t *o = json_object();

		jout_set_str(o, "check", hw_check_name(rows[i].id));
		jout_set_str(o, "title", hw_check_title(rows[i].id));
		jout_set_str(o, "result", rows[i].res == HW_PASS ? "pass" :
			     rows[i].res == HW_FAIL ? "fail" : "not_run");
		jout_set_num(o, "seconds", rows[i].secs);
		jout_set_str(o, "reason", rows[i].reason);
		json_array_append_new(a, o);
	}
	jout_set_new(d, "checks", a);
	jout_set_str(d, "verdict", verdict == 0 ? "pass" : verdict == 3 ?
		     "cannot_run" : "fail");
	jout_set_int(d, "exit", verdict);
	jout_emit(d, JOUT_SPACED);
}

static const struct option selftest_opts[] = {
	{ "peer", required_argument, NULL, 'P' },
	{ "ssh", required_argument, NULL, 'S' },
	{ "buffer", required_argument, NULL, 'b' },
	{ "addr", required_argument, NULL, 'a' },
	{ "echo-port", required_argument, NULL, 'e' },
	{ "port", required_argument, NULL, 'p' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "journal-dir", required_argument, NULL, 'J' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option into cfg. 0, or the exit status. */
static int set_opt(struct hw_cfg *cfg, bool *json, int c, const char *arg)
{
	struct buf_choice bc = { .kind = DMT_BUF_UDMABUF };
	struct in_addr a;
	uint64_t v;
	int ret;

	switch (c) {
	case 'P':
		cfg->peer = arg;
		return 0;
	case 'S':
		if (!strchr(arg, '@') || arg[0] == '-' || strchr(arg, ' '))
			return usage_error(CMD, "bad --ssh '%s': give USER@HOST",
					   arg);
		cfg->ssh = arg;
		return 0;
	case 'b':
		if ((ret = opt_buffer(CMD, arg, &bc)))
			return ret;
		if (bc.kind != DMT_BUF_UDMABUF && bc.kind != DMT_BUF_DMAHEAP &&
		    bc.kind != DMT_BUF_CUDA && bc.kind != DMT_BUF_ROCM)
			return usage_error(CMD, "--buffer %s: devmem needs a "
					   "dma-buf: udmabuf, dmaheap, cuda[:N] or "
					   "rocm[:N]", arg);
		cfg->kind = (enum dmt_buf_kind)bc.kind;
		cfg->device = bc.device;
		return 0;
	case 'a':
		if (inet_pton(AF_INET, arg, &a) != 1)
			return usage_error(CMD, "bad --addr '%s': give an IPv4 "
					   "address", arg);
		cfg->addr = arg;
		return 0;
	case 'e':
	case 'p':
		if (parse_uint(arg, 1, 65535, &v))
			return usage_error(CMD, "bad port '%s': give 1..65535", arg);
		if (c == 'e')
			cfg->echo_port = (int)v;
		else
			cfg->base_port = (int)v;
		return 0;
	case 'T':
		return opt_timeout(CMD, arg, &cfg->timeout_s);
	case 'J':
		cfg->journal_dir = arg;
		return 0;
	case 'j':
		*json = true;
		return 0;
	}
	return 2;
}

/* The command line into cfg, checked: IFACE present, --peer an IPv4
 * address. 0, or the exit status (help: 0 with *done). */
static int parse_args(int argc, char **argv, struct hw_cfg *cfg, bool *json,
		      bool *done)
{
	struct in_addr a;
	int c, ret;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":P:S:b:a:e:p:T:jh", selftest_opts,
				NULL)) != -1) {
		if (c == 'h') {
			*done = true;
			return help_out(CMD, usage);
		}
		if (c == '?' || c == ':')
			return getopt_error(CMD, c, argv);
		if ((ret = set_opt(cfg, json, c, optarg)))
			return ret;
	}
	if (optind >= argc)
		return usage_error(CMD, "name the interface: devmemtcp selftest "
				   "IFACE --peer ADDR");
	cfg->ifname = argv[optind++];
	if ((ret = extra_args_error(CMD, argc, argv)))
		return ret;
	jout_set(*json, false);
	if (!cfg->peer)
		return usage_error(CMD, "--peer ADDR is required: the peer host's "
				   "IPv4 address");
	if (inet_pton(AF_INET, cfg->peer, &a) != 1)
		return usage_error(CMD, "bad --peer '%s': give an IPv4 address",
				   cfg->peer);
	if (!if_nametoindex(cfg->ifname))
		return usage_error(CMD, "no interface '%s' in this network "
				   "namespace (ip link)", cfg->ifname);
	return 0;
}

/* Every check in order, each not run when doctor blocks it or a signal
 * came; the verdict. */
static int run_checks(const struct hw_cfg *cfg, struct hw_row *rows,
		      unsigned int n, bool json)
{
	/* no SA_RESTART: waits end at once; the running check restores the
	 * NIC, the rest are listed as not run */
	struct sigaction sa = { .sa_handler = on_signal };
	char rxwhy[600], txwhy[600];
	int verdict;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	doctor_blockers(cfg->ifname, rxwhy, sizeof(rxwhy), txwhy, sizeof(txwhy));
	for (int i = 0; i < (int)n; i++) {
		const char *blk = hw_check_is_rx(i) ? rxwhy : txwhy;

		/* nccl-devmem needs both directions */
		if (i == HW_NCCL_DEVMEM && !blk[0])
			blk = rxwhy;

		if (hw_stop) {
			hw_not_run(&rows[i], i, "interrupted by a signal before "
				   "this check");
			continue;
		}
		if (blk[0]) {
			hw_not_run(&rows[i], i, blk);
			continue;
		}
		if (!json) {
			printf("running %s: %s ...\n", hw_check_name(i),
			       hw_check_title(i));
			fflush(stdout);
		}
		hw_run(cfg, i, &rows[i]);
	}
	verdict = hw_verdict(rows, n);
	return hw_stop && verdict == 0 ? 1 : verdict;
}

int cmd_selftest(int argc, char **argv)
{
	struct hw_cfg cfg = { .echo_port = 5201, .timeout_s = 30 };
	struct hw_row rows[HW_NCHECKS];
	bool json = false, done = false;
	unsigned int n;
	int ret, verdict;

	if ((ret = parse_args(argc, argv, &cfg, &json, &done)) || done)
		return ret;
	/* nccl-devmem is about GPU memory: listed with --buffer cuda only */
	n = cfg.kind == DMT_BUF_CUDA ? HW_NCHECKS : HW_NCCL_DEVMEM;
	verdict = run_checks(&cfg, rows, n, json);
	if (json)
		print_json(&cfg, rows, n, verdict);
	else
		print_table(rows, n, verdict);
	return verdict;
}
