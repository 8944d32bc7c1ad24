// SPDX-License-Identifier: MIT
/*
 * tier B: `devmemtcp bench --json --csv --svg` on loopback. The JSON says
 * its units in its names: bytes_per_second and bits_per_second are exact
 * whole numbers (bits = 8 x bytes), each run's rate is its bytes over its
 * seconds, the median lies between the slowest and the fastest run, CPU
 * is nanoseconds per byte; the CSV has the same names and the same values;
 * the SVG is written. (Before: "gbps" held GB/s while the client's
 * throughput_Gbps held gigabits.) An engine that cannot run (devmem
 * without a capable NIC) is a row with ok false and its error, exit 1.
 */
#include <jansson.h>
#include <math.h>

#include "cli_util.h"

static char dir[64];

static json_t *member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	T_CHECK(v, "no \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
	return v;
}

static uint64_t num_u(json_t *o, const char *key)
{
	json_t *v = member(o, key);

	T_CHECK(json_is_integer(v) && json_integer_value(v) >= 0,
		"\"%s\" is not a whole number", key);
	return (uint64_t)json_integer_value(v);
}

/* The CSV's header and the row for (engine, size): column values by name. */
static const char *csv_get(char *const *names, char *const *vals, size_t n,
			   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return vals[i];
	T_CHECK(0, "no CSV column %s", name);
	return NULL;
}

static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (char *p = line; n < max; p++) {
		f[n++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p = '\0';
	}
	return n;
}

static void check_row(json_t *r, char *csv)
{
	uint64_t bps = num_u(r, "bytes_per_second");
	uint64_t bits = num_u(r, "bits_per_second");
	uint64_t lo = num_u(r, "bytes_per_second_min");
	uint64_t hi = num_u(r, "bytes_per_second_max");
	json_t *runs = member(r, "per_run"), *x;
	char *hdr, *row, *names[32], *vals[32];
	size_t i, nn, nv;

	T_CHECK(llabs((long long)(bits - 8 * bps)) <= 8, "bits %llu != 8 x "
		"bytes %llu", (unsigned long long)bits, (unsigned long long)bps);
	T_CHECK(lo <= bps && bps <= hi && lo > 0, "median %llu outside "
		"%llu..%llu", (unsigned long long)bps, (unsigned long long)lo,
		(unsigned long long)hi);
	T_CHECK(json_array_size(runs) == num_u(r, "runs") &&
		json_array_size(runs) == 2, "%zu runs", json_array_size(runs));
	json_array_foreach(runs, i, x) {
		double secs = json_number_value(member(x, "seconds"));
		double rate = (double)num_u(x, "bytes") / secs;

		T_CHECK(secs > 0 && fabs(rate - (double)num_u(x,
			"bytes_per_second")) <= 1, "run %zu: %g B/s from its "
			"bytes and seconds, %llu given", i, rate,
			(unsigned long long)num_u(x, "bytes_per_second"));
		T_CHECK(fabs((double)num_u(x, "bits_per_second") - 8.0 *
			     (double)num_u(x, "bytes_per_second")) <= 8,
			"run %zu: bits", i);
	}
	T_CHECK(json_number_value(member(r, "sender_cpu_ns_per_byte")) > 0,
		"sender CPU");
	T_CHECK(!json_object_get(r, "gbps"), "the old ambiguous name is back");
	/* the CSV: same names, same values */
	hdr = csv;
	row = strchr(hdr, '\n');
	T_CHECK(row, "CSV without rows");
	*row++ = '\0';
	nn = split(hdr, names, 32);
	T_CHECK(strchr(row, '\n'), "CSV row without an end");
	*strchr(row, '\n') = '\0';
	nv = split(row, vals, 32);
	T_CHECK(nn == nv, "CSV: %zu names, %zu values", nn, nv);
	T_CHECK(strtoull(csv_get(names, vals, nn, "bytes_per_second"), NULL, 10)
		== bps && strtoull(csv_get(names, vals, nn, "bits_per_second"),
				   NULL, 10) == bits &&
		strtoull(csv_get(names, vals, nn, "message_bytes"), NULL, 10) ==
		num_u(r, "message_bytes"), "CSV values differ from the JSON");
}

int main(void)
{
	char out[128], err[128], csvp[128], svgp[128], port[16];
	char *argv[32] = { (char *)t_cli(), "bench", "--engines", "copy,devmem",
			   "--sizes", "64K", "--reps", "2", "--time", "0.2",
			   "--json", "-q", "--port", port, "--csv", csvp, "--svg",
			   svgp, NULL };
	json_error_t je;
	json_t *d, *res, *cfg;
	char *text, *csv, *svg;
	int st;

	cu_tmpdir(dir, sizeof(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(csvp, sizeof(csvp), "%s/b.csv", dir);
	snprintf(svgp, sizeof(svgp), "%s/b.svg", dir);
	snprintf(port, sizeof(port), "%d", 20000 + getpid() % 20000);
	st = cu_wait(cu_spawn(argv, NULL, out, err), 60);
	text = cu_slurp(out, NULL);
	T_CHECK(text, "no output");
	/* devmem cannot run on lo: its row fails, so the exit status is 1 */
	T_CHECK(st == 1, "exit %d (want 1: the devmem row):\n%s", st,
		cu_slurp(err, NULL));
	d = json_loads(text, 0, &je);
	T_CHECK(d, "not JSON: %s:\n%s", je.text, text);
	cfg = member(d, "config");
	T_CHECK(json_number_value(member(cfg, "seconds_per_run")) == 0.2 &&
		json_is_null(member(cfg, "bytes_per_run")) &&
		json_is_null(member(cfg, "buffer_bytes")), "config: %s",
		json_dumps(cfg, JSON_COMPACT));
	res = member(d, "results");
	T_CHECK(json_array_size(res) == 2, "%zu results", json_array_size(res));
	T_CHECK(json_is_true(member(json_array_get(res, 0), "ok")),
		"copy failed: %s", json_dumps(json_array_get(res, 0), 0));
	csv = cu_slurp(csvp, NULL);
	T_CHECK(csv, "no CSV");
	check_row(json_array_get(res, 0), csv);
	T_CHECK(json_is_false(member(json_array_get(res, 1), "ok")) &&
		json_string_length(member(json_array_get(res, 1), "error")) > 0,
		"devmem on lo: %s", json_dumps(json_array_get(res, 1), 0));
	svg = cu_slurp(svgp, NULL);
	T_CHECK(svg && strstr(svg, "class=\"whisker\"") && strstr(svg, "</svg>"),
		"SVG without min-max bars");
	printf("ok: bench --json: bytes_per_second %lld, bits_per_second %lld, "
	       "runs consistent, CSV equal, SVG written; devmem row: %s\n",
	       json_integer_value(member(json_array_get(res, 0),
					 "bytes_per_second")),
	       json_integer_value(member(json_array_get(res, 0),
					 "bits_per_second")),
	       json_string_value(member(json_array_get(res, 1), "error")));
	json_decref(d);
	free(text);
	free(csv);
	free(svg);
	cu_rmdir(dir);
	return T_PASS;
}
