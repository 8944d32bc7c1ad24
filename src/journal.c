// SPDX-License-Identifier: MIT
/* The NIC setup journal: line format, checksums and a strict reader
 * (journal.h). Everything read back is treated as hostile. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "journal.h"

#define PID_MAX_LIMIT_ 4194304	/* the kernel's PID_MAX_LIMIT on 64-bit */

uint32_t dmt_crc32(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

int dmt_journal_line(char *out, size_t outlen, const char *rec)
{
	int n = snprintf(out, outlen, "%s *%08x\n", rec,
			 (unsigned int)dmt_crc32(rec, strlen(rec)));

	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return n;
}

void dmt_journal_fini(struct dmt_journal *j)
{
	free(j->old_indir);
	j->old_indir = NULL;
}

/* Parse an unsigned decimal in [0, max] at *p, advancing past it and one
 * following space; false when there is none or it is out of range. */
static bool num(const char **p, const char *end, unsigned long long max,
		unsigned long long *v)
{
	const char *s = *p;
	unsigned long long x = 0;

	if (s >= end || !isdigit((unsigned char)*s))
		return false;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned long long d = (unsigned long long)(*s - '0');

		if (d > max || x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (s < end && *s != ' ')
		return false;
	*p = s < end ? s + 1 : s;
	*v = x;
	return true;
}

/* A record's text must be plain printable ASCII. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static void excerpt(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < outlen; i++)
		out[k++] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[k] = '\0';
}

#define BAD(...) dmt_err_set(err, -EBADMSG, __VA_ARGS__)

/* One record (checksum already verified), line number ln. */
static int record(struct dmt_journal *j, unsigned int ln, const char *s,
		  const char *end, const char *path, struct dmt_error *err)
{
	unsigned long long a, b, c;
	const char *p;

#define KW(k) (p = s, (size_t)(end - s) > sizeof(k) - 1 && \
	       !memcmp(s, k " ", sizeof(k)) && (p = s + sizeof(k), true))
	if (KW("hds")) {
		if (j->did_hds || !num(&p, end, 2, &a) || !num(&p, end, 1, &b) ||
		    !num(&p, end, UINT32_MAX, &c) || p != end)
			goto bad;
		j->did_hds = true;
		j->old_tds = (uint8_t)a;
		j->old_has_thresh = b;
		j->old_thresh = (uint32_t)c;
	} else if (KW("rss")) {
		if (j->did_rss || !num(&p, end, 65536, &a) || !a)
			goto bad;
		j->old_indir = calloc((size_t)a, sizeof(uint32_t));
		if (!j->old_indir)
			return dmt_err_set(err, -ENOMEM, "out of memory");
		for (j->old_indir_size = 0; j->old_indir_size < a;) {
			if (!num(&p, end, UINT32_MAX, &b))
				goto bad;
			j->old_indir[j->old_indir_size++] = (uint32_t)b;
		}
		if (p != end)
			goto bad;
		j->did_rss = true;
	} else if (KW("feature")) {
		static const char f[] = "rx-ntuple-filter 0", g[] = "rx-gro-hw 0";

		if (!j->did_feat && (size_t)(end - p) == sizeof(f) - 1 &&
		    !memcmp(p, f, sizeof(f) - 1))
			j->did_feat = true;
		else if (!j->did_gro && (size_t)(end - p) == sizeof(g) - 1 &&
			 !memcmp(p, g, sizeof(g) - 1))
			j->did_gro = true;
		else
			goto bad;
	} else if (KW("rule")) {
		if (!num(&p, end, UINT32_MAX, &a) || p != end)
			goto bad;
		if (j->nrules >= DMT_JOURNAL_MAX_RULES)
			return BAD("journal %s, line %u: more than %d rule records "
				   "(a setup inserts at most %d): the file was not "
				   "written by devmemtcp; check the interface's "
				   "ntuple rules by hand and remove the file", path,
				   ln, DMT_JOURNAL_MAX_RULES, DMT_JOURNAL_MAX_RULES);
		j->rules[j->nrules++] = (uint32_t)a;
	} else if (KW("bind")) {
		if (!num(&p, end, UINT32_MAX, &a) || p != end)
			goto bad;
		j->bound = true;
		j->binding = (uint32_t)a;
	} else {
		goto bad;
	}
#undef KW
	j->records++;
	return 0;
bad:
	{
		char ex[48];

		excerpt(ex, sizeof(ex), s, (size_t)(end - s));
		return BAD("journal %s, line %u (\"%s\"): not a record this "
			   "version writes, though its checksum matches: the file "
			   "was edited or written by another program; check the "
			   "interface by hand and remove the file", path, ln, ex);
	}
}

static int parse(const char *text, size_t len, const char *path,
		 const char *ifname, int ifindex, struct dmt_journal *j,
		 struct dmt_error *err)
{
	const char *p = text, *end = text + len;
	unsigned int ln = 0;
	int ret;

	if (!len)
		return BAD("journal %s is empty: a setup that crashed before "
			   "writing its first record changed nothing, so there "
			   "is nothing to restore; remove the file", path);
	if (len > DMT_JOURNAL_MAX_SIZE)
		return BAD("journal %s is %zu bytes, more than any setup writes: "
			   "it is not a devmemtcp journal; check the interface by "
			   "hand and remove the file", path, len);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *star;
		unsigned long long a, b;
		char ex[48], hex[9];
		uint32_t crc;
		const char *q;

		ln++;
		excerpt(ex, sizeof(ex), p, (size_t)(le - p));
		if (!nl) {
			/* cut short: a crash while the last line was written */
			if (ln <= 4)
				return BAD("journal %s ends inside its header "
					   "(line %u, \"%s\"): a setup that crashed "
					   "that early changed nothing; remove the "
					   "file", path, ln, ex);
			j->cut_line = ln;
			snprintf(j->cut, sizeof(j->cut), "%s", ex);
			break;
		}
		star = le - p >= 10 ? le - 10 : NULL;
		if (!star || star[0] != ' ' || star[1] != '*' ||
		    !printable(p, (size_t)(le - p))) {
			size_t ml = sizeof(DMT_JOURNAL_MAGIC) - 1;

			q = p + ml + 1;
			if (ln == 1 && (size_t)(le - p) > ml + 1 &&
			    !memcmp(p, DMT_JOURNAL_MAGIC " ", ml + 1) &&
			    num(&q, le, 1000, &a) && q == le)
				return BAD("journal %s has format %llu, without "
					   "checksums; this version reads format %d "
					   "only: restore with the devmemtcp that "
					   "wrote it, or check the interface by hand "
					   "and remove the file", path, a,
					   DMT_JOURNAL_VERSION);
			if (ln == 1)
				goto not_journal;
			return BAD("journal %s, line %u (\"%s\") has no checksum: "
				   "the file was edited, corrupted or written by "
				   "another program; check the interface by hand "
				   "and remove the file", path, ln, ex);
		}
		memcpy(hex, star + 2, 8);
		hex[8] = '\0';
		for (int i = 0; i < 8; i++)
			if (!isxdigit((unsigned char)hex[i]) ||
			    isupper((unsigned char)hex[i]))
				goto badsum;
		crc = (uint32_t)strtoul(hex, NULL, 16);
		if (crc != dmt_crc32(p, (size_t)(star - p))) {
badsum:
			if (ln == 1)
				goto not_journal;
			return BAD("journal %s, line %u (\"%s\"): checksum "
				   "mismatch: the record was altered or the file "
				   "corrupted, so it cannot be trusted; check the "
				   "interface by hand and remove the file", path,
				   ln, ex);
		}
		q = p;
		switch (ln) {
		case 1: {
			size_t ml = sizeof(DMT_JOURNAL_MAGIC) - 1;

			if ((size_t)(star - p) <= ml + 1 ||
			    memcmp(p, DMT_JOURNAL_MAGIC " ", ml + 1))
				goto not_journal;
			q = p + ml + 1;
			if (!num(&q, star, 1000, &a) || q != star)
				goto not_journal;
			if (a != DMT_JOURNAL_VERSION)
				return BAD("journal %s has format %llu; this "
					   "version reads format %d only: restore "
					   "with the devmemtcp that wrote it, or "
					   "check the interface by hand and remove "
					   "the file", path, a, DMT_JOURNAL_VERSION);
			break;
		}
		case 2:
			if (star - p < 8 || memcmp(p, "ifname ", 7) ||
			    (size_t)(star - p - 7) >= IF_NAMESIZE ||
			    memchr(p + 7, ' ', (size_t)(star - p - 7)))
				goto header;
			memcpy(j->ifname, p + 7, (size_t)(star - p - 7));
			j->ifname[star - p - 7] = '\0';
			break;
		case 3:
			if (star - p < 9 || memcmp(p, "ifindex ", 8))
				goto header;
			q = p + 8;
			if (!num(&q, star, INT_MAX, &a) || q != star || !a)
				goto header;
			j->ifindex = (int)a;
			break;
		case 4:
			if (star - p < 5 || memcmp(p, "pid ", 4))
				goto header;
			q = p + 4;
			if (!num(&q, star, PID_MAX_LIMIT_, &a) ||
			    !num(&q, star, ULLONG_MAX, &b) || q != star)
				goto header;
			if (a <= 1 || !b)
				return BAD("journal %s names process %llu "
					   "(start time %llu) as its owner, which "
					   "no setup can be (pid 0 and 1 are the "
					   "kernel's and init): the file was not "
					   "written by devmemtcp; check the "
					   "interface by hand and remove the file",
					   path, a, b);
			j->pid = (int)a;
			j->start = b;
			break;
		default:
			ret = record(j, ln, p, star, path, err);
			if (ret < 0) {
				dmt_journal_fini(j);
				return ret;
			}
		}
		p = nl + 1;
		continue;
header:
		return BAD("journal %s, line %u (\"%s\"): the header must be "
			   "ifname, ifindex and pid lines: the file was not "
			   "written by devmemtcp; check the interface by hand "
			   "and remove the file", path, ln, ex);
not_journal:
		return BAD("%s is not a devmemtcp journal (line 1: \"%s\"): "
			   "nothing restored; check the interface by hand and "
			   "remove the file", path, ex);
	}
	if (ln < 4 || !j->pid) {
		dmt_journal_fini(j);
		return BAD("journal %s ends inside its header (%u of 4 lines): a "
			   "setup that crashed that early changed nothing; remove "
			   "the file", path, ln);
	}
	if (strcmp(j->ifname, ifname)) {
		dmt_journal_fini(j);
		return dmt_err_set(err, -ESTALE, "journal %s was written for %s, "
				   "not %s: nothing restored; restore %s by its "
				   "own name, or remove the file", path, j->ifname,
				   ifname, j->ifname);
	}
	if (ifindex > 0 && j->ifindex != ifindex) {
		dmt_journal_fini(j);
		return dmt_err_set(err, -ESTALE, "journal %s was written for %s "
				   "with index %d, but %s now has index %d: it is "
				   "another device (the old one went away, taking "
				   "its settings), so nothing is restored; remove "
				   "the file", path, j->ifname, j->ifindex,
				   ifname, ifindex);
	}
	return 0;
}

int dmt_journal_parse(const char *text, size_t len, const char *path,
		      const char *ifname, int ifindex, struct dmt_journal *j,
		      struct dmt_error *err)
{
	int ret;

	memset(j, 0, sizeof(*j));
	ret = parse(text, len, path, ifname, ifindex, j, err);
	if (ret < 0)
		dmt_journal_fini(j);	/* an RSS table read before the error */
	return ret;
}
