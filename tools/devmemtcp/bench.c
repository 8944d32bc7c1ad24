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

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

/* Fold the runs of one cell into its row. */
static void summarize(struct bench_row *r, const struct bench_trial *t,
		      unsigned int n)
{
	double rate[BENCH_MAX_REPS], snd[BENCH_MAX_REPS], rcv[BENCH_MAX_REPS],
		mach[BENCH_MAX_REPS], nps[BENCH_MAX_REPS], sys[BENCH_MAX_REPS],
		bps[BENCH_MAX_REPS], cop[BENCH_MAX_REPS], ms[BENCH_MAX_REPS],
		mp[BENCH_MAX_REPS], pl[BENCH_MAX_REPS];
	bool zc = false;

	for (unsigned int i = 0; i < n; i++) {
		double gb = (double)t[i].rx_bytes / 1e9;

		r->run_bytes[i] = t[i].rx_bytes;
		r->run_secs[i] = t[i].rx_secs;
		rate[i] = t[i].rx_secs > 0 ? (double)t[i].rx_bytes / t[i].rx_secs : 0;
		snd[i] = t[i].tx_cpu / gb;
		rcv[i] = t[i].rx_cpu / gb;
		mach[i] = t[i].machine / gb;
		nps[i] = ratio(t[i].zc_notifications, t[i].sends);
		sys[i] = (double)t[i].syscalls / gb;
		bps[i] = ratio(t[i].rx_bytes, t[i].syscalls);
		cop[i] = ratio(t[i].zc_copied, t[i].zc_completed);
		zc = zc || t[i].zc_ids;
		pl[i] = ratio(t[i].copy_sends, t[i].sends);
		ms[i] = t[i].mem_setup;
		mp[i] = t[i].mem_peak;
	}
	r->runs = n;
	r->ok = n > 0;
	r->rate_min = r->rate_max = n ? rate[0] : 0;
	for (unsigned int i = 1; i < n; i++) {
		r->rate_min = rate[i] < r->rate_min ? rate[i] : r->rate_min;
		r->rate_max = rate[i] > r->rate_max ? rate[i] : r->rate_max;
	}
	r->rate = median(rate, n);
	r->snd_cpu = median(snd, n);
	r->rcv_cpu = median(rcv, n);
	r->machine_cpu = median(mach, n);
	r->syscalls_per_gb = median(sys, n);
	r->bytes_per_syscall = median(bps, n);
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

/* ---- options ---- */

static const struct option bench_opts[] = {
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

/* A number option: "--NAME 'ARG'" within [lo, hi], else exit 2 saying fix. */
static int opt_num(const char *name, const char *arg, uint64_t lo, uint64_t hi,
		   const char *fix, uint64_t *v)
{
	char what[32];

	if (parse_size(arg, v) == 0 && *v >= lo && *v <= hi)
		return 0;
	snprintf(what, sizeof(what), "bad --%s", name);
	return bad(what, arg, fix);
}

/* One option into c (b: the --buffer choice). 0, or the exit status. */
static int set_opt(struct bench_cfg *c, struct buf_choice *b, int opt,
		   char *arg)
{
	uint64_t v = 0;
	char *end;
	int rc = 0;

	switch (opt) {
	case 'e':
		return parse_list(arg, one_engine, c) ? 2 : 0;
	case 's':
		return parse_list(arg, one_size, c) ? 2 : 0;
	case 'r':
		rc = opt_num("reps", arg, 1, BENCH_MAX_REPS, "give 1 to 20", &v);
		c->reps = (unsigned int)v;
		return rc;
	case 't':
		c->secs = strtod(arg, &end);
		if (*end || end == arg || !(c->secs >= 0.1 && c->secs <= 600))
			return bad("bad --time", arg,
				   "give seconds between 0.1 and 600");
		return 0;
	case 'b':
		rc = opt_num("bytes", arg, 1, 1ull << 40,
			     "give a size such as 256M or 4G", &c->bytes);
		return rc;
	case 'f':
		rc = opt_num("flows", arg, 1, BENCH_MAX_FLOWS, "give 1 to 1024", &v);
		c->flows = (unsigned int)v;
		return rc;
	case 'B':
		return opt_num("buffer-size", arg, 4096, 1ull << 30,
			       "give 4K to 1G, e.g. 128K or 16M", &c->bufsize);
	case 'm':
		if ((rc = opt_buffer("bench", arg, b)))
			return rc;
		c->buf_kind = b->kind;
		c->buf_device = b->device;
		c->buf_name = arg;
		return 0;
	case 'p':
		rc = opt_num("port", arg, 1024, 60000, "give 1024 to 60000", &v);
		c->port = (int)v;
		return rc;
	case 'n':
		c->netns = true;
		return 0;
	case 'P':
		c->pin = true;
		return 0;
	case 'j':
		c->json = true;
		return 0;
	case 'c':
		c->csv = arg;
		return 0;
	case 'g':
		c->svg = arg;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	}
	return 2;
}

/* The command line into c. 0, or the exit status (help: 0 with *done). */
static int parse_args(int argc, char **argv, struct bench_cfg *c,
		      struct buf_choice *b, bool *done)
{
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":qh", bench_opts, NULL)) != -1) {
		if (opt == 'h') {
			*done = true;
			return help_out("bench", usage);
		}
		if (opt == '?' || opt == ':')
			return getopt_error("bench", opt, argv);
		if ((rc = set_opt(c, b, opt, optarg)))
			return rc;
	}
	jout_set(c->json, false);
	if (optind < argc)
		return extra_args_error("bench", argc, argv);
	return 0;
}

/* Defaults for what was not asked, and the checks across options and of
 * this host that can fail before any run. 0, or the exit status. */
static int complete_cfg(struct bench_cfg *c, const struct buf_choice *b)
{
	char engines_def[] = "copy,zerocopy,uring,auto";
	char engines_gpu[] = "auto,staged";
	char sizes_def[] = "4K,16K,64K,256K,1M";
	bool gpu = buf_choice_gpu(b);

	if (!c->nengines)
		parse_list(gpu ? engines_gpu : engines_def, one_engine, c);
	for (unsigned int i = 0; i < c->nengines && gpu; i++) {
		enum dmt_engine e = c->engines[i];

		if (e != DMT_ENGINE_AUTO && e != DMT_ENGINE_DEVMEM &&
		    e != DMT_ENGINE_STAGED)
			return bad("engine", dmt_engine_name(e), "it sends from a "
				   "CPU mapping, which GPU memory lacks: use auto, "
				   "devmem or staged with --buffer cuda|rocm");
	}
	if (!c->nsizes)
		parse_list(sizes_def, one_size, c);
	if (c->pin && sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return bad("--pin needs two CPUs online, found", "1", "drop --pin");
	if (c->netns && geteuid() != 0)
		return bad("--netns creates namespaces, which needs", "root",
			   "run as root or drop --netns");
	if (c->buf_kind) {
		/* in a child: a GPU runtime must not start in this process,
		 * which forks the senders afterwards */
		char why[1024];

		if (probe_buffer(b, 2u << 20, why, sizeof(why)) < 0)
			return run_error("bench", "%s", why);
	}
	machine_facts(c);
	return 0;
}

/* ---- the runs ---- */

struct bench_state {
	struct bench_cfg *c;
	const struct netpair *np;	/* NULL: loopback */
	struct bench_trial *trials;	/* c->reps, shared with the children */
	unsigned int portk;		/* runs so far: the next port */
};

/* The runs of one (engine, size) cell, until one fails. 0, or 1 when none
 * worked (the row says why). */
static int run_cell(struct bench_state *st, struct bench_row *r)
{
	const struct bench_cfg *c = st->c;
	struct bench_trial ok[BENCH_MAX_REPS];
	unsigned int nok = 0;
	char sz[16];

	bench_size_str(r->size, sz, sizeof(sz));
	for (unsigned int k = 0; k < c->reps; k++) {
		struct bench_trial *t = &st->trials[k];
		int port = c->port + (int)(st->portk++ % 500);

		if (bench_trial_run(c, st->np, r->engine, r->size, port, t) < 0) {
			snprintf(r->note, sizeof(r->note), "%s", t->tx_msg);
			if (!c->quiet)
				fprintf(stderr, "bench: %s %s: %s\n",
					dmt_engine_name(r->engine), sz, t->tx_msg);
			break;	/* an engine that fails, fails */
		}
		r->used = (enum dmt_engine)t->engine_used;
		ok[nok++] = *t;
		if (!c->quiet)
			fprintf(stderr, "bench: %s %s flows %u run %u/%u: "
				"%.2f GB/s\n", dmt_engine_name(r->engine), sz,
				c->flows, k + 1, c->reps, t->rx_secs > 0 ?
				(double)t->rx_bytes / 1e9 / t->rx_secs : 0.0);
	}
	summarize(r, ok, nok);
	return nok ? 0 : 1;
}

/* Every engine x size into rows (c->nengines * c->nsizes of them), on
 * loopback or across a veth pair made here. 0, or 1 when a cell failed or
 * nothing could run. */
static int run_matrix(struct bench_cfg *c, struct bench_row *rows)
{
	size_t tsz = sizeof(struct bench_trial) * c->reps;
	struct bench_state st = { .c = c };
	struct netpair np;
	unsigned int n = 0;
	int rc = 0;

	st.trials = mmap(NULL, tsz, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st.trials == MAP_FAILED)
		return run_error("bench", "out of memory");
	if (c->netns) {
		char why[256];

		if (netpair_create(&np, 0, why, sizeof(why)) < 0) {
			munmap(st.trials, tsz);
			return run_error("bench", "cannot create the veth pair: "
					 "%s", why);
		}
		st.np = &np;
	}
	for (unsigned int ei = 0; ei < c->nengines; ei++)
		for (unsigned int si = 0; si < c->nsizes; si++) {
			struct bench_row *r = &rows[n++];

			r->engine = r->used = c->engines[ei];
			r->size = c->sizes[si];
			r->flows = c->flows;
			rc |= run_cell(&st, r);
		}
	if (st.np)
		netpair_destroy(&np);
	munmap(st.trials, tsz);
	return rc;
}

/* The table or JSON on stdout, and the files asked for. 0, or 1 when a
 * file could not be written. */
static int write_outputs(const struct bench_cfg *c,
			 const struct bench_row *rows, unsigned int n)
{
	int rc = 0;

	if (c->json)
		bench_print_json(c, rows, n);
	else
		bench_print_table(stdout, c, rows, n);
	if (c->csv && bench_write_csv(c->csv, c, rows, n) < 0)
		rc = run_error("bench", "cannot write %s: %s", c->csv,
			       strerror(errno));
	if (c->svg && bench_write_svg(c->svg, c, rows, n) < 0)
		rc = run_error("bench", "cannot write %s: %s", c->svg,
			       strerror(errno));
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_cfg c = { .reps = 3, .secs = 1, .flows = 1, .port = 5400 };
	struct buf_choice bufc = { 0 };
	struct bench_row *rows;
	bool done = false;
	int rc;

	if ((rc = parse_args(argc, argv, &c, &bufc, &done)) || done)
		return rc;
	if ((rc = complete_cfg(&c, &bufc)))
		return rc;
	rows = calloc((size_t)c.nengines * c.nsizes, sizeof(*rows));
	if (!rows)
		return run_error("bench", "out of memory");
	rc = run_matrix(&c, rows);
	rc |= write_outputs(&c, rows, c.nengines * c.nsizes);
	free(rows);
	return rc;
}
