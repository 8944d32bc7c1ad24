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
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "advice.h"
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
	o->iv.o = o;
	o->iv.fd = -1;
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
	json_decref(o->extra);
	memset(o->sec, 0, sizeof(o->sec));
	o->ivl = o->extra = NULL;
}

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static bool verbose;
static char unit;	/* 0 auto, k m g K M G */

void out_set_verbose(bool on)
{
	verbose = on;
}

bool out_verbose(void)
{
	return verbose;
}

int out_set_format(const char *s)
{
	if (!s || strlen(s) != 1 || !strchr("akmgKMG", s[0]))
		return -EINVAL;
	unit = s[0] == 'a' ? 0 : s[0];
	return 0;
}

const char *fmt_bytes(char *b, size_t n, double bytes)
{
	static const char *names[] = { "Bytes", "KBytes", "MBytes", "GBytes" };
	int i = 0;

	if (unit)
		i = tolower((unsigned char)unit) == 'k' ? 1 :
		    tolower((unsigned char)unit) == 'm' ? 2 : 3;
	else
		while (i < 3 && bytes >= pow(1024.0, i + 1))
			i++;
	bytes /= pow(1024.0, i);
	if (i == 0)
		snprintf(b, n, "%.0f Bytes", bytes);
	else
		snprintf(b, n, "%.*f %s", bytes < 9.995 ? 2 : bytes < 99.95 ? 1 : 0,
			 bytes, names[i]);
	return b;
}

const char *fmt_rate(char *b, size_t n, double bytes, double secs)
{
	static const char *bits[] = { "bits/sec", "Kbits/sec", "Mbits/sec",
				      "Gbits/sec", "Tbits/sec" };
	static const char *byts[] = { "Bytes/sec", "KBytes/sec", "MBytes/sec",
				      "GBytes/sec", "TBytes/sec" };
	double r = secs > 0 ? bytes / secs : 0;
	int i = 0;

	if (unit && isupper((unsigned char)unit)) {
		i = unit == 'K' ? 1 : unit == 'M' ? 2 : 3;
		for (int k = 0; k < i; k++)
			r /= 1024;
		snprintf(b, n, "%.*f %s", r < 9.995 ? 2 : r < 99.95 ? 1 : 0, r,
			 byts[i]);
		return b;
	}
	r *= 8;
	if (unit)
		i = unit == 'k' ? 1 : unit == 'm' ? 2 : 3;
	else
		while (i < 4 && r >= pow(1000.0, i + 1))
			i++;
	r /= pow(1000.0, i);
	snprintf(b, n, "%.*f %s", r < 9.995 ? 2 : r < 99.95 ? 1 : 0, r, bits[i]);
	return b;
}

void out_kv(struct out *o, int sec, const char *key, bool str,
	    const char *fmt, ...)
{
	va_list ap;
	char *val = NULL;
	bool show = (sec & OUT_SHOW) || verbose;
	int n;

	sec &= ~OUT_SHOW;
	if (o->quiet)
		return;
	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (str) {	/* library terms -> flags */
		size_t len = (size_t)n * 2 + 64;
		char *adv = malloc(len);

		if (adv) {
			cli_advice(val, adv, len);
			free(val);
			val = adv;
		}
	}
	o->seclen[sec]++;
	if (!o->json) {
		if (sec != OUT_CONFIG || show)
			printf("%s=%s\n", key, val);
	} else {
		jout_set_new(o->sec[sec], key, str ? jout_str(val) : jout_raw(val));
	}
	free(val);
}

void out_kv_str(struct out *o, int sec, const char *key, const char *s)
{
	bool show = (sec & OUT_SHOW) || verbose;

	size_t len = s ? strlen(s) * 2 + 64 : 0;
	char *adv;

	sec &= ~OUT_SHOW;
	if (o->quiet)
		return;
	adv = s ? malloc(len) : NULL;
	if (adv)	/* library terms -> flags */
		s = cli_advice(s, adv, len);
	o->seclen[sec]++;
	if (!o->json) {
		if (sec != OUT_CONFIG || show)
			printf("%s=%s\n", key, s ? s : "");
	} else {
		jout_set_str(o->sec[sec], key, s);
	}
	free(adv);
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
	char raw[2048], line[4096];
	va_list ap;

	if (o->quiet || o->json)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_lock);
	puts(cli_advice(raw, line, sizeof(line)));	/* library terms -> flags */
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void out_doc_set(struct out *o, const char *key, json_t *v)
{
	if (o->quiet || !o->json) {
		json_decref(v);
		return;
	}
	pthread_mutex_lock(&out_lock);
	if (!o->extra)
		o->extra = json_object();
	jout_set_new(o->extra, key, v);
	pthread_mutex_unlock(&out_lock);
}

static json_t *out_doc(struct out *o);

void out_start(struct out *o, double t0, uint64_t bytes0)
{
	o->iv.t0 = o->iv.last_t = t0;
	o->iv.last_bytes = bytes0;
	if (o->stream && !o->quiet && !o->started) {
		pthread_mutex_lock(&out_lock);
		jout_event("start", out_doc(o));
		o->started = true;
		pthread_mutex_unlock(&out_lock);
	}
}

void out_set_fd(struct out *o, int fd, bool sender)
{
	o->iv.fd = fd;
	o->iv.sender = sender;
}

void out_ivl_init(struct out *o, struct out_ivl *iv, unsigned int id, int fd,
		  bool sender, const char *tag)
{
	memset(iv, 0, sizeof(*iv));
	iv->o = o;
	iv->id = id;
	iv->fd = fd;
	iv->sender = sender;
	iv->tag = tag;
}

void out_ivl_start(struct out_ivl *iv, double t0)
{
	iv->t0 = iv->last_t = t0;
	iv->last_bytes = 0;
	if (iv->o->stream && !iv->o->quiet && !iv->o->started) {
		pthread_mutex_lock(&out_lock);
		if (!iv->o->started)
			jout_event("start", out_doc(iv->o));
		iv->o->started = true;
		pthread_mutex_unlock(&out_lock);
	}
}

/* TCP_INFO of iv's socket: 0, or -1 (no socket, or the query failed). */
static int ivl_tcp(struct out_ivl *iv, uint32_t *retr, uint64_t *cwnd,
		   uint32_t *rtt)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (iv->fd < 0)
		return -1;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(iv->fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -1;
	*retr = ti.tcpi_total_retrans - iv->last_retrans;
	iv->last_retrans = ti.tcpi_total_retrans;
	*cwnd = (uint64_t)ti.tcpi_snd_cwnd * ti.tcpi_snd_mss;
	*rtt = ti.tcpi_rtt;
	return 0;
}

static void emit_interval(struct out_ivl *iv, double t, uint64_t bytes)
{
	struct out *o = iv->o;
	double dt = t - iv->last_t;
	uint64_t db = bytes - iv->last_bytes;
	double a = iv->last_t - iv->t0, b = t - iv->t0;
	uint32_t retr = 0, rtt = 0;
	uint64_t cwnd = 0;
	bool tcp;

	if (o->quiet)
		return;
	tcp = ivl_tcp(iv, &retr, &cwnd, &rtt) == 0;
	pthread_mutex_lock(&out_lock);
	if (o->json) {
		json_t *j = json_object();

		if (iv->id)
			jout_set_int(j, "stream", iv->id);
		if (iv->tag)
			jout_set_str(j, "direction", iv->tag);
		/* milliseconds are what the clock resolution here is worth */
		jout_set_num(j, "start", round(a * 1000) / 1000);
		jout_set_num(j, "end", round(b * 1000) / 1000);
		jout_set_u64(j, "bytes", db);
		jout_set_u64(j, "bits_per_second", dt > 0 ?
			     (uint64_t)llround((double)db * 8 / dt) : 0);
		if (tcp) {
			jout_set_u64(j, "retransmits", retr);
			jout_set_u64(j, "snd_cwnd", cwnd);
			jout_set_u64(j, "rtt", rtt);
		} else {
			jout_set_null(j, "retransmits");
			jout_set_null(j, "snd_cwnd");
			jout_set_null(j, "rtt");
		}
		if (o->stream)
			jout_event("interval", j);
		else
			json_array_append_new(o->ivl, j);
	} else {
		char amt[32], rate[32], cwa[32], extra[64] = "";

		if (!o->header_done) {
			printf("[ ID] Interval           Transfer     Bitrate"
			       "          Retr  Cwnd          RTT\n");
			o->header_done = true;
		}
		if (tcp && iv->sender)
			snprintf(extra, sizeof(extra), "  %4u  %-12s  %u us", retr,
				 fmt_bytes(cwa, sizeof(cwa), (double)cwnd), rtt);
		else if (tcp)	/* a receiver: no Retr, no Cwnd of its own */
			snprintf(extra, sizeof(extra), "  %4s  %-12s  %u us", "",
				 "", rtt);
		printf("[%3u]%s%s %6.2f-%-6.2f sec  %-12s  %-15s%s\n",
		       iv->id ? iv->id : 1u, iv->tag ? " " : "",
		       iv->tag ? iv->tag : "", a, b,
		       fmt_bytes(amt, sizeof(amt), (double)db),
		       fmt_rate(rate, sizeof(rate), (double)db, dt), extra);
		fflush(stdout);
	}
	pthread_mutex_unlock(&out_lock);
}

void out_sum(struct out *o, double a, double b, uint64_t bytes)
{
	double dt = b - a;

	if (o->quiet)
		return;
	pthread_mutex_lock(&out_lock);
	if (o->json) {
		json_t *j = json_object();

		jout_set_bool(j, "sum", true);
		jout_set_num(j, "start", round(a * 1000) / 1000);
		jout_set_num(j, "end", round(b * 1000) / 1000);
		jout_set_u64(j, "bytes", bytes);
		jout_set_u64(j, "bits_per_second", dt > 0 ?
			     (uint64_t)llround((double)bytes * 8 / dt) : 0);
		if (o->stream)
			jout_event("interval", j);
		else
			json_array_append_new(o->ivl, j);
	} else {
		char amt[32], rate[32];

		printf("[SUM] %6.2f-%-6.2f sec  %-12s  %s\n", a, b,
		       fmt_bytes(amt, sizeof(amt), (double)bytes),
		       fmt_rate(rate, sizeof(rate), (double)bytes, dt));
		fflush(stdout);
	}
	pthread_mutex_unlock(&out_lock);
}

void out_ivl_tick(struct out_ivl *iv, uint64_t bytes)
{
	double t;

	if (iv->o->period <= 0)
		return;
	t = now_s();
	if (t - iv->last_t < iv->o->period)
		return;
	emit_interval(iv, t, bytes);
	iv->last_t = t;
	iv->last_bytes = bytes;
}

void out_ivl_final(struct out_ivl *iv, uint64_t bytes)
{
	double t;

	if (iv->o->period <= 0 || bytes == iv->last_bytes)
		return;
	/* Only when at least one full line was printed: a short transfer
	 * gets just the summary, as iperf3 does for its last interval. */
	if (iv->last_t == iv->t0)
		return;
	t = now_s();
	emit_interval(iv, t, bytes);
	iv->last_t = t;
	iv->last_bytes = bytes;
}

void out_tick(struct out *o, uint64_t bytes)
{
	out_ivl_tick(&o->iv, bytes);
}

void out_tick_final(struct out *o, uint64_t bytes)
{
	out_ivl_final(&o->iv, bytes);
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
		if (o->extra)
			json_object_update(d, o->extra);
		pthread_mutex_lock(&out_lock);
		jout_event("end", d);
		pthread_mutex_unlock(&out_lock);
		return;
	}
	d = out_doc(o);
	json_object_set(d, "intervals", o->ivl);
	json_object_set(d, "result", o->sec[OUT_RESULT]);
	if (o->extra)
		json_object_update(d, o->extra);
	pthread_mutex_lock(&out_lock);
	jout_emit(d, JOUT_COMPACT);
	pthread_mutex_unlock(&out_lock);
}
