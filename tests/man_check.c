// SPDX-License-Identifier: MIT
/*
 * tier A: the man pages in the tree are readable as they stand
 * (`man -l man/PAGE`), not only once installed.
 *  - no page is a `.so` request (man-db resolves it against the current
 *    directory, so it fails from the tree);
 *  - an alias page (".\" devmemtcp-man-alias: SRC") is its marker line
 *    followed by exactly the text of SRC, a documenting page
 *    (scripts/man-aliases.sh writes them);
 *  - every .TH footer carries "devmemtcp VERSION" of project(VERSION);
 *  - devmemtcp(7) names every documenting section 3 page;
 *  - groff, where installed, formats every page that is not an alias copy
 *    without a warning (a copy is the same bytes as its source).
 * Needs DMT_MAN_DIR and DMT_VERSION from CTest.
 */
#include <dirent.h>

#include "helpers.h"

#define MARKER ".\\\" devmemtcp-man-alias: "

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	T_CHECK(f, "cannot open %s", path);
	T_CHECK(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
		fseek(f, 0, SEEK_SET) == 0, "cannot size %s", path);
	buf = malloc((size_t)n + 1);
	T_CHECK(buf, "out of memory");
	T_CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n, "short read %s", path);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a > b && !strcmp(s + a - b, suf);
}

int main(void)
{
	const char *dir = getenv("DMT_MAN_DIR"), *ver = getenv("DMT_VERSION");
	char footer[128], cmd[8192], out[8192];
	size_t len7, npages = 0, naliases = 0;
	char *overview;
	struct dirent *de;
	int groff;
	DIR *d;

	T_SKIP_IF(!dir || !ver, "run through CTest (DMT_MAN_DIR unset)");
	snprintf(footer, sizeof(footer), "\"devmemtcp %s\"", ver);
	overview = slurp(dir, "devmemtcp.7", &len7);
	groff = t_run("command -v groff", NULL, 0) == 0;
	if (!groff)
		printf("groff not installed: the formatting check is left out\n");

	d = opendir(dir);
	T_CHECK(d, "cannot open %s", dir);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		size_t len;
		char *text, *th;

		if (!has_suffix(n, ".1") && !has_suffix(n, ".3") &&
		    !has_suffix(n, ".7"))
			continue;
		npages++;
		text = slurp(dir, n, &len);
		T_CHECK(strncmp(text, ".so", 3) != 0,
			"%s is a .so request, which `man -l` cannot resolve in "
			"the tree: run scripts/man-aliases.sh", n);
		if (!strncmp(text, MARKER, strlen(MARKER))) {
			char src[256], *nl = strchr(text, '\n');
			size_t slen, ml = strlen(MARKER);
			char *stext;

			T_CHECK(nl && (size_t)(nl - text) - ml < sizeof(src),
				"%s: bad marker line", n);
			memcpy(src, text + ml, (size_t)(nl - text) - ml);
			src[nl - text - ml] = '\0';
			stext = slurp(dir, src, &slen);
			T_CHECK(strncmp(stext, MARKER, strlen(MARKER)) != 0,
				"%s: its source %s is itself an alias", n, src);
			T_CHECK(len - (size_t)(nl + 1 - text) == slen &&
				!memcmp(nl + 1, stext, slen),
				"%s differs from %s, the page it copies: edit %s "
				"and run scripts/man-aliases.sh", n, src, src);
			free(stext);
			naliases++;
		} else if (has_suffix(n, ".3")) {
			/* a documenting page: the overview must point at it */
			char ref[256];

			snprintf(ref, sizeof(ref), ".BR %.*s (3)",
				 (int)(strlen(n) - 2), n);
			T_CHECK(strstr(overview, ref),
				"devmemtcp.7 does not name %s (no '%s')", n, ref);
		}
		th = strstr(text, "\n.TH ");
		if (!th && !strncmp(text, ".TH ", 4))
			th = text - 1;
		T_CHECK(th, "%s has no .TH line", n);
		{
			char *eol = strchr(th + 1, '\n');

			if (eol)
				*eol = '\0';
			T_CHECK(strstr(th + 1, footer), "%s: '%s' lacks %s "
				"(the version of project(VERSION))", n, th + 1,
				footer);
		}
		if (groff && strncmp(text, MARKER, strlen(MARKER))) {
			snprintf(cmd, sizeof(cmd), "groff -man -Tutf8 -ww -z "
				 "'%s/%s'", dir, n);
			out[0] = '\0';
			T_CHECK(t_run(cmd, out, sizeof(out)) == 0 && !out[0],
				"groff warns on %s: %s", n, out);
		}
		free(text);
	}
	closedir(d);
	free(overview);
	T_CHECK(npages > 0, "no man pages in %s", dir);
	printf("man_check: %zu pages, %zu of them alias copies, ok\n", npages,
	       naliases);
	return T_PASS;
}
