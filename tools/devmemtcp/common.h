/* SPDX-License-Identifier: MIT */
/*
 * Code shared by the devmemtcp subcommands (not part of the library),
 * one file per concern: pattern.c (the pattern, sampled validation),
 * parse.c (options, addresses, errors), bufpolicy.c (buffers), stop.c
 * (SIGINT/SIGTERM), cpu.c (time, CPU), out.c (output):
 * the ncdevmem validation pattern, option parsing helpers, output (human
 * key=value lines, iperf3-like interval lines, or one JSON document), CPU
 * accounting, and the client/server entry points the demo reuses.
 */
#ifndef DMT_CLI_COMMON_H
#define DMT_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/socket.h>

#include <devmemtcp.h>

/* ---- ncdevmem validation pattern ----
 * The stream is seed-driven: seed starts at 1, each byte is seed (or '\n'
 * when seed is 0), then seed++ and seed wraps to 0 when it reaches v. So
 * the bytes are 1, 2, ..., v-1, '\n', 1, 2, ... The state persists across
 * calls, so a stream split at any point checks the same. v is 2..256
 * (ncdevmem keeps the seed in an unsigned char). */
#define PAT_MAX_V 256
#define PAT_MAX_BAD 8	/* mismatch offsets remembered */

struct pat {
	unsigned int v;		/* modulus; 0: disabled */
	unsigned int seed;	/* next expected/generated seed, 0..v-1 */
	uint64_t pos;		/* stream offset of the next byte */
	uint64_t mismatches;	/* bytes that differed */
	unsigned int nbad;	/* entries in bad[] */
	struct {
		uint64_t off;
		uint8_t got, want;
	} bad[PAT_MAX_BAD];
	unsigned char *table;	/* pattern from seed 0, v + block bytes */
	size_t block;
};

/* The byte the pattern has for a seed value. */
static inline unsigned char pat_byte(unsigned int seed)
{
	return seed ? (unsigned char)seed : (unsigned char)'\n';
}
/* 0, or -EINVAL for v outside 2..256, -ENOMEM. v 0 gives a disabled
 * checker (pat_check counts bytes only). */
int pat_init(struct pat *p, unsigned int v);
void pat_free(struct pat *p);
/* Write the next len bytes of the pattern into dst and advance. */
void pat_fill(struct pat *p, void *dst, size_t len);
/* Compare len received bytes with the pattern and advance; returns the
 * number of mismatching bytes in this call (also added to p->mismatches,
 * the first PAT_MAX_BAD recorded with their stream offsets). */
uint64_t pat_check(struct pat *p, const void *src, size_t len);
/* Move the checker to stream offset pos (for checks out of order, e.g.
 * sampled windows). */
void pat_seek(struct pat *p, uint64_t pos);

/* ---- which received bytes are validated (data read back from a buffer) ----
 * Data in GPU memory can only be checked by copying it out (dmt_buf_read),
 * so large transfers are sampled. The rule (docs/gpu.md, devmemtcp(1)):
 * transfers of up to 1 GiB are checked in full; above that the first and
 * the last 64 MiB and one 1 MiB window at the start of every other 64 MiB.
 * When the total is not known in advance (no --size), auto checks the first
 * 1 GiB in full, windows after that, and the last 64 MiB at the end of the
 * stream from the receive ring. */
enum val_mode { VAL_AUTO, VAL_FULL, VAL_SAMPLED, VAL_OFF };
#define VAL_FULL_MAX (1ull << 30)	/* auto: full up to this total */
#define VAL_EDGE (64ull << 20)		/* first and last bytes checked */
#define VAL_PERIOD (64ull << 20)	/* one window per period */
#define VAL_WINDOW (1ull << 20)		/* window length */

struct sampler {
	uint64_t full_to;	/* every byte below is checked */
	uint64_t tail_from;	/* every byte at or above is checked */
};
/* VAL_AUTO/FULL/SAMPLED (VAL_OFF: check nothing, do not call); size is
 * the expected total when have_size. */
void sampler_init(struct sampler *sm, enum val_mode m, bool have_size,
		  uint64_t size);
/* Whether stream offset x is checked; *end receives the first offset
 * after x where the answer may change (> x). */
bool sampler_at(const struct sampler *sm, uint64_t x, uint64_t *end);
int parse_validate(const char *s, enum val_mode *m);
const char *val_mode_name(enum val_mode m);

/* ---- option parsing ---- */

/* "64M", "1G", "4096", "512k", "2GiB": K/M/G/T are powers of 1024.
 * 0 or -EINVAL (garbage, overflow). */
int parse_size(const char *s, uint64_t *out);
/* Decimal unsigned in [min, max]; 0 or -EINVAL / -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Non-negative seconds ("1", "0.5"); 0 or -EINVAL. */
int parse_seconds(const char *s, double *out);
/*
 * An IPv4 or IPv6 address with a port: a literal, a scoped IPv6 literal
 * ("fe80::1%eth0") or a host name (getaddrinfo; the first address of
 * want_family, or of any family for AF_UNSPEC). IPv4 (and IPv4-mapped
 * IPv6, ::ffff:a.b.c.d, which ncdevmem builds from IPv4 input) gives an
 * AF_INET address, so the library's route lookup and IP_RECVERR
 * completions see the plain IPv4 path. NULL gives the wildcard of
 * want_family (AF_INET6 "::" when AF_UNSPEC); "" is -EINVAL (the commands
 * refuse an empty -s rather than guess the wildcard). 0 or -EINVAL.
 */
int parse_addr(const char *s, unsigned int port, int want_family,
	       struct sockaddr_storage *ss, socklen_t *len);
/* "1.2.3.4:5201" / "[::1]:5201" into buf. */
const char *addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* One-line usage error "devmemtcp CMD: MSG" on stderr; returns 2. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* getopt_long's ':' (missing value) or '?' (unknown option) for cmd:
 * one line naming the option and the help, exit status 2. */
int getopt_error(const char *cmd, int c, char **argv);
/* Arguments left after the options: exit status 2 for the first, else 0. */
int extra_args_error(const char *cmd, int argc, char **argv);
/* One-line runtime error "devmemtcp CMD: MSG" on stderr; returns 1. */
int run_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Buffer kinds the CLI accepts: host|udmabuf|dmaheap|cuda[:N]|rocm[:N]|auto. */
struct buf_choice {
	int kind;		/* enum dmt_buf_kind, 0 = auto */
	int device;		/* cuda/rocm device index */
};
int parse_buffer(const char *s, struct buf_choice *out);
/*
 * Options several commands share, each with one error sentence: 0, or
 * the exit status of the usage error they printed.
 */
int opt_buffer(const char *cmd, const char *arg, struct buf_choice *b);
int opt_buffer_size(const char *cmd, const char *arg, uint64_t *v);
int opt_interval(const char *cmd, const char *arg, double *v);
int opt_timeout(const char *cmd, const char *arg, int *v);
/* --engine of the senders (staged_ok: DMT_ENGINE_STAGED accepted). */
int opt_tx_engine(const char *cmd, const char *arg, bool staged_ok,
		  enum dmt_engine *e);
/*
 * Allocate per choice. auto: udmabuf, else host; why receives the reason
 * (e.g. "udmabuf unavailable: /dev/udmabuf not found ..."). NULL + message
 * in why on failure.
 */
struct dmt_buf *alloc_buffer(const struct buf_choice *c, size_t size,
			     char *why, size_t whylen);
/* A GPU buffer kind (no CPU mapping: checked by copying out). */
bool buf_choice_gpu(const struct buf_choice *c);
/*
 * Allocate (and free) a buffer of the choice in a child process, so that a
 * GPU runtime is never initialised in a process that forks afterwards
 * (CUDA does not survive fork). 0, or -1 with the reason in why.
 */
int probe_buffer(const struct buf_choice *c, size_t size, char *why,
		 size_t whylen);

/*
 * 0 when a host-memory buffer of size bytes can be had here, else the
 * status of a usage error (exit 2) that names the limit: more than
 * MemAvailable in /proc/meminfo, or than RLIMIT_AS / RLIMIT_DATA allow.
 * Refusing up front beats meeting the OOM killer halfway through.
 */
int check_buffer_fits(const char *cmd, uint64_t size);

/* ---- SIGINT/SIGTERM: end the run, keep the report ----
 * cli_catch_stop() installs handlers (without SA_RESTART, so a blocking
 * read, recv or poll returns EINTR) that set cli_stop to the signal
 * number; the run loops check it, end, and print what was done so far.
 * cli_release_stop() restores the default dispositions. */
extern volatile sig_atomic_t cli_stop;
void cli_catch_stop(void);
void cli_release_stop(void);
/* "SIGINT" / "SIGTERM" for cli_stop's value. */
const char *cli_stop_name(void);

/* ---- time and CPU ---- */
double now_s(void);
struct cpu_snap {
	double proc_s;		/* getrusage(SELF) user+sys */
	double user_s, sys_s;	/* its two parts */
	double machine_s;	/* /proc/stat busy: user+nice+system+irq+softirq */
};
void cpu_snap_take(struct cpu_snap *c);
/* end - start into d. */
void cpu_snap_delta(const struct cpu_snap *start, const struct cpu_snap *end,
		    struct cpu_snap *d);
/* Seconds per 10^9 bytes (0 when bytes is 0). */
double per_gb(double seconds, uint64_t bytes);

/* ---- output ---- */
enum out_sec { OUT_CONFIG, OUT_RESULT, OUT_NSEC };
/* Or'ed into out_kv's section: printed in text mode even without -V. */
#define OUT_SHOW 0x100

struct json_t;
struct out;

/*
 * One stream's interval clock. Each out has its own (o->iv, id 0, what
 * out_start/out_tick use); parallel streams (-P, --bidir) each have one
 * more, ticked from their own thread. Lines are printed whole under one
 * lock.
 */
struct out_ivl {
	struct out *o;
	unsigned int id;	/* [ ID] in text, "stream" in JSON (0: none) */
	int fd;			/* TCP_INFO of this socket per line; -1 none */
	bool sender;		/* Retr and Cwnd are the sender's */
	const char *tag;	/* "TX"/"RX" for --bidir, else NULL */
	double t0, last_t;
	uint64_t last_bytes;
	uint32_t last_retrans;
};

struct out {
	bool json;
	bool stream;		/* --json-stream: one JSON object per line */
	bool quiet;		/* print nothing (the demo runs roles quietly) */
	const char *role;
	struct json_t *sec[OUT_NSEC];	/* JSON: the config/result objects */
	size_t seclen[OUT_NSEC];	/* keys set in each section (any mode) */
	struct json_t *ivl;	/* JSON: the intervals array */
	struct json_t *extra;	/* JSON: more members of the document */
	double period;		/* -i seconds; 0 off */
	struct out_ivl iv;	/* the single stream's interval state */
	bool header_done;
	bool started;		/* --json-stream: start event printed */
};

/* -V/--verbose: the configuration key=value lines in text mode too (they
 * are always in the JSON document). Set once, before the run. */
void out_set_verbose(bool on);
bool out_verbose(void);
/* --format: 0 or 'a' auto-scales; k, m, g force bit rates in Kbits,
 * Mbits, Gbits/sec (10^3 units) and amounts in KBytes, MBytes, GBytes
 * (2^10 units); K, M, G also give the rates in KBytes... per second.
 * 0, or -EINVAL for another letter. */
int out_set_format(const char *s);
/* "12.3 MBytes" (2^10 units) into b. */
const char *fmt_bytes(char *b, size_t n, double bytes);
/* "9.41 Gbits/sec" (10^3 units), or KBytes/sec... for K/M/G. */
const char *fmt_rate(char *b, size_t n, double bytes, double secs);

void out_init(struct out *o, const char *role, bool json, bool quiet,
	      double period);
void out_free(struct out *o);
/* key=value; human: printed at once (OUT_CONFIG lines only with -V or
 * OUT_SHOW); JSON: into the section. A string
 * value (str) becomes a JSON string (made valid UTF-8); otherwise the
 * text is read as a JSON value (a number, true/false, [1,2]), and text
 * that is none (empty, "nan") gives null. */
void out_kv(struct out *o, int sec, const char *key, bool str,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A string value that may be absent: NULL is null in JSON and an empty
 * value (key=) in text. Any length. */
void out_kv_str(struct out *o, int sec, const char *key, const char *s);
/* A list of numbers: a JSON array ([] when n is 0); in text
 * key=v1,v2,... and nothing when n is 0. */
void out_kv_u64s(struct out *o, enum out_sec sec, const char *key,
		 const uint64_t *v, unsigned int n);
/* Human-only free text line (nothing in JSON or quiet mode), printed
 * whole under the output lock, library terms mapped to flags. */
void out_line(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Start the interval clock. */
void out_start(struct out *o, double t0, uint64_t bytes0);
/* The socket whose TCP_INFO (retransmits, cwnd, RTT) goes in each
 * interval line of o's own clock; sender: the socket sends the data. */
void out_set_fd(struct out *o, int fd, bool sender);
/* A stream's own clock (-P, --bidir): id from 1, its socket, started at
 * t0. */
void out_ivl_init(struct out *o, struct out_ivl *iv, unsigned int id, int fd,
		  bool sender, const char *tag);
void out_ivl_start(struct out_ivl *iv, double t0);
void out_ivl_tick(struct out_ivl *iv, uint64_t bytes);
void out_ivl_final(struct out_ivl *iv, uint64_t bytes);
/* -P: one [SUM] interval line (JSON: an interval with "sum": true) of
 * bytes moved by all streams between a and b seconds. */
void out_sum(struct out *o, double a, double b, uint64_t bytes);
/* JSON: add member key (steals v) to the document (e.g. "streams",
 * "server"); nothing in text mode. */
void out_doc_set(struct out *o, const char *key, struct json_t *v);
/* Call often with the running byte count; prints/records an interval line
 * when a period has passed. Cheap when not due. */
void out_tick(struct out *o, uint64_t bytes);
/* Record the last partial interval (if any bytes since the last line). */
void out_tick_final(struct out *o, uint64_t bytes);
/* JSON: print the single document to stdout ({"role", "start", "config",
 * "intervals", "result"}; --json-stream: the "end" event). Human:
 * nothing. */
void out_finish(struct out *o);
/* --help: the usage text on stdout, or in JSON mode the document
 * {"start", "command", "help"}. Returns 0. */
int help_out(const char *cmd, void (*usage)(FILE *f));

/* ---- roles (client.c, server.c), reused by the demo ---- */

/* What a finished client or server run reports to the demo. */
struct xfer_result {
	int status;		/* exit status the role returns */
	bool done;
	uint64_t bytes;
	double seconds;
	double cpu_s;		/* process user+sys */
	uint64_t mismatches;
	uint64_t first_bad;	/* first mismatching offset, if any */
	uint64_t sends, syscalls, zc_completed, zc_copied;
	int zc_verdict;		/* dmt_tx_zerocopy_verdict() */
	char engine[32];
	char engine_reason[512];
	char buffer[32];
	char buffer_reason[1024];
	char validation[16];	/* server: full, sampled or off */
	uint64_t checked;	/* server: bytes validated */
	char error[1024];
	unsigned int port;	/* server: the port it listens on */
};

struct client_cfg {
	const char *server;	/* -s */
	const char *client;	/* -c, may be NULL */
	unsigned int port;	/* -p */
	unsigned int v;		/* -v, 0: pattern with 256 when --size */
	uint64_t chunk;		/* -z, 0: one iovec per contiguous piece */
	const char *ifname;	/* -f */
	enum dmt_engine engine;
	bool have_size;
	uint64_t size;		/* --size */
	double time_s;		/* -t: send the pattern this long (0: not) */
	struct buf_choice buf;
	uint64_t buf_size;	/* --buffer-size */
	uint64_t msg_size;	/* --msg-size: bytes per dmt_tx_send */
	bool json;
	double interval;	/* -i */
	int timeout_s;		/* completions wait */
	bool quiet;
	unsigned int streams;	/* -P: parallel connections (0, 1: one) */
	int dir;		/* enum sess_dir: forward, -R, --bidir */
	bool have_cport;
	unsigned int cport;	/* --cport: source port (with -c: -p's) */
	struct xfer_result *res; /* filled when not NULL */
};

struct server_cfg {
	const char *addr;	/* -s, NULL: any */
	unsigned int port;	/* -p (0: pick one, printed) */
	unsigned int v;		/* -v, 0: no validation */
	bool have_size;
	uint64_t size;		/* --size expected */
	const char *engine;	/* receive engine name */
	bool have_buf;		/* --buffer given */
	struct buf_choice buf;
	uint64_t buf_size;	/* --buffer-size */
	enum val_mode val;	/* --validate */
	bool json;
	double interval;
	int timeout_s;		/* accept and idle timeout, 0: none */
	bool keep;		/* -K: serve one client after another */
	bool quiet;
	int ready_fd;		/* >= 0: write the port (u32) once listening */
	struct xfer_result *res;
	/* devmem RX on a NIC (-f, -q, -t, -c, --no-setup) */
	const char *ifname;	/* -f, NULL: no devmem */
	unsigned int nq;	/* -q, 0: one queue */
	unsigned int qstart;	/* -t, with have_qstart */
	bool have_qstart;
	const char *client;	/* -c: 5-tuple flow rule */
	bool no_setup;		/* --no-setup: bind-rx only */
};

#define CLI_DEFAULT_PORT 5201
#define CLI_DEFAULT_MSG (256u << 10)
#define CLI_DEFAULT_BUF (8u << 20)
#define CLI_DEFAULT_RX_BUF (64u << 20)	/* server --buffer-size */

int client_run(const struct client_cfg *c);
int server_run(const struct server_cfg *s);

#endif
