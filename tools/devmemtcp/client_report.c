// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: the configuration section, the result section and
 * JSON document, iperf3's closing lines (per stream, [SUM], CPU
 * utilization of both ends) and the summary line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "client.h"
#include "common.h"
#include "json_out.h"
#include "session.h"
#include "stream.h"

/* The configuration section (text lines only with -V). */
void client_config(struct crun *r, const struct sockaddr_storage *dst)
{
	const struct client_cfg *c = r->c;
	struct out *o = &r->o;
	char as[80];

	out_kv(o, OUT_CONFIG, "server", true, "%s",
	       addr_str((const struct sockaddr *)dst, as, sizeof(as)));
	out_kv_str(o, OUT_CONFIG, "client", c->client);
	out_kv(o, OUT_CONFIG, "source", true, "%s", r->pattern ? "pattern" :
	       "stdin");
	if (c->have_size)
		out_kv(o, OUT_CONFIG, "size", false, "%" PRIu64, c->size);
	else	/* stdin or -t: no size (null in JSON) */
		out_kv_str(o, OUT_CONFIG, "size", NULL);
	if (c->time_s > 0)
		out_kv(o, OUT_CONFIG, "time", false, "%g", c->time_s);
	else
		out_kv_str(o, OUT_CONFIG, "time", NULL);
	out_kv(o, OUT_CONFIG, "streams", false, "%u", r->n);
	out_kv(o, OUT_CONFIG, "direction", true, "%s", r->dir == SESS_REV ?
	       "reverse" : r->dir == SESS_BIDIR ? "bidir" : "forward");
	if (r->pattern)
		out_kv(o, OUT_CONFIG, "validation", false, "%u", r->v);
	else	/* stdin: no pattern */
		out_kv_str(o, OUT_CONFIG, "validation", NULL);
	if (c->chunk)
		out_kv(o, OUT_CONFIG, "chunk_size", false, "%" PRIu64, c->chunk);
	else
		out_kv_str(o, OUT_CONFIG, "chunk_size", NULL);
	out_kv(o, OUT_CONFIG, "msg_size", false, "%" PRIu64, c->msg_size);
	out_kv(o, OUT_CONFIG, "buffer_size", false, "%" PRIu64, c->buf_size);
	out_kv(o, OUT_CONFIG, "engine_requested", true, "%s",
	       dmt_engine_name(c->engine));
	out_kv_str(o, OUT_CONFIG, "ifname", c->ifname);
	out_kv(o, OUT_CONFIG, "interval", false, "%g", c->interval);
	out_kv(o, OUT_CONFIG, "timeout", false, "%d", c->timeout_s);
}

static uint64_t jnum_u64(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		(uint64_t)json_integer_value(v) : 0;
}

static double jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* iperf3's closing lines: a sender and a receiver line per stream, the
 * same for [SUM] with -P, the CPU of both ends. */
/* CPU utilization as iperf3 reports it: user+sys of this process (and
 * of the server's, from its result) as % of the wall time, with the two
 * parts. The server's figure is its process's, the same for every stream
 * of one test, so the mean over the streams' results is that figure. */
struct cpu_util {
	double host_total, host_user, host_system;
	double remote_total, remote_user, remote_system;
	bool remote;		/* a devmemtcp server sent its figures */
};

static void cpu_util_get(const struct crun *r, const struct cpu_snap *cd,
			 double secs, struct cpu_util *u)
{
	unsigned int n = 0;

	memset(u, 0, sizeof(*u));
	if (secs > 0) {
		u->host_total = 100.0 * cd->proc_s / secs;
		u->host_user = 100.0 * cd->user_s / secs;
		u->host_system = 100.0 * cd->sys_s / secs;
	}
	for (unsigned int i = 0; i < r->n; i++) {
		json_t *sj = r->s[i].server;

		if (!sj || isnan(jnum(sj, "cpu_pct")) ||
		    isnan(jnum(sj, "cpu_user_pct")) ||
		    isnan(jnum(sj, "cpu_sys_pct")))
			continue;
		u->remote_total += jnum(sj, "cpu_pct");
		u->remote_user += jnum(sj, "cpu_user_pct");
		u->remote_system += jnum(sj, "cpu_sys_pct");
		n++;
	}
	u->remote = n > 0;
	if (n) {
		u->remote_total /= n;
		u->remote_user /= n;
		u->remote_system /= n;
	}
}

/* The cpu_utilization_percent object of the JSON document (iperf3's
 * names); the remote figures are null without a devmemtcp server. */
static json_t *cpu_util_json(const struct cpu_util *u)
{
	json_t *j = json_object();

	jout_set_num(j, "host_total", round(u->host_total * 10) / 10);
	jout_set_num(j, "host_user", round(u->host_user * 10) / 10);
	jout_set_num(j, "host_system", round(u->host_system * 10) / 10);
	if (u->remote) {
		jout_set_num(j, "remote_total", round(u->remote_total * 10) / 10);
		jout_set_num(j, "remote_user", round(u->remote_user * 10) / 10);
		jout_set_num(j, "remote_system",
			     round(u->remote_system * 10) / 10);
	} else {
		jout_set_null(j, "remote_total");
		jout_set_null(j, "remote_user");
		jout_set_null(j, "remote_system");
	}
	return j;
}

static void summary_lines(struct crun *r, double secs, uint64_t sent,
			  uint64_t rcvd, const struct cpu_util *u, uint64_t retr)
{
	struct out *o = &r->o;
	char amt[32], rate[32], id[8];

	out_line(o, "- - - - - - - - - - - - - - - - - - - - - - - - -");
	out_line(o, "[ ID] Interval           Transfer     Bitrate         Retr");
	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		double d = cs->t1 - cs->t0;
		const char *v = cs->server ? jstr(cs->server, "verdict") : NULL;

		snprintf(id, sizeof(id), "%3u", cs->id ? cs->id : 1);
		if (r->dir != SESS_REV)
			out_line(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s  %4" PRIu64
				 "  sender", id, d, fmt_bytes(amt, sizeof(amt),
				 (double)cs->sd.sent), fmt_rate(rate, sizeof(rate),
				 (double)cs->sd.sent, d), cs->retr);
		if (r->dir != SESS_FWD)
			out_line(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (here: %s)", id, d,
				 fmt_bytes(amt, sizeof(amt), (double)cs->rv.bytes),
				 fmt_rate(rate, sizeof(rate), (double)cs->rv.bytes,
					  d), cs->ret ? "FAILED" :
				 r->pattern ? "verified" : "counted");
		if (r->dir != SESS_REV && cs->server) {
			uint64_t b = jnum_u64(cs->server, "bytes");
			double sd_ = jnum(cs->server, "seconds");

			out_line(o, "[%s]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (server: %s)", id, isnan(sd_) ? 0 : sd_,
				 fmt_bytes(amt, sizeof(amt), (double)b),
				 fmt_rate(rate, sizeof(rate), (double)b,
					  isnan(sd_) ? 0 : sd_), v ? v : "?");
		} else if (!cs->server) {	/* a foreign peer, or none */
			out_line(o, "[%s]   %s", id, cs->server_note[0] ?
				 cs->server_note : "no result from the other end "
				 "(the stream failed before it)");
		}
	}
	if (r->n > 1) {
		if (r->dir != SESS_REV)
			out_line(o, "[SUM]   0.00-%-6.2f sec  %-12s  %-15s  %4" PRIu64
				 "  sender", secs, fmt_bytes(amt, sizeof(amt),
				 (double)sent), fmt_rate(rate, sizeof(rate),
				 (double)sent, secs), retr);
		if (r->dir != SESS_FWD)
			out_line(o, "[SUM]   0.00-%-6.2f sec  %-12s  %-15s        "
				 "receiver (here)", secs, fmt_bytes(amt, sizeof(amt),
				 (double)rcvd), fmt_rate(rate, sizeof(rate),
				 (double)rcvd, secs));
	}
	if (u->remote)
		out_line(o, "CPU Utilization: local %.1f%% (%.1f%%u/%.1f%%s), "
			 "remote %.1f%% (%.1f%%u/%.1f%%s)", u->host_total,
			 u->host_user, u->host_system, u->remote_total,
			 u->remote_user, u->remote_system);
	else
		out_line(o, "CPU Utilization: local %.1f%% (%.1f%%u/%.1f%%s), "
			 "remote unknown", u->host_total, u->host_user,
			 u->host_system);
}

/* Result section, summary lines, the demo's result. */
/* What the streams did together, for the result section. */
struct totals {
	uint64_t sent, rcvd, sends, syscalls, partial, enobufs, zc, zcn, zcc,
		 retr;
	int verdict;		/* dmt_tx_zerocopy_verdict of them all, -1 none */
	const char *sv;		/* the receiving end's word: the worst */
};

/* Each stream's JSON object (the document's "streams"), the totals into
 * t. */
static json_t *streams_json(struct crun *r, struct totals *t)
{
	json_t *streams = json_array();

	memset(t, 0, sizeof(*t));
	t->verdict = -1;
	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		json_t *j = json_object();

		t->sent += cs->sd.sent;
		t->rcvd += cs->rv.bytes;
		t->sends += cs->st.sends;
		t->syscalls += cs->st.syscalls;
		t->partial += cs->st.partial;
		t->enobufs += cs->st.enobufs;
		t->zc += cs->st.zc_completed;
		t->zcn += cs->st.zc_notifications;
		t->zcc += cs->st.zc_copied;
		if (cs->sd.tx && (t->verdict < 0 || cs->verdict == 0))
			t->verdict = cs->verdict;
		jout_set_int(j, "stream", cs->id ? cs->id : 1);
		jout_set_u64(j, "sent", cs->sd.sent);
		jout_set_u64(j, "received", cs->rv.bytes);
		jout_set_num(j, "seconds", round((cs->t1 - cs->t0) * 1e6) / 1e6);
		jout_set_u64(j, "bits_per_second", cs->t1 > cs->t0 ? (uint64_t)
			     llround((double)(cs->sd.sent + cs->rv.bytes) * 8 /
				     (cs->t1 - cs->t0)) : 0);
		if (r->dir != SESS_FWD) {
			jout_set_u64(j, "mismatches", cs->rv.pat.mismatches);
			jout_set_str(j, "rx_engine", cs->rv.engine);
		}
		jout_set_bool(j, "complete", !cs->ret);
		jout_set_str(j, "error", cs->ret ? cs->err : NULL);
		if (cs->server) {
			json_object_set(j, "server", cs->server);
			if (!t->sv || strcmp(jstr(cs->server, "verdict") ?
					     jstr(cs->server, "verdict") : "",
					     "verified"))
				t->sv = jstr(cs->server, "verdict");
		} else {
			jout_set_null(j, "server");
		}
		jout_set_u64(j, "retransmits", cs->retr);
		json_array_append_new(streams, j);
		t->retr += cs->retr;
	}
	return streams;
}

void client_report(struct crun *r, const struct cpu_snap *cd,
			  double secs, int ret, const char *err)
{
	const struct client_cfg *c = r->c;
	struct out *o = &r->o;
	struct totals t;
	json_t *streams = streams_json(r, &t), *server = NULL;
	uint64_t sent = t.sent, rcvd = t.rcvd, sends = t.sends,
		 syscalls = t.syscalls, partial = t.partial, enobufs = t.enobufs,
		 zc = t.zc, zcn = t.zcn, zcc = t.zcc, retr = t.retr;
	int verdict = t.verdict;
	const char *sv = t.sv;
	char amt[32], rate[32];
	struct cpu_util cu;

	if (r->n == 1 && r->s[0].server)
		server = json_incref(r->s[0].server);
	out_kv(o, OUT_RESULT, "bytes", false, "%" PRIu64, sent + rcvd);
	if (r->dir != SESS_FWD) {
		out_kv(o, OUT_RESULT, "sent", false, "%" PRIu64, sent);
		out_kv(o, OUT_RESULT, "received", false, "%" PRIu64, rcvd);
	}
	out_kv(o, OUT_RESULT, "seconds", false, "%.6f", secs);
	out_kv(o, OUT_RESULT, "throughput_GBps", false, "%.3f",
	       secs > 0 ? (double)(sent + rcvd) / secs / 1e9 : 0);
	out_kv(o, OUT_RESULT, "bits_per_second", false, "%.0f",
	       secs > 0 ? (double)(sent + rcvd) * 8 / secs : 0);
	out_kv(o, OUT_RESULT, "retransmits", false, "%" PRIu64, retr);
	out_kv(o, OUT_RESULT, "cpu_s", false, "%.3f", cd->proc_s);
	out_kv(o, OUT_RESULT, "cpu_pct", false, "%.1f",
	       secs > 0 ? 100.0 * cd->proc_s / secs : 0);
	out_kv(o, OUT_RESULT, "cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->proc_s, sent + rcvd));
	out_kv(o, OUT_RESULT, "machine_cpu_s_per_GB", false, "%.3f",
	       per_gb(cd->machine_s, sent + rcvd));
	out_kv(o, OUT_RESULT, "sends", false, "%" PRIu64, sends);
	out_kv(o, OUT_RESULT, "syscalls", false, "%" PRIu64, syscalls);
	out_kv(o, OUT_RESULT, "partial", false, "%" PRIu64, partial);
	out_kv(o, OUT_RESULT, "enobufs", false, "%" PRIu64, enobufs);
	out_kv(o, OUT_RESULT, "zc_completions", false, "%" PRIu64, zc);
	out_kv(o, OUT_RESULT, "zc_notifications", false, "%" PRIu64, zcn);
	out_kv(o, OUT_RESULT, "zc_copied", false, "%" PRIu64, zcc);
	out_kv(o, OUT_RESULT, "zc_copied_pct", false, "%.1f",
	       zc ? 100.0 * (double)zcc / (double)zc : 0.0);
	if (verdict < 0 && o->json)	/* no verdict: null, "-" in text */
		out_kv_str(o, OUT_RESULT, "zc", NULL);
	else
		out_kv(o, OUT_RESULT, "zc", true, "%s", verdict == 1 ? "y" :
		       verdict == 0 ? "n" : "-");
	if (r->dir != SESS_REV)	/* what the receiving end said */
		out_kv_str(o, OUT_RESULT, "server_verdict", sv ? sv : NULL);
	out_kv(o, OUT_RESULT, "complete", false, "%s", ret ? "false" : "true");
	if (ret)
		out_kv(o, OUT_RESULT, "error", true, "%s", err);
	out_doc_set(o, "streams", streams);
	if (r->n == 1 && r->dir != SESS_REV)
		out_doc_set(o, "server", server ? server : json_null());
	else
		json_decref(server);
	cpu_util_get(r, cd, secs, &cu);
	out_doc_set(o, "cpu_utilization_percent", cpu_util_json(&cu));
	summary_lines(r, secs, sent, rcvd, &cu, retr);
	out_line(o, "summary: %s %s in %.2f s, %s, %.2f CPU s/GB (machine %.2f), "
		 "CPU %.1f%%, zc=%s%s%s%s", r->dir == SESS_FWD ? "sent" :
		 r->dir == SESS_REV ? "received" : "sent+received",
		 fmt_bytes(amt, sizeof(amt), (double)(sent + rcvd)), secs,
		 fmt_rate(rate, sizeof(rate), (double)(sent + rcvd), secs),
		 per_gb(cd->proc_s, sent + rcvd), per_gb(cd->machine_s, sent + rcvd),
		 secs > 0 ? 100.0 * cd->proc_s / secs : 0,
		 verdict == 1 ? "y" : verdict == 0 ? "n" : "-",
		 sv ? ", server: " : "", sv ? sv : "", ret ? " INCOMPLETE" : "");
	if (c->res) {
		c->res->bytes = sent;
		c->res->seconds = secs;
		c->res->cpu_s = cd->proc_s;
		c->res->sends = sends;
		c->res->syscalls = syscalls;
		c->res->zc_completed = zc;
		c->res->zc_copied = zcc;
		c->res->zc_verdict = verdict;
	}
}

/* Each stream's status, with the receiving end's word on it: 0, or 1
 * with the first failure's text in errbuf. */
int verdicts(struct crun *r, char *errbuf, size_t len)
{
	int ret = 0;

	for (unsigned int i = 0; i < r->n; i++) {
		struct cstream *cs = &r->s[i];
		json_t *sc;

		/* the receiving end says the stream failed: so does this run */
		if (!cs->ret && cs->server && r->dir != SESS_REV &&
		    (sc = json_object_get(cs->server, "complete")) &&
		    json_is_false(sc)) {
			cs_err(cs, "the server reports: %s",
			       jstr(cs->server, "error") ? jstr(cs->server, "error") :
			       "the stream failed");
			cs->ret = 1;
		}
		if (cs->ret && !errbuf[0])
			snprintf(errbuf, len, "%s%.1300s",
				 r->n > 1 ? "a stream failed: " : "", cs->err);
		ret |= cs->ret;
	}
	return ret;
}

/* The engine in use and why: the first line a user sees. */
void engine_lines(struct crun *r)
{
	const struct client_cfg *c = r->c;
	struct cstream *s0 = &r->s[0];
	const char *eng = dmt_engine_name(dmt_tx_engine(s0->sd.tx));
	const char *ewhy = dmt_tx_engine_reason(s0->sd.tx);

	out_kv(&r->o, OUT_CONFIG, "buffer", true, "%s",
	       dmt_buf_kind_name(dmt_buf_kind(s0->buf)));
	out_kv(&r->o, OUT_CONFIG, "buffer_reason", true, "%s", r->buf_why);
	if (r->dir == SESS_REV) {
		out_kv(&r->o, OUT_CONFIG, "engine", true, "%s",
		       s0->rv.engine);
		out_kv(&r->o, OUT_CONFIG, "engine_reason", true, "%s",
		       dmt_rx_engine_reason(s0->rv.rx));
		out_line(&r->o, "engine: %s receive (%s); the server sends",
			 s0->rv.engine, dmt_rx_engine_reason(s0->rv.rx));
	} else {
		out_kv(&r->o, OUT_CONFIG, "engine", true, "%s", eng);
		out_kv(&r->o, OUT_CONFIG, "engine_reason", true, "%s", ewhy);
		out_line(&r->o, "engine: %s (%s)%s%s", eng, ewhy,
			 r->dir == SESS_BIDIR ? "; receive: " : "",
			 r->dir == SESS_BIDIR ? s0->rv.engine : "");
	}
	if (out_verbose())
		out_line(&r->o, "buffer: %s (%s)",
			 dmt_buf_kind_name(dmt_buf_kind(s0->buf)),
			 r->buf_why);
	if (c->res) {
		snprintf(c->res->engine, sizeof(c->res->engine), "%s", eng);
		snprintf(c->res->engine_reason,
			 sizeof(c->res->engine_reason), "%s", ewhy);
	}
}
