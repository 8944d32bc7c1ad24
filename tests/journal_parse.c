// SPDX-License-Identifier: MIT
/*
 * tier A: the NIC setup journal reader treats the file as hostile. A good
 * journal parses; garbage, an empty file, an old format, a foreign
 * interface (name or index), a bad checksum, a malformed record and a
 * forged owner pid are refused with a sentence naming the cause and the
 * fix; a last line cut by a crash is reported, not guessed. Through
 * dmt_nic_restore_ops() a refused journal restores nothing and is kept.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "journal.h"
#include "nicsetup.h"

static char jbuf[8192];

/* Build a journal from records (NULL-terminated), each checksummed. */
static const char *build(const char *const *recs)
{
	size_t used = 0;

	jbuf[0] = '\0';
	for (int i = 0; recs[i]; i++) {
		int n = dmt_journal_line(jbuf + used, sizeof(jbuf) - used, recs[i]);
		T_CHECK(n > 0, "line");
		used += (size_t)n;
	}
	return jbuf;
}

static int parse(const char *text, size_t len, const char *ifn, int ifx,
		 struct dmt_journal *j, struct dmt_error *e)
{
	memset(e, 0, sizeof(*e));
	return dmt_journal_parse(text, len, "/run/devmemtcp/x.journal", ifn, ifx,
				 j, e);
}

#define REFUSED(text, len, ifn, ifx, code, word) do {                        \
		struct dmt_journal j_;                                        \
		struct dmt_error e_;                                          \
		int r_ = parse(text, len, ifn, ifx, &j_, &e_);                \
		T_CHECK(r_ == (code) && strstr(e_.message, word) &&           \
			strstr(e_.message, "x.journal"),                      \
			"expected %d \"%s\", got %d: %s", code, word, r_,     \
			e_.message);                                          \
		printf("refused: %s\n", e_.message);                          \
	} while (0)

static const char *const good[] = {
	"devmemtcp-journal 2", "ifname eth7", "ifindex 7", "pid 4242 123456",
	"feature rx-gro-hw 0", "hds 0 1 256", "rss 4 0 1 0 1",
	"feature rx-ntuple-filter 0", "rule 14", "bind 3", NULL };

int main(void)
{
	struct dmt_journal j;
	struct dmt_error e;
	const char *t;
	char buf[8192], dir[] = "/tmp/dmt-journal-XXXXXX", path[300], sum[512];
	struct stat st;
	int ret;

	T_CHECK(dmt_crc32("123456789", 9) == 0xcbf43926u, "CRC-32 check value");

	/* a good journal */
	t = build(good);
	ret = parse(t, strlen(t), "eth7", 7, &j, &e);
	T_CHECK(ret == 0, "good: %d %s", ret, e.message);
	T_CHECK(!strcmp(j.ifname, "eth7") && j.ifindex == 7 && j.pid == 4242 &&
		j.start == 123456 && j.did_hds && j.old_tds == 0 &&
		j.old_has_thresh && j.old_thresh == 256 && j.did_rss &&
		j.old_indir_size == 4 && j.old_indir[1] == 1 && j.did_feat &&
		j.nrules == 1 && j.rules[0] == 14 && j.bound && j.binding == 3 &&
		j.did_gro && j.records == 6 && !j.cut_line, "good journal fields");
	dmt_journal_fini(&j);
	/* the interface gone (index 0): the caller says so, not the parser */
	T_CHECK(parse(t, strlen(t), "eth7", 0, &j, &e) == 0, "gone: %s", e.message);
	dmt_journal_fini(&j);

	/* empty, garbage, binary, an old format */
	REFUSED("", 0, "eth7", 7, -EBADMSG, "empty");
	REFUSED("hello world\n", 12, "eth7", 7, -EBADMSG, "not a devmemtcp journal");
	REFUSED("\x7f" "ELF\0\0\1\2\n", 9, "eth7", 7, -EBADMSG,
		"not a devmemtcp journal");
	REFUSED("devmemtcp-journal 1\nifname eth7\nifindex 7\npid 4242 1\n"
		"rule 14\n", 55, "eth7", 7, -EBADMSG, "format 1");
	{
		const char *const v3[] = { "devmemtcp-journal 3", "ifname eth7",
					   "ifindex 7", "pid 4242 1", NULL };
		t = build(v3);
		REFUSED(t, strlen(t), "eth7", 7, -EBADMSG, "format 3");
	}

	/* a journal of another interface, or of an index that changed */
	t = build(good);
	REFUSED(t, strlen(t), "eth0", 2, -ESTALE, "written for eth7, not eth0");
	REFUSED(t, strlen(t), "eth7", 9, -ESTALE, "now has index 9");

	/* a checksum that does not match: one digit of a record changed */
	t = build(good);
	snprintf(buf, sizeof(buf), "%s", t);
	*strstr(buf, "rule 14") = 'R';
	REFUSED(buf, strlen(buf), "eth7", 7, -EBADMSG, "line 9");
	snprintf(buf, sizeof(buf), "%s", t);
	strstr(buf, "rule 14")[5] = '4';	/* rule 44, old checksum */
	REFUSED(buf, strlen(buf), "eth7", 7, -EBADMSG, "checksum mismatch");
	/* a record without any checksum */
	snprintf(buf, sizeof(buf), "%srule 15\n", t);
	REFUSED(buf, strlen(buf), "eth7", 7, -EBADMSG, "no checksum");

	/* a last line cut short by a crash: reported, the rest parsed */
	snprintf(buf, sizeof(buf), "%srule 1", t);
	ret = parse(buf, strlen(buf), "eth7", 7, &j, &e);
	T_CHECK(ret == 0 && j.cut_line == 11 && !strcmp(j.cut, "rule 1") &&
		j.nrules == 1 && j.rules[0] == 14, "cut: %d %u '%s' %u %s", ret,
		j.cut_line, j.cut, j.nrules, e.message);
	dmt_journal_fini(&j);
	/* cut with its checksum half written */
	snprintf(buf, sizeof(buf), "%s", t);
	buf[strlen(buf) - 4] = '\0';
	ret = parse(buf, strlen(buf), "eth7", 7, &j, &e);
	T_CHECK(ret == 0 && j.cut_line == 10 && !j.bound, "cut in checksum: %d %s",
		ret, e.message);
	dmt_journal_fini(&j);
	/* cut inside the header: nothing was changed */
	REFUSED(t, 30, "eth7", 7, -EBADMSG, "inside its header");
	{
		const char *const hdr[] = { "devmemtcp-journal 2", "ifname eth7",
					    NULL };
		t = build(hdr);
		REFUSED(t, strlen(t), "eth7", 7, -EBADMSG, "inside its header");
	}

	/* forged owners: pid 1, 0, negative, beyond the kernel's limit */
	{
		const char *pids[] = { "pid 1 5", "pid 0 5", "pid -3 5",
				       "pid 99999999 5", "pid 4242 0", "pid 4242",
				       "pid 4242 5 6" };
		for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
			const char *const f[] = { "devmemtcp-journal 2",
						  "ifname eth7", "ifindex 7",
						  pids[i], "rule 14", NULL };
			t = build(f);
			REFUSED(t, strlen(t), "eth7", 7, -EBADMSG,
				"remove the file");
		}
		{
			const char *const f[] = { "devmemtcp-journal 2",
						  "ifname eth7", "ifindex 7",
						  "pid 1 5", NULL };
			t = build(f);
			REFUSED(t, strlen(t), "eth7", 7, -EBADMSG, "and init");
		}
	}

	/* malformed records whose checksums match */
	{
		const char *recs[] = { "rss 3 0 1", "rss 2 0 1 2", "rss 0",
				       "hds 7 0 0", "rule x", "feature rx-gro 0", "feature rx-gro-hw 1",
				       "reboot now", "rule 1 2",
				       "rss 99999999999999999999 1" };
		for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
			const char *const f[] = { "devmemtcp-journal 2",
						  "ifname eth7", "ifindex 7",
						  "pid 4242 1", recs[i], NULL };
			t = build(f);
			REFUSED(t, strlen(t), "eth7", 7, -EBADMSG, "not a record");
		}
		const char *const many[] = { "devmemtcp-journal 2", "ifname eth7",
			"ifindex 7", "pid 4242 1", "rule 1", "rule 2", "rule 3",
			"rule 4", "rule 5", NULL };
		t = build(many);
		REFUSED(t, strlen(t), "eth7", 7, -EBADMSG, "more than 4 rule");
	}

	/* Through the restore entry point: a refused journal restores
	 * nothing, returns the error and stays on disk. */
	T_CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/lo.journal", dir);
	{
		struct { const char *text; size_t len; const char *word; } c[] = {
			{ "", 0, "empty" },
			{ "garbage\n", 8, "not a devmemtcp journal" },
			{ NULL, 0, "written for eth7" },
		};
		t = build(good);
		c[2].text = t;
		c[2].len = strlen(t);
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			FILE *f = fopen(path, "w");

			T_CHECK(f && fwrite(c[i].text, 1, c[i].len, f) == c[i].len,
				"write");
			fclose(f);
			ret = dmt_nic_restore_ops(NULL, "lo", 1, dir,
						  &dmt_nic_ops_real, NULL, sum,
						  sizeof(sum), &e);
			T_CHECK(ret < 0 && strstr(e.message, c[i].word) &&
				stat(path, &st) == 0, "restore of case %zu: %d, "
				"kept %d: %s", i, ret, stat(path, &st) == 0,
				e.message);
		}
	}
	/* an over-long name is refused, not cut to another one */
	ret = dmt_nic_restore_ops(NULL, "averyveryverylongname", 0, dir,
				  &dmt_nic_ops_real, NULL, sum, sizeof(sum), &e);
	T_CHECK(ret == -EINVAL && strstr(e.message, "interface name"),
		"long name: %d %s", ret, e.message);
	unlink(path);
	rmdir(dir);
	printf("journal_parse: ok\n");
	return T_PASS;
}
