// SPDX-License-Identifier: MIT
/*
 * NIC setup for devmem RX as a reversible transaction: snapshot, header
 * split, RSS over the other queues, ntuple feature + flow rule, bind-rx;
 * undone in reverse order on error and on free. Each change is written to
 * a small journal before it is made, so a crashed run can be repaired with
 * dmt_nic_setup_restore().
 *
 * Journal: text, one checksummed record per line, appended and
 * fdatasync'ed; the format (records hds, rss, feature rx-gro-hw and
 * rx-ntuple-filter, rule, bind) and its reader are in journal.h/journal.c.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "gpu.h"
#include "drivers.h"
#include "journal.h"
#include "netdev.h"
#include "nicsetup.h"
#include "uapi.h"

#define DEFAULT_JOURNAL_DIR "/run/devmemtcp"
#define NTUPLE_FEATURE "rx-ntuple-filter"
#define GRO_HW_FEATURE "rx-gro-hw"
#define MAX_RULES DMT_JOURNAL_MAX_RULES

struct dmt_nic_setup {
	struct dmt_ctx *ctx;
	const struct dmt_nic_ops *ops;
	void *ou;
	int ifindex;
	char ifname[IF_NAMESIZE];
	unsigned int flags, nq, qstart;
	int rxq;
	struct dmt_flow_rule r5, r3;
	bool have_r5, have_server;
	uint16_t port;
	char jdir[256];
	char jpath[320];
	int jfd;
	/* snapshot */
	int rings_ret, ch_ret, rss_ret, feat_ret;
	struct dmt_rings rings;
	struct dmt_channels ch;
	struct dmt_rss rss;
	bool ntuple_on, ntuple_fixed;
	struct dmt_error rss_err, ch_err, feat_err;
	/* what was changed (the undo log) */
	bool did_hds, did_rss, did_feat, did_gro, applied;
	uint8_t old_tds;
	bool old_has_thresh;
	uint32_t old_thresh;
	uint32_t *old_indir, old_indir_size;
	uint32_t rules[MAX_RULES];
	unsigned int nrules;
	bool bound;
	uint32_t binding;
	struct dmt_ctx *bind_ctx;
	bool restoring;
	char *sum;
	size_t sumlen, sumcap;
	struct dmt_error err;
};

/* ---- the real backend ---- */

static int r_rings_get(void *u, struct dmt_ctx *c, int i, struct dmt_rings *r)
{
	(void)u;
	return dmt_ethtool_rings_get(c, i, r);
}
static int r_rings_set(void *u, struct dmt_ctx *c, int i, int t, int64_t h)
{
	(void)u;
	return dmt_ethtool_rings_set_hds(c, i, t, h);
}
static int r_channels_get(void *u, struct dmt_ctx *c, int i,
			  struct dmt_channels *ch)
{
	(void)u;
	return dmt_ethtool_channels_get(c, i, ch);
}
static int r_feature_get(void *u, struct dmt_ctx *c, int i, const char *n,
			 bool *a, bool *f)
{
	(void)u;
	return dmt_ethtool_feature_get(c, i, n, a, f);
}
static int r_feature_set(void *u, struct dmt_ctx *c, int i, const char *n,
			 bool on)
{
	(void)u;
	return dmt_ethtool_feature_set(c, i, n, on);
}
static int r_rss_get(void *u, struct dmt_ctx *c, int i, struct dmt_rss *r)
{
	(void)u;
	return dmt_ethtool_rss_get(c, i, r);
}
static int r_rss_set(void *u, struct dmt_ctx *c, int i, const uint32_t *t,
		     uint32_t n)
{
	(void)u;
	return dmt_ethtool_rss_set(c, i, t, n);
}
static int r_ntuple_list(void *u, struct dmt_ctx *c, int i,
			 struct dmt_ntuple_list *l)
{
	(void)u;
	return dmt_ethtool_ntuple_list(c, i, l);
}
static int r_ntuple_add(void *u, struct dmt_ctx *c, int i,
			const struct dmt_flow_rule *r, uint32_t loc,
			uint32_t *out)
{
	(void)u;
	return dmt_ethtool_ntuple_add(c, i, r, loc, out);
}
static int r_ntuple_del(void *u, struct dmt_ctx *c, int i, uint32_t loc)
{
	(void)u;
	return dmt_ethtool_ntuple_del(c, i, loc);
}
static int r_bind_rx(void *u, struct dmt_ctx *c, int i, int fd,
		     const uint32_t *q, unsigned int n, uint32_t *id)
{
	struct dmt_nic_setup *s = u;
	int ret;

	/* A netlink socket of our own: closing it is the unbind. */
	s->bind_ctx = dmt_ctx_new(NULL, &c->err);
	if (!s->bind_ctx)
		return -errno;
	if (n)
		ret = dmt_ctx_bind_rx(s->bind_ctx, i, fd, q, n, id);
	else
		ret = dmt_bind_rx_raw(s->bind_ctx, i, fd, q, n, id);
	if (ret < 0) {
		dmt_err_copy(&c->err, &s->bind_ctx->err);
		dmt_ctx_free(s->bind_ctx);
		s->bind_ctx = NULL;
	}
	return ret;
}
static void r_unbind(void *u)
{
	struct dmt_nic_setup *s = u;

	dmt_ctx_free(s->bind_ctx);
	s->bind_ctx = NULL;
}

static int r_channels_set(void *u, struct dmt_ctx *c, int i,
			  const struct dmt_channels *ch)
{
	(void)u;
	return dmt_ethtool_channels_set(c, i, ch);
}

void *dmt_nic_setup_backend(struct dmt_nic_setup *s,
			    const struct dmt_nic_ops **ops)
{
	*ops = s->ops;
	return s->ou;
}

const struct dmt_nic_ops dmt_nic_ops_real = {
	.rings_get = r_rings_get,	.rings_set_hds = r_rings_set,
	.channels_get = r_channels_get, .feature_get = r_feature_get,
	.feature_set = r_feature_set,	.rss_get = r_rss_get,
	.rss_set = r_rss_set,		.ntuple_list = r_ntuple_list,
	.ntuple_add = r_ntuple_add,	.ntuple_del = r_ntuple_del,
	.bind_rx = r_bind_rx,		.unbind = r_unbind,
	.channels_set = r_channels_set,
};

/* ---- helpers ---- */

static void say(struct dmt_nic_setup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct dmt_nic_setup *s, const char *fmt, ...)
{
	char line[512];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (s->sumlen + n + 2 > s->sumcap) {
		size_t cap = (s->sumcap + n + 2) * 2;
		char *p = realloc(s->sum, cap);

		if (!p)
			return;
		s->sum = p;
		s->sumcap = cap;
	}
	memcpy(s->sum + s->sumlen, line, n);
	s->sumlen += n;
	s->sum[s->sumlen++] = '\n';
	s->sum[s->sumlen] = '\0';
	dmt_log(s->ctx, DMT_LOG_INFO, "%s: %s", s->ifname, line);
}

/* Keep the backend's sentence as the setup's error. */
static int fail_from_ctx(struct dmt_nic_setup *s, int ret)
{
	dmt_err_copy(&s->err, &s->ctx->err);
	if (!s->err.message[0])
		dmt_err_set(&s->err, ret, "%s: %s", s->ifname, dmt_strerror(ret));
	s->err.err = ret;
	return ret;
}

static const char *tds_name(uint8_t v)
{
	switch (v) {
	case DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED:
		return "off";
	case DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED:
		return "on";
	default:
		return "auto";
	}
}

static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* fields after ")": state is field 3, starttime field 22 */
	for (int f = 3; p && f <= 22; f++) {
		p = strchr(p + 1, ' ');
		if (p && f == 22)
			st = strtoull(p + 1, NULL, 10);
	}
	return st;
}

static bool owner_alive(pid_t pid, unsigned long long start)
{
	if (pid <= 0 || pid == getpid())
		return false;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	return proc_starttime(pid) == start;
}

DMT_EXPORT int dmt_nic_journal_path(const char *dir, const char *ifname,
				    char *out, size_t outlen)
{
	int n;

	if (!ifname || !ifname[0] || strchr(ifname, '/') || !out)
		return dmt_ret(-EINVAL);
	n = snprintf(out, outlen, "%s/%s.journal", dir && dir[0] ? dir :
		     DEFAULT_JOURNAL_DIR, ifname);
	if (n < 0 || (size_t)n >= outlen)
		return dmt_ret(-ENAMETOOLONG);
	return 0;
}

static int jlog(struct dmt_nic_setup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Write all of buf (one or more checksummed lines). */
static int jwrite(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int jlog(struct dmt_nic_setup *s, const char *fmt, ...)
{
	char *rec = NULL, *line = NULL;
	va_list ap;
	int ret = 0, n;
	size_t cap;

	if (s->jfd < 0) {
		char head[4][64], lines[4 * 80];
		size_t used = 0;

		if (mkdir(s->jdir, 0700) < 0 && errno != EEXIST)
			goto fail;
		s->jfd = open(s->jpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
			      O_CLOEXEC, 0600);
		if (s->jfd < 0)
			goto fail;
		snprintf(head[0], sizeof(head[0]), DMT_JOURNAL_MAGIC " %d",
			 DMT_JOURNAL_VERSION);
		snprintf(head[1], sizeof(head[1]), "ifname %s", s->ifname);
		snprintf(head[2], sizeof(head[2]), "ifindex %d", s->ifindex);
		snprintf(head[3], sizeof(head[3]), "pid %d %llu", (int)getpid(),
			 proc_starttime(getpid()));
		for (int i = 0; i < 4; i++) {
			n = dmt_journal_line(lines + used, sizeof(lines) - used,
					     head[i]);
			if (n < 0) {
				errno = ENAMETOOLONG;
				goto fail;
			}
			used += (size_t)n;
		}
		if (jwrite(s->jfd, lines, used) < 0)
			goto fail;
	}
	va_start(ap, fmt);
	n = vasprintf(&rec, fmt, ap);
	va_end(ap);
	if (n < 0) {
		rec = NULL;
		errno = ENOMEM;
		goto fail;
	}
	cap = (size_t)n + 16;
	line = malloc(cap);
	if (!line) {
		errno = ENOMEM;
		goto fail;
	}
	n = dmt_journal_line(line, cap, rec);
	if (n < 0 || jwrite(s->jfd, line, (size_t)n) < 0 || fdatasync(s->jfd) < 0)
		goto fail;
	free(rec);
	free(line);
	return 0;
fail:
	ret = dmt_neg_errno();
	free(rec);
	free(line);
	return dmt_err_set(&s->err, ret, "cannot write the setup journal %s: %s; "
			   "nothing was changed for this step (set journal_dir to "
			   "a writable directory)", s->jpath, dmt_strerror(ret));
}

static void journal_remove(struct dmt_nic_setup *s)
{
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = -1;
	unlink(s->jpath);
}

/* ---- construction ---- */

static int addr_of(const struct sockaddr *sa, socklen_t len, int *family,
		   uint8_t out[16])
{
	memset(out, 0, 16);
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*family = AF_INET;
		return 1;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, &a->s6_addr[12], 4);
			*family = AF_INET;
		} else {
			memcpy(out, a, 16);
			*family = AF_INET6;
		}
		return 1;
	}
	return -EINVAL;
}

struct dmt_nic_setup *dmt_nic_setup_new_ops(struct dmt_ctx *ctx, int ifindex,
					    const struct dmt_nic_setup_opts *o,
					    const struct dmt_nic_ops *ops,
					    void *user, struct dmt_error *err)
{
	struct dmt_nic_setup *s;
	int fs = 0, fc = 0, ret;
	const char *jdir;

	dmt_err_clear(err);
	if (!ctx || ifindex <= 0) {
		dmt_err_set(err, -EINVAL, "nic setup: a context and an "
			    "interface index > 0 are needed");
		errno = EINVAL;
		return NULL;
	}
	if (!DMT_OPTS_CHECK(o, dmt_nic_setup_opts, err))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	s->ctx = ctx;
	s->ops = ops;
	s->ou = ops == &dmt_nic_ops_real ? (void *)s : user;
	s->ifindex = ifindex;
	s->jfd = -1;
	if (!if_indextoname((unsigned int)ifindex, s->ifname)) {
		dmt_err_set(err, -ENODEV, "nic setup: interface index %d does "
			    "not exist in this network namespace", ifindex);
		free(s);
		errno = ENODEV;
		return NULL;
	}
	s->flags = DMT_OPTS_FIELD(o, flags, 0);
	s->nq = DMT_OPTS_OR(o, nqueues, 1);
	s->qstart = DMT_OPTS_FIELD(o, queue_start, 0);
	s->port = DMT_OPTS_FIELD(o, port, 0);
	jdir = DMT_OPTS_OR(o, journal_dir, DEFAULT_JOURNAL_DIR);
	snprintf(s->jdir, sizeof(s->jdir), "%s", jdir);
	if (dmt_nic_journal_path(s->jdir, s->ifname, s->jpath,
				 sizeof(s->jpath)) < 0) {
		dmt_err_set(err, -ENAMETOOLONG, "journal path too long: %s", jdir);
		free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* the flow */
	ret = addr_of(DMT_OPTS_FIELD(o, server, NULL), DMT_OPTS_FIELD(o, server_len, 0),
		      &fs, s->r5.dst);
	if (ret >= 0) {
		s->have_server = ret;
		ret = addr_of(DMT_OPTS_FIELD(o, client, NULL),
			      DMT_OPTS_FIELD(o, client_len, 0), &fc, s->r5.src);
		s->have_r5 = ret > 0;
	}
	if (ret < 0 || (fs && fc && fs != fc)) {
		dmt_err_set(err, -EINVAL, "nic setup: the server and client "
			    "addresses must both be IPv4 or both IPv6");
		free(s);
		errno = EINVAL;
		return NULL;
	}
	s->r5.family = fs ? fs : fc ? fc : AF_INET;
	s->r5.dst_port = htons(s->port);
	s->r5.src_port = htons(DMT_OPTS_FIELD(o, client_port, 0));
	s->r3 = s->r5;
	memset(s->r3.src, 0, sizeof(s->r3.src));
	s->r3.src_port = 0;

	/* snapshot: what we change and what we compare */
	s->rings_ret = ops->rings_get(s->ou, ctx, ifindex, &s->rings);
	s->ch_ret = ops->channels_get(s->ou, ctx, ifindex, &s->ch);
	if (s->ch_ret < 0)
		dmt_err_copy(&s->ch_err, &ctx->err);
	s->rss_ret = ops->rss_get(s->ou, ctx, ifindex, &s->rss);
	if (s->rss_ret < 0)
		dmt_err_copy(&s->rss_err, &ctx->err);
	s->feat_ret = ops->feature_get(s->ou, ctx, ifindex, NTUPLE_FEATURE,
				       &s->ntuple_on, &s->ntuple_fixed);
	if (s->feat_ret < 0)
		dmt_err_copy(&s->feat_err, &ctx->err);
	s->rxq = s->ch_ret == 0 ? (int)(s->ch.rx + s->ch.combined) : -1;
	dmt_err_clear(&ctx->err);
	return s;
}

DMT_EXPORT struct dmt_nic_setup *dmt_nic_setup_new(struct dmt_ctx *ctx,
						   int ifindex,
						   const struct dmt_nic_setup_opts *opts,
						   struct dmt_error *err)
{
	return dmt_nic_setup_new_ops(ctx, ifindex, opts, &dmt_nic_ops_real, NULL,
				     err);
}

/* ---- undo ---- */

static bool default_spread(const uint32_t *t, uint32_t n, int rxq)
{
	if (rxq <= 0)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (t[i] != i % (uint32_t)rxq)
			return false;
	return true;
}

/* Keep the first undo error (and its sentence); undo goes on after one. */
static void undo_note(struct dmt_nic_setup *s, int *first, int ret)
{
	if (ret < 0 && !*first) {
		*first = ret;
		if (!s->err.err)
			fail_from_ctx(s, ret);
	}
}

/* Undo steps, in reverse order of apply. Each returns 0 or -errno and
 * says what it did or failed to do. */
static int undo_rules(struct dmt_nic_setup *s, const char *pfx)
{
	int first = 0, ret;

	while (s->nrules) {
		uint32_t loc = s->rules[--s->nrules];

		ret = s->ops->ntuple_del(s->ou, s->ctx, s->ifindex, loc);
		if (ret == -ENOENT && s->restoring)
			ret = 0;	/* already gone */
		if (ret < 0) {
			say(s, "FAILED to delete ntuple rule %u: %s", loc,
			    s->ctx->err.message);
			undo_note(s, &first, ret);
		} else {
			say(s, "%sntuple rule %u deleted", pfx, loc);
		}
	}
	return first;
}

static int undo_ntuple_feature(struct dmt_nic_setup *s, const char *pfx)
{
	bool on = true, fixed;
	int ret;

	ret = s->ops->feature_set(s->ou, s->ctx, s->ifindex, NTUPLE_FEATURE,
				  false);
	if (ret < 0 &&
	    s->ops->feature_get(s->ou, s->ctx, s->ifindex, NTUPLE_FEATURE,
				&on, &fixed) == 0 && !on)
		ret = 0;	/* already off (e.g. fixed off) */
	if (ret < 0) {
		say(s, "FAILED to turn ntuple filters off: %s",
		    s->ctx->err.message);
		return ret;
	}
	s->did_feat = false;
	say(s, "%sntuple filters off again", pfx);
	return 0;
}

static int undo_rss(struct dmt_nic_setup *s, const char *pfx)
{
	bool def = default_spread(s->old_indir, s->old_indir_size, s->rxq);
	int ret;

	ret = s->ops->rss_set(s->ou, s->ctx, s->ifindex,
			      def ? NULL : s->old_indir,
			      def ? 0 : s->old_indir_size);
	if (ret < 0) {
		say(s, "FAILED to restore the RSS table: %s",
		    s->ctx->err.message);
		return ret;
	}
	s->did_rss = false;
	say(s, "%sRSS table %s", pfx, def ? "reset to the driver default" :
	    "restored");
	return 0;
}

/* Like ncdevmem: back to "auto" with the old threshold (the configured
 * value is not visible, "auto" is the default); the old explicit value
 * only if "auto" lands elsewhere, judged by undo_hds_verify() once HW-GRO
 * is back as it was (mlx5 reports split on exactly while HW-GRO is on). */
static int undo_hds(struct dmt_nic_setup *s)
{
	int ret;

	ret = s->ops->rings_set_hds(s->ou, s->ctx, s->ifindex,
				    DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN,
				    s->old_has_thresh ? (int64_t)s->old_thresh :
				    -1);
	if (ret < 0) {
		say(s, "FAILED to restore header split: %s",
		    s->ctx->err.message);
		return ret;
	}
	s->did_hds = false;
	return 0;
}

/* After header split: mlx5 keeps HW-GRO while split is on. */
static int undo_gro(struct dmt_nic_setup *s, const char *pfx)
{
	int ret;

	ret = s->ops->feature_set(s->ou, s->ctx, s->ifindex, GRO_HW_FEATURE,
				  false);
	if (ret < 0) {
		say(s, "FAILED to turn rx-gro-hw off again: %s",
		    s->ctx->err.message);
		return ret;
	}
	s->did_gro = false;
	say(s, "%srx-gro-hw off again", pfx);
	return 0;
}

static int undo_hds_verify(struct dmt_nic_setup *s, const char *pfx)
{
	struct dmt_rings now;
	int ret = 0;

	if (s->old_tds != DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN &&
	    s->ops->rings_get(s->ou, s->ctx, s->ifindex, &now) == 0 &&
	    now.tcp_data_split != s->old_tds)
		ret = s->ops->rings_set_hds(s->ou, s->ctx, s->ifindex,
					    s->old_tds, -1);
	if (ret < 0) {
		say(s, "FAILED to restore header split: %s",
		    s->ctx->err.message);
		return ret;
	}
	if (s->old_has_thresh)
		say(s, "%stcp-data-split back to %s, hds-thresh %u", pfx,
		    tds_name(s->old_tds), s->old_thresh);
	else
		say(s, "%stcp-data-split back to %s", pfx, tds_name(s->old_tds));
	return 0;
}

static int undo(struct dmt_nic_setup *s)
{
	const char *pfx = s->restoring ? "restored: " : "undone: ";
	bool hds_verify = false;
	int first = 0;

	if (s->bound) {
		s->ops->unbind(s->ou);
		s->bound = false;
		say(s, "%sbinding %u released (queues %u-%u restarted without "
		    "it)", pfx, s->binding, s->qstart, s->qstart + s->nq - 1);
	}
	undo_note(s, &first, undo_rules(s, pfx));
	if (s->did_feat)
		undo_note(s, &first, undo_ntuple_feature(s, pfx));
	if (s->did_rss)
		undo_note(s, &first, undo_rss(s, pfx));
	if (s->did_hds) {
		int ret = undo_hds(s);

		undo_note(s, &first, ret);
		hds_verify = ret == 0;
	}
	if (s->did_gro)
		undo_note(s, &first, undo_gro(s, pfx));
	if (hds_verify)
		undo_note(s, &first, undo_hds_verify(s, pfx));
	if (!first && (s->jfd >= 0 || s->restoring))
		journal_remove(s);	/* only a journal this run wrote/read */
	else if (s->jfd >= 0) {
		close(s->jfd);
		s->jfd = -1;
		say(s, "the journal %s is kept: dmt_nic_setup_restore(%s) once "
		    "the cause is fixed", s->jpath, s->ifname);
	}
	s->applied = false;
	return first;
}

DMT_EXPORT int dmt_nic_setup_undo(struct dmt_nic_setup *s)
{
	int ret;

	if (!s)
		return dmt_ret(-EINVAL);
	ret = undo(s);
	return dmt_ret(ret);
}

void dmt_nic_setup_abandon(struct dmt_nic_setup *s)
{
	if (!s)
		return;
	if (s->bound)
		s->ops->unbind(s->ou);
	if (s->jfd >= 0)
		close(s->jfd);
	dmt_rss_free(&s->rss);
	free(s->old_indir);
	free(s->sum);
	free(s);
}

DMT_EXPORT void dmt_nic_setup_detach(struct dmt_nic_setup *s)
{
	if (s && s->bound) {
		s->ops->unbind(s->ou);
		s->bound = false;
	}
	dmt_nic_setup_abandon(s);
}

DMT_EXPORT void dmt_nic_setup_free(struct dmt_nic_setup *s)
{
	if (!s)
		return;
	undo(s);
	s->jfd = -1;
	dmt_nic_setup_abandon(s);
}

/* ---- apply ---- */

/* Read a whole journal (at most DMT_JOURNAL_MAX_SIZE + 1 bytes, so that
 * the parser sees an oversized one). 1 with *buf, 0 when there is none,
 * or -errno. */
static int journal_read(const char *path, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : dmt_neg_errno();
	for (;;) {
		ssize_t r;

		if (n == cap || !b) {
			char *nb;

			if (b)
				cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int ret = dmt_neg_errno();
			free(b);
			close(fd);
			return ret;
		}
		if (r == 0 || n + (size_t)r > DMT_JOURNAL_MAX_SIZE) {
			n += (size_t)r;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 1;
}

static int check_journal(struct dmt_nic_setup *s)
{
	struct dmt_journal j;
	struct dmt_error e;
	size_t len;
	char *text;
	int ret = journal_read(s->jpath, &text, &len);

	if (ret == 0)
		return 0;
	if (ret < 0)
		return dmt_err_set(&s->err, -EEXIST, "a previous run left a "
				   "journal on %s that cannot be read (%s: %s): "
				   "check it, then dmt_nic_setup_restore(%s)",
				   s->ifname, s->jpath, dmt_strerror(ret),
				   s->ifname);
	ret = dmt_journal_parse(text, len, s->jpath, s->ifname, s->ifindex, &j, &e);
	free(text);
	if (ret < 0)
		return dmt_err_set(&s->err, -EEXIST, "a previous run left a "
				   "journal on %s that cannot be used: %s",
				   s->ifname, e.message);
	dmt_journal_fini(&j);
	if (owner_alive(j.pid, j.start))
		return dmt_err_set(&s->err, -EBUSY, "%s is being set up by "
				   "process %d (journal %s): stop it first; it "
				   "restores the NIC when it exits", s->ifname, j.pid,
				   s->jpath);
	return dmt_err_set(&s->err, -EEXIST, "a previous run left changes on "
			   "%s (journal %s): dmt_nic_setup_restore(%s) first",
			   s->ifname, s->jpath, s->ifname);
}

static int pick_queues(struct dmt_nic_setup *s)
{
	if (s->rxq < 0) {
		dmt_err_copy(&s->err, &s->ch_err);
		return dmt_err_set(&s->err, s->ch_ret ? s->ch_ret : -EOPNOTSUPP,
			"cannot tell how many RX queues %s has: %s", s->ifname,
			s->ch_err.message[0] ? s->ch_err.message :
			dmt_strerror(s->ch_ret));
	}
	if (!(s->flags & DMT_NIC_F_QUEUE_START))
		s->qstart = s->nq <= (unsigned int)s->rxq ?
			    (unsigned int)s->rxq - s->nq : 0;
	if (!s->nq || s->nq > 1024 || s->qstart + s->nq > (unsigned int)s->rxq)
		return dmt_err_set(&s->err, -ERANGE, "queues %u..%u do not exist: "
			"%s has %d RX queue%s (raise it with ethtool -L, or bind "
			"fewer)", s->qstart, s->qstart + s->nq - 1, s->ifname,
			s->rxq, s->rxq == 1 ? "" : "s");
	if (!(s->flags & DMT_NIC_F_NO_RSS) && s->nq == (unsigned int)s->rxq)
		return dmt_err_set(&s->err, -EINVAL, "binding all %d RX queues of "
			"%s leaves none for other traffic: bind fewer queues "
			"(dmt_nic_setup_opts.nqueues), add queues (ethtool -L), "
			"or leave RSS alone (DMT_NIC_F_NO_RSS)", s->rxq,
			s->ifname);
	return 0;
}

static void rule_text(const struct dmt_flow_rule *r, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "*", b[INET6_ADDRSTRLEN] = "*";
	static const uint8_t zero[16];
	size_t al = r->family == AF_INET ? 4 : 16;

	if (memcmp(r->src, zero, al))
		inet_ntop(r->family, r->src, a, sizeof(a));
	if (memcmp(r->dst, zero, al))
		inet_ntop(r->family, r->dst, b, sizeof(b));
	snprintf(out, len, "tcp%s src %s:%u dst %s:%u -> queue %u",
		 r->family == AF_INET ? "4" : "6", a, ntohs(r->src_port), b,
		 ntohs(r->dst_port), r->queue);
}

/* The driver refused header split because HW-GRO is off (mlx5: "TCP-data-
 * split is not supported when GRO HW is disabled"). */
static bool wants_gro(const struct dmt_ctx *c)
{
	return strcasestr(c->err.extack, "GRO") != NULL;
}

/* Turn rx-gro-hw on, journalled: 1 when it was turned on, 0 when it was
 * already on (nothing to retry), or -errno. */
static int step_gro(struct dmt_nic_setup *s)
{
	bool on = false, fixed = false;
	int ret;

	ret = s->ops->feature_get(s->ou, s->ctx, s->ifindex, GRO_HW_FEATURE, &on,
				  &fixed);
	if (ret < 0)
		return fail_from_ctx(s, ret);
	if (on)
		return 0;
	if (fixed)
		return dmt_err_set(&s->err, -EOPNOTSUPP, "%s accepts header split "
			"only with HW-GRO, and rx-gro-hw is fixed off: devmem RX "
			"is not possible with this firmware/configuration",
			s->ifname);
	ret = jlog(s, "feature " GRO_HW_FEATURE " 0");
	if (ret < 0)
		return ret;
	ret = s->ops->feature_set(s->ou, s->ctx, s->ifindex, GRO_HW_FEATURE, true);
	if (ret < 0)
		return fail_from_ctx(s, ret);
	s->did_gro = true;
	say(s, "changed: rx-gro-hw off -> on (the driver accepts header split "
	    "only with HW-GRO)");
	return 1;
}

/*
 * Header split is always set explicitly, as ncdevmem does: rings-get
 * reports what the driver does (fbnic always "on", bnxt whenever its HDS
 * flag is set, mlx5 whenever HW-GRO is on), while bind-rx checks what was
 * configured (the kernel's hds_config), which may still be "auto".
 */
static int step_hds(struct dmt_nic_setup *s, bool dry)
{
	const struct dmt_rings *r = &s->rings;
	bool known = s->rings_ret == 0;
	int64_t th = known && r->has_hds_thresh ? 0 : -1;
	int ret;

	if (dry) {
		bool gro = true, fixed;

		say(s, "would set tcp-data-split on%s (explicitly: bind-rx checks "
		    "the configured value, not what rings-get reports)", th == 0 ?
		    " and hds-thresh 0" : "");
		if (s->ops->feature_get(s->ou, s->ctx, s->ifindex, GRO_HW_FEATURE,
					&gro, &fixed) == 0 && !gro)
			say(s, "would turn rx-gro-hw on first if the driver needs "
			    "HW-GRO for header split (mlx5 does)");
		return 0;
	}
	s->old_tds = known && r->has_tcp_data_split ? r->tcp_data_split :
		     DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN;
	s->old_has_thresh = known && r->has_hds_thresh;
	s->old_thresh = s->old_has_thresh ? r->hds_thresh : 0;
	ret = jlog(s, "hds %u %u %u", s->old_tds, s->old_has_thresh,
		   s->old_thresh);
	if (ret < 0)
		return ret;
	ret = s->ops->rings_set_hds(s->ou, s->ctx, s->ifindex,
				    DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED, th);
	if (ret == -EINVAL && wants_gro(s->ctx)) {
		struct dmt_error first = s->ctx->err;
		int g = step_gro(s);

		if (g < 0)
			return g;
		if (g == 0) {
			dmt_err_copy(&s->ctx->err, &first);
			return fail_from_ctx(s, ret);
		}
		ret = s->ops->rings_set_hds(s->ou, s->ctx, s->ifindex,
					    DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED, th);
	}
	if (ret < 0)
		return fail_from_ctx(s, ret);
	s->did_hds = true;
	if (th == 0)
		say(s, "changed: tcp-data-split %s -> on, hds-thresh %u -> 0",
		    tds_name(s->old_tds), s->old_thresh);
	else
		say(s, "changed: tcp-data-split %s -> on", tds_name(s->old_tds));
	return 0;
}

static int step_rss(struct dmt_nic_setup *s, bool dry)
{
	uint32_t *t, others = (uint32_t)s->rxq - s->nq, k = 0;
	bool same = true;
	int ret;

	if (s->rss_ret == -EOPNOTSUPP) {
		char drv[32], nics[DMT_NIC_DRIVER_LIST_LEN];

		if (dmt_if_driver(s->ifindex, drv, sizeof(drv), NULL, 0) < 0)
			snprintf(drv, sizeof(drv), "this driver");
		dmt_err_copy(&s->err, &s->rss_err);
		return dmt_err_set(&s->err, s->rss_ret, "RSS is not supported by "
			"%s on %s: other traffic cannot be kept off the bound "
			"queues; devmem RX needs a NIC with RSS and flow steering "
			"(%s), or leave RSS alone (DMT_NIC_F_NO_RSS)", drv,
			s->ifname, dmt_nic_driver_list(true, false, nics,
						       sizeof(nics)));
	}
	if (s->rss_ret < 0) {
		dmt_err_copy(&s->err, &s->rss_err);
		return dmt_err_set(&s->err, s->rss_ret, "%s; other traffic cannot "
			"be kept off the bound queues (DMT_NIC_F_NO_RSS if the "
			"NIC is set up by hand)", s->rss_err.message);
	}
	if (!s->rss.indir_size || !s->rss.indir)
		return dmt_err_set(&s->err, -EOPNOTSUPP, "%s has no RSS "
			"indirection table: other traffic cannot be kept off the "
			"bound queues (DMT_NIC_F_NO_RSS if that is acceptable)",
			s->ifname);
	t = malloc(s->rss.indir_size * sizeof(*t));
	if (!t)
		return dmt_err_set(&s->err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->rss.indir_size; i++) {
		uint32_t q = k++ % others;

		if (q >= s->qstart)
			q += s->nq;	/* skip the bound queues */
		t[i] = q;
		same &= t[i] == s->rss.indir[i];
	}
	if (same) {
		say(s, "RSS: already spreads over the other queues only");
		free(t);
		return 0;
	}
	if (dry) {
		say(s, "would spread RSS (%u entries) over the %u queues outside "
		    "%u-%u", s->rss.indir_size, others, s->qstart,
		    s->qstart + s->nq - 1);
		free(t);
		return 0;
	}
	s->old_indir = malloc(s->rss.indir_size * sizeof(uint32_t));
	if (!s->old_indir) {
		free(t);
		return dmt_err_set(&s->err, -ENOMEM, "out of memory");
	}
	memcpy(s->old_indir, s->rss.indir, s->rss.indir_size * sizeof(uint32_t));
	s->old_indir_size = s->rss.indir_size;
	{
		/* "rss N e0 e1 ..." */
		size_t cap = 32 + (size_t)s->old_indir_size * 11, len;
		char *line = malloc(cap);

		if (!line) {
			free(t);
			return dmt_err_set(&s->err, -ENOMEM, "out of memory");
		}
		len = (size_t)snprintf(line, cap, "rss %u", s->old_indir_size);
		for (uint32_t i = 0; i < s->old_indir_size; i++)
			len += (size_t)snprintf(line + len, cap - len, " %u",
						s->old_indir[i]);
		ret = jlog(s, "%s", line);
		free(line);
		if (ret < 0) {
			free(t);
			return ret;
		}
	}
	ret = s->ops->rss_set(s->ou, s->ctx, s->ifindex, t, s->rss.indir_size);
	free(t);
	if (ret < 0)
		return fail_from_ctx(s, ret);
	s->did_rss = true;
	say(s, "changed: RSS (%u entries) spread over the %u queues outside "
	    "%u-%u", s->rss.indir_size, others, s->qstart, s->qstart + s->nq - 1);
	return 0;
}

static int step_rule(struct dmt_nic_setup *s, bool dry)
{
	struct dmt_ntuple_list l;
	char txt[160], txt3[160], nics[DMT_NIC_DRIVER_LIST_LEN];
	uint32_t loc = RX_CLS_LOC_ANY, got = 0;
	int ret, ret5 = 0;

	if (!s->port)
		return dmt_err_set(&s->err, -EINVAL, "a flow rule needs the TCP "
			"port of the flow, dmt_nic_setup_opts.port (or "
			"DMT_NIC_F_NO_RULE)");
	s->r5.queue = s->r3.queue = s->qstart;
	rule_text(&s->r5, txt, sizeof(txt));
	rule_text(&s->r3, txt3, sizeof(txt3));
	if (s->feat_ret < 0) {
		dmt_err_copy(&s->err, &s->feat_err);
		return s->feat_ret;
	}
	if (!s->ntuple_on) {
		if (s->ntuple_fixed && !dry)
			return dmt_err_set(&s->err, -EOPNOTSUPP, "ntuple filters "
				"are fixed off on %s: devmem RX needs flow "
				"steering to the bound queues (a NIC such as %s)",
				s->ifname, dmt_nic_driver_list(true, false, nics,
							       sizeof(nics)));
		if (dry) {
			say(s, "would turn ntuple filters on%s", s->ntuple_fixed ?
			    " (but they are fixed off: setup would fail)" : "");
		} else {
			ret = jlog(s, "feature " NTUPLE_FEATURE " 0");
			if (ret < 0)
				return ret;
			ret = s->ops->feature_set(s->ou, s->ctx, s->ifindex,
						  NTUPLE_FEATURE, true);
			if (ret < 0)
				return fail_from_ctx(s, ret);
			s->did_feat = true;
			say(s, "changed: ntuple filters off -> on");
		}
	}
	if (dry) {
		say(s, "would add the rule %s", s->have_r5 ? txt : txt3);
		return 0;
	}
	ret = s->ops->ntuple_list(s->ou, s->ctx, s->ifindex, &l);
	if (ret < 0)
		return fail_from_ctx(s, ret);
	if (!l.special_locs) {
		/* the highest free slot, as the ethtool program does */
		loc = RX_CLS_LOC_ANY;
		for (uint32_t c = l.table_size; c-- > 0 && loc == RX_CLS_LOC_ANY;) {
			bool used = false;

			for (uint32_t i = 0; i < l.count; i++)
				used |= l.locs[i] == c;
			if (!used)
				loc = c;
		}
		if (loc == RX_CLS_LOC_ANY) {
			dmt_ntuple_list_free(&l);
			return dmt_err_set(&s->err, -ENOSPC, "the ntuple rule table "
				"of %s is full (%u rules): delete a rule (ethtool "
				"-N %s delete N)", s->ifname, l.table_size,
				s->ifname);
		}
	}
	dmt_ntuple_list_free(&l);
	if (s->nrules >= MAX_RULES)
		return dmt_err_set(&s->err, -ENOSPC, "too many rules");
	if (s->have_r5) {
		ret5 = s->ops->ntuple_add(s->ou, s->ctx, s->ifindex, &s->r5, loc,
					  &got);
		if (ret5 == 0)
			goto added;
		if (ret5 == -EPERM)
			return fail_from_ctx(s, ret5);
		say(s, "5-tuple rule refused (%s); trying 3-tuple",
		    dmt_strerror(ret5));
	}
	ret = s->ops->ntuple_add(s->ou, s->ctx, s->ifindex, &s->r3, loc, &got);
	if (ret < 0)
		return fail_from_ctx(s, ret);
	snprintf(txt, sizeof(txt), "%s", txt3);
added:
	s->rules[s->nrules++] = got;
	ret = jlog(s, "rule %u", got);
	say(s, "changed: ntuple rule %u added: %s", got, txt);
	return ret;
}

/* The page pools the bound queues were restarted with carry the binding. */
static void verify_page_pools(struct dmt_nic_setup *s)
{
	struct dmt_page_pool_info pp[256];
	unsigned int ok = 0;
	int n;

	n = dmt_ctx_page_pool_dump(s->bind_ctx, s->ifindex, pp, 256);
	if (n < 0) {
		say(s, "could not confirm the binding with page-pool-get: %s",
		    dmt_strerror(n));
		return;
	}
	for (int i = 0; i < n && i < 256; i++)
		if (pp[i].has_dmabuf && pp[i].dmabuf == s->binding)
			ok++;
	if (ok)
		say(s, "page-pool-get shows %u page pool%s backed by binding %u",
		    ok, ok == 1 ? "" : "s", s->binding);
	else
		say(s, "WARNING: page-pool-get shows no page pool backed by "
		    "binding %u (of %d pools on the device)", s->binding, n);
}

static void verify_queues(struct dmt_nic_setup *s)
{
	struct dmt_queue_info q[256];
	unsigned int ok = 0;
	int n;

	if (s->ops != &dmt_nic_ops_real || !s->bind_ctx)
		return;
	n = dmt_ctx_queue_dump(s->bind_ctx, s->ifindex, q, 256);
	if (n < 0) {
		say(s, "could not confirm the binding with queue-get: %s",
		    dmt_strerror(n));
		return;
	}
	for (int i = 0; i < n && i < 256; i++)
		if (q[i].type == DMT_QUEUE_RX && q[i].id >= s->qstart &&
		    q[i].id < s->qstart + s->nq && q[i].has_dmabuf &&
		    q[i].dmabuf == s->binding)
			ok++;
	if (ok == s->nq)
		say(s, "queue-get confirms binding %u on queues %u-%u", s->binding,
		    s->qstart, s->qstart + s->nq - 1);
	else
		say(s, "WARNING: queue-get shows binding %u on %u of %u queues",
		    s->binding, ok, s->nq);
	verify_page_pools(s);
}

static int step_bind(struct dmt_nic_setup *s, struct dmt_buf *buf, bool dry)
{
	uint32_t q[1024];
	int ret;

	if (dry) {
		say(s, "would bind RX queues %u-%u", s->qstart,
		    s->qstart + s->nq - 1);
		return 0;
	}
	for (unsigned int i = 0; i < s->nq; i++)
		q[i] = s->qstart + i;
	ret = s->ops->bind_rx(s->ou, s->ctx, s->ifindex, buf->dmabuf_fd, q, s->nq,
			      &s->binding);
	if (ret == -DMT_ENOTSUPP && dmt_cuda_reexport_plain(buf, &s->err) > 0) {
		say(s, "bind-rx refused the CUDA dma-buf's PCIe mapping "
		    "(ENOTSUPP, errno 524): retrying with a plain export");
		ret = s->ops->bind_rx(s->ou, s->ctx, s->ifindex, buf->dmabuf_fd, q,
				      s->nq, &s->binding);
	}
	if (ret < 0)
		return fail_from_ctx(s, ret);
	s->bound = true;
	jlog(s, "bind %u", s->binding);	/* informational */
	say(s, "changed: RX queues %u-%u bound to the dma-buf, binding %u",
	    s->qstart, s->qstart + s->nq - 1, s->binding);
	verify_queues(s);
	return 0;
}

DMT_EXPORT int dmt_nic_setup_apply(struct dmt_nic_setup *s, struct dmt_buf *buf)
{
	bool dry;
	int ret;

	if (!s)
		return dmt_ret(-EINVAL);
	dmt_err_clear(&s->err);
	dry = s->flags & DMT_NIC_F_DRY_RUN;
	if (s->applied)
		return dmt_ret(dmt_err_set(&s->err, -EALREADY, "setup of %s is "
			"already applied", s->ifname));
	if (!(s->flags & DMT_NIC_F_NO_BIND) && !dry &&
	    (!buf || buf->dmabuf_fd < 0))
		return dmt_ret(dmt_err_set(&s->err, -DMT_ERR_NOT_DMABUF,
			"bind-rx needs a dma-buf: allocate the buffer with "
			"udmabuf, dmaheap, cuda or rocm (or pass "
			"DMT_NIC_F_NO_BIND)"));
	if (!dry && (ret = check_journal(s)) < 0)
		return dmt_ret(ret);
	ret = pick_queues(s);
	if (ret < 0)
		return dmt_ret(ret);
	if (!(s->flags & DMT_NIC_F_NO_HDS) && (ret = step_hds(s, dry)) < 0)
		goto fail;
	if (!(s->flags & DMT_NIC_F_NO_RSS) && (ret = step_rss(s, dry)) < 0)
		goto fail;
	if (!(s->flags & DMT_NIC_F_NO_RULE) && (ret = step_rule(s, dry)) < 0)
		goto fail;
	if (!(s->flags & DMT_NIC_F_NO_BIND) && (ret = step_bind(s, buf, dry)) < 0)
		goto fail;
	s->applied = !dry;
	return 0;
fail:
	{
		struct dmt_error keep = s->err;

		undo(s);
		s->err = keep;
	}
	return dmt_ret(ret);
}

DMT_EXPORT uint32_t dmt_nic_setup_binding_id(const struct dmt_nic_setup *s)
{
	return s && s->bound ? s->binding : 0;
}

DMT_EXPORT int dmt_nic_setup_queues(const struct dmt_nic_setup *s,
				    unsigned int *first, unsigned int *count)
{
	if (!s)
		return dmt_ret(-EINVAL);
	if (first)
		*first = s->qstart;
	if (count)
		*count = s->nq;
	return 0;
}

DMT_EXPORT const char *dmt_nic_setup_summary(const struct dmt_nic_setup *s)
{
	return s && s->sum ? s->sum : "";
}

DMT_EXPORT const struct dmt_error *
dmt_nic_setup_last_error(const struct dmt_nic_setup *s)
{
	return &s->err;
}

/* ---- restore from a journal ---- */

int dmt_nic_restore_ops(struct dmt_ctx *ctx, const char *ifname, int ifindex,
			const char *journal_dir, const struct dmt_nic_ops *ops,
			void *user, char *summary, size_t summary_len,
			struct dmt_error *err)
{
	struct dmt_nic_setup *s;
	struct dmt_journal j;
	char *text;
	size_t len;
	int ret;

	dmt_err_clear(err);
	if (summary && summary_len)
		summary[0] = '\0';
	if (!ifname || !ifname[0] || strlen(ifname) >= IF_NAMESIZE)
		return dmt_err_set(err, -EINVAL, "\"%s\" is not an interface "
				   "name (1 to %d characters)", ifname ? ifname : "",
				   IF_NAMESIZE - 1);
	s = calloc(1, sizeof(*s));
	if (!s)
		return dmt_err_set(err, -ENOMEM, "out of memory");
	s->ctx = ctx;
	s->ops = ops;
	s->ou = ops == &dmt_nic_ops_real ? (void *)s : user;
	s->jfd = -1;
	s->restoring = true;
	s->rxq = -1;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	snprintf(s->jdir, sizeof(s->jdir), "%s", journal_dir && journal_dir[0] ?
		 journal_dir : DEFAULT_JOURNAL_DIR);
	ret = dmt_nic_journal_path(s->jdir, s->ifname, s->jpath, sizeof(s->jpath));
	if (ret < 0) {
		free(s);
		return dmt_err_set(err, ret, "no valid interface name given");
	}
	ret = journal_read(s->jpath, &text, &len);
	if (ret <= 0) {
		if (ret < 0)
			dmt_err_set(err, ret, "cannot read %s: %s", s->jpath,
				    dmt_strerror(ret));
		free(s);
		return ret;
	}
	/* Checked before anything is touched: on any doubt the journal is
	 * refused, kept, and the sentence says why. */
	s->ifindex = ifindex > 0 ? ifindex : (int)if_nametoindex(s->ifname);
	ret = dmt_journal_parse(text, len, s->jpath, s->ifname, s->ifindex, &j,
				err);
	free(text);
	if (ret < 0) {
		free(s);
		return ret;
	}
	if (owner_alive(j.pid, j.start)) {
		ret = dmt_err_set(err, -EBUSY, "%s is still being used by process "
				  "%d, which restores it when it exits: stop it "
				  "(kill -TERM %d) instead", s->ifname, j.pid, j.pid);
		dmt_journal_fini(&j);
		free(s);
		return ret;
	}
	if (s->ifindex <= 0) {
		ret = dmt_err_set(err, -ENODEV, "%s no longer exists: nothing to "
				  "restore; remove %s", s->ifname, s->jpath);
		dmt_journal_fini(&j);
		free(s);
		return ret;
	}
	s->did_hds = j.did_hds;
	s->old_tds = j.old_tds;
	s->old_has_thresh = j.old_has_thresh;
	s->old_thresh = j.old_thresh;
	s->did_rss = j.did_rss;
	s->old_indir = j.old_indir;	/* moved: freed below */
	s->old_indir_size = j.old_indir_size;
	j.old_indir = NULL;
	s->did_feat = j.did_feat;
	s->did_gro = j.did_gro;
	memcpy(s->rules, j.rules, sizeof(s->rules));
	s->nrules = j.nrules;
	if (s->did_rss) {
		/* default spread needs the queue count */
		struct dmt_channels ch;

		if (ops->channels_get(s->ou, ctx, s->ifindex, &ch) == 0)
			s->rxq = (int)(ch.rx + ch.combined);
	}
	say(s, "journal %s (left by process %d, %u change record%s)", s->jpath,
	    j.pid, j.records, j.records == 1 ? "" : "s");
	if (j.cut_line)
		say(s, "line %u (\"%s\") was cut short by a crash while it was "
		    "written: the change it announces was never made, so it is "
		    "not undone", j.cut_line, j.cut);
	ret = undo(s);
	if (summary && summary_len)
		snprintf(summary, summary_len, "%s", s->sum ? s->sum : "");
	if (ret < 0)
		dmt_err_copy(err, &s->err);
	free(s->old_indir);
	free(s->sum);
	free(s);
	return ret < 0 ? ret : 1;
}

DMT_EXPORT int dmt_nic_setup_restore(struct dmt_ctx *ctx, const char *ifname,
				     const char *journal_dir, char *summary,
				     size_t summary_len)
{
	int ret;

	if (!ctx)
		return dmt_ret(-EINVAL);
	ret = dmt_nic_restore_ops(ctx, ifname, 0, journal_dir, &dmt_nic_ops_real,
				  NULL, summary, summary_len, &ctx->err);
	return dmt_ret(ret);
}
