// SPDX-License-Identifier: MIT
/* Time and CPU accounting (process and machine); declared in
 * common.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "json_out.h"
#include "measure.h"

/* ------------------------------------------------------------------ */
/* time and CPU                                                        */
/* ------------------------------------------------------------------ */

double now_s(void)
{
	return mono_s();
}


void cpu_snap_take(struct cpu_snap *c)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	c->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	c->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	c->proc_s = c->user_s + c->sys_s;
	c->machine_s = machine_busy_s();
}

void cpu_snap_delta(const struct cpu_snap *start, const struct cpu_snap *end,
		    struct cpu_snap *d)
{
	d->proc_s = end->proc_s - start->proc_s;
	d->user_s = end->user_s - start->user_s;
	d->sys_s = end->sys_s - start->sys_s;
	d->machine_s = end->machine_s - start->machine_s;
}

double per_gb(double seconds, uint64_t bytes)
{
	return bytes ? seconds / ((double)bytes / 1e9) : 0.0;
}
