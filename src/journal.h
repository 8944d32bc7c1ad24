/* SPDX-License-Identifier: MIT */
/*
 * The NIC setup journal's format: one record per line, each ending in
 * " *XXXXXXXX", the CRC-32 (IEEE) of the record text in hex, so that a
 * reader can tell a record cut by a crash, or a file edited or corrupted,
 * from the records a setup wrote:
 *   devmemtcp-journal 2
 *   ifname IF
 *   ifindex N
 *   pid PID STARTTIME
 *   feature rx-gro-hw 0                  before HW-GRO is turned on (mlx5
 *                                        accepts header split only with it)
 *   hds OLD_TDS HAS_THRESH OLD_THRESH     before header split is changed
 *   rss N E0 E1 ...                      before the RSS table is changed
 *   feature rx-ntuple-filter 0           before ntuple filters are enabled
 *   rule LOC                             right after a rule is inserted
 *   bind ID                              after bind-rx (informational)
 * Each record reaches the disk (fdatasync) before the change it announces
 * is made, so a last record cut short announces a change never made.
 */
#ifndef DMT_JOURNAL_H
#define DMT_JOURNAL_H

#include <net/if.h>

#include "internal.h"

#define DMT_JOURNAL_MAGIC "devmemtcp-journal"
#define DMT_JOURNAL_VERSION 2
#define DMT_JOURNAL_MAX_RULES 4
#define DMT_JOURNAL_MAX_SIZE (4u << 20)

struct dmt_journal {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int pid;
	unsigned long long start;	/* the owner's start time (clock ticks) */
	bool did_hds;
	uint8_t old_tds;
	bool old_has_thresh;
	uint32_t old_thresh;
	bool did_rss;
	uint32_t *old_indir;		/* malloc'ed; dmt_journal_fini frees */
	uint32_t old_indir_size;
	bool did_feat;			/* rx-ntuple-filter was off */
	bool did_gro;			/* rx-gro-hw was off */
	uint32_t rules[DMT_JOURNAL_MAX_RULES];
	unsigned int nrules;
	bool bound;
	uint32_t binding;
	unsigned int records;		/* change records read */
	unsigned int cut_line;		/* a last line cut short (0: none) */
	char cut[48];			/* its first bytes, printable */
};

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) of n bytes. */
uint32_t dmt_crc32(const void *p, size_t n);
/* Format one journal line: "rec *XXXXXXXX\n". Returns its length, or
 * -ENAMETOOLONG when out is too small. */
int dmt_journal_line(char *out, size_t outlen, const char *rec);
/*
 * Parse and check a journal's text (len bytes; hostile input). ifname is
 * the interface asked for; ifindex its index now (0: it no longer exists).
 * Returns 0 with j filled, or -EBADMSG (not a journal, unknown version,
 * bad checksum, malformed record, bad owner) or -ESTALE (written for
 * another interface or an index that changed) with one sentence in err.
 * A last line cut short (no newline) is not an error: j->cut_line says.
 */
int dmt_journal_parse(const char *text, size_t len, const char *path,
		      const char *ifname, int ifindex, struct dmt_journal *j,
		      struct dmt_error *err);
void dmt_journal_fini(struct dmt_journal *j);

#endif
