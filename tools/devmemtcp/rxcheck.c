// SPDX-License-Identifier: MIT
/* The server's check of received fragments against the ncdevmem pattern,
 * and the report of one connection. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rxcheck.h"

#define CHECK_CHUNK (4u << 20)	/* copy-out piece for read-back checks */

int rxcheck_init(struct rxcheck *k, unsigned int v, enum val_mode m,
		 bool have_size, uint64_t size)
{
	memset(k, 0, sizeof(*k));
	k->checking = m != VAL_OFF;
	sampler_init(&k->sm, m, have_size, size);
	return pat_init(&k->pat, v);
}

void rxcheck_free(struct rxcheck *k)
{
	pat_free(&k->pat);
	free(k->tmp);
	k->tmp = NULL;
}

/* Check the bytes of stream [pos, pos+len), in host memory at d, that the
 * sampler selects. */
static void check_host(struct rxcheck *k, uint64_t pos, const unsigned char *d,
		       size_t len)
{
	uint64_t x = pos, end;

	while (x < pos + len) {
		bool chk = sampler_at(&k->sm, x, &end);

		if (end > pos + len)
			end = pos + len;
		if (chk) {
			if (k->pat.pos != x)
				pat_seek(&k->pat, x);
			pat_check(&k->pat, d + (x - pos), (size_t)(end - x));
			k->checked += end - x;
		}
		x = end;
	}
}

/*
 * Read back and check the bytes of stream [pos, pos+n), which lie at
 * buffer offset boff, where the sampler's answer is want (true: the bytes
 * selected now; false: those not checked yet, for the tail pass).
 */
static int check_buf(struct rxcheck *k, struct dmt_buf *buf, uint64_t pos,
		     uint64_t n, uint64_t boff, bool want)
{
	uint64_t x = pos, end;

	if (!k->tmp && !(k->tmp = malloc(CHECK_CHUNK))) {
		snprintf(k->err, sizeof(k->err), "out of memory");
		return -1;
	}
	while (x < pos + n) {
		bool chk = sampler_at(&k->sm, x, &end);

		if (end > pos + n)
			end = pos + n;
		while (chk == want && x < end) {
			size_t l = end - x < CHECK_CHUNK ? (size_t)(end - x) :
							   CHECK_CHUNK;

			if (dmt_buf_read(buf, (size_t)(boff + (x - pos)), k->tmp,
					 l) < 0) {
				snprintf(k->err, sizeof(k->err), "reading received "
					 "bytes back for validation: %.300s",
					 dmt_buf_last_error(buf)->message);
				return -1;
			}
			pat_seek(&k->pat, x);
			pat_check(&k->pat, k->tmp, l);
			k->checked += l;
			x += l;
		}
		x = end;
	}
	return 0;
}

int rxcheck_frags(struct rxcheck *k, struct dmt_rx *rx, struct dmt_buf *buf,
		  uint64_t pos, const struct dmt_frag *f, unsigned int n)
{
	/* host memory is read in place; other memory through dmt_buf_read
	 * (sync brackets, GPU runtimes) */
	const unsigned char *map = dmt_buf_kind(buf) == DMT_BUF_HOST ?
				   dmt_buf_map(buf) : NULL;
	uint64_t end;

	for (unsigned int i = 0; k->checking && i < n; pos += f[i++].len) {
		if (!sampler_at(&k->sm, pos, &end) && end >= pos + f[i].len)
			continue;	/* no byte of it is checked */
		if (f[i].flags & DMT_FRAG_LINEAR)
			check_host(k, pos, (const unsigned char *)dmt_rx_linear(rx) +
				   f[i].off, f[i].len);
		else if (map)
			check_host(k, pos, map + f[i].off, f[i].len);
		else if (check_buf(k, buf, pos, f[i].len, f[i].off, true) < 0)
			return -1;
	}
	return 0;
}

int rxcheck_tail(struct rxcheck *k, struct dmt_buf *buf, uint64_t total)
{
	uint64_t B = dmt_buf_size(buf), keep = VAL_EDGE;

	if (!k->checking)
		return 0;
	if (keep > B)
		keep = B;
	if (keep > total)
		keep = total;
	for (uint64_t x = total - keep; x < total;) {
		uint64_t off = x % B, l = B - off;

		if (l > total - x)
			l = total - x;
		if (check_buf(k, buf, x, l, off, false) < 0)
			return -1;
		x += l;
	}
	return 0;
}

uint64_t rxcheck_first_bad(const struct rxcheck *k)
{
	uint64_t first = k->pat.nbad ? k->pat.bad[0].off : 0;

	for (unsigned int i = 1; i < k->pat.nbad; i++)
		if (k->pat.bad[i].off < first)
			first = k->pat.bad[i].off;
	return first;
}

void report_config(struct out *o, const struct server_cfg *c,
		   const char *listen)
{
	out_kv(o, OUT_CONFIG, "listen", true, "%s", listen);
	/* absent values (no pattern, no --size, no --timeout) are null */
	if (c->v)
		out_kv(o, OUT_CONFIG, "validation", false, "%u", c->v);
	else
		out_kv_str(o, OUT_CONFIG, "validation", NULL);
	if (c->have_size)
		out_kv(o, OUT_CONFIG, "size", false, "%" PRIu64, c->size);
	else
		out_kv_str(o, OUT_CONFIG, "size", NULL);
	out_kv(o, OUT_CONFIG, "interval", false, "%g", c->interval);
	if (c->timeout_s)
		out_kv(o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);
	else
		out_kv_str(o, OUT_CONFIG, "timeout", NULL);
	out_kv(o, OUT_CONFIG, "validate", true, "%s",
	       val_mode_name(c->v ? c->val : VAL_OFF));
}

void report_result(struct out *o, const struct rxcheck *k,
		   struct xfer_result *res, uint64_t bytes, double secs,
		   const struct cpu_snap *cd, bool peer_closed, const char *err)
{
	const char *vname = !k->checking ? "off" : k->checked < bytes ?
			    "sampled" : "full";
	double gbs = secs > 0 ? (double)bytes / secs / 1e9 : 0;
	uint64_t offv[PAT_MAX_BAD];
	char vs[160] = "", verdict[1400];

	for (unsigned int i = 0; i < k->pat.nbad; i++) {
		out_line(o, "mismatch at offset %" PRIu64 ": got 0x%02x, "
			 "expected 0x%02x", k->pat.bad[i].off, k->pat.bad[i].got,
			 k->pat.bad[i].want);
		offv[i] = k->pat.bad[i].off;
	}
	out_kv(o, OUT_RESULT, "bytes", false, "%" PRIu64, bytes);
	out_kv(o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(o, OUT_RESULT, "throughput_GBps", false, "%.3f", gbs);
	out_kv(o, OUT_RESULT, "throughput_Gbps", false, "%.3f", gbs * 8);
	out_kv(o, OUT_RESULT, "cpu_s", false, "%.3f", cd->proc_s);
	out_kv(o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * cd->proc_s / secs : 0);
	out_kv(o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->proc_s, bytes));
	out_kv(o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->machine_s, bytes));
	out_kv(o, OUT_RESULT, "validated", false, "%s",
	       k->checking ? "true" : "false");
	out_kv(o, OUT_RESULT, "validation_mode", true, "%s", vname);
	out_kv(o, OUT_RESULT, "checked_bytes", false, "%" PRIu64, k->checked);
	out_kv(o, OUT_RESULT, "mismatches", false, "%" PRIu64, k->pat.mismatches);
	out_kv_u64s(o, OUT_RESULT, "mismatch_offsets", offv, k->pat.nbad);
	out_kv(o, OUT_RESULT, "peer_closed", false, "%s",
	       peer_closed ? "true" : "false");
	out_kv(o, OUT_RESULT, "complete", false, "%s", err ? "false" : "true");
	if (err)
		out_kv(o, OUT_RESULT, "error", true, "%s", err);
	/* a failed transfer is never "verified": say what happened, and
	 * whether the bytes that did arrive were right */
	snprintf(verdict, sizeof(verdict), "INCOMPLETE: %.1200s%s",
		 err ? err : "", k->checking && bytes ? "; the bytes received "
		 "match the pattern" : "");
	if (!strcmp(vname, "sampled"))
		snprintf(vs, sizeof(vs), " (validation=sampled: %" PRIu64 " of %"
			 PRIu64 " bytes checked)", k->checked, bytes);
	out_line(o, "summary: received %" PRIu64 " bytes in %.2f s, %.2f GB/s "
		 "(%.2f Gbit/s), %.2f CPU s/GB (machine %.2f), CPU %.1f%%, %s%s",
		 bytes, secs, gbs, gbs * 8, per_gb(cd->proc_s, bytes),
		 per_gb(cd->machine_s, bytes),
		 secs > 0 ? 100.0 * cd->proc_s / secs : 0,
		 k->pat.mismatches ? "MISMATCHES" : err ? verdict :
		 !k->checking ? "not validated" : "verified", vs);
	if (res) {
		res->bytes = bytes;
		res->seconds = secs;
		res->cpu_s = cd->proc_s;
		res->mismatches = k->pat.mismatches;
		res->first_bad = rxcheck_first_bad(k);
		res->checked = k->checked;
		snprintf(res->validation, sizeof(res->validation), "%s", vname);
	}
}
