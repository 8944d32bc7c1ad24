// SPDX-License-Identifier: MIT
/*
 * tier A: the plot of `devmemtcp bench --svg` (tools/devmemtcp/bench_out.c).
 * bench_axis() gives round ticks (1, 2 or 5 times a power of ten) for many
 * maxima; then rows with known rates are written as SVG, the file is parsed
 * as XML (tags balanced, attributes quoted) and read back: the y tick labels
 * must start at 0, step evenly by a 1-2-5 value and reach the fastest run,
 * and every point that worked must carry a min-max bar whose ends sit at
 * its slowest and fastest run on the axis the ticks define. (Before: ticks
 * at fifths of a 0.5-step ceiling, such as 0.9, 1.8, 2.7, and no bars.)
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "helpers.h"
#include "bench.h"

/* Whether v is 1, 2 or 5 times a power of ten. */
static bool one_two_five(double v)
{
	double p = pow(10, floor(log10(v) + 1e-9));
	double m = v / p;

	return fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6;
}

static void check_axis(void)
{
	static const double vmax[] = { 0.0004, 0.013, 0.5, 0.9, 1, 1.01, 2.3,
				       4, 4.37, 7.3, 9.99, 12, 37.9, 99, 123456 };

	for (size_t i = 0; i < sizeof(vmax) / sizeof(vmax[0]); i++) {
		double step, top;
		unsigned int n = bench_axis(vmax[i], 6, &step, &top);

		T_CHECK(one_two_five(step), "max %g: step %g is not 1-2-5",
			vmax[i], step);
		T_CHECK(n >= 1 && n <= 6, "max %g: %u steps", vmax[i], n);
		T_CHECK(fabs(top - n * step) < step * 1e-6, "max %g: top %g is "
			"not %u x %g", vmax[i], top, n, step);
		T_CHECK(top >= vmax[i] * (1 - 1e-9) && top - step < vmax[i],
			"max %g: top %g (step %g) is not the first tick above",
			vmax[i], top, step);
	}
	printf("ok: bench_axis: 1-2-5 steps, at most 6, top the first tick at "
	       "or above the maximum\n");
}

/* ---- a small XML reader: enough for well-formed SVG ---- */

struct el {
	char name[32];
	char cls[32];
	double y1, y2, y;	/* line y1/y2; text y */
	char text[64];
};

static char *attr(const char *tag, const char *name, char *out, size_t len)
{
	char key[40];
	const char *p = tag;

	snprintf(key, sizeof(key), " %s=\"", name);
	out[0] = '\0';
	while ((p = strstr(p, key))) {
		const char *v = p + strlen(key), *e = strchr(v, '"');

		T_CHECK(e, "unterminated attribute %s", name);
		snprintf(out, len, "%.*s", (int)(e - v), v);
		return out;
	}
	return NULL;
}

/* Parse the document: every element into els (up to max), checking that
 * tags nest and close. Returns the count. */
static size_t parse_svg(const char *s, struct el *els, size_t max)
{
	char stack[64][32];
	size_t depth = 0, n = 0;
	int root = 0;

	while ((s = strchr(s, '<'))) {
		const char *end = strchr(s, '>');
		char tag[4096], name[32];
		size_t nl = 0;

		T_CHECK(end, "unterminated tag");
		T_CHECK((size_t)(end - s) < sizeof(tag), "tag too long");
		snprintf(tag, sizeof(tag), "%.*s", (int)(end - s + 1), s);
		if (tag[1] == '?' || tag[1] == '!') {
			s = end + 1;
			continue;
		}
		if (tag[1] == '/') {
			T_CHECK(depth > 0, "close tag %s without an open one", tag);
			depth--;
			T_CHECK(!strncmp(tag + 2, stack[depth], strlen(stack[depth])) &&
				tag[2 + strlen(stack[depth])] == '>',
				"%s closes <%s>", tag, stack[depth]);
			s = end + 1;
			continue;
		}
		while (isalnum((unsigned char)tag[1 + nl]) && nl < sizeof(name) - 1)
			nl++;
		snprintf(name, sizeof(name), "%.*s", (int)nl, tag + 1);
		T_CHECK(nl > 0, "bad tag %s", tag);
		if (!depth)
			root++;
		if (n < max) {
			struct el *e = &els[n++];
			char v[64];

			memset(e, 0, sizeof(*e));
			snprintf(e->name, sizeof(e->name), "%s", name);
			if (attr(tag, "class", v, sizeof(v)))
				snprintf(e->cls, sizeof(e->cls), "%s", v);
			e->y1 = attr(tag, "y1", v, sizeof(v)) ? atof(v) : NAN;
			e->y2 = attr(tag, "y2", v, sizeof(v)) ? atof(v) : NAN;
			e->y = attr(tag, "y", v, sizeof(v)) ? atof(v) : NAN;
			if (!strcmp(name, "text")) {
				const char *t = end + 1, *te = strchr(t, '<');

				T_CHECK(te, "text without an end");
				snprintf(e->text, sizeof(e->text), "%.*s",
					 (int)(te - t), t);
			}
		}
		if (tag[strlen(tag) - 2] != '/') {
			T_CHECK(depth < 64, "nesting too deep");
			snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		}
		s = end + 1;
	}
	T_CHECK(depth == 0, "%zu elements left open (<%s>)", depth,
		depth ? stack[depth - 1] : "");
	T_CHECK(root == 1, "%d root elements", root);
	return n;
}

/* ---- the plot ---- */

static void fill_row(struct bench_row *r, enum dmt_engine e, uint64_t size,
		     double median, double lo, double hi)
{
	memset(r, 0, sizeof(*r));
	r->engine = r->used = e;
	r->size = size;
	r->flows = 1;
	r->runs = 3;
	r->ok = true;
	r->rate = median * 1e9;
	r->rate_min = lo * 1e9;
	r->rate_max = hi * 1e9;
	r->notifs_per_send = r->copied_share = -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	T_CHECK(f, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = calloc(1, (size_t)n + 1);
	T_CHECK(b && fread(b, 1, (size_t)n, f) == (size_t)n, "read %s", path);
	fclose(f);
	return b;
}

static void check_plot(void)
{
	static const uint64_t sizes[] = { 4096, 65536, 1u << 20 };
	/* GB/s: median, min, max; the fastest run is 4.37 GB/s, which old
	 * ticks (fifths of 4.5) labelled 0.9, 1.8, 2.7, 3.6, 4.5 */
	static const double rates[3][3][3] = {
		{ { 0.8, 0.7, 0.95 }, { 2.1, 1.9, 2.4 }, { 3.9, 3.2, 4.37 } },
		{ { 0.6, 0.6, 0.6 }, { 1.7, 1.1, 1.9 }, { 0 } },	/* one fails */
		{ { 1.2, 1.0, 1.3 }, { 2.6, 2.5, 2.8 }, { 3.0, 2.9, 3.1 } },
	};
	static const enum dmt_engine eng[3] = { DMT_ENGINE_COPY,
						DMT_ENGINE_ZEROCOPY,
						DMT_ENGINE_AUTO };
	struct bench_cfg c = { .reps = 3, .flows = 1, .nsizes = 3, .cpus = 2 };
	struct bench_row rows[9];
	char path[] = "/tmp/dmt-bench-svg-XXXXXX";
	struct el els[400];
	double ticks[16], ty[16], step, scale;
	size_t n, nt = 0, nw = 0, nok = 0;
	int fd = mkstemp(path);
	char *text;

	T_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
	memcpy(c.sizes, sizes, sizeof(sizes));
	snprintf(c.path, sizeof(c.path), "lo");
	snprintf(c.kernel, sizeof(c.kernel), "6.18-<custom>&\"x\"");	/* escaped */
	for (int e = 0; e < 3; e++)
		for (int s = 0; s < 3; s++) {
			const double *v = rates[e][s];

			fill_row(&rows[e * 3 + s], eng[e], sizes[s], v[0], v[1], v[2]);
			if (v[0] == 0) {
				rows[e * 3 + s].ok = false;
				rows[e * 3 + s].runs = 0;
				snprintf(rows[e * 3 + s].note, sizeof(rows[0].note),
					 "failed <on purpose> & \"quoted\"");
			} else {
				nok++;
			}
		}
	T_CHECK(bench_write_svg(path, &c, rows, 9) == 0, "write %s", path);
	text = slurp(path);
	unlink(path);
	n = parse_svg(text, els, sizeof(els) / sizeof(els[0]));
	T_CHECK(n < sizeof(els) / sizeof(els[0]), "too many elements");
	T_CHECK(!strcmp(els[0].name, "svg"), "root is <%s>", els[0].name);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(els[i].cls, "ytick")) {
			char *end;

			T_CHECK(nt < 16, "too many y ticks");
			ticks[nt] = strtod(els[i].text, &end);
			T_CHECK(end != els[i].text && !*end, "tick label '%s'",
				els[i].text);
			ty[nt++] = els[i].y - 4;	/* the label sits 4 below */
		}
	T_CHECK(nt >= 3 && nt <= 8, "%zu y ticks", nt);
	T_CHECK(ticks[0] == 0, "first tick %g", ticks[0]);
	step = ticks[1] - ticks[0];
	T_CHECK(one_two_five(step), "tick step %g is not 1, 2 or 5 x 10^k", step);
	for (size_t k = 1; k < nt; k++) {
		T_CHECK(fabs(ticks[k] - ticks[k - 1] - step) < step * 1e-6,
			"ticks %g, %g: uneven", ticks[k - 1], ticks[k]);
		T_CHECK(fabs(ticks[k] / step - round(ticks[k] / step)) < 1e-6,
			"tick %g is not a multiple of %g", ticks[k], step);
	}
	T_CHECK(ticks[nt - 1] >= 4.37 && ticks[nt - 2] < 4.37,
		"ticks end at %g: not the first at or above 4.37",
		ticks[nt - 1]);
	/* pixels per GB/s, from the ticks themselves */
	scale = (ty[0] - ty[nt - 1]) / (ticks[nt - 1] - ticks[0]);
	T_CHECK(scale > 0, "y axis points down");

	for (size_t i = 0; i < n; i++) {
		double lo, hi;
		bool found = false;

		if (strcmp(els[i].cls, "whisker"))
			continue;
		nw++;
		lo = (ty[0] - els[i].y1) / scale;	/* GB/s at each end */
		hi = (ty[0] - els[i].y2) / scale;
		for (int r = 0; r < 9; r++)
			found = found || (rows[r].ok &&
				fabs(lo - rows[r].rate_min / 1e9) < 0.02 &&
				fabs(hi - rows[r].rate_max / 1e9) < 0.02);
		T_CHECK(found, "bar %.3f..%.3f GB/s matches no row's min-max",
			lo, hi);
	}
	T_CHECK(nw == nok, "%zu min-max bars for %zu points that worked", nw,
		nok);
	free(text);
	printf("ok: svg parses; %zu y ticks 0..%g in steps of %g; %zu min-max "
	       "bars, each at its row's slowest and fastest run\n", nt,
	       ticks[nt - 1], step, nw);
}

int main(void)
{
	check_axis();
	check_plot();
	return T_PASS;
}
