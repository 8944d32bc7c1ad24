// SPDX-License-Identifier: MIT
/* Output: key=value lines, interval lines, summaries, and the --json
 * document through json_out.c; declared in common.h. */
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
/* output                                                              */
/* ------------------------------------------------------------------ */

void out_init(struct out *o, const char *role, bool json, bool quiet,
	      double period)
{
	memset(o, 0, sizeof(*o));
	o->role = role;
	o->json = json;
	o->stream = json && !quiet && jout_stream();	/* --json-stream */
	o->quiet = quiet;
	o->period = period;
	if (o->json && !quiet) {
		for (int i = 0; i < OUT_NSEC; i++)
			o->sec[i] = json_object();
		o->ivl = json_array();
	}
}

void out_free(struct out *o)
{
	for (int i = 0; i < OUT_NSEC; i++)
		json_decref(o->sec[i]);
	json_decref(o->ivl);
	memset(o->sec, 0, sizeof(o->sec));
	o->ivl = NULL;
}

void out_kv(struct out *o, enum out_sec sec, const char *key, bool str,
	    const char *fmt, ...)
{
	va_list ap;
	char *val = NULL;
	int n;

	if (o->quiet)
		return;
	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->seclen[sec]++;
	if (!o->json)
		printf("%s=%s\n", key, val);
	else
		jout_set_new(o->sec[sec], key, str ? jout_str(val) : jout_raw(val));
	free(val);
}

void out_kv_str(struct out *o, enum out_sec sec, const char *key,
		const char *s)
{
	if (o->quiet)
		return;
	o->seclen[sec]++;
	if (!o->json)
		printf("%s=%s\n", key, s ? s : "");
	else
		jout_set_str(o->sec[sec], key, s);
}

void out_kv_u64s(struct out *o, enum out_sec sec, const char *key,
		 const uint64_t *v, unsigned int n)
{
	json_t *a;

	if (o->quiet || (!o->json && !n))
		return;
	o->seclen[sec]++;
	if (!o->json) {
		printf("%s=", key);
		for (unsigned int i = 0; i < n; i++)
			printf("%s%" PRIu64, i ? "," : "", v[i]);
		putchar('\n');
		return;
	}
	a = json_array();
	for (unsigned int i = 0; i < n; i++)
		json_array_append_new(a, v[i] <= INT64_MAX ?
				      json_integer((json_int_t)v[i]) :
				      json_real((double)v[i]));
	jout_set_new(o->sec[sec], key, a);
}

int help_out(const char *cmd, void (*usage)(FILE *f))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	json_t *d;

	if (!jout_on()) {
		usage(stdout);
		return 0;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return run_error(cmd, "out of memory");
	usage(f);
	fclose(f);
	d = jout_doc();
	jout_set_str(d, "command", cmd);
	jout_set_str(d, "help", text);
	free(text);
	if (jout_stream())
		jout_event("end", d);
	else
		jout_emit(d, JOUT_COMPACT);
	return 0;
}

void out_line(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet || o->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static json_t *out_doc(struct out *o);

void out_start(struct out *o, double t0, uint64_t bytes0)
{
	o->t0 = o->last_t = t0;
	o->last_bytes = bytes0;
	if (o->stream && !o->quiet && !o->started) {
		jout_event("start", out_doc(o));
		o->started = true;
	}
}

static void emit_interval(struct out *o, double t, uint64_t bytes)
{
	double dt = t - o->last_t;
	uint64_t db = bytes - o->last_bytes;
	double a = o->last_t - o->t0, b = t - o->t0;
	double gbit = dt > 0 ? (double)db * 8 / dt / 1e9 : 0;

	if (o->quiet)
		return;
	if (o->json) {
		json_t *iv = json_object();

		/* milliseconds are what the clock resolution here is worth */
		jout_set_num(iv, "start", round(a * 1000) / 1000);
		jout_set_num(iv, "end", round(b * 1000) / 1000);
		jout_set_u64(iv, "bytes", db);
		jout_set_u64(iv, "bits_per_second", (uint64_t)llround(gbit * 1e9));
		if (o->stream)
			jout_event("interval", iv);
		else
			json_array_append_new(o->ivl, iv);
	} else {
		if (!o->header_done) {
			printf("[ ID] Interval           Transfer     Bitrate\n");
			o->header_done = true;
		}
		printf("[  1] %6.2f-%-6.2f sec  %6.2f GBytes  %6.2f Gbits/sec\n",
		       a, b, (double)db / (1u << 30), gbit);
		fflush(stdout);
	}
}

void out_tick(struct out *o, uint64_t bytes)
{
	double t;

	if (o->period <= 0)
		return;
	t = now_s();
	if (t - o->last_t < o->period)
		return;
	emit_interval(o, t, bytes);
	o->last_t = t;
	o->last_bytes = bytes;
}

void out_tick_final(struct out *o, uint64_t bytes)
{
	double t;

	if (o->period <= 0 || bytes == o->last_bytes)
		return;
	/* Only when at least one full line was printed: a short transfer
	 * gets just the summary, as iperf3 does for its last interval. */
	if (o->last_t == o->t0)
		return;
	t = now_s();
	emit_interval(o, t, bytes);
	o->last_t = t;
	o->last_bytes = bytes;
}

/* The document's head: role, start, config so far. */
static json_t *out_doc(struct out *o)
{
	json_t *d = json_object();

	jout_set_str(d, "role", o->role);
	jout_set_new(d, "start", jout_start());
	json_object_set(d, "config", o->sec[OUT_CONFIG]);
	return d;
}

void out_finish(struct out *o)
{
	json_t *d;

	if (o->quiet || !o->json) {
		fflush(stdout);
		return;
	}
	if (o->stream) {
		if (!o->started) {
			jout_event("start", out_doc(o));
			o->started = true;
		}
		d = json_object();
		json_object_set_new(d, "role", json_string(o->role));
		json_object_set(d, "result", o->sec[OUT_RESULT]);
		jout_event("end", d);
		return;
	}
	d = out_doc(o);
	json_object_set(d, "intervals", o->ivl);
	json_object_set(d, "result", o->sec[OUT_RESULT]);
	jout_emit(d, JOUT_COMPACT);
}
