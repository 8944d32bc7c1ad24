// SPDX-License-Identifier: MIT
/*
 * tier B: strings the CLI did not write itself reach its JSON as valid
 * UTF-8. In a private network namespace (gone when the test exits, also
 * on failure) a veth pair gets names with a byte that is not UTF-8 and a
 * control character ("j\xe9\x01\"\\x") and with valid UTF-8 ("d\xc3\xa9v").
 * doctor, client and setup --json name them: every document must pass
 * both dmt_jsoncheck (strict RFC 8259, UTF-8 included) and jansson, the
 * invalid byte must read back as U+FFFD and the valid name unchanged.
 * Also: setup --restore --json always writes one document (no journal
 * directory, an empty one, one that cannot be read, an interface without
 * a journal).
 */
#include <sched.h>

#include <jansson.h>

#include "cli_util.h"

#define BAD "j\xe9\x01\"\\x"		/* as created */
#define BAD_JSON "j\xef\xbf\xbd\x01\"\\x"	/* as it must read back */
#define GOOD "d\xc3\xa9v"

static char dir[64];

static int run(char *const argv[], char **out, char **err)
{
	char o[128], e[128];
	int st;

	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	st = cu_wait(cu_spawn(argv, NULL, o, e), 60);
	*out = cu_slurp(o, NULL);
	*err = cu_slurp(e, NULL);
	T_CHECK(*out && *err, "no output files");
	return st;
}

static json_t *one_doc(const char *what, const char *text)
{
	char path[128], cmd[512], res[4096];
	json_error_t je;
	FILE *f;
	json_t *d;

	snprintf(path, sizeof(path), "%s/doc.json", dir);
	f = fopen(path, "w");
	T_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", getenv("DMT_JSONCHECK"), path);
	T_CHECK(t_run(cmd, res, sizeof(res)) == 0,
		"%s: dmt_jsoncheck rejects (%s):\n%s", what, res, text);
	d = json_loads(text, 0, &je);
	T_CHECK(d && json_is_object(d), "%s: jansson rejects (%s):\n%s", what,
		je.text, text);
	T_CHECK(json_is_object(json_object_get(d, "start")), "%s: no start",
		what);
	return d;
}

static const char *str_at(json_t *d, const char *a, const char *b)
{
	json_t *v = json_object_get(d, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ?: "<not a string>";
}

static void ip(char *const argv[])
{
	char *out, *err;
	int st = run(argv, &out, &err);

	T_CHECK(st == 0, "%s %s %s ...: exit %d: %s", argv[0], argv[1], argv[2],
		st, err);
	free(out);
	free(err);
}

int main(void)
{
	char cli[256], empty[128], file[128], nodir[128], port[16];
	char *out, *err;
	json_t *d, *ifs;
	int st;

	t_require_root();
	T_SKIP_IF(!getenv("DMT_JSONCHECK"), "DMT_JSONCHECK not set (run from CTest)");
	T_SKIP_IF(!cu_have("ip"), "ip(8) not installed (scripts/deps.sh)");
	if (unshare(CLONE_NEWNET) < 0) {
		T_SKIP_IF(errno == EPERM, "network namespaces not permitted");
		T_CHECK(0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	}
	cu_tmpdir(dir, sizeof(dir));
	snprintf(cli, sizeof(cli), "%s", t_cli());
	ip((char *[]){ "ip", "link", "set", "lo", "up", NULL });
	ip((char *[]){ "ip", "link", "add", "name", BAD, "type", "veth", "peer",
		       "name", GOOD, NULL });

	/* doctor: interface names in checks[] and interfaces[] */
	st = run((char *[]){ cli, "doctor", BAD, GOOD, "--json", NULL }, &out,
		 &err);
	T_CHECK(st == 1, "doctor on veth: exit %d, want 1 (not ready): %s", st,
		err);
	d = one_doc("doctor", out);
	ifs = json_object_get(d, "interfaces");
	T_CHECK(json_array_size(ifs) == 2, "doctor: %zu interfaces",
		json_array_size(ifs));
	T_CHECK(!strcmp(str_at(json_array_get(ifs, 0), "name", NULL), BAD_JSON),
		"doctor: first name reads '%s'", str_at(json_array_get(ifs, 0),
							"name", NULL));
	T_CHECK(!strcmp(str_at(json_array_get(ifs, 1), "name", NULL), GOOD),
		"doctor: UTF-8 name changed to '%s'",
		str_at(json_array_get(ifs, 1), "name", NULL));
	json_decref(d);
	free(out);
	free(err);
	printf("ok: doctor --json names both interfaces validly\n");

	/* client: config.ifname, and a failed run (nobody listens) */
	snprintf(port, sizeof(port), "%d", cu_free_port());
	st = run((char *[]){ cli, "client", "-s", "127.0.0.1", "-p", port,
			     "--size", "1M", "-f", BAD, "--timeout", "5",
			     "--json", NULL }, &out, &err);
	T_CHECK(st == 1, "client to a closed port: exit %d: %s", st, err);
	d = one_doc("client", out);
	T_CHECK(!strcmp(str_at(d, "config", "ifname"), BAD_JSON),
		"client: ifname reads '%s'", str_at(d, "config", "ifname"));
	T_CHECK(json_is_null(json_object_get(json_object_get(d, "config"),
					     "client")),
		"client: an absent -c is not null:\n%s", out);
	T_CHECK(json_is_false(json_object_get(json_object_get(d, "result"),
					      "complete")) &&
		json_is_string(json_object_get(json_object_get(d, "result"),
					       "error")),
		"client: the failure is not in result:\n%s", out);
	json_decref(d);
	free(out);
	free(err);
	printf("ok: client --json -f names the interface validly\n");

	/* setup: the interface in its report (whatever the veth allows) */
	st = run((char *[]){ cli, "setup", BAD, "--port", "5201", "--dry-run",
			     "--json", NULL }, &out, &err);
	d = one_doc("setup --dry-run", out);
	T_CHECK(!strcmp(str_at(d, "interface", NULL), BAD_JSON),
		"setup: interface reads '%s'", str_at(d, "interface", NULL));
	T_CHECK(json_is_boolean(json_object_get(d, "ok")) &&
		json_is_true(json_object_get(d, "ok")) == (st == 0),
		"setup: ok does not match exit %d:\n%s", st, out);
	json_decref(d);
	free(out);
	free(err);
	printf("ok: setup --dry-run --json (exit %d) names the interface "
	       "validly\n", st);

	/* setup --restore --json: one document in every case */
	snprintf(nodir, sizeof(nodir), "%s/none", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	T_CHECK(mkdir(empty, 0700) == 0, "mkdir %s", empty);
	T_CHECK(close(open(file, O_CREAT | O_WRONLY, 0600)) == 0, "%s", file);
	{
		static const struct {
			const char *what;
			bool iface;
			int which;	/* 0 none, 1 empty, 2 a file */
			int status;
		} c[] = {
			{ "no journal directory", false, 0, 0 },
			{ "an empty journal directory", false, 1, 0 },
			{ "a journal directory that is a file", false, 2, 1 },
			{ "an interface without a journal", true, 1, 0 },
		};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			char *jd = c[i].which == 0 ? nodir : c[i].which == 1 ?
				   empty : file;
			char *a1[] = { cli, "setup", "--restore", "--json",
				       "--journal-dir", jd, NULL };
			char *a2[] = { cli, "setup", "--restore", BAD, "--json",
				       "--journal-dir", jd, NULL };

			st = run(c[i].iface ? a2 : a1, &out, &err);
			T_CHECK(st == c[i].status, "restore, %s: exit %d, want %d: "
				"%s", c[i].what, st, c[i].status, err);
			T_CHECK(strchr(out, '\n') == out + strlen(out) - 1,
				"restore, %s: not one document:\n%s", c[i].what,
				out);
			d = one_doc(c[i].what, out);
			T_CHECK(!strcmp(str_at(d, "action", NULL), "restore") &&
				json_is_true(json_object_get(d, "ok")) == (st == 0),
				"restore, %s:\n%s", c[i].what, out);
			if (c[i].iface)
				T_CHECK(!strcmp(str_at(d, "interface", NULL),
						BAD_JSON) &&
					json_is_false(json_object_get(d, "restored")),
					"restore of %s:\n%s", BAD, out);
			else
				T_CHECK(json_integer_value(json_object_get(d,
					"journals")) == 0 &&
					(st == 0) == json_is_null(json_object_get(d,
								 "error")),
					"restore, %s:\n%s", c[i].what, out);
			json_decref(d);
			free(out);
			free(err);
			printf("ok: setup --restore --json, %s: one document\n",
			       c[i].what);
		}
	}
	cu_rmdir(dir);	/* the namespace and its veth go with this process */
	return T_PASS;
}
