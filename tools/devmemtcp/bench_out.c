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
		snprintf(mm, sizeof(mm), "(%.2f-%.2f)", r->gbps_min, r->gbps_max);
		if (r->notifs_per_send < 0)
			snprintf(nps, sizeof(nps), "-");
		else
			snprintf(nps, sizeof(nps), "%.3f", r->notifs_per_send);
		if (r->copied_share < 0)
			snprintf(cop, sizeof(cop), "-");
		else
			snprintf(cop, sizeof(cop), "%.0f%%", r->copied_share * 100);
		fprintf(f, "%-15s %5s %6.2f %-13s %6.3f %6.3f %6.3f %7s %8.0f "
			"%6s %7.1fK\n", lab, sz, r->gbps, mm, r->snd_cpu,
			r->rcv_cpu, r->machine_cpu, nps, r->syscalls_per_gb, cop,
			r->mem_peak / 1024);
	}
	fprintf(f, "GB = 1e9 bytes, measured at the receiver; s/GB = CPU seconds "
		"(user+sys) per GB of the sender, the receiver and the whole "
		"machine (softirq included); heap/conn = library heap per "
		"connection after the run.\n");
	if (strcmp(c->path, "lo") == 0 || strcmp(c->path, "veth") == 0)
		fprintf(f, "On %s every zero-copy completion is COPIED: the "
			"zero-copy rows measure the API path, not NIC zero-copy.\n",
			c->path);
}

/* A measure as the table shows it (6 significant digits); negative
 * (not measured) or not finite: null. */
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

void bench_print_json(const struct bench_cfg *c, const struct bench_row *rows,
		      unsigned int n)
{
	json_t *d = jout_doc(), *m = json_object(), *cf = json_object();
	json_t *res = json_array();

	jout_set_int(m, "cpus", c->cpus);
	jout_set_str(m, "kernel", c->kernel);
	jout_set_str(m, "path", c->path);
	jout_set_str(m, "date", c->date);
	jout_set_new(d, "machine", m);
	/* a run is timed (time_s) or sized (bytes): the other is null, as
	 * is buffer_size when the engines' default was used */
	jout_set_int(cf, "reps", c->reps);
	json_num(cf, "time_s", c->bytes ? -1 : c->secs);
	if (c->bytes)
		jout_set_u64(cf, "bytes", c->bytes);
	else
		jout_set_null(cf, "bytes");
	jout_set_int(cf, "flows", c->flows);
	if (c->bufsize)
		jout_set_u64(cf, "buffer_size", c->bufsize);
	else
		jout_set_null(cf, "buffer_size");
	jout_set_str(cf, "buffer", c->buf_name ? c->buf_name : "default");
	jout_set_bool(cf, "pin", c->pin);
	jout_set_new(d, "config", cf);
	for (unsigned int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		json_t *o = json_object(), *runs;

		jout_set_str(o, "engine", dmt_engine_name(r->engine));
		jout_set_str(o, "engine_used", dmt_engine_name(r->used));
		jout_set_u64(o, "size", r->size);
		jout_set_int(o, "flows", r->flows);
		jout_set_int(o, "runs", r->runs);
		jout_set_bool(o, "ok", r->ok);
		if (!r->ok) {
			jout_set_str(o, "error", r->note);
			json_array_append_new(res, o);
			continue;
		}
		runs = json_array();
		for (unsigned int k = 0; k < r->runs; k++) {
			double g = round(r->gbps_run[k] * 1e4) / 1e4;

			json_array_append_new(runs, json_real(g));
		}
		jout_set_new(o, "gbps_runs", runs);
		json_num(o, "gbps", r->gbps);
		json_num(o, "snd_cpu_s_per_gb", r->snd_cpu);
		json_num(o, "rcv_cpu_s_per_gb", r->rcv_cpu);
		json_num(o, "machine_cpu_s_per_gb", r->machine_cpu);
		json_num(o, "notifications_per_send", r->notifs_per_send);
		json_num(o, "syscalls_per_gb", r->syscalls_per_gb);
		json_num(o, "copied_share", r->copied_share);
		json_num(o, "plain_send_share", r->plain_share);
		json_num(o, "heap_per_conn_setup", r->mem_setup);
		json_num(o, "heap_per_conn", r->mem_peak);
		json_array_append_new(res, o);
	}
	jout_set_new(d, "results", res);
	jout_emit(d, JOUT_SPACED);
}

int bench_write_csv(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "path,kernel,cpus,engine,engine_used,size,flows,runs,gbps,"
		"gbps_min,gbps_max,snd_cpu_s_per_gb,rcv_cpu_s_per_gb,"
		"machine_cpu_s_per_gb,notifications_per_send,syscalls_per_gb,"
		"copied_share,heap_per_conn_setup,heap_per_conn,plain_send_share,"
		"error\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];

		fprintf(f, "%s,%s,%d,%s,%s,%llu,%u,%u,", c->path, c->kernel,
			c->cpus, dmt_engine_name(r->engine),
			dmt_engine_name(r->used), (unsigned long long)r->size,
			r->flows, r->runs);
		if (!r->ok) {
			fprintf(f, ",,,,,,,,,,,,\"");
			for (const char *s = r->note; *s; s++)
				fputs(*s == '"' ? "\"\"" : (char[2]){ *s, 0 }, f);
			fprintf(f, "\"\n");
			continue;
		}
		fprintf(f, "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,", r->gbps, r->gbps_min,
			r->gbps_max, r->snd_cpu, r->rcv_cpu, r->machine_cpu);
		if (r->notifs_per_send >= 0)
			fprintf(f, "%.4f", r->notifs_per_send);
		fprintf(f, ",%.0f,", r->syscalls_per_gb);
		if (r->copied_share >= 0)
			fprintf(f, "%.4f", r->copied_share);
		fprintf(f, ",%.0f,%.0f,%.4f,\n", r->mem_setup, r->mem_peak,
			r->plain_share);
	}
	return fclose(f) ? -errno : 0;
}

/* ---- SVG: throughput against message size (log2 x), one line per
 * engine ---- */

#define W 760
#define H 440
#define ML 70
#define MR 170
#define MT 50
#define MB 60

static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f",
};

static double nice_ceil(double v)
{
	double p = pow(10, floor(log10(v)));

	for (double m = 1; m <= 10; m += 0.5)
		if (m * p >= v)
			return m * p;
	return 10 * p;
}

int bench_write_svg(const char *path, const struct bench_cfg *c,
		    const struct bench_row *rows, unsigned int n)
{
	double xmin = 1e30, xmax = 0, ymax = 0, pw = W - ML - MR, ph = H - MT - MB;
	unsigned int ne = 0;
	enum dmt_engine seen[BENCH_MAX_ENGINES];
	FILE *f = fopen(path, "w");
	char sz[16];

	if (!f)
		return -errno;
	for (unsigned int i = 0; i < n; i++) {
		double x = log2((double)rows[i].size);

		xmin = x < xmin ? x : xmin;
		xmax = x > xmax ? x : xmax;
		if (rows[i].ok && rows[i].gbps_max > ymax)
			ymax = rows[i].gbps_max;
	}
	if (xmax <= xmin) {
		xmin -= 1;
		xmax += 1;
	}
	ymax = nice_ceil(ymax > 0 ? ymax * 1.05 : 1);
#define X(v) (ML + ((v) - xmin) / (xmax - xmin) * pw)
#define Y(v) (MT + ph - (v) / ymax * ph)
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
		"font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"white\"/>\n", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\">devmemtcp bench: "
		"throughput vs message size</text>\n<text x=\"%d\" y=\"40\" "
		"fill=\"#555\">%s, %d CPUs, kernel %s, %u flow%s, median of %u, "
		"%s</text>\n", ML, ML, c->path, c->cpus, c->kernel, c->flows,
		c->flows > 1 ? "s" : "", c->reps, c->date);
	/* grid and axes */
	for (int k = 0; k <= 5; k++) {
		double v = ymax * k / 5;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n<text x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">%.3g</text>\n", ML, Y(v), ML + pw,
			Y(v), ML - 8, Y(v) + 4, v);
	}
	for (unsigned int i = 0; i < c->nsizes; i++) {
		double x = X(log2((double)c->sizes[i]));

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\">%s</text>\n", x, MT, x, MT + ph, x,
			MT + ph + 18, bench_size_str(c->sizes[i], sz, sizeof(sz)));
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"none\" stroke=\"#333\"/>\n", ML, MT, pw, ph);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">message "
		"size (bytes per send)</text>\n", ML + pw / 2, H - 16);
	fprintf(f, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" "
		"transform=\"rotate(-90 18 %.1f)\">GB/s (1e9 bytes, at the "
		"receiver)</text>\n", MT + ph / 2, MT + ph / 2);
	/* one line per engine, in the order asked */
	for (unsigned int i = 0; i < n; i++) {
		bool dup = false;
		const char *col;
		char lab[32];

		for (unsigned int k = 0; k < ne; k++)
			dup = dup || seen[k] == rows[i].engine;
		if (dup || ne == BENCH_MAX_ENGINES)
			continue;
		seen[ne] = rows[i].engine;
		col = colors[ne % (sizeof(colors) / sizeof(colors[0]))];
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"2\" points=\"", col);
		for (unsigned int j = 0; j < n; j++)
			if (rows[j].engine == rows[i].engine && rows[j].ok)
				fprintf(f, "%.1f,%.1f ", X(log2((double)rows[j].size)),
					Y(rows[j].gbps));
		fprintf(f, "\"/>\n");
		for (unsigned int j = 0; j < n; j++)
			if (rows[j].engine == rows[i].engine && rows[j].ok)
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
					"fill=\"%s\"><title>%s %s: %.2f GB/s"
					"</title></circle>\n",
					X(log2((double)rows[j].size)),
					Y(rows[j].gbps), col,
					engine_label(&rows[j], lab, sizeof(lab)),
					bench_size_str(rows[j].size, sz, sizeof(sz)),
					rows[j].gbps);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%u\" x2=\"%.1f\" y2=\"%u\" "
			"stroke=\"%s\" stroke-width=\"2\"/>\n<text x=\"%.1f\" "
			"y=\"%u\">%s%s</text>\n", ML + pw + 14, MT + 10 + 20 * ne,
			ML + pw + 38, MT + 10 + 20 * ne, col, ML + pw + 44,
			MT + 14 + 20 * ne, rows[i].engine == DMT_ENGINE_AUTO &&
			rows[i].ok ? "auto (per send)" :
			engine_label(&rows[i], lab, sizeof(lab)),
			rows[i].ok ? "" : " (n/a)");
		ne++;
	}
#undef X
#undef Y
	fprintf(f, "</svg>\n");
	return fclose(f) ? -errno : 0;
}
