// SPDX-License-Identifier: MIT
/*
 * tier B: `devmemtcp setup --restore lo` with journals that must not be
 * trusted: garbage, empty, an old format, written for another interface
 * (eth7) or another index, a record altered (bad checksum), a forged owner
 * (pid 1). Each is refused with exit 1 and one sentence naming cause and
 * fix, and the file is kept. A journal whose last line was cut by a crash
 * is restored from its complete records, the cut one reported. The
 * journals name lo and hold only records whose undo touches nothing on
 * lo (a bind record, a cut rule), so the test changes no interface.
 */
#include <net/if.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "journal.h"

static char dir[64], jpath[200];

static void put(const char *text, size_t len)
{
	FILE *f = fopen(jpath, "w");

	T_CHECK(f && fwrite(text, 1, len, f) == len, "write %s", jpath);
	fclose(f);
}

static size_t build(char *out, size_t outlen, const char *const *recs)
{
	size_t used = 0;

	for (int i = 0; recs[i]; i++) {
		int n = dmt_journal_line(out + used, outlen - used, recs[i]);
		T_CHECK(n > 0, "line");
		used += (size_t)n;
	}
	return used;
}

/* Run the restore; 0 when it went as expected. */
static int restore(const char *label, int want_rc, const char *want,
		   const char *unwanted, bool want_kept)
{
	char cmd[512], out[8192];
	struct stat st;
	bool kept;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s setup --restore lo --journal-dir %s",
		 t_cli(), dir);
	rc = t_run(cmd, out, sizeof(out));
	kept = stat(jpath, &st) == 0;
	if (rc != want_rc || !strstr(out, want) ||
	    (unwanted && strstr(out, unwanted)) || kept != want_kept) {
		fprintf(stderr, "FAIL %s: exit %d (want %d), journal %s (want %s), "
			"output:\n%s\n", label, rc, want_rc, kept ? "kept" : "gone",
			want_kept ? "kept" : "gone", out);
		return 1;
	}
	printf("ok %s: exit %d: %s", label, rc, out);
	return 0;
}

int main(void)
{
	char good[2048], buf[2048], idx[32], pidl[64];
	int fails = 0, lo = (int)if_nametoindex("lo");
	size_t n;

	t_require_root();
	T_CHECK(lo > 0, "lo");
	snprintf(dir, sizeof(dir), "/tmp/dmt-restore-XXXXXX");
	T_CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(jpath, sizeof(jpath), "%s/lo.journal", dir);
	snprintf(idx, sizeof(idx), "ifindex %d", lo);
	/* a dead owner: a pid above any live one's, as a crashed run leaves */
	snprintf(pidl, sizeof(pidl), "pid 4194000 12345");
	{
		const char *const r[] = { "devmemtcp-journal 2", "ifname lo", idx,
					  pidl, "bind 7", NULL };
		n = build(good, sizeof(good), r);
	}

	put("garbage\n", 8);
	fails += restore("garbage", 1, "not a devmemtcp journal", "process 0", true);
	put("", 0);
	fails += restore("empty", 1, "is empty", "process 0", true);
	put("devmemtcp-journal 1\nifname lo\nifindex 1\npid 4194000 1\n", 52);
	fails += restore("format 1", 1, "format 1", NULL, true);
	{
		const char *const r[] = { "devmemtcp-journal 2", "ifname eth7",
					  "ifindex 7", pidl, "rule 3", NULL };
		put(buf, build(buf, sizeof(buf), r));
		fails += restore("foreign interface", 1, "written for eth7, not lo",
				 NULL, true);
	}
	{
		const char *const r[] = { "devmemtcp-journal 2", "ifname lo",
					  "ifindex 999", pidl, "rule 3", NULL };
		put(buf, build(buf, sizeof(buf), r));
		fails += restore("foreign index", 1, "now has index", NULL, true);
	}
	memcpy(buf, good, n);
	buf[n - 12] = '8';	/* "bind 7" -> "bind 8", old checksum */
	put(buf, n);
	fails += restore("bad checksum", 1, "checksum mismatch", NULL, true);
	{
		const char *const r[] = { "devmemtcp-journal 2", "ifname lo", idx,
					  "pid 1 1", "rule 3", NULL };
		put(buf, build(buf, sizeof(buf), r));
		fails += restore("forged pid 1", 1, "and init", "kill", true);
	}
	/* a crash while the last record was written: restored, reported */
	memcpy(buf, good, n);
	memcpy(buf + n, "rule 3", 6);
	put(buf, n + 6);
	fails += restore("cut last line", 0, "cut short by a crash", NULL, false);
	/* and a good one */
	put(good, n);
	fails += restore("good", 0, "restore", NULL, false);

	unlink(jpath);
	rmdir(dir);
	T_CHECK(fails == 0, "%d cases failed", fails);
	return T_PASS;
}
