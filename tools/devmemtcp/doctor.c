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

#include "advice.h"
#include "cli.h"
#include "common.h"
#include "json_out.h"

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

static json_t *json_verdict(int ready, const char *reason)
{
	json_t *o = json_object();

	jout_set_bool(o, "asked", ready >= 0);
	if (ready < 0)
		jout_set_null(o, "ready");
	else
		jout_set_bool(o, "ready", ready);
	char adv[1024];

	jout_set_str(o, "reason", ready == 0 ?
		     cli_advice(reason, adv, sizeof(adv)) : NULL);
	return o;
}

static void print_json(const struct dmt_doctor *doc)
{
	unsigned int what = dmt_doctor_what(doc);
	json_t *d = json_object(), *asked = json_object();
	json_t *checks = json_array(), *ifs = json_array();
	char ver[32], adv[1024];

	jout_set_int(d, "schema_version", DOCTOR_SCHEMA_VERSION);
	jout_set_new(d, "start", jout_start());
	snprintf(ver, sizeof(ver), "%d.%d", dmt_version_major(),
		 dmt_version_minor());
	jout_set_str(d, "library_version", ver);
	jout_set_str(d, "kernel_release", dmt_doctor_kernel_release(doc));
	jout_set_bool(asked, "tx", what & DMT_DOCTOR_TX);
	jout_set_bool(asked, "rx", what & DMT_DOCTOR_RX);
	jout_set_new(d, "asked", asked);
	jout_set_bool(d, "ready", dmt_doctor_ready(doc));
	for (unsigned int i = 0; i < dmt_doctor_check_count(doc); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(doc, i);
		json_t *o = json_object();

		jout_set_str(o, "id", c->id);
		jout_set_str(o, "group", dmt_doctor_group_name(c->group));
		jout_set_str(o, "interface", c->ifname);
		jout_set_str(o, "status", dmt_doctor_status_name(c->status));
		jout_set_str(o, "title", c->title);
		jout_set_str(o, "evidence", cli_advice(c->evidence, adv,
							 sizeof(adv)));
		jout_set_str(o, "fix", c->fix[0] ? cli_advice(c->fix, adv,
							     sizeof(adv)) : NULL);
		json_array_append_new(checks, o);
	}
	jout_set_new(d, "checks", checks);
	for (unsigned int i = 0; i < dmt_doctor_iface_count(doc); i++) {
		const struct dmt_doctor_iface *v = dmt_doctor_iface_at(doc, i);
		json_t *o = json_object();

		jout_set_str(o, "name", v->ifname);
		jout_set_int(o, "ifindex", v->ifindex);
		jout_set_str(o, "driver", v->driver[0] ? v->driver : NULL);
		jout_set_str(o, "driver_version",
			     v->driver_version[0] ? v->driver_version : NULL);
		jout_set_new(o, "tx", json_verdict(v->tx_ready, v->tx_reason));
		jout_set_new(o, "rx", json_verdict(v->rx_ready, v->rx_reason));
		json_array_append_new(ifs, o);
	}
	jout_set_new(d, "interfaces", ifs);
	jout_emit(d, JOUT_INDENT);
}

static void print_check(const struct dmt_doctor_check *c)
{
	char adv[1024];	/* library terms -> this tool's flags */

	printf("  %s  %s\n", upper(c->status), c->title);
	printf("        %s\n", cli_advice(c->evidence, adv, sizeof(adv)));
	if (c->fix[0] && c->status != DMT_DOCTOR_PASS)
		printf("        fix: %s\n", cli_advice(c->fix, adv, sizeof(adv)));
}

static void print_human(const struct dmt_doctor *doc)
{
	static const char *const heads[] = { "Kernel", "Privileges",
					     "dma-buf exporters" };
	unsigned int n = dmt_doctor_check_count(doc);
	char adv[1024];

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
			       v->tx_ready ? "" : ": ",
			       cli_advice(v->tx_reason, adv, sizeof(adv)));
		if (v->rx_ready >= 0)
			printf("  %-16s RX: %s%s%s\n", v->ifname,
			       v->rx_ready ? "ready" : "not ready",
			       v->rx_ready ? "" : ": ",
			       cli_advice(v->rx_reason, adv, sizeof(adv)));
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
	if (!names)
		return run_error("doctor", "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			free(names);
			return help_out("doctor", usage);
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
			free(names);
			return usage_error("doctor", "unknown option '%s': try "
					   "'devmemtcp doctor --help'", a);
		} else {
			names[nnames++] = a;
		}
	}
	jout_set(json, false);
	opts.ifnames = nnames ? names : NULL;
	opts.nifnames = nnames;
	opts.what = what;
	doc = dmt_doctor_run(&opts, &err);
	free(names);
	if (!doc) {
		int st = err.err == -ENODEV || err.err == -EINVAL ? 2 : 1;
		const char *m = err.message[0] ? err.message : dmt_strerror(-errno);

		return st == 2 ? usage_error("doctor", "%s", m) :
				 run_error("doctor", "%s", m);
	}
	if (json)
		print_json(doc);
	else
		print_human(doc);
	rc = dmt_doctor_ready(doc) ? 0 : 1;
	dmt_doctor_free(doc);
	return rc;
}
