// SPDX-License-Identifier: MIT
/*
 * devmemtcp doctor [IFACE...] [--json] [--tx|--rx]: will devmem TCP work
 * here, and if not, why and what to do. A thin front end over
 * dmt_doctor_run(); the JSON schema is documented in docs/doctor.md.
 * Exit: 0 every interface ready for what was asked, 1 not, 2 usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <devmemtcp.h>

#include "cli.h"

#define DOCTOR_SCHEMA_VERSION 1

static void usage(FILE *f)
{
	fprintf(f,
		"usage: devmemtcp doctor [IFACE...] [--json] [--tx|--rx]\n"
		"\n"
		"Explain whether devmem TCP TX and RX can work on this host and\n"
		"on each interface (every non-loopback interface when none is\n"
		"named), and what to do when they cannot. Changes nothing.\n"
		"\n"
		"  --json   machine-readable report (schema: docs/doctor.md)\n"
		"  --tx     judge TX only\n"
		"  --rx     judge RX only\n"
		"\n"
		"exit status: 0 ready, 1 not ready, 2 usage error\n");
}

static const char *upper(enum dmt_doctor_status s)
{
	static const char *const n[] = { "PASS", "WARN", "FAIL", "SKIP" };

	return (unsigned int)s < 4 ? n[s] : "????";
}

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void json_verdict(FILE *f, const char *key, int ready,
			 const char *reason)
{
	fprintf(f, "\"%s\": {\"asked\": %s, \"ready\": ", key,
		ready < 0 ? "false" : "true");
	fputs(ready < 0 ? "null" : ready ? "true" : "false", f);
	fputs(", \"reason\": ", f);
	json_str(f, ready == 0 ? reason : NULL);
	fputc('}', f);
}

static void print_json(const struct dmt_doctor *doc)
{
	unsigned int what = dmt_doctor_what(doc);
	FILE *f = stdout;

	fprintf(f, "{\n  \"schema_version\": %d,\n", DOCTOR_SCHEMA_VERSION);
	fprintf(f, "  \"library_version\": \"%d.%d\",\n", dmt_version_major(),
		dmt_version_minor());
	fputs("  \"kernel_release\": ", f);
	json_str(f, dmt_doctor_kernel_release(doc));
	fprintf(f, ",\n  \"asked\": {\"tx\": %s, \"rx\": %s},\n",
		what & DMT_DOCTOR_TX ? "true" : "false",
		what & DMT_DOCTOR_RX ? "true" : "false");
	fprintf(f, "  \"ready\": %s,\n",
		dmt_doctor_ready(doc) ? "true" : "false");
	fputs("  \"checks\": [", f);
	for (unsigned int i = 0; i < dmt_doctor_check_count(doc); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(doc, i);

		fputs(i ? ",\n    {" : "\n    {", f);
		fputs("\"id\": ", f);
		json_str(f, c->id);
		fprintf(f, ", \"group\": \"%s\", \"interface\": ",
			dmt_doctor_group_name(c->group));
		json_str(f, c->ifname);
		fprintf(f, ", \"status\": \"%s\", \"title\": ",
			dmt_doctor_status_name(c->status));
		json_str(f, c->title);
		fputs(", \"evidence\": ", f);
		json_str(f, c->evidence);
		fputs(", \"fix\": ", f);
		json_str(f, c->fix[0] ? c->fix : NULL);
		fputc('}', f);
	}
	fputs("\n  ],\n  \"interfaces\": [", f);
	for (unsigned int i = 0; i < dmt_doctor_iface_count(doc); i++) {
		const struct dmt_doctor_iface *v = dmt_doctor_iface_at(doc, i);

		fputs(i ? ",\n    {" : "\n    {", f);
		fputs("\"name\": ", f);
		json_str(f, v->ifname);
		fprintf(f, ", \"ifindex\": %d, \"driver\": ", v->ifindex);
		json_str(f, v->driver[0] ? v->driver : NULL);
		fputs(", \"driver_version\": ", f);
		json_str(f, v->driver_version[0] ? v->driver_version : NULL);
		fputs(", ", f);
		json_verdict(f, "tx", v->tx_ready, v->tx_reason);
		fputs(", ", f);
		json_verdict(f, "rx", v->rx_ready, v->rx_reason);
		fputc('}', f);
	}
	fputs("\n  ]\n}\n", f);
}

static void print_check(const struct dmt_doctor_check *c)
{
	printf("  %s  %s\n", upper(c->status), c->title);
	printf("        %s\n", c->evidence);
	if (c->fix[0] && c->status != DMT_DOCTOR_PASS)
		printf("        fix: %s\n", c->fix);
}

static void print_human(const struct dmt_doctor *doc)
{
	static const char *const heads[] = { "Kernel", "Privileges",
					     "dma-buf exporters" };
	unsigned int n = dmt_doctor_check_count(doc);

	printf("devmemtcp doctor: Linux %s (release shown for information "
	       "only)\n", dmt_doctor_kernel_release(doc));
	for (int g = DMT_DOCTOR_KERNEL; g <= DMT_DOCTOR_EXPORTERS; g++) {
		printf("\n%s\n", heads[g]);
		for (unsigned int i = 0; i < n; i++) {
			const struct dmt_doctor_check *c = dmt_doctor_check_at(doc, i);

			if ((int)c->group == g)
				print_check(c);
		}
	}
	for (unsigned int k = 0; k < dmt_doctor_iface_count(doc); k++) {
		const struct dmt_doctor_iface *v = dmt_doctor_iface_at(doc, k);

		printf("\nInterface %s (%s%s%s)\n", v->ifname,
		       v->driver[0] ? v->driver : "driver unknown",
		       v->driver_version[0] ? " " : "", v->driver_version);
		for (unsigned int i = 0; i < n; i++) {
			const struct dmt_doctor_check *c = dmt_doctor_check_at(doc, i);

			if (c->group == DMT_DOCTOR_INTERFACE && c->ifname &&
			    !strcmp(c->ifname, v->ifname))
				print_check(c);
		}
	}
	printf("\nVerdict\n");
	if (!dmt_doctor_iface_count(doc))
		printf("  no non-loopback interface found; name one "
		       "(devmemtcp doctor IFACE)\n");
	for (unsigned int k = 0; k < dmt_doctor_iface_count(doc); k++) {
		const struct dmt_doctor_iface *v = dmt_doctor_iface_at(doc, k);

		if (v->tx_ready >= 0)
			printf("  %-16s TX: %s%s%s\n", v->ifname,
			       v->tx_ready ? "ready" : "not ready",
			       v->tx_ready ? "" : ": ", v->tx_reason);
		if (v->rx_ready >= 0)
			printf("  %-16s RX: %s%s%s\n", v->ifname,
			       v->rx_ready ? "ready" : "not ready",
			       v->rx_ready ? "" : ": ", v->rx_reason);
	}
}

int cmd_doctor(int argc, char **argv)
{
	DMT_OPTS(dmt_doctor_opts, opts);
	const char **names;
	struct dmt_error err;
	struct dmt_doctor *doc;
	bool json = false;
	unsigned int nnames = 0, what = 0;
	int rc;

	names = calloc((size_t)argc + 1, sizeof(*names));
	if (!names) {
		fprintf(stderr, "devmemtcp doctor: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			free(names);
			return 0;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			json = true;
		} else if (!strcmp(a, "--tx")) {
			what |= DMT_DOCTOR_TX;
		} else if (!strcmp(a, "--rx")) {
			what |= DMT_DOCTOR_RX;
		} else if (!strcmp(a, "--")) {
			while (++i < argc)
				names[nnames++] = argv[i];
		} else if (a[0] == '-') {
			fprintf(stderr, "devmemtcp doctor: unknown option '%s': "
				"try 'devmemtcp doctor --help'\n", a);
			free(names);
			return 2;
		} else {
			names[nnames++] = a;
		}
	}
	opts.ifnames = nnames ? names : NULL;
	opts.nifnames = nnames;
	opts.what = what;
	doc = dmt_doctor_run(&opts, &err);
	free(names);
	if (!doc) {
		fprintf(stderr, "devmemtcp doctor: %s\n",
			err.message[0] ? err.message : dmt_strerror(-errno));
		return err.err == -ENODEV || err.err == -EINVAL ? 2 : 1;
	}
	if (json)
		print_json(doc);
	else
		print_human(doc);
	rc = dmt_doctor_ready(doc) ? 0 : 1;
	dmt_doctor_free(doc);
	return rc;
}
