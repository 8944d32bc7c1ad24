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

#include "cli.h"

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

static int parse_addr(const char *s, struct sockaddr_storage *ss,
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

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *e;

	errno = 0;
	*v = strtoul(s, &e, 10);
	return (errno || e == s || *e || *v > max) ? -1 : 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Print the summary lines (text: indented; json: array). */
static void print_lines(const char *sum, bool json)
{
	bool first = true;

	if (json)
		printf("[");
	while (sum && *sum) {
		const char *nl = strchr(sum, '\n');
		size_t n = nl ? (size_t)(nl - sum) : strlen(sum);
		char line[600];

		snprintf(line, sizeof(line), "%.*s", (int)n, sum);
		if (json) {
			printf("%s", first ? "" : ", ");
			json_str(line);
		} else {
			printf("  %s\n", line);
		}
		first = false;
		sum += n + (nl ? 1 : 0);
	}
	if (json)
		printf("]");
}

static void report(bool json, const char *iface, const char *action, int ret,
		   const char *sum, const char *errmsg)
{
	if (json) {
		printf("{\"interface\": ");
		json_str(iface);
		printf(", \"action\": \"%s\", \"ok\": %s, \"steps\": ", action,
		       ret >= 0 ? "true" : "false");
		print_lines(sum, true);
		printf(", \"error\": ");
		if (ret < 0)
			json_str(errmsg);
		else
			printf("null");
		printf("}\n");
		return;
	}
	if (sum && *sum) {
		printf("%s %s:\n", action, iface);
		print_lines(sum, false);
	}
	if (ret < 0)
		fprintf(stderr, "devmemtcp setup: %s\n", errmsg);
}

static int restore_one(struct dmt_ctx *ctx, const char *iface, const char *dir,
		       bool json)
{
	char sum[8192];
	int ret;

	ret = dmt_nic_setup_restore(ctx, iface, dir, sum, sizeof(sum));
	if (ret == 0 && !json) {
		printf("restore %s: no journal, nothing to restore\n", iface);
		return 0;
	}
	report(json, iface, "restore", ret, sum, dmt_ctx_last_error(ctx)->message);
	return ret < 0 ? 1 : 0;
}

static int restore_all(struct dmt_ctx *ctx, const char *dir, bool json)
{
	const char *d = dir ? dir : "/run/devmemtcp";
	struct dirent *de;
	int rc = 0, n = 0;
	DIR *dp = opendir(d);

	if (!dp) {
		if (errno == ENOENT) {
			if (json)
				printf("{\"action\": \"restore\", \"ok\": true, "
				       "\"journals\": 0}\n");
			else
				printf("restore: no journals in %s, nothing to "
				       "restore\n", d);
			return 0;
		}
		fprintf(stderr, "devmemtcp setup: cannot read %s: %s\n", d,
			strerror(errno));
		return 1;
	}
	while ((de = readdir(dp))) {
		char ifn[IF_NAMESIZE + 16];
		size_t l = strlen(de->d_name);

		if (l <= 8 || l - 8 >= IF_NAMESIZE ||
		    strcmp(de->d_name + l - 8, ".journal"))
			continue;
		snprintf(ifn, sizeof(ifn), "%.*s", (int)(l - 8), de->d_name);
		rc |= restore_one(ctx, ifn, dir, json);
		n++;
	}
	closedir(dp);
	if (!n && !json)
		printf("restore: no journals in %s, nothing to restore\n", d);
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

	optind = 1;
	while ((c = getopt_long(argc, argv, "q:t:p:s:c:njh", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (parse_uint(optarg, 1024, &v) || !v) {
				fprintf(stderr, "devmemtcp setup: --queues '%s': "
					"give a number from 1 to 1024\n", optarg);
				return 2;
			}
			o.nqueues = (unsigned int)v;
			break;
		case 't':
			if (parse_uint(optarg, 65535, &v)) {
				fprintf(stderr, "devmemtcp setup: --start '%s': "
					"give a queue number\n", optarg);
				return 2;
			}
			o.queue_start = (unsigned int)v;
			o.flags |= DMT_NIC_F_QUEUE_START;
			break;
		case 'p':
		case 'P':
			if (parse_uint(optarg, 65535, &v) || !v) {
				fprintf(stderr, "devmemtcp setup: port '%s': give "
					"a number from 1 to 65535\n", optarg);
				return 2;
			}
			if (c == 'p')
				o.port = (uint16_t)v;
			else
				o.client_port = (uint16_t)v;
			have_cport |= c == 'P';
			break;
		case 's':
		case 'c':
			if (parse_addr(optarg, c == 's' ? &srv : &cli,
				       c == 's' ? &srvlen : &clilen)) {
				fprintf(stderr, "devmemtcp setup: '%s' is not an "
					"IPv4 or IPv6 address\n", optarg);
				return 2;
			}
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
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "devmemtcp setup: see 'devmemtcp setup "
				"--help'\n");
			return 2;
		}
	}
	if (optind < argc)
		iface = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "devmemtcp setup: unexpected argument '%s': one "
			"interface only\n", argv[optind]);
		return 2;
	}
	if (!restore && !iface) {
		fprintf(stderr, "devmemtcp setup: name the interface (devmemtcp "
			"setup IFACE), or --restore\n");
		return 2;
	}
	if (iface && !restore && !(ifindex = (int)if_nametoindex(iface))) {
		fprintf(stderr, "devmemtcp setup: no interface '%s' here (ip link "
			"lists them)\n", iface);
		return 2;
	}
	if (!restore && !o.port && !(o.flags & DMT_NIC_F_NO_RULE)) {
		fprintf(stderr, "devmemtcp setup: the flow rule needs --port (or "
			"pass --no-rule)\n");
		return 2;
	}
	if (clilen && !have_cport)
		o.client_port = o.port;	/* ncdevmem: the peer binds PORT too */
	o.journal_dir = jdir;
	ctx = dmt_ctx_new(NULL, &e);
	if (!ctx) {
		fprintf(stderr, "devmemtcp setup: %s\n", e.message);
		return 1;
	}
	if (restore) {
		ret = iface ? restore_one(ctx, iface, jdir, json) :
			      restore_all(ctx, jdir, json);
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
