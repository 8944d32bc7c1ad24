// SPDX-License-Identifier: MIT
/*
 * devmemtcp setup: configure a NIC for devmem RX (header split, RSS over
 * the other queues, ntuple rule) and leave it so, with a journal;
 * --restore undoes it, or repairs what a crashed run left behind.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "advice.h"
#include "cli.h"
#include "common.h"
#include "json_out.h"

#define CAP_NET_ADMIN_BIT 12	/* linux/capability.h: CAP_NET_ADMIN */

/* Whether the effective capability set holds CAP_NET_ADMIN (the CapEff
 * line of /proc/self/status, read as untrusted text; unreadable: assume
 * yes and let the kernel answer). */
static bool has_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	bool yes = true;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;
		char *end;

		if (strncmp(line, "CapEff:", 7))
			continue;
		errno = 0;
		caps = strtoull(line + 7, &end, 16);
		if (!errno && end != line + 7)
			yes = caps & (1ull << CAP_NET_ADMIN_BIT);
		break;
	}
	fclose(f);
	return yes;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp setup IFACE [--queues N] [--start Q] [--port P]\n"
"                       [--server ADDR] [--client ADDR] [--client-port P]\n"
"                       [--no-rss] [--no-rule] [--dry-run] [--json]\n"
"                       [--journal-dir DIR]\n"
"       devmemtcp setup --restore [IFACE] [--json] [--journal-dir DIR]\n"
"\n"
"Prepares IFACE for devmem RX: tcp-data-split on and hds-thresh 0, RSS\n"
"spread over the queues that are not bound, ntuple filters on and a flow\n"
"rule (5-tuple with --client, else 3-tuple) steering PORT to the first\n"
"bound queue. The changes stay after exit and are journalled under\n"
"DIR (default /run/devmemtcp); --restore undoes them. Binding itself is\n"
"done by the receiving program (devmemtcp server binds and restores on\n"
"its own; use it with --no-setup after this command).\n"
"  -q, --queues N      RX queues to reserve (default 1)\n"
"  -t, --start Q       first queue (default: the last N queues)\n"
"  -p, --port P        TCP port of the flow (needed for the rule)\n"
"  -s, --server ADDR   local address of the flow (rule dst-ip)\n"
"  -c, --client ADDR   peer address: 5-tuple rule (src-ip, src-port)\n"
"      --client-port P source port for the 5-tuple rule (default: PORT)\n"
"      --no-rss        leave RSS alone\n"
"      --no-rule       no flow rule\n"
"  -n, --dry-run       print what would change, change nothing\n"
"  -j, --json          machine-readable output\n");
}

static int addr_arg(const char *s, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int num_arg(const char *s, unsigned long max, unsigned long *v)
{
	char *e;

	errno = 0;
	*v = strtoul(s, &e, 10);
	return (errno || e == s || *e || *v > max) ? -1 : 0;
}

/* The summary's lines as a JSON array. */
static json_t *steps_json(const char *sum)
{
	json_t *a = json_array();

	while (sum && *sum) {
		const char *nl = strchr(sum, '\n');
		size_t n = nl ? (size_t)(nl - sum) : strlen(sum);
		char *line = strndup(sum, n);

		json_array_append_new(a, jout_str(line ? line : ""));
		free(line);
		sum += n + (nl ? 1 : 0);
	}
	return a;
}

/* The summary's lines, indented. */
static void print_lines(const char *sum)
{
	while (sum && *sum) {
		const char *nl = strchr(sum, '\n');
		int n = nl ? (int)(nl - sum) : (int)strlen(sum);

		printf("  %.*s\n", n, sum);
		sum += n + (nl ? 1 : 0);
	}
}

/* One interface's outcome: {interface, action, ok, steps, error}. */
static json_t *outcome(const char *iface, const char *action, int ret,
		       const char *sum, const char *errmsg)
{
	json_t *o = json_object();

	jout_set_str(o, "interface", iface);
	jout_set_str(o, "action", action);
	jout_set_bool(o, "ok", ret >= 0);
	jout_set_new(o, "steps", steps_json(sum));
	jout_set_str(o, "error", ret < 0 ? errmsg : NULL);
	return o;
}

/* JSON: the run's document, {"start", ...outcome}. */
static void emit_outcome(json_t *o)
{
	json_t *d = jout_doc();

	json_object_update(d, o);
	json_decref(o);
	jout_emit(d, JOUT_SPACED);
}

static void report(bool json, const char *iface, const char *action, int ret,
		   const char *sum, const char *errmsg)
{
	static char sbuf[8192], ebuf[1024];

	sum = cli_advice(sum, sbuf, sizeof(sbuf));	/* library terms -> flags */
	errmsg = cli_advice(errmsg, ebuf, sizeof(ebuf));
	if (json) {
		emit_outcome(outcome(iface, action, ret, sum, errmsg));
		if (ret < 0)	/* the line on stderr too, as without --json */
			fprintf(stderr, "devmemtcp setup: %s\n", errmsg);
		return;
	}
	if (sum && *sum) {
		printf("%s %s:\n", action, iface);
		print_lines(sum);
	}
	if (ret < 0)
		fprintf(stderr, "devmemtcp setup: %s\n", errmsg);
}

/*
 * Restore iface from its journal. JSON: the outcome (with "restored":
 * whether there was a journal) goes into *out (the caller emits it).
 */
static int restore_one(struct dmt_ctx *ctx, const char *iface, const char *dir,
		       json_t **out)
{
	char raw[8192] = "", sum[8192], msg[1024];
	int ret;

	ret = dmt_nic_setup_restore(ctx, iface, dir, raw, sizeof(raw));
	cli_advice(raw, sum, sizeof(sum));	/* library terms -> flags */
	cli_advice(dmt_ctx_last_error(ctx)->message, msg, sizeof(msg));
	if (out) {
		*out = outcome(iface, "restore", ret, sum, msg);
		jout_set_bool(*out, "restored", ret > 0);
		if (ret < 0)
			fprintf(stderr, "devmemtcp setup: %s\n", msg);
	} else if (ret == 0) {
		printf("restore %s: no journal, nothing to restore\n", iface);
	} else {
		report(false, iface, "restore", ret, sum, msg);
	}
	return ret < 0 ? 1 : 0;
}

/* Every journal under dir. JSON: one document, {"start", "action":
 * "restore", "interface": null, "journal_dir", "ok", "journals",
 * "results": [outcome...], "error"}. */
static int restore_all(struct dmt_ctx *ctx, const char *dir, bool json)
{
	const char *d = dir ? dir : "/run/devmemtcp";
	json_t *doc = NULL, *res = NULL;
	struct dirent *de;
	int rc = 0, n = 0;
	DIR *dp = opendir(d);
	char err[600] = "";

	if (json) {
		doc = jout_doc();
		res = json_array();
		jout_set_str(doc, "action", "restore");
		jout_set_null(doc, "interface");
		jout_set_str(doc, "journal_dir", d);
	}
	if (!dp && errno != ENOENT) {
		snprintf(err, sizeof(err), "cannot read %s: %s", d,
			 strerror(errno));
		rc = run_error("setup", "%s", err);
	}
	while (dp && (de = readdir(dp))) {
		char ifn[IF_NAMESIZE + 16];
		size_t l = strlen(de->d_name);
		json_t *o = NULL;

		if (l <= 8 || l - 8 >= IF_NAMESIZE ||
		    strcmp(de->d_name + l - 8, ".journal"))
			continue;
		snprintf(ifn, sizeof(ifn), "%.*s", (int)(l - 8), de->d_name);
		rc |= restore_one(ctx, ifn, dir, json ? &o : NULL);
		if (o)
			json_array_append_new(res, o);
		n++;
	}
	if (dp)
		closedir(dp);
	if (!n && !err[0] && !json)
		printf("restore: no journals in %s, nothing to restore\n", d);
	if (json) {
		jout_set_bool(doc, "ok", rc == 0);
		jout_set_int(doc, "journals", n);
		jout_set_new(doc, "results", res);
		if (err[0])
			jout_set_str(doc, "error", err);
		else if (rc)
			jout_set_str(doc, "error", "a restore failed: see results");
		else
			jout_set_null(doc, "error");
		jout_emit(doc, JOUT_SPACED);
	}
	return rc;
}

/* ---- the command line ---- */

struct setup_args {
	struct dmt_nic_setup_opts *o;
	struct sockaddr_storage srv, cli;
	socklen_t srvlen, clilen;
	bool json, restore, have_cport, help;
	const char *iface, *jdir;
	int ifindex;
};

static const struct option setup_opts[] = {
	{ "queues", required_argument, NULL, 'q' },
	{ "start", required_argument, NULL, 't' },
	{ "port", required_argument, NULL, 'p' },
	{ "server", required_argument, NULL, 's' },
	{ "client", required_argument, NULL, 'c' },
	{ "client-port", required_argument, NULL, 'P' },
	{ "no-rss", no_argument, NULL, 'R' },
	{ "no-rule", no_argument, NULL, 'U' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "restore", no_argument, NULL, 'r' },
	{ "journal-dir", required_argument, NULL, 'J' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option into a. 0, or the exit status. */
static int set_opt(struct setup_args *a, int c, const char *arg)
{
	struct dmt_nic_setup_opts *o = a->o;
	unsigned long v;

	switch (c) {
	case 'q':
		if (num_arg(arg, 1024, &v) || !v)
			return usage_error("setup", "--queues '%s': give a number "
					   "from 1 to 1024", arg);
		o->nqueues = (unsigned int)v;
		return 0;
	case 't':
		if (num_arg(arg, 65535, &v))
			return usage_error("setup", "--start '%s': give a queue "
					   "number", arg);
		o->queue_start = (unsigned int)v;
		o->flags |= DMT_NIC_F_QUEUE_START;
		return 0;
	case 'p':
	case 'P':
		if (num_arg(arg, 65535, &v) || !v)
			return usage_error("setup", "port '%s': give a number "
					   "from 1 to 65535", arg);
		if (c == 'p')
			o->port = (uint16_t)v;
		else
			o->client_port = (uint16_t)v;
		a->have_cport |= c == 'P';
		return 0;
	case 's':
	case 'c':
		if (addr_arg(arg, c == 's' ? &a->srv : &a->cli,
			     c == 's' ? &a->srvlen : &a->clilen))
			return usage_error("setup", "'%s' is not an IPv4 or IPv6 "
					   "address", arg);
		return 0;
	case 'R':
		o->flags |= DMT_NIC_F_NO_RSS;
		return 0;
	case 'U':
		o->flags |= DMT_NIC_F_NO_RULE;
		return 0;
	case 'n':
		o->flags |= DMT_NIC_F_DRY_RUN;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case 'r':
		a->restore = true;
		return 0;
	case 'J':
		a->jdir = arg;
		return 0;
	}
	return 2;
}

static int parse_args(int argc, char **argv, struct setup_args *a)
{
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":q:t:p:s:c:njh", setup_opts,
				NULL)) != -1) {
		if (c == 'h') {
			a->help = true;
			return help_out("setup", usage);
		}
		if (c == '?' || c == ':')
			return getopt_error("setup", c, argv);
		if ((rc = set_opt(a, c, optarg)))
			return rc;
	}
	jout_set(a->json, false);
	if (optind < argc)
		a->iface = argv[optind++];
	if (optind < argc)
		return usage_error("setup", "unexpected argument '%s': one "
				   "interface only", argv[optind]);
	return 0;
}

/* The arguments together: the interface named and present (for --restore:
 * present, or with a journal left to repair), the rule's port. */
static int check_args(struct setup_args *a)
{
	struct dmt_nic_setup_opts *o = a->o;
	const char *iface = a->iface;

	if (!a->restore && !iface)
		return usage_error("setup", "name the interface (devmemtcp "
				   "setup IFACE), or --restore");
	if (iface && (!iface[0] || strlen(iface) >= IF_NAMESIZE))
		return usage_error("setup", "'%s' is not an interface name (1 "
				   "to %d characters)", iface, IF_NAMESIZE - 1);
	if (iface)
		a->ifindex = (int)if_nametoindex(iface);
	if (iface && !a->ifindex) {
		char jp[512];

		if (!a->restore)
			return usage_error("setup", "no interface '%s' here (ip "
					   "link lists them)", iface);
		dmt_nic_journal_path(a->jdir, iface, jp, sizeof(jp));
		if (access(jp, F_OK) != 0)
			return usage_error("setup", "no interface '%s' here (ip "
					   "link lists them), and no journal "
					   "%s to restore", iface, jp);
	}
	if (!a->restore && !o->port && !(o->flags & DMT_NIC_F_NO_RULE))
		return usage_error("setup", "the flow rule needs --port (or "
				   "pass --no-rule)");
	if (a->clilen && !a->have_cport)
		o->client_port = o->port;	/* ncdevmem: the peer binds PORT too */
	o->journal_dir = a->jdir;
	return 0;
}

/* ---- what blocks setup before any queue is counted ---- */

/* The privilege first: without it every later complaint (queue counts,
 * the driver) would hide the real cause. */
static int check_privilege(const struct setup_args *a)
{
	if ((a->o->flags & DMT_NIC_F_DRY_RUN) || has_net_admin())
		return 0;
	return run_error("setup", "%s needs CAP_NET_ADMIN, which this process "
			 "lacks: run as root or with CAP_NET_ADMIN%s",
			 a->restore ? "restoring NIC settings" :
				      "changing NIC settings",
			 a->restore ? "" : " (-n shows the plan without it)");
}

/*
 * A driver that cannot do devmem RX whatever its settings, as the doctor
 * judges it (dmt_doctor_run, RX only): no queue management API (the
 * bind-rx probe answered EOPNOTSUPP), or no header split at all (the
 * header-split check fails and, with no split to tune, the threshold
 * check is skipped; a split that is merely off is what setup turns on).
 * Every blocker goes into why; 1 when there is one, 0 when none (or when
 * the doctor could not run: setup then reports what it finds itself).
 */
static int driver_blockers(const char *iface, char *why, size_t len)
{
	const char *names[1] = { iface };
	DMT_OPTS(dmt_doctor_opts, o, .ifnames = names, .nifnames = 1,
		 .what = DMT_DOCTOR_RX);
	const struct dmt_doctor_check *hs = NULL, *thr = NULL, *qa = NULL;
	const struct dmt_doctor_iface *f;
	struct dmt_error err;
	struct dmt_doctor *d = dmt_doctor_run(&o, &err);
	const char *fix = "";
	size_t n = 0;

	why[0] = '\0';
	if (!d)
		return 0;
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(d, i);

		if (c->group != DMT_DOCTOR_INTERFACE)
			continue;
		if (!strcmp(c->id, "rx.header_split"))
			hs = c;
		else if (!strcmp(c->id, "rx.hds_thresh"))
			thr = c;
		else if (!strcmp(c->id, "rx.queue_api"))
			qa = c;
	}
	f = dmt_doctor_iface_at(d, 0);
	n = (size_t)snprintf(why, len, "%s%s%s%s cannot do devmem RX, whatever "
			     "setup changes: ", iface, f && f->driver[0] ?
			     " (driver " : "", f && f->driver[0] ? f->driver : "",
			     f && f->driver[0] ? ")" : "");
	if (hs && hs->status == DMT_DOCTOR_FAIL && thr &&
	    thr->status == DMT_DOCTOR_SKIP && n < len) {
		n += (size_t)snprintf(why + n, len - n, "%s", hs->evidence);
		fix = hs->fix;
	}
	if (qa && qa->status == DMT_DOCTOR_FAIL && n < len) {
		n += (size_t)snprintf(why + n, len - n, "%s%s", fix[0] ? "; " : "",
				      qa->evidence);
		fix = fix[0] ? fix : qa->fix;
	}
	if (!fix[0])
		why[0] = '\0';		/* no blocker */
	else if (n < len)
		snprintf(why + n, len - n, ". Fix: %s", fix);
	dmt_doctor_free(d);
	return why[0] != '\0';
}

/* ---- restore and setup ---- */

/* --restore [IFACE]: one interface's journal, or every journal. */
static int do_restore(struct dmt_ctx *ctx, const struct setup_args *a)
{
	json_t *oc = NULL;
	int ret;

	if (!a->iface)
		return restore_all(ctx, a->jdir, a->json);
	ret = restore_one(ctx, a->iface, a->jdir, a->json ? &oc : NULL);
	if (oc)
		emit_outcome(oc);
	/* the interface is gone (its journal was left): a missing
	 * interface, as everywhere */
	return ret && !a->ifindex ? 2 : ret;
}

/* Plan and apply (or only plan, with --dry-run); the changes stay. */
static int do_setup(struct dmt_ctx *ctx, struct setup_args *a)
{
	struct dmt_nic_setup_opts *o = a->o;
	bool dry = o->flags & DMT_NIC_F_DRY_RUN;
	struct dmt_nic_setup *s;
	struct dmt_error e;
	int ret;

	o->flags |= DMT_NIC_F_NO_BIND;
	if (a->srvlen) {
		o->server = (struct sockaddr *)&a->srv;
		o->server_len = a->srvlen;
	}
	if (a->clilen) {
		o->client = (struct sockaddr *)&a->cli;
		o->client_len = a->clilen;
	}
	s = dmt_nic_setup_new(ctx, a->ifindex, o, &e);
	if (!s) {
		report(a->json, a->iface, "setup", -1, "", e.message);
		return 1;
	}
	ret = dmt_nic_setup_apply(s, NULL);
	report(a->json, a->iface, dry ? "dry-run" : "setup", ret,
	       dmt_nic_setup_summary(s), dmt_nic_setup_last_error(s)->message);
	if (ret < 0 || dry) {
		dmt_nic_setup_free(s);
		return ret < 0 ? 1 : 0;
	}
	if (!a->json) {
		char jp[512];

		dmt_nic_journal_path(a->jdir, a->iface, jp, sizeof(jp));
		printf("left configured; journal %s; undo with 'devmemtcp setup "
		       "--restore %s'\n", jp, a->iface);
	}
	dmt_nic_setup_detach(s);	/* keep changes + journal */
	return 0;
}

int cmd_setup(int argc, char **argv)
{
	DMT_OPTS(dmt_nic_setup_opts, o);
	struct setup_args a = { .o = &o };
	struct dmt_error e;
	struct dmt_ctx *ctx;
	char why[2048];
	int rc;

	if ((rc = parse_args(argc, argv, &a)) || a.help)
		return rc;
	if ((rc = check_args(&a)) || (rc = check_privilege(&a)))
		return rc;
	if (!a.restore && driver_blockers(a.iface, why, sizeof(why))) {
		report(a.json, a.iface, o.flags & DMT_NIC_F_DRY_RUN ? "dry-run" :
		       "setup", -1, "", why);
		return 1;
	}
	ctx = dmt_ctx_new(NULL, &e);
	if (!ctx)
		return run_error("setup", "%s", e.message);
	rc = a.restore ? do_restore(ctx, &a) : do_setup(ctx, &a);
	dmt_ctx_free(ctx);
	return rc;
}
