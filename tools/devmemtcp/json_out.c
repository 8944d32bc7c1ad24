// SPDX-License-Identifier: MIT
/* The CLI's JSON writer over jansson: see json_out.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "dmt_config.h"
#include "json_out.h"

static struct {
	time_t t0;		/* when the run started */
	bool on, stream, done;
	int err_status;
	char err[1024];
	char err_cmd[32];
} g;

/* getopt_long accepts any unambiguous prefix of a long option, "--js"
 * at the shortest (no other option starts so). */
static bool is_prefix_of(const char *a, const char *opt)
{
	size_t l = strlen(a);

	return l >= 4 && l <= strlen(opt) && !strncmp(a, opt, l);
}

void jout_scan_argv(int argc, char **argv, bool short_j)
{
	g.t0 = time(NULL);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "--json-stream") ||
		    (is_prefix_of(a, "--json-stream") && strlen(a) > 6)) {
			g.on = g.stream = true;
		} else if (is_prefix_of(a, "--json") || (short_j && !strcmp(a, "-j"))) {
			g.on = true;
		}
	}
}

void jout_set(bool on, bool stream)
{
	g.on = on || stream;
	g.stream = stream;
}

bool jout_on(void)
{
	return g.on;
}

bool jout_stream(void)
{
	return g.stream;
}

bool jout_done(void)
{
	return g.done;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;	/* continuation byte, overlong lead, > U+10FFFF */
	/* the second byte's range excludes overlongs, surrogates and
	 * code points above U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

json_t *jout_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, o = 0;
	json_t *v;
	char *b;

	if (!s)
		return json_null();
	len = strlen(s);
	b = malloc(len * 3 + 1);	/* each bad byte becomes 3 bytes */
	if (!b)
		return NULL;
	while (*p) {
		size_t n = utf8_seq(p);

		if (n) {
			memcpy(b + o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(b + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			p++;
		}
	}
	v = json_stringn(b, o);
	free(b);
	return v;
}

void jout_set_new(json_t *o, const char *key, json_t *v)
{
	if (!o) {
		json_decref(v);
		return;
	}
	json_object_set_new(o, key, v ? v : json_null());
}

void jout_set_str(json_t *o, const char *key, const char *s)
{
	jout_set_new(o, key, jout_str(s));
}

void jout_set_num(json_t *o, const char *key, double v)
{
	jout_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

void jout_set_int(json_t *o, const char *key, int64_t v)
{
	jout_set_new(o, key, json_integer((json_int_t)v));
}

void jout_set_u64(json_t *o, const char *key, uint64_t v)
{
	/* jansson integers are signed 64-bit: beyond, the nearest double */
	jout_set_new(o, key, v <= INT64_MAX ? json_integer((json_int_t)v) :
					      json_real((double)v));
}

void jout_set_bool(json_t *o, const char *key, bool v)
{
	jout_set_new(o, key, json_boolean(v));
}

void jout_set_null(json_t *o, const char *key)
{
	jout_set_new(o, key, json_null());
}

json_t *jout_raw(const char *text)
{
	json_t *v;

	char *end;
	double d;

	if (!text || !*text)
		return json_null();
	v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (v)
		return v;
	/* an integer beyond jansson's int64 (a u64 count): its double */
	d = strtod(text, &end);
	return !*end && isfinite(d) ? json_real(d) : json_null();
}

json_t *jout_start(void)
{
	json_t *st = json_object(), *ts = json_object();
	char ver[32], sys[4 * sizeof(((struct utsname *)0)->release) + 8];
	char host[256] = "", tm[64] = "";
	struct utsname u;
	time_t now = g.t0 ? g.t0 : time(NULL);
	struct tm gm;

	snprintf(ver, sizeof(ver), "devmemtcp %s", DMT_VERSION_STRING);
	jout_set_str(st, "version", ver);
	if (uname(&u) == 0) {
		snprintf(sys, sizeof(sys), "%s %s %s %s", u.sysname, u.nodename,
			 u.release, u.machine);
		jout_set_str(st, "system_info", sys);
	} else {
		jout_set_null(st, "system_info");
	}
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0])
		jout_set_str(st, "host", host);
	else
		jout_set_null(st, "host");
	/* iperf3's form: RFC 1123 date in GMT and seconds since the epoch */
	if (gmtime_r(&now, &gm))
		strftime(tm, sizeof(tm), "%a, %d %b %Y %H:%M:%S GMT", &gm);
	jout_set_str(ts, "time", tm[0] ? tm : NULL);
	jout_set_int(ts, "timesecs", (int64_t)now);
	jout_set_new(st, "timestamp", ts);
	return st;
}

json_t *jout_doc(void)
{
	json_t *d = json_object();

	jout_set_new(d, "start", jout_start());
	return d;
}

static int dump(json_t *doc, size_t flags)
{
	/* 15 significant digits: values rounded by the caller (say to
	 * 0.001) print as such, not as their binary neighbours */
	int r = json_dumpf(doc, stdout, flags | JSON_REAL_PRECISION(15));

	if (r == 0 && putchar('\n') == EOF)
		r = -1;
	fflush(stdout);
	return r;
}

int jout_emit(json_t *doc, enum jout_style style)
{
	static const size_t fl[] = {
		[JOUT_COMPACT] = JSON_COMPACT,
		[JOUT_SPACED] = 0,
		[JOUT_INDENT] = JSON_INDENT(2),
	};
	int r = -1;

	if (!doc)
		return -1;
	if (!g.done) {
		g.done = true;
		r = dump(doc, fl[style]);
	}
	json_decref(doc);
	return r;
}

void jout_event(const char *ev, json_t *data)
{
	json_t *e = json_object();

	jout_set_str(e, "event", ev);
	jout_set_new(e, "data", data);
	if (!g.done)
		dump(e, JSON_COMPACT);
	if (!strcmp(ev, "end") || !strcmp(ev, "error"))
		g.done = true;
	json_decref(e);
}

void jout_next(void)
{
	g.done = false;
}

void jout_note_error(const char *cmd, int status, const char *msg)
{
	if (g.err[0])
		return;
	snprintf(g.err, sizeof(g.err), "%s", msg);
	snprintf(g.err_cmd, sizeof(g.err_cmd), "%s", cmd);
	g.err_status = status;
}

int jout_end(const char *cmd, int status)
{
	json_t *d;

	if (!g.on || g.done)
		return status;
	d = json_object();
	jout_set_str(d, "command", cmd);
	if (g.err[0]) {
		jout_set_str(d, "error", g.err);
	} else if (status == 0) {
		jout_set_null(d, "error");
	} else {
		char m[96];

		snprintf(m, sizeof(m), "devmemtcp %s ended with exit status %d "
			 "and no report", cmd, status);
		jout_set_str(d, "error", m);
	}
	jout_set_int(d, "exit_status", status);
	if (g.stream) {
		jout_event("error", d);
	} else {
		json_t *doc = jout_doc();

		json_object_update(doc, d);
		json_decref(d);
		jout_emit(doc, JOUT_COMPACT);
	}
	return status;
}
