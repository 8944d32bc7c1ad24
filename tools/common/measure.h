/* SPDX-License-Identifier: MIT */
/* Clocks and CPU accounting shared by the CLI, the bench and the bare
 * baseline loops, so that every figure is measured the same way. */
#ifndef DMT_MEASURE_H
#define DMT_MEASURE_H

/* CLOCK_MONOTONIC in seconds. */
double mono_s(void);
/* user+sys seconds of this process (getrusage RUSAGE_SELF). */
double cpu_self_s(void);
/* Busy seconds of all CPUs: user+nice+system+irq+softirq of the "cpu"
 * line of /proc/stat, so softirq outside our processes counts too.
 * 0 when /proc/stat cannot be read. */
double machine_busy_s(void);
/* Pin the calling thread to one CPU (best effort). */
void pin_cpu(int cpu);

#endif
