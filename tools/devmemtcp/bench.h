/* SPDX-License-Identifier: MIT */
/* devmemtcp bench: shared declarations of bench.c, bench_run.c and
 * bench_out.c. */
#ifndef DMT_BENCH_H
#define DMT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <devmemtcp.h>

#define BENCH_MAX_ENGINES 8
#define BENCH_MAX_SIZES 16
#define BENCH_MAX_REPS 20
#define BENCH_MAX_FLOWS 1024

struct netpair;

struct bench_cfg {
	enum dmt_engine engines[BENCH_MAX_ENGINES];
	unsigned int nengines;
	uint64_t sizes[BENCH_MAX_SIZES];
	unsigned int nsizes;
	unsigned int reps;
	double secs;		/* per run, when bytes is 0 */
	uint64_t bytes;		/* per run (all flows together), 0: by time */
	unsigned int flows;
	uint64_t bufsize;	/* sender buffer, 0: max(16 MiB, 8 messages) */
	int buf_kind;		/* --buffer: enum dmt_buf_kind, 0: host (or a
				 * dma-buf for devmem) */
	int buf_device;		/* --buffer cuda:N / rocm:N */
	const char *buf_name;	/* --buffer as given, NULL: default */
	bool netns;
	bool pin;
	bool json;
	bool quiet;
	const char *csv;
	const char *svg;
	int port;
	/* filled by bench.c */
	char path[16];		/* "lo" or "veth" */
	char kernel[64];
	int cpus;
	char date[32];
};

/* What one run measured. Lives in shared memory: the receiver and the
 * sender processes fill their halves. */
struct bench_trial {
	/* receiver */
	unsigned long long rx_bytes;
	double rx_secs;		/* first byte to the last EOF */
	double rx_cpu;		/* user+sys of the receiver process */
	int rx_err;
	/* sender */
	int tx_err;		/* 0, or -errno */
	char tx_msg[320];
	int engine_used;	/* enum dmt_engine */
	char reason[256];
	double tx_secs;
	double tx_cpu;
	double machine;		/* busy seconds of the machine (all CPUs) */
	uint64_t sends, syscalls, zc_ids, zc_notifications, zc_completed,
		zc_copied, partial, enobufs, bytes, copy_sends;
	double mem_setup;	/* library heap bytes per connection, set up */
	double mem_peak;	/* ... after the run, before freeing */
};

/* One (engine, size) cell: medians over the runs that worked. Rates are
 * bytes per second at the receiver; CPU figures are seconds per 10^9
 * bytes (the same number as nanoseconds per byte). */
struct bench_row {
	enum dmt_engine engine;
	enum dmt_engine used;
	uint64_t size;
	unsigned int flows;
	unsigned int runs;	/* runs that worked */
	bool ok;
	char note[320];		/* why not, when !ok */
	uint64_t run_bytes[BENCH_MAX_REPS];	/* per run, at the receiver */
	double run_secs[BENCH_MAX_REPS];	/* first byte to the last EOF */
	double rate, rate_min, rate_max;	/* bytes per second */
	double snd_cpu, rcv_cpu, machine_cpu;	/* seconds per 10^9 bytes */
	double notifs_per_send;	/* < 0: not applicable */
	double syscalls_per_gb;	/* syscalls per 10^9 bytes */
	double bytes_per_syscall;
	double copied_share;	/* < 0: not applicable */
	double plain_share;	/* auto: share of sends made with plain send() */
	double mem_setup, mem_peak;	/* bytes per connection */
};

/* One run: 0 with t filled, or -errno with t->tx_msg saying why. */
int bench_trial_run(const struct bench_cfg *c, const struct netpair *np,
		    enum dmt_engine e, uint64_t size, int port,
		    struct bench_trial *t);

void bench_print_table(FILE *f, const struct bench_cfg *c,
		       const struct bench_row *rows, unsigned int n);
void bench_print_json(const struct bench_cfg *c,
		      const struct bench_row *rows, unsigned int n);
int bench_write_csv(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n);
int bench_write_svg(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n);
/* The axis of the SVG plot: round ticks 0, step, 2 step, ... up to top,
 * the step 1, 2 or 5 times a power of ten, at most about 'most' ticks,
 * top >= vmax. Returns the number of steps (top / step). */
unsigned int bench_axis(double vmax, unsigned int most, double *step,
			double *top);
/* "4K", "64K", "1M" */
const char *bench_size_str(uint64_t v, char *buf, size_t len);

#endif
