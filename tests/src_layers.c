// SPDX-License-Identifier: MIT
/*
 * tier A: the library's sources keep their layers (docs/conventions.md).
 *  1. No circles: a module is a header's stem and the sources named after
 *     it (tx.h, tx.c, tx_uring.c, ...; gpu.h, gpu.c, gpu_cuda.c). When a
 *     file of module A includes a header of module B, A depends on B; the
 *     graph of those dependencies has no cycle.
 *  2. The library speaks library: no string literal in src/ names a CLI
 *     flag ("--no-rss") or a CLI command ("devmemtcp setup"). The tool
 *     maps the library's terms to its flags (tools/devmemtcp/advice.c).
 *  3. One place per fact: the calls in owned[] appear in code (outside
 *     strings and comments) only in the files listed with them; e.g. the
 *     bind-rx probe is the receive code's, the doctor uses it.
 *  4. No hop back up: an engine (rx_devmem.c, rx_copy.c, tx_uring.c,
 *     tx_staged.c) calls none of the public calls its dispatcher (rx.c,
 *     tx.c) defines; the dispatcher reaches it through the engine table.
 *  5. Functions a reader can hold: none over FN_MAX lines, but for the
 *     ones in long_fn[], which may not grow (each is split when touched).
 */
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MAXMOD 64

static char mods[MAXMOD][32];
static int nmods;
static unsigned char dep[MAXMOD][MAXMOD];


static int mod_of(const char *file)
{
	char m[32];
	size_t n = strcspn(file, "_.");

	if (n >= sizeof(m))
		n = sizeof(m) - 1;
	memcpy(m, file, n);
	m[n] = '\0';
	for (int i = 0; i < nmods; i++)
		if (!strcmp(mods[i], m))
			return i;
	if (nmods == MAXMOD)
		return -1;
	snprintf(mods[nmods], sizeof(mods[nmods]), "%s", m);
	return nmods++;
}

/* A CLI flag ("--word") or command ("devmemtcp setup") inside s. */
static const char *cli_term(const char *s)
{
	static const char *const cmds[] = { "devmemtcp setup", "devmemtcp client",
		"devmemtcp server", "devmemtcp doctor", "devmemtcp bench",
		"devmemtcp demo", "devmemtcp selftest" };

	for (const char *p = s; (p = strstr(p, "--")); p += 2)
		if ((p == s || !isalnum((unsigned char)p[-1])) &&
		    islower((unsigned char)p[2]))
			return p;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strstr(s, cmds[i]))
			return strstr(s, cmds[i]);
	return NULL;
}

static int bad;

#define FN_MAX 100

static const struct {
	const char *file, *fn;
	int lines;
} long_fn[] = {
	{ "tx.c", "dmt_tx_send", 200 },
	{ "journal.c", "parse", 169 },
	{ "doctor.c", "eval_rx_steering", 133 },
	{ "rx_parse.c", "dmt_rx_parse", 120 },
	{ "rx_devmem.c", "devmem_recv", 113 },
	{ "nicprobe.c", "dmt_nic_check_ops", 110 },
	{ "gpu_rocm.c", "rocm_open", 104 },
	{ "netdev.c", "dmt_explain_bind_err", 102 },
};

/* The name in a line that opens a definition at column 0 ("static int
 * f(" or "DMT_EXPORT ssize_t dmt_tx_send("), "" if the line is none. */
static void fn_name(const char *line, char *name, size_t len)
{
	const char *par = strchr(line, '('), *b;

	if (!par || !(isalpha((unsigned char)line[0]) || line[0] == '_'))
		return;
	for (b = par; b > line && (isalnum((unsigned char)b[-1]) || b[-1] == '_');)
		b--;
	if (b == par)
		return;
	snprintf(name, len, "%.*s", (int)(par - b), b);
}

static void check_fn_len(const char *file, const char *fn, int lines)
{
	int cap = FN_MAX;

	for (size_t i = 0; i < sizeof(long_fn) / sizeof(long_fn[0]); i++)
		if (!strcmp(file, long_fn[i].file) && !strcmp(fn, long_fn[i].fn))
			cap = long_fn[i].lines;
	if (lines > cap) {
		printf("FAIL: %s: %s() is %d lines long (at most %d): split it "
		       "by concern\n", file, fn, lines, cap);
		bad++;
	}
}

static const struct {
	const char *call;
	const char *files[4];
} owned[] = {
	/* the binding transaction (nicsetup.c), the netmem RX probe
	 * (rx_listen.c: dmt_rx_netmem_probe) */
	{ "dmt_ctx_bind_rx", { "netdev.c", "nicsetup.c", "rx_listen.c" } },
	{ "dmt_bind_rx_raw", { "netdev.h", "netdev.c", "nicsetup.c" } },
};

static const char *const engines[] = { "rx_devmem.c", "rx_copy.c",
	"tx_uring.c", "tx_staged.c" };
static char dispatch[128][64];	/* DMT_EXPORT calls of rx.c and tx.c */
static int ndispatch;

static void fn_name(const char *line, char *name, size_t len);

static void load_dispatch(const char *dir, const char *file)
{
	char path[4096], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	T_CHECK(f, "cannot open %s", path);
	while (fgets(line, sizeof(line), f) && ndispatch < 128) {
		dispatch[ndispatch][0] = '\0';
		if (!strncmp(line, "DMT_EXPORT", 10))
			fn_name(line, dispatch[ndispatch], sizeof(dispatch[0]));
		ndispatch += dispatch[ndispatch][0] != '\0';
	}
	fclose(f);
}

/* A call of owned[] at p in code of file that is not its owner's; a call
 * from an engine up into its dispatcher. */
static void check_call(const char *file, int lineno, const char *line,
		       const char *p)
{
	bool engine = false;

	if (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		return;
	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		engine |= !strcmp(file, engines[i]);
	for (int i = 0; engine && i < ndispatch; i++) {
		size_t n = strlen(dispatch[i]);

		if (!strncmp(p, dispatch[i], n) && p[n] == '(') {
			printf("FAIL: %s:%d: the engine calls %s() of its "
			       "dispatcher: a hop back up\n", file, lineno,
			       dispatch[i]);
			bad++;
		}
	}
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		size_t n = strlen(owned[i].call);
		bool mine = false;

		if (strncmp(p, owned[i].call, n) || p[n] != '(')
			continue;
		for (size_t j = 0; j < 4 && owned[i].files[j]; j++)
			mine |= !strcmp(file, owned[i].files[j]);
		if (!mine) {
			printf("FAIL: %s:%d: %s() is called outside its place "
			       "(%s...)\n", file, lineno, owned[i].call,
			       owned[i].files[0]);
			bad++;
		}
	}
}

/* The string being read: adjacent literals concatenate ("a " "b"), also
 * across lines, so a message split between two lines is checked whole. */
static struct {
	char text[2048];
	size_t n;
	int line;
	bool open;
} lit;

static void lit_flush(const char *file)
{
	if (!lit.open)
		return;
	lit.text[lit.n] = '\0';
	if (cli_term(lit.text)) {
		printf("FAIL: %s:%d: a CLI term in a library string: \"%s\"\n",
		       file, lit.line, lit.text);
		bad++;
	}
	lit.open = false;
	lit.n = 0;
}

/* Check the string literals of one line (outside comments). */
static void check_literals(const char *file, int lineno, const char *line,
			   int *in_comment)
{
	const char *p = line;

	while (*p) {
		if (*in_comment) {
			const char *e = strstr(p, "*/");

			if (!e)
				return;
			*in_comment = 0;
			p = e + 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			*in_comment = 1;
			p += 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '/')
			return;
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p != '"') {
			lit_flush(file);
			check_call(file, lineno, line, p);
			if (*p == '\'') {	/* '"' and friends */
				p++;
				while (*p && *p != '\'')
					p += (*p == '\\' && p[1]) ? 2 : 1;
				if (*p)
					p++;
			} else {
				p++;
			}
			continue;
		}
		if (!lit.open) {
			lit.open = true;
			lit.line = lineno;
		}
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			if (lit.n + 1 < sizeof(lit.text))
				lit.text[lit.n++] = *p;
			p++;
		}
		if (*p)
			p++;
	}
}

static void scan(const char *dir, const char *file)
{
	char path[4096], line[4096], inc[64], sig[64] = "", fn[64] = "";
	int m = mod_of(file), lineno = 0, in_comment = 0, fn_start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	T_CHECK(f, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, " #include \"%63[^\"]\"", inc) == 1) {
			int d = mod_of(inc);

			if (m >= 0 && d >= 0 && d != m)
				dep[m][d] = 1;
			continue;
		}
		check_literals(file, lineno, line, &in_comment);
		if (in_comment)
			continue;
		fn_name(line, sig, sizeof(sig));
		if (line[0] == '{') {
			fn_start = lineno;
			snprintf(fn, sizeof(fn), "%s", sig);
		} else if (line[0] == '}' && fn_start) {
			check_fn_len(file, fn, lineno - fn_start + 1);
			fn_start = 0;
		}
	}
	lit_flush(file);
	fclose(f);
}

static int state[MAXMOD];	/* 0 new, 1 on the path, 2 done */
static int path_[MAXMOD], plen;

static bool cycle_from(int a)
{
	state[a] = 1;
	path_[plen++] = a;
	for (int b = 0; b < nmods; b++) {
		if (!dep[a][b])
			continue;
		if (state[b] == 1) {
			printf("FAIL: include circle:");
			for (int i = 0; i < plen; i++)
				printf(" %s ->", mods[path_[i]]);
			printf(" %s\n", mods[b]);
			return true;
		}
		if (state[b] == 0 && cycle_from(b))
			return true;
	}
	state[a] = 2;
	plen--;
	return false;
}

int main(void)
{
	const char *dir = getenv("DMT_SRC_DIR");
	struct dirent *de;
	int nfiles = 0, nedges = 0;
	DIR *d;

	T_SKIP_IF(!dir, "DMT_SRC_DIR is not set (ctest sets it)");
	load_dispatch(dir, "rx.c");
	load_dispatch(dir, "tx.c");
	T_CHECK(ndispatch > 20, "only %d public calls in rx.c and tx.c",
		ndispatch);
	d = opendir(dir);
	T_CHECK(d, "cannot open %s", dir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 3 || de->d_name[0] == '.' ||
		    (strcmp(de->d_name + n - 2, ".c") &&
		     strcmp(de->d_name + n - 2, ".h")))
			continue;
		scan(dir, de->d_name);
		nfiles++;
	}
	closedir(d);
	T_CHECK(nfiles > 20, "only %d sources under %s", nfiles, dir);
	for (int a = 0; a < nmods; a++)
		for (int b = 0; b < nmods; b++)
			nedges += dep[a][b];
	for (int a = 0; a < nmods; a++)
		if (state[a] == 0 && cycle_from(a)) {
			bad++;
			break;
		}
	T_CHECK(!bad, "%d problem(s) above", bad);
	printf("ok: %d files, %d modules, %d dependencies, no circle, owned "
	       "calls in their place, no engine calling its dispatcher (%d "
	       "calls), functions in bounds, no CLI "
	       "term in a library string\n", nfiles, nmods, nedges, ndispatch);
	printf("PASS\n");
	return T_PASS;
}
