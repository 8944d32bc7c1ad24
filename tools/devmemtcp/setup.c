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

int cmd_setup(int argc, char **argv)
{
	static const struct option lo[] = {
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
	DMT_OPTS(dmt_nic_setup_opts, o);
	struct sockaddr_storage srv, cli;
	socklen_t srvlen = 0, clilen = 0;
	bool json = false, restore = false, have_cport = false;
	const char *iface = NULL, *jdir = NULL;
	struct dmt_nic_setup *s;
	struct dmt_error e;
	struct dmt_ctx *ctx;
	unsigned long v;
	int c, ret, ifindex = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":q:t:p:s:c:njh", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (num_arg(optarg, 1024, &v) || !v)
				return usage_error("setup", "--queues '%s': give "
						   "a number from 1 to 1024",
						   optarg);
			o.nqueues = (unsigned int)v;
			break;
		case 't':
			if (num_arg(optarg, 65535, &v))
				return usage_error("setup", "--start '%s': give "
						   "a queue number", optarg);
			o.queue_start = (unsigned int)v;
			o.flags |= DMT_NIC_F_QUEUE_START;
			break;
		case 'p':
		case 'P':
			if (num_arg(optarg, 65535, &v) || !v)
				return usage_error("setup", "port '%s': give a "
						   "number from 1 to 65535",
						   optarg);
			if (c == 'p')
				o.port = (uint16_t)v;
			else
				o.client_port = (uint16_t)v;
			have_cport |= c == 'P';
			break;
		case 's':
		case 'c':
			if (addr_arg(optarg, c == 's' ? &srv : &cli,
				     c == 's' ? &srvlen : &clilen))
				return usage_error("setup", "'%s' is not an IPv4 "
						   "or IPv6 address", optarg);
			break;
		case 'R':
			o.flags |= DMT_NIC_F_NO_RSS;
			break;
		case 'U':
			o.flags |= DMT_NIC_F_NO_RULE;
			break;
		case 'n':
			o.flags |= DMT_NIC_F_DRY_RUN;
			break;
		case 'j':
			json = true;
			break;
		case 'r':
			restore = true;
			break;
		case 'J':
			jdir = optarg;
			break;
		case 'h':
			return help_out("setup", usage);
		default:
			return getopt_error("setup", c, argv);
		}
	}
	jout_set(json, false);
	if (optind < argc)
		iface = argv[optind++];
	if (optind < argc)
		return usage_error("setup", "unexpected argument '%s': one "
				   "interface only", argv[optind]);
	if (!restore && !iface)
		return usage_error("setup", "name the interface (devmemtcp "
				   "setup IFACE), or --restore");
	if (iface && (!iface[0] || strlen(iface) >= IF_NAMESIZE))
		return usage_error("setup", "'%s' is not an interface name (1 "
				   "to %d characters)", iface, IF_NAMESIZE - 1);
	if (iface && !restore && !(ifindex = (int)if_nametoindex(iface)))
		return usage_error("setup", "no interface '%s' here (ip link "
				   "lists them)", iface);
	if (!restore && !o.port && !(o.flags & DMT_NIC_F_NO_RULE))
		return usage_error("setup", "the flow rule needs --port (or "
				   "pass --no-rule)");
	if (clilen && !have_cport)
		o.client_port = o.port;	/* ncdevmem: the peer binds PORT too */
	o.journal_dir = jdir;
	/* the privilege first: without it every later complaint (queue
	 * counts, the driver) would hide the real cause */
	if (!(o.flags & DMT_NIC_F_DRY_RUN) && !has_net_admin())
		return run_error("setup", "%s needs CAP_NET_ADMIN, which this "
				 "process lacks: run as root or with "
				 "CAP_NET_ADMIN%s", restore ? "restoring NIC "
				 "settings" : "changing NIC settings", restore ?
				 "" : " (-n shows the plan without it)");
	ctx = dmt_ctx_new(NULL, &e);
	if (!ctx)
		return run_error("setup", "%s", e.message);
	if (restore && iface) {
		json_t *oc = NULL;

		ret = restore_one(ctx, iface, jdir, json ? &oc : NULL);
		if (oc)
			emit_outcome(oc);
		dmt_ctx_free(ctx);
		return ret;
	}
	if (restore) {
		ret = restore_all(ctx, jdir, json);
		dmt_ctx_free(ctx);
		return ret;
	}
	o.flags |= DMT_NIC_F_NO_BIND;
	if (srvlen) {
		o.server = (struct sockaddr *)&srv;
		o.server_len = srvlen;
	}
	if (clilen) {
		o.client = (struct sockaddr *)&cli;
		o.client_len = clilen;
	}
	s = dmt_nic_setup_new(ctx, ifindex, &o, &e);
	if (!s) {
		report(json, iface, "setup", -1, "", e.message);
		dmt_ctx_free(ctx);
		return 1;
	}
	ret = dmt_nic_setup_apply(s, NULL);
	report(json, iface, o.flags & DMT_NIC_F_DRY_RUN ? "dry-run" : "setup", ret,
	       dmt_nic_setup_summary(s), dmt_nic_setup_last_error(s)->message);
	if (ret == 0 && !(o.flags & DMT_NIC_F_DRY_RUN)) {
		char jp[512];

		dmt_nic_journal_path(jdir, iface, jp, sizeof(jp));
		if (!json)
			printf("left configured; journal %s; undo with "
			       "'devmemtcp setup --restore %s'\n", jp, iface);
		dmt_nic_setup_detach(s);	/* keep changes + journal */
	} else {
		dmt_nic_setup_free(s);
	}
	dmt_ctx_free(ctx);
	return ret < 0 ? 1 : 0;
}
