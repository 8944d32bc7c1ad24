// SPDX-License-Identifier: MIT
/*
 * devmemtcp bench: every TX engine side by side. For each engine and
 * message size asked, --reps runs (medians reported) of a sender process
 * using the library and a receiver process doing plain recv(), on
 * loopback or across a veth pair between private namespaces (--netns).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "common.h"
#include "json_out.h"
#include "netns.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp bench [OPTIONS]\n"
"Runs a receiver and a sender itself and measures each TX engine.\n"
"  --engines LIST   engines to measure (default copy,zerocopy,uring,auto;\n"
"                   also devmem where a dma-buf and a capable NIC exist,\n"
"                   staged; with GPU memory: auto,staged)\n"
"  --sizes LIST     message sizes (default 4K,16K,64K,256K,1M)\n"
"  --reps N         runs per cell, medians reported (default 3, max %d)\n"
"  --time SECONDS   length of each run (default 1)\n"
"  --bytes SIZE     send SIZE bytes per run instead of --time\n"
"  --flows N        connections at once, round-robin (default 1, max %d)\n"
"  --buffer-size SIZE  sender buffer the messages cycle through (default\n"
"                   16M or 8 messages; 128K keeps it in cache like iperf3)\n"
"  --buffer B       sender memory: auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N]\n"
"                   (default: host, a dma-buf for devmem)\n"
"  --netns          across a veth pair between two private namespaces\n"
"                   instead of loopback (root)\n"
"  --pin            sender on CPU 0, receiver on CPU 1\n"
"  --port PORT      first TCP port used (default 5400)\n"
"  --json           JSON on stdout instead of the table\n"
"  --csv FILE       also write the rows as CSV\n"
"  --svg FILE       also write throughput against message size as SVG\n"
"  -q, --quiet      no progress lines on stderr\n",
		BENCH_MAX_REPS, BENCH_MAX_FLOWS);
}

/* One-line usage error: "devmemtcp bench: WHAT 'ARG': FIX", exit 2. */
static int bad(const char *what, const char *arg, const char *fix)
{
	return usage_error("bench", "%s '%s': %s", what, arg, fix);
}

static int parse_list(char *s, int (*one)(const char *, void *), void *ctx)
{
	for (char *sv, *tok = strtok_r(s, ",", &sv); tok;
	     tok = strtok_r(NULL, ",", &sv))
		if (one(tok, ctx))
			return -1;
	return 0;
}

static int one_engine(const char *name, void *p)
{
	struct bench_cfg *c = p;
	enum dmt_engine e;

	if (dmt_engine_from_name(name, &e) < 0) {
		bad("unknown engine", name, "use copy, zerocopy, uring, auto, "
		    "devmem or staged");
		return -1;
	}
	if (c->nengines == BENCH_MAX_ENGINES) {
		bad("too many engines at", name, "name each at most once");
		return -1;
	}
	c->engines[c->nengines++] = e;
	return 0;
}

static int one_size(const char *s, void *p)
{
	struct bench_cfg *c = p;
	uint64_t v;

	if (parse_size(s, &v) || v == 0 || v > (64u << 20)) {
		bad("bad message size", s, "give 1 to 64M, e.g. 4K,64K,1M");
		return -1;
	}
	if (c->nsizes == BENCH_MAX_SIZES) {
		bad("too many sizes at", s, "give at most 16");
		return -1;
	}
	c->sizes[c->nsizes++] = v;
	return 0;
}

static double median(double *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) /* insertion sort, n <= 20 */
		for (unsigned int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	if (!n)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Fold the runs of one cell into its row. */
static void summarize(struct bench_row *r, const struct bench_trial *t,
		      unsigned int n)
{
	double gbps[BENCH_MAX_REPS], snd[BENCH_MAX_REPS], rcv[BENCH_MAX_REPS],
		mach[BENCH_MAX_REPS], nps[BENCH_MAX_REPS], sys[BENCH_MAX_REPS],
		cop[BENCH_MAX_REPS], ms[BENCH_MAX_REPS], mp[BENCH_MAX_REPS],
		pl[BENCH_MAX_REPS];
	bool zc = false;

	for (unsigned int i = 0; i < n; i++) {
		double gb = (double)t[i].rx_bytes / 1e9;

		gbps[i] = t[i].rx_secs > 0 ? gb / t[i].rx_secs : 0;
		r->gbps_run[i] = gbps[i];
		snd[i] = t[i].tx_cpu / gb;
		rcv[i] = t[i].rx_cpu / gb;
		mach[i] = t[i].machine / gb;
		nps[i] = t[i].sends ? (double)t[i].zc_notifications /
				      (double)t[i].sends : 0;
		sys[i] = (double)t[i].syscalls / gb;
		cop[i] = t[i].zc_completed ? (double)t[i].zc_copied /
					     (double)t[i].zc_completed : 0;
		zc = zc || t[i].zc_ids;
		pl[i] = t[i].sends ? (double)t[i].copy_sends / (double)t[i].sends : 0;
		ms[i] = t[i].mem_setup;
		mp[i] = t[i].mem_peak;
	}
	r->runs = n;
	r->ok = n > 0;
	r->gbps_min = r->gbps_max = n ? gbps[0] : 0;
	for (unsigned int i = 1; i < n; i++) {
		r->gbps_min = gbps[i] < r->gbps_min ? gbps[i] : r->gbps_min;
		r->gbps_max = gbps[i] > r->gbps_max ? gbps[i] : r->gbps_max;
	}
	r->gbps = median(gbps, n);
	r->snd_cpu = median(snd, n);
	r->rcv_cpu = median(rcv, n);
	r->machine_cpu = median(mach, n);
	r->syscalls_per_gb = median(sys, n);
	r->notifs_per_send = zc ? median(nps, n) : -1;
	r->copied_share = zc ? median(cop, n) : -1;
	r->plain_share = median(pl, n);
	r->mem_setup = median(ms, n);
	r->mem_peak = median(mp, n);
}

static void machine_facts(struct bench_cfg *c)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	if (uname(&u) == 0)
		snprintf(c->kernel, sizeof(c->kernel), "%.63s", u.release);
	c->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	gmtime_r(&now, &tm);
	strftime(c->date, sizeof(c->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(c->path, sizeof(c->path), "%s", c->netns ? "veth" : "lo");
}

int cmd_bench(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "engines", required_argument, NULL, 'e' },
		{ "sizes", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "flows", required_argument, NULL, 'f' },
		{ "buffer-size", required_argument, NULL, 'B' },
		{ "buffer", required_argument, NULL, 'm' },
		{ "netns", no_argument, NULL, 'n' },
		{ "pin", no_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'c' },
		{ "svg", required_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench_cfg c = { .reps = 3, .secs = 1, .flows = 1, .port = 5400 };
	char engines_def[] = "copy,zerocopy,uring,auto";
	char engines_gpu[] = "auto,staged";
	struct buf_choice bufc = { 0 };
	char sizes_def[] = "4K,16K,64K,256K,1M";
	struct bench_row *rows;
	struct bench_trial *trials;
	struct netpair np, *npp = NULL;
	unsigned int nrows = 0, portk = 0;
	uint64_t v;
	char *end;
	int opt, rc = 0;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":qh", lo, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (parse_list(optarg, one_engine, &c))
				return 2;
			break;
		case 's':
			if (parse_list(optarg, one_size, &c))
				return 2;
			break;
		case 'r':
			if (parse_size(optarg, &v) || !v || v > BENCH_MAX_REPS)
				return bad("bad --reps", optarg, "give 1 to 20");
			c.reps = (unsigned int)v;
			break;
		case 't':
			c.secs = strtod(optarg, &end);
			if (*end || end == optarg || !(c.secs >= 0.1 && c.secs <= 600))
				return bad("bad --time", optarg,
					   "give seconds between 0.1 and 600");
			break;
		case 'b':
			if (parse_size(optarg, &v) || !v || v > (1ull << 40))
				return bad("bad --bytes", optarg,
					   "give a size such as 256M or 4G");
			c.bytes = v;
			break;
		case 'f':
			if (parse_size(optarg, &v) || !v || v > BENCH_MAX_FLOWS)
				return bad("bad --flows", optarg, "give 1 to 1024");
			c.flows = (unsigned int)v;
			break;
		case 'B':
			if (parse_size(optarg, &v) || v < 4096 || v > (1ull << 30))
				return bad("bad --buffer-size", optarg,
					   "give 4K to 1G, e.g. 128K or 16M");
			c.bufsize = v;
			break;
		case 'm':
			if ((rc = opt_buffer("bench", optarg, &bufc)))
				return rc;
			c.buf_kind = bufc.kind;
			c.buf_device = bufc.device;
			c.buf_name = optarg;
			break;
		case 'n':
			c.netns = true;
			break;
		case 'P':
			c.pin = true;
			break;
		case 'p':
			if (parse_size(optarg, &v) || v < 1024 || v > 60000)
				return bad("bad --port", optarg,
					   "give 1024 to 60000");
			c.port = (int)v;
			break;
		case 'j':
			c.json = true;
			break;
		case 'c':
			c.csv = optarg;
			break;
		case 'g':
			c.svg = optarg;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			return help_out("bench", usage);
		default:
			return getopt_error("bench", opt, argv);
		}
	}
	jout_set(c.json, false);
	if (optind < argc)
		return extra_args_error("bench", argc, argv);
	if (!c.nengines)
		parse_list(buf_choice_gpu(&bufc) ? engines_gpu : engines_def,
			   one_engine, &c);
	for (unsigned int i = 0; i < c.nengines && buf_choice_gpu(&bufc); i++) {
		enum dmt_engine e = c.engines[i];

		if (e != DMT_ENGINE_AUTO && e != DMT_ENGINE_DEVMEM &&
		    e != DMT_ENGINE_STAGED)
			return bad("engine", dmt_engine_name(e), "it sends from a "
				   "CPU mapping, which GPU memory lacks: use auto, "
				   "devmem or staged with --buffer cuda|rocm");
	}
	if (!c.nsizes)
		parse_list(sizes_def, one_size, &c);
	if (c.pin && sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return bad("--pin needs two CPUs online, found", "1", "drop --pin");
	if (c.netns && geteuid() != 0)
		return bad("--netns creates namespaces, which needs", "root",
			   "run as root or drop --netns");
	if (c.buf_kind) {
		/* in a child: a GPU runtime must not start in this process,
		 * which forks the senders afterwards */
		char why[1024];

		if (probe_buffer(&bufc, 2u << 20, why, sizeof(why)) < 0) {
			fprintf(stderr, "devmemtcp bench: %s\n", why);
			return 1;
		}
	}
	machine_facts(&c);

	rows = calloc((size_t)c.nengines * c.nsizes, sizeof(*rows));
	trials = mmap(NULL, sizeof(*trials) * c.reps, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!rows || trials == MAP_FAILED) {
		fprintf(stderr, "devmemtcp bench: out of memory\n");
		free(rows);
		return 1;
	}
	if (c.netns) {
		char why[256];
		int ret = netpair_create(&np, 0, why, sizeof(why));

		if (ret < 0) {
			fprintf(stderr, "devmemtcp bench: cannot create the veth "
				"pair: %s\n", why);
			free(rows);
			munmap(trials, sizeof(*trials) * c.reps);
			return 1;
		}
		npp = &np;
	}

	for (unsigned int ei = 0; ei < c.nengines; ei++) {
		for (unsigned int si = 0; si < c.nsizes; si++) {
			struct bench_row *r = &rows[nrows++];
			struct bench_trial ok[BENCH_MAX_REPS];
			unsigned int nok = 0;
			char sz[16];

			r->engine = c.engines[ei];
			r->used = c.engines[ei];
			r->size = c.sizes[si];
			r->flows = c.flows;
			bench_size_str(r->size, sz, sizeof(sz));
			for (unsigned int k = 0; k < c.reps; k++) {
				struct bench_trial *t = &trials[k];
				int port = c.port + (int)(portk++ % 500);
				int ret = bench_trial_run(&c, npp, r->engine,
							  r->size, port, t);

				if (ret < 0) {
					snprintf(r->note, sizeof(r->note), "%s",
						 t->tx_msg);
					if (!c.quiet)
						fprintf(stderr, "bench: %s %s: %s\n",
							dmt_engine_name(r->engine),
							sz, t->tx_msg);
					break;	/* an engine that fails, fails */
				}
				r->used = (enum dmt_engine)t->engine_used;
				ok[nok++] = *t;
				if (!c.quiet)
					fprintf(stderr, "bench: %s %s flows %u run "
						"%u/%u: %.2f GB/s\n",
						dmt_engine_name(r->engine), sz,
						c.flows, k + 1, c.reps,
						t->rx_secs > 0 ? (double)t->rx_bytes
						/ 1e9 / t->rx_secs : 0.0);
			}
			summarize(r, ok, nok);
			if (!nok)
				rc = 1;
		}
	}
	if (npp)
		netpair_destroy(npp);
	munmap(trials, sizeof(*trials) * c.reps);

	if (c.json)
		bench_print_json(&c, rows, nrows);
	else
		bench_print_table(stdout, &c, rows, nrows);
	if (c.csv && bench_write_csv(c.csv, &c, rows, nrows) < 0) {
		fprintf(stderr, "devmemtcp bench: cannot write %s: %s\n", c.csv,
			strerror(errno));
		rc = 1;
	}
	if (c.svg && bench_write_svg(c.svg, &c, rows, nrows) < 0) {
		fprintf(stderr, "devmemtcp bench: cannot write %s: %s\n", c.svg,
			strerror(errno));
		rc = 1;
	}
	free(rows);
	return rc;
}
