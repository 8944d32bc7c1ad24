// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: the report of one connection (result section, the
 * summary lines) and the result sent back to the client (session.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"
#include "session.h"
#include "server.h"

/* The report of one connection (text lines or its JSON sections), and
 * the result line sent back to the peer (session.c). Returns the
 * connection's status, 0 or 1. */
int srv_report(struct srv *s)
{
	const struct server_cfg *c = s->c;
	enum sess_dir dir = s->hello.present ? s->hello.dir : SESS_FWD;
	bool recv = dir != SESS_REV, sends = dir != SESS_FWD;
	double secs = s->t1 - s->t0;
	uint64_t first_bad = 0, sent = sess_tx_sent(&s->tx);
	const char *vname;
	char verdict[1400], vs[160] = "", amt[32], rate[32], sid[16] = "";
	struct sess_result sr = { 0 };
	int ret = s->rr < 0 ? 1 : 0;

	if (ret && !s->err[0] && sends)
		snprintf(s->err, sizeof(s->err), "sending: %.1000s",
			 sess_tx_error(&s->tx));
	/* sampled checks may record offsets out of stream order */
	first_bad = s->pat.nbad ? s->pat.bad[0].off : 0;
	for (unsigned int i = 1; i < s->pat.nbad; i++)
		if (s->pat.bad[i].off < first_bad)
			first_bad = s->pat.bad[i].off;
	if (!ret && s->pat.mismatches) {
		snprintf(s->err, sizeof(s->err), "%" PRIu64 " mismatching bytes, "
			 "the first at offset %" PRIu64, s->pat.mismatches,
			 first_bad);
		ret = 1;
	}
	vname = !s->checking || !recv ? "off" : s->checked < s->bytes ?
		"sampled" : "full";
	if (!ret && recv && !s->bytes) {
		snprintf(s->err, sizeof(s->err), "the peer closed the connection "
			 "without sending any data");
		ret = 1;
	}
	if (!ret && recv && c->have_size && s->bytes != c->size) {
		snprintf(s->err, sizeof(s->err), "received %" PRIu64 " bytes, "
			 "expected %" PRIu64 " (--size)", s->bytes, c->size);
		ret = 1;
	}
	for (unsigned int i = 0; i < s->pat.nbad; i++) {
		out_line(&s->o, "mismatch at offset %" PRIu64 ": got 0x%02x, "
			 "expected 0x%02x", s->pat.bad[i].off, s->pat.bad[i].got,
			 s->pat.bad[i].want);
	}
	if (s->o.iv.id) {
		out_kv(&s->o, OUT_RESULT, "stream", false, "%u", s->o.iv.id);
		snprintf(sid, sizeof(sid), " [%3u]", s->o.iv.id);
	}
	out_kv(&s->o, OUT_RESULT, "bytes", false, "%" PRIu64, s->bytes);
	if (sends)
		out_kv(&s->o, OUT_RESULT, "sent", false, "%" PRIu64, sent);
	out_kv(&s->o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(&s->o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)s->bytes / secs / 1e9 : 0);
	out_kv(&s->o, OUT_RESULT, "bits_per_second", false, "%.0f",
	       secs > 0 ? (double)s->bytes * 8 / secs : 0);
	out_kv(&s->o, OUT_RESULT, "cpu_s", false, "%.3f", s->cd.proc_s);
	out_kv(&s->o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * s->cd.proc_s / secs : 0);
	out_kv(&s->o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.proc_s, s->bytes + sent));
	out_kv(&s->o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.machine_s, s->bytes + sent));
	out_kv(&s->o, OUT_RESULT, "validated", false, "%s",
	       s->checking && recv ? "true" : "false");
	out_kv(&s->o, OUT_RESULT, "validation_mode", true, "%s", vname);
	out_kv(&s->o, OUT_RESULT, "checked_bytes", false, "%" PRIu64, s->checked);
	out_kv(&s->o, OUT_RESULT, "mismatches", false, "%" PRIu64, s->pat.mismatches);
	{
		uint64_t offv[PAT_MAX_BAD];

		for (unsigned int i = 0; i < s->pat.nbad; i++)
			offv[i] = s->pat.bad[i].off;
		out_kv_u64s(&s->o, OUT_RESULT, "mismatch_offsets", offv,
			    s->pat.nbad);
	}
	out_kv(&s->o, OUT_RESULT, "peer_closed", false, "%s", s->rr == 0 ?
	       "true" : "false");
	out_kv(&s->o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(&s->o, OUT_RESULT, "error", true, "%s", s->err);
	/* a failed transfer is never "verified": say what happened, and
	 * whether the bytes that did arrive were right */
	snprintf(verdict, sizeof(verdict), "INCOMPLETE: %.1200s%s", s->err,
		 s->checking && s->bytes ? "; the bytes received match "
		 "the pattern" : "");
	if (!strcmp(vname, "sampled"))
		snprintf(vs, sizeof(vs), " (validation=sampled: %" PRIu64
			 " of %" PRIu64 " bytes checked)", s->checked, s->bytes);
	sr.verdict = s->pat.mismatches ? "MISMATCHES" : ret ? "INCOMPLETE" :
		     !recv ? "sent" : !s->checking ? "not validated" : "verified";
	if (recv)
		out_line(&s->o, "summary:%s received %s in %.2f s, %s, %.2f CPU "
			 "s/GB (machine %.2f), CPU %.1f%%, %s%s", sid, fmt_bytes(amt, sizeof(amt),
			 (double)s->bytes), secs, fmt_rate(rate, sizeof(rate),
			 (double)s->bytes, secs), per_gb(s->cd.proc_s, s->bytes +
			 sent), per_gb(s->cd.machine_s, s->bytes + sent),
			 secs > 0 ? 100.0 * s->cd.proc_s / secs : 0,
			 s->pat.mismatches ? "MISMATCHES" : ret ? verdict :
			 !s->checking ? "not validated" : "verified", vs);
	if (sends)
		out_line(&s->o, "summary:%s sent %s in %.2f s, %s, engine %s%s%s",
			 sid, fmt_bytes(amt, sizeof(amt), (double)sent), secs,
			 fmt_rate(rate, sizeof(rate), (double)sent, secs),
			 s->tx.engine[0] ? s->tx.engine : "-",
			 ret && !recv ? ", " : "", ret && !recv ? verdict : "");
	if (c->res) {
		c->res->bytes = s->bytes;
		c->res->seconds = secs;
		c->res->cpu_s = s->cd.proc_s;
		c->res->mismatches = s->pat.mismatches;
		c->res->first_bad = first_bad;
		c->res->checked = s->checked;
		snprintf(c->res->validation, sizeof(c->res->validation), "%s",
			 vname);
	}
	/* hook: the verdict back to the client (session.c); a foreign sender
	 * may read it or not, and one that is gone costs nothing */
	sr.complete = !ret;
	sr.error = s->err;
	sr.bytes = s->bytes;
	sr.seconds = secs;
	sr.cpu_s = s->cd.proc_s;
	sr.cpu_pct = secs > 0 ? 100.0 * s->cd.proc_s / secs : 0;
	sr.cpu_user_pct = secs > 0 ? 100.0 * s->cd.user_s / secs : 0;
	sr.cpu_sys_pct = secs > 0 ? 100.0 * s->cd.sys_s / secs : 0;
	sr.engine = recv ? dmt_engine_name(s->run->eng) : NULL;
	sr.validation = vname;
	sr.checked = s->checked;
	sr.mismatches = s->pat.mismatches;
	sr.sent_valid = sends;
	sr.sent = sent;
	sr.tx_engine = s->tx.engine[0] ? s->tx.engine : NULL;
	{
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (!getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
			sr.retransmits = ti.tcpi_total_retrans;
	}
	sess_result_send(s->fd, &sr, c->timeout_s);
	s->reported = true;
	return ret;
}
