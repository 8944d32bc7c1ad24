// SPDX-License-Identifier: MIT
/*
 * devmemtcp server: the report of one connection (result section, the
 * summary lines) and the result sent back to the client (session.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
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

/* What one connection's report says, worked out once. */
struct report {
	bool recv, sends;	/* it received (forward, --bidir), sent */
	double secs;
	uint64_t sent, first_bad;
	const char *vname;	/* validation: full, sampled, off */
	int ret;		/* 0 complete, 1 failed (s->err says why) */
};

/* The connection's status: a failed data phase, mismatches, no data, a
 * size other than --size; the first failure into s->err. */
static void rep_status(struct srv *s, struct report *p)
{
	const struct server_cfg *c = s->c;

	p->ret = s->rr < 0 ? 1 : 0;
	if (p->ret && !s->err[0] && p->sends)
		snprintf(s->err, sizeof(s->err), "sending: %.1000s",
			 sess_tx_error(&s->tx));
	/* sampled checks may record offsets out of stream order */
	p->first_bad = s->pat.nbad ? s->pat.bad[0].off : 0;
	for (unsigned int i = 1; i < s->pat.nbad; i++)
		if (s->pat.bad[i].off < p->first_bad)
			p->first_bad = s->pat.bad[i].off;
	if (!p->ret && s->pat.mismatches) {
		snprintf(s->err, sizeof(s->err), "%" PRIu64 " mismatching bytes, "
			 "the first at offset %" PRIu64, s->pat.mismatches,
			 p->first_bad);
		p->ret = 1;
	}
	p->vname = !s->checking || !p->recv ? "off" : s->checked < s->bytes ?
		   "sampled" : "full";
	if (!p->ret && p->recv && !s->bytes) {
		snprintf(s->err, sizeof(s->err), "the peer closed the connection "
			 "without sending any data");
		p->ret = 1;
	}
	if (!p->ret && p->recv && c->have_size && s->bytes != c->size) {
		snprintf(s->err, sizeof(s->err), "received %" PRIu64 " bytes, "
			 "expected %" PRIu64 " (--size)", s->bytes, c->size);
		p->ret = 1;
	}
}

/* iperf3's cpu_utilization_percent for the JSON document: this process's
 * figures; the client's (remote) are not sent to the server: null. */
static json_t *cpu_json(const struct srv *s, double secs)
{
	json_t *j = json_object();
	double k = secs > 0 ? 100.0 / secs : 0;

	jout_set_num(j, "host_total", round(s->cd.proc_s * k * 10) / 10);
	jout_set_num(j, "host_user", round(s->cd.user_s * k * 10) / 10);
	jout_set_num(j, "host_system", round(s->cd.sys_s * k * 10) / 10);
	jout_set_null(j, "remote_total");
	jout_set_null(j, "remote_user");
	jout_set_null(j, "remote_system");
	return j;
}

/* The mismatch lines and the result section (key=value lines, or the
 * JSON document's). */
static void rep_result(struct srv *s, const struct report *p)
{
	struct out *o = &s->o;
	uint64_t offv[PAT_MAX_BAD], all = s->bytes + p->sent;
	double secs = p->secs;

	for (unsigned int i = 0; i < s->pat.nbad; i++)
		out_line(&s->o, "mismatch at offset %" PRIu64 ": got 0x%02x, "
			 "expected 0x%02x", s->pat.bad[i].off, s->pat.bad[i].got,
			 s->pat.bad[i].want);
	if (s->o.iv.id)
		out_kv(o, OUT_RESULT, "stream", false, "%u", s->o.iv.id);
	out_kv(o, OUT_RESULT, "bytes", false, "%" PRIu64, s->bytes);
	if (p->sends)
		out_kv(o, OUT_RESULT, "sent", false, "%" PRIu64, p->sent);
	out_kv(o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)s->bytes / secs / 1e9 : 0);
	out_kv(o, OUT_RESULT, "bits_per_second", false, "%.0f",
	       secs > 0 ? (double)s->bytes * 8 / secs : 0);
	out_kv(o, OUT_RESULT, "cpu_s", false, "%.3f", s->cd.proc_s);
	out_kv(o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * s->cd.proc_s / secs : 0);
	out_kv(o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.proc_s, all));
	out_kv(o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(s->cd.machine_s, all));
	out_kv(o, OUT_RESULT, "validated", false, "%s",
	       s->checking && p->recv ? "true" : "false");
	out_kv(o, OUT_RESULT, "validation_mode", true, "%s", p->vname);
	out_kv(o, OUT_RESULT, "checked_bytes", false, "%" PRIu64, s->checked);
	out_kv(o, OUT_RESULT, "mismatches", false, "%" PRIu64, s->pat.mismatches);
	for (unsigned int i = 0; i < s->pat.nbad; i++)
		offv[i] = s->pat.bad[i].off;
	out_kv_u64s(o, OUT_RESULT, "mismatch_offsets", offv, s->pat.nbad);
	out_kv(o, OUT_RESULT, "peer_closed", false, "%s", s->rr == 0 ?
	       "true" : "false");
	out_kv(o, OUT_RESULT, "complete", false, "%s", p->ret ? "false" : "true");
	if (p->ret)
		out_kv(o, OUT_RESULT, "error", true, "%s", s->err);
	out_doc_set(o, "cpu_utilization_percent", cpu_json(s, secs));
}

/* The summary lines; the demo's result. */
static void rep_summary(struct srv *s, const struct report *p)
{
	const struct server_cfg *c = s->c;
	char verdict[1400], vs[160] = "", amt[32], rate[32], sid[16] = "";
	uint64_t all = s->bytes + p->sent;
	double secs = p->secs;

	if (s->o.iv.id)
		snprintf(sid, sizeof(sid), " [%3u]", s->o.iv.id);
	/* a failed transfer is never "verified": say what happened, and
	 * whether the bytes that did arrive were right */
	snprintf(verdict, sizeof(verdict), "INCOMPLETE: %.1200s%s", s->err,
		 s->checking && s->bytes ? "; the bytes received match "
		 "the pattern" : "");
	if (!strcmp(p->vname, "sampled"))
		snprintf(vs, sizeof(vs), " (validation=sampled: %" PRIu64
			 " of %" PRIu64 " bytes checked)", s->checked, s->bytes);
	if (p->recv)
		out_line(&s->o, "summary:%s received %s in %.2f s, %s, %.2f CPU "
			 "s/GB (machine %.2f), CPU %.1f%%, %s%s", sid,
			 fmt_bytes(amt, sizeof(amt), (double)s->bytes), secs,
			 fmt_rate(rate, sizeof(rate), (double)s->bytes, secs),
			 per_gb(s->cd.proc_s, all), per_gb(s->cd.machine_s, all),
			 secs > 0 ? 100.0 * s->cd.proc_s / secs : 0,
			 s->pat.mismatches ? "MISMATCHES" : p->ret ? verdict :
			 !s->checking ? "not validated" : "verified", vs);
	if (p->sends)
		out_line(&s->o, "summary:%s sent %s in %.2f s, %s, engine %s%s%s",
			 sid, fmt_bytes(amt, sizeof(amt), (double)p->sent), secs,
			 fmt_rate(rate, sizeof(rate), (double)p->sent, secs),
			 s->tx.engine[0] ? s->tx.engine : "-",
			 p->ret && !p->recv ? ", " : "",
			 p->ret && !p->recv ? verdict : "");
	if (c->res) {
		c->res->bytes = s->bytes;
		c->res->seconds = secs;
		c->res->cpu_s = s->cd.proc_s;
		c->res->mismatches = s->pat.mismatches;
		c->res->first_bad = p->first_bad;
		c->res->checked = s->checked;
		snprintf(c->res->validation, sizeof(c->res->validation), "%s",
			 p->vname);
	}
}

/* The verdict back to the client (session.c); a foreign sender may read
 * it or not, and one that is gone costs nothing. */
static void rep_send_back(struct srv *s, const struct report *p)
{
	struct sess_result sr = { 0 };
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	double secs = p->secs;

	sr.verdict = s->pat.mismatches ? "MISMATCHES" : p->ret ? "INCOMPLETE" :
		     !p->recv ? "sent" : !s->checking ? "not validated" :
		     "verified";
	sr.complete = !p->ret;
	sr.error = s->err;
	sr.bytes = s->bytes;
	sr.seconds = secs;
	sr.cpu_s = s->cd.proc_s;
	sr.cpu_pct = secs > 0 ? 100.0 * s->cd.proc_s / secs : 0;
	sr.cpu_user_pct = secs > 0 ? 100.0 * s->cd.user_s / secs : 0;
	sr.cpu_sys_pct = secs > 0 ? 100.0 * s->cd.sys_s / secs : 0;
	sr.engine = p->recv ? dmt_engine_name(s->run->eng) : NULL;
	sr.validation = p->vname;
	sr.checked = s->checked;
	sr.mismatches = s->pat.mismatches;
	sr.sent_valid = p->sends;
	sr.sent = p->sent;
	sr.tx_engine = s->tx.engine[0] ? s->tx.engine : NULL;
	if (!getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
		sr.retransmits = ti.tcpi_total_retrans;
	sess_result_send(s->fd, &sr, s->c->timeout_s);
}

/* The report of one connection (text lines or its JSON sections), and
 * the result line sent back to the peer (session.c). Returns the
 * connection's status, 0 or 1. */
int srv_report(struct srv *s)
{
	enum sess_dir dir = s->hello.present ? s->hello.dir : SESS_FWD;
	struct report p = {
		.recv = dir != SESS_REV,
		.sends = dir != SESS_FWD,
		.secs = s->t1 - s->t0,
		.sent = sess_tx_sent(&s->tx),
	};

	rep_status(s, &p);
	rep_result(s, &p);
	rep_summary(s, &p);
	rep_send_back(s, &p);
	s->reported = true;
	return p.ret;
}
