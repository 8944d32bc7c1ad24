// SPDX-License-Identifier: MIT
/* devmemtcp bench: output as a table, JSON, CSV and a hand-written SVG. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "bench.h"
#include "json_out.h"

const char *bench_size_str(uint64_t v, char *buf, size_t len)
{
	if (v >= (1u << 20) && !(v & ((1u << 20) - 1)))
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v >= 1024 && !(v & 1023))
		snprintf(buf, len, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static const char *engine_label(const struct bench_row *r, char *buf,
				size_t len)
{
	if (r->engine == DMT_ENGINE_AUTO && r->ok)	/* +copy: large sends */
		snprintf(buf, len, "auto>%s%s", dmt_engine_name(r->used),
			 r->plain_share > 0.5 ? "+copy" : "");
	else
		snprintf(buf, len, "%s", dmt_engine_name(r->engine));
	return buf;
}

static void header_line(FILE *f, const struct bench_cfg *c, const char *pre)
{
	fprintf(f, "%sdevmemtcp bench: %s, %d CPUs, kernel %s, %u flow%s, ",
		pre, c->path, c->cpus, c->kernel, c->flows, c->flows > 1 ? "s" : "");
	if (c->bytes)
		fprintf(f, "%u runs x %llu bytes", c->reps,
			(unsigned long long)c->bytes);
	else
		fprintf(f, "%u runs x %.1f s", c->reps, c->secs);
	if (c->bufsize)
		fprintf(f, ", %llu-byte buffer", (unsigned long long)c->bufsize);
	if (c->buf_name)
		fprintf(f, ", %s memory", c->buf_name);
	fprintf(f, "%s, %s\n", c->pin ? ", pinned" : "", c->date);
}

void bench_print_table(FILE *f, const struct bench_cfg *c,
		       const struct bench_row *rows, unsigned int n)
{
	header_line(f, c, "");
	fprintf(f, "%-15s %5s %6s %-13s %6s %6s %6s %7s %8s %6s %8s\n",
		"engine", "size", "GB/s", "(min-max)", "snd", "rcv", "mach",
		"notif/", "syscalls", "copied", "heap/");
	fprintf(f, "%-15s %5s %6s %-13s %6s %6s %6s %7s %8s %6s %8s\n",
		"", "", "", "", "s/GB", "s/GB", "s/GB", "send", "/GB", "", "conn");
	for (unsigned int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		char lab[32], sz[16], mm[32], nps[16], cop[16];

		engine_label(r, lab, sizeof(lab));
		bench_size_str(r->size, sz, sizeof(sz));
		if (!r->ok) {
			fprintf(f, "%-15s %5s    n/a  %s\n", lab, sz, r->note);
			continue;
		}
		snprintf(mm, sizeof(mm), "(%.2f-%.2f)", r->rate_min / 1e9,
			 r->rate_max / 1e9);
		if (r->notifs_per_send < 0)
			snprintf(nps, sizeof(nps), "-");
		else
			snprintf(nps, sizeof(nps), "%.3f", r->notifs_per_send);
		if (r->copied_share < 0)
			snprintf(cop, sizeof(cop), "-");
		else
			snprintf(cop, sizeof(cop), "%.0f%%", r->copied_share * 100);
		fprintf(f, "%-15s %5s %6.2f %-13s %6.3f %6.3f %6.3f %7s %8.0f "
			"%6s %7.1fK\n", lab, sz, r->rate / 1e9, mm, r->snd_cpu,
			r->rcv_cpu, r->machine_cpu, nps, r->syscalls_per_gb, cop,
			r->mem_peak / 1024);
	}
	fprintf(f, "GB = 1e9 bytes, measured at the receiver (the JSON and CSV "
		"give bytes_per_second and bits_per_second); s/GB = CPU seconds "
		"(user+sys) per GB of the sender, the receiver and the whole "
		"machine (softirq included); heap/conn = library heap per "
		"connection after the run.\n");
	if (strcmp(c->path, "lo") == 0 || strcmp(c->path, "veth") == 0)
		fprintf(f, "On %s every zero-copy completion is COPIED: the "
			"zero-copy rows measure the API path, not NIC zero-copy.\n",
			c->path);
}

/* A measure to 6 significant digits; negative (not measured) or not
 * finite: null. */
static void json_num(json_t *o, const char *key, double v)
{
	char t[32];

	if (v < 0 || !isfinite(v)) {
		jout_set_null(o, key);
		return;
	}
	snprintf(t, sizeof(t), "%.6g", v);
	jout_set_new(o, key, jout_raw(t));
}

/* A rate in bytes per second, and the same in bits per second, each to
 * the nearest whole unit. */
static void json_rate(json_t *o, const char *bytes_key, const char *bits_key,
		      double bytes_per_s)
{
	jout_set_u64(o, bytes_key, (uint64_t)llround(bytes_per_s));
	if (bits_key)
		jout_set_u64(o, bits_key, (uint64_t)llround(bytes_per_s * 8));
}

static json_t *json_config(const struct bench_cfg *c)
{
	json_t *cf = json_object();

	/* a run is timed (seconds_per_run) or sized (bytes_per_run): the
	 * other is null, as is buffer_bytes when the default was used */
	jout_set_int(cf, "reps", c->reps);
	json_num(cf, "seconds_per_run", c->bytes ? -1 : c->secs);
	if (c->bytes)
		jout_set_u64(cf, "bytes_per_run", c->bytes);
	else
		jout_set_null(cf, "bytes_per_run");
	jout_set_int(cf, "flows", c->flows);
	if (c->bufsize)
		jout_set_u64(cf, "buffer_bytes", c->bufsize);
	else
		jout_set_null(cf, "buffer_bytes");
	jout_set_str(cf, "buffer", c->buf_name ? c->buf_name : "default");
	jout_set_bool(cf, "pin", c->pin);
	return cf;
}

/* Each run as measured at the receiver: bytes, seconds and their rate. */
static json_t *json_runs(const struct bench_row *r)
{
	json_t *a = json_array();

	for (unsigned int k = 0; k < r->runs; k++) {
		json_t *o = json_object();
		char t[32];

		jout_set_u64(o, "bytes", r->run_bytes[k]);
		snprintf(t, sizeof(t), "%.9f", r->run_secs[k]);
		jout_set_new(o, "seconds", jout_raw(t));
		json_rate(o, "bytes_per_second", "bits_per_second",
			  r->run_secs[k] > 0 ? (double)r->run_bytes[k] /
					       r->run_secs[k] : 0);
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *json_row(const struct bench_row *r)
{
	json_t *o = json_object();

	jout_set_str(o, "engine", dmt_engine_name(r->engine));
	jout_set_str(o, "engine_used", dmt_engine_name(r->used));
	jout_set_u64(o, "message_bytes", r->size);
	jout_set_int(o, "flows", r->flows);
	jout_set_int(o, "runs", r->runs);
	jout_set_bool(o, "ok", r->ok);
	if (!r->ok) {
		jout_set_str(o, "error", r->note);
		return o;
	}
	jout_set_new(o, "per_run", json_runs(r));
	json_rate(o, "bytes_per_second", "bits_per_second", r->rate);
	json_rate(o, "bytes_per_second_min", NULL, r->rate_min);
	json_rate(o, "bytes_per_second_max", NULL, r->rate_max);
	json_num(o, "sender_cpu_ns_per_byte", r->snd_cpu);
	json_num(o, "receiver_cpu_ns_per_byte", r->rcv_cpu);
	json_num(o, "machine_cpu_ns_per_byte", r->machine_cpu);
	json_num(o, "notifications_per_send", r->notifs_per_send);
	json_num(o, "bytes_per_syscall", r->bytes_per_syscall);
	json_num(o, "copied_share", r->copied_share);
	json_num(o, "plain_send_share", r->plain_share);
	json_num(o, "heap_bytes_per_connection_setup", r->mem_setup);
	json_num(o, "heap_bytes_per_connection", r->mem_peak);
	return o;
}

void bench_print_json(const struct bench_cfg *c, const struct bench_row *rows,
		      unsigned int n)
{
	json_t *d = jout_doc(), *m = json_object(), *res = json_array();

	jout_set_int(m, "cpus", c->cpus);
	jout_set_str(m, "kernel", c->kernel);
	jout_set_str(m, "path", c->path);
	jout_set_str(m, "date", c->date);
	jout_set_new(d, "machine", m);
	jout_set_new(d, "config", json_config(c));
	for (unsigned int i = 0; i < n; i++)
		json_array_append_new(res, json_row(&rows[i]));
	jout_set_new(d, "results", res);
	jout_emit(d, JOUT_SPACED);
}

int bench_write_csv(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	/* the JSON's names and units */
	fprintf(f, "path,kernel,cpus,engine,engine_used,message_bytes,flows,runs,"
		"bytes_per_second,bytes_per_second_min,bytes_per_second_max,"
		"sender_cpu_ns_per_byte,receiver_cpu_ns_per_byte,"
		"machine_cpu_ns_per_byte,notifications_per_send,"
		"bytes_per_syscall,copied_share,heap_bytes_per_connection_setup,"
		"heap_bytes_per_connection,plain_send_share,bits_per_second,"
		"error\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];

		fprintf(f, "%s,%s,%d,%s,%s,%llu,%u,%u,", c->path, c->kernel,
			c->cpus, dmt_engine_name(r->engine),
			dmt_engine_name(r->used), (unsigned long long)r->size,
			r->flows, r->runs);
		if (!r->ok) {
			fprintf(f, ",,,,,,,,,,,,,\"");
			for (const char *s = r->note; *s; s++)
				fputs(*s == '"' ? "\"\"" : (char[2]){ *s, 0 }, f);
			fprintf(f, "\"\n");
			continue;
		}
		fprintf(f, "%.0f,%.0f,%.0f,%.4f,%.4f,%.4f,", r->rate, r->rate_min,
			r->rate_max, r->snd_cpu, r->rcv_cpu, r->machine_cpu);
		if (r->notifs_per_send >= 0)
			fprintf(f, "%.4f", r->notifs_per_send);
		fprintf(f, ",%.0f,", r->bytes_per_syscall);
		if (r->copied_share >= 0)
			fprintf(f, "%.4f", r->copied_share);
		fprintf(f, ",%.0f,%.0f,%.4f,%.0f,\n", r->mem_setup, r->mem_peak,
			r->plain_share, r->rate * 8);
	}
	return fclose(f) ? -errno : 0;
}

/* ---- SVG: throughput against message size (log2 x), one line per
 * engine, each point the median with a bar from the slowest to the
 * fastest run ---- */

#define W 760
#define H 440
#define ML 70
#define MR 170
#define MT 50
#define MB 60
#define PW ((double)(W - ML - MR))
#define PH ((double)(H - MT - MB))

static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f",
};

unsigned int bench_axis(double vmax, unsigned int most, double *step,
			double *top)
{
	static const double mant[] = { 1, 2, 5, 10 };
	double raw, p, s = 1;

	if (!(vmax > 0) || !isfinite(vmax))
		vmax = 1;
	raw = vmax / (most ? most : 1);
	p = pow(10, floor(log10(raw)));
	for (unsigned int i = 0; i < 4; i++) {
		s = mant[i] * p;
		if (s >= raw * (1 - 1e-9))
			break;
	}
	*step = s;
	/* the smallest multiple of the step at or above vmax (a hair of
	 * tolerance so that 4.0000001 does not add a step) */
	*top = ceil(vmax / s - 1e-9) * s;
	return (unsigned int)llround(*top / s);
}

/* The plot's scales: x is log2 of the message size, y GB/s from 0 to the
 * top tick. */
struct plot {
	double xmin, xmax;
	double step, top;
	unsigned int nticks;
};

static double px(const struct plot *p, uint64_t size)
{
	return ML + (log2((double)size) - p->xmin) / (p->xmax - p->xmin) * PW;
}

static double py(const struct plot *p, double bytes_per_s)
{
	return MT + PH - bytes_per_s / 1e9 / p->top * PH;
}

static void plot_scales(struct plot *p, const struct bench_row *rows,
			unsigned int n)
{
	double vmax = 0;

	p->xmin = 1e30;
	p->xmax = 0;
	for (unsigned int i = 0; i < n; i++) {
		double x = log2((double)rows[i].size);

		p->xmin = x < p->xmin ? x : p->xmin;
		p->xmax = x > p->xmax ? x : p->xmax;
		if (rows[i].ok && rows[i].rate_max / 1e9 > vmax)
			vmax = rows[i].rate_max / 1e9;
	}
	if (p->xmax <= p->xmin) {
		p->xmin -= 1;
		p->xmax += 1;
	}
	p->nticks = bench_axis(vmax, 6, &p->step, &p->top);
}

/* Text as SVG character data: & < > escaped (a kernel release is free
 * text). */
static const char *xml_text(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 6 < len; in++) {
		const char *e = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" :
				*in == '>' ? "&gt;" : NULL;

		if (e)
			n += (size_t)snprintf(out + n, len - n, "%s", e);
		else
			out[n++] = *in;
	}
	out[n] = '\0';
	return out;
}

/* Title, grid, ticks and axis labels. */
static void svg_frame(FILE *f, const struct plot *p, const struct bench_cfg *c)
{
	int dec = p->step >= 1 ? 0 : (int)ceil(-log10(p->step) - 1e-9);
	char sz[16], kernel[sizeof(c->kernel) * 5];

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
		"font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"white\"/>\n", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">devmemtcp bench: "
		"throughput vs message size</text>\n<text x=\"%d\" y=\"40\" "
		"fill=\"#555\">%s, %d CPUs, kernel %s, %u flow%s, median and "
		"min-max of %u, %s</text>\n", ML, ML, c->path, c->cpus,
		xml_text(c->kernel, kernel, sizeof(kernel)),
		c->flows, c->flows > 1 ? "s" : "", c->reps, c->date);
	for (unsigned int k = 0; k <= p->nticks; k++) {
		double v = p->step * k, y = py(p, v * 1e9);

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n<text class=\"ytick\" x=\"%d\" "
			"y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", ML, y,
			ML + PW, y, ML - 8, y + 4, dec, v);
	}
	for (unsigned int i = 0; i < c->nsizes; i++) {
		double x = px(p, c->sizes[i]);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n<text class=\"xtick\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, MT, x,
			MT + PH, x, MT + PH + 18,
			bench_size_str(c->sizes[i], sz, sizeof(sz)));
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"none\" stroke=\"#333\"/>\n", ML, MT, PW, PH);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">message "
		"size (bytes per send)</text>\n", ML + PW / 2, H - 16);
	fprintf(f, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %.1f)\">GB/s (1e9 bytes, at the "
		"receiver)</text>\n", MT + PH / 2, MT + PH / 2);
}

/* One point: the median as a dot, the runs' min-max as a bar with caps. */
static void svg_point(FILE *f, const struct plot *p, const struct bench_row *r,
		      const char *col)
{
	double x = px(p, r->size), lo = py(p, r->rate_min), hi = py(p, r->rate_max);
	char lab[32], sz[16];

	fprintf(f, "<g class=\"point\">\n<line class=\"whisker\" x1=\"%.1f\" "
		"y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
		x, lo, x, hi, col);
	for (int e = 0; e < 2; e++)
		fprintf(f, "<line class=\"cap\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x - 4,
			e ? hi : lo, x + 4, e ? hi : lo, col);
	fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\">"
		"<title>%s %s: %.2f GB/s (%.2f-%.2f over %u runs)</title>"
		"</circle>\n</g>\n", x, py(p, r->rate), col,
		engine_label(r, lab, sizeof(lab)),
		bench_size_str(r->size, sz, sizeof(sz)), r->rate / 1e9,
		r->rate_min / 1e9, r->rate_max / 1e9, r->runs);
}

/* Engine k's line, its points and its legend entry. */
static void svg_engine(FILE *f, const struct plot *p,
		       const struct bench_row *rows, unsigned int n,
		       const struct bench_row *first, unsigned int k)
{
	const char *col = colors[k % (sizeof(colors) / sizeof(colors[0]))];
	double ly = MT + 10 + 20.0 * k;
	char lab[32];

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
		"points=\"", col);
	for (unsigned int j = 0; j < n; j++)
		if (rows[j].engine == first->engine && rows[j].ok)
			fprintf(f, "%.1f,%.1f ", px(p, rows[j].size),
				py(p, rows[j].rate));
	fprintf(f, "\"/>\n");
	for (unsigned int j = 0; j < n; j++)
		if (rows[j].engine == first->engine && rows[j].ok)
			svg_point(f, p, &rows[j], col);
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"%s\" stroke-width=\"2\"/>\n<text x=\"%.1f\" "
		"y=\"%.1f\">%s%s</text>\n", ML + PW + 14, ly, ML + PW + 38, ly,
		col, ML + PW + 44, ly + 4,
		first->engine == DMT_ENGINE_AUTO && first->ok ? "auto (per send)" :
		engine_label(first, lab, sizeof(lab)), first->ok ? "" : " (n/a)");
}

int bench_write_svg(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n)
{
	enum dmt_engine seen[BENCH_MAX_ENGINES];
	unsigned int ne = 0;
	struct plot p;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	plot_scales(&p, rows, n);
	svg_frame(f, &p, c);
	/* one line per engine, in the order asked */
	for (unsigned int i = 0; i < n && ne < BENCH_MAX_ENGINES; i++) {
		bool dup = false;

		for (unsigned int k = 0; k < ne; k++)
			dup = dup || seen[k] == rows[i].engine;
		if (dup)
			continue;
		seen[ne] = rows[i].engine;
		svg_engine(f, &p, rows, n, &rows[i], ne++);
	}
	fprintf(f, "</svg>\n");
	return fclose(f) ? -errno : 0;
}
