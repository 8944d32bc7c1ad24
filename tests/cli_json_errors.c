// SPDX-License-Identifier: MIT
/*
 * tier A: with --json every run writes exactly one valid JSON document on
 * stdout, also when it fails: a usage error of each command (found before
 * or after --json is parsed, --json abbreviated, or -j) gives the error
 * document {"start", "command", "error", "exit_status"}; bytes that are
 * not UTF-8 and control characters in a message are escaped or replaced;
 * --json-stream gives one error event line; --help gives a document too.
 * Each document is checked by two parsers: the independent dmt_jsoncheck
 * (strict RFC 8259, UTF-8 included) and jansson's.
 */
#include <jansson.h>

#include "cli_util.h"

static char dir[64];

/* Run the CLI with args; stdout in *out (caller frees), exit status. */
static int run(char *const args[], char **out, char **err)
{
	char o[128], e[128];
	char *argv[32] = { (char *)t_cli() };
	int n = 1, st;
	pid_t pid;

	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	pid = cu_spawn(argv, NULL, o, e);
	st = cu_wait(pid, 20);
	*out = cu_slurp(o, NULL);
	*err = cu_slurp(e, NULL);
	T_CHECK(*out && *err, "no output files");
	return st;
}

/* dmt_jsoncheck on the text (as a file); its exit status. */
static int jsoncheck(const char *text, bool lines)
{
	char path[128], cmd[512], out[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/doc.json", dir);
	f = fopen(path, "w");
	T_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
	snprintf(cmd, sizeof(cmd), "'%s' %s '%s'", getenv("DMT_JSONCHECK"),
		 lines ? "--lines" : "", path);
	return t_run(cmd, out, sizeof(out));
}

/* The one document of a --json run: one line, valid for both parsers. */
static json_t *one_doc(const char *what, const char *text)
{
	json_error_t je;
	json_t *d;
	size_t len = strlen(text);

	T_CHECK(len > 2 && text[len - 1] == '\n' &&
		strchr(text, '\n') == text + len - 1,
		"%s: stdout is not one line (a document):\n%s", what, text);
	T_CHECK(jsoncheck(text, false) == 0, "%s: dmt_jsoncheck rejects:\n%s",
		what, text);
	d = json_loads(text, 0, &je);
	T_CHECK(d && json_is_object(d), "%s: jansson rejects (%s):\n%s", what,
		je.text, text);
	return d;
}

static void check_start(const char *what, json_t *d)
{
	json_t *st = json_object_get(d, "start");
	const char *v = json_string_value(json_object_get(st, "version"));

	T_CHECK(json_is_object(st), "%s: no start object", what);
	T_CHECK(v && !strncmp(v, "devmemtcp ", 10), "%s: start.version", what);
	T_CHECK(json_is_string(json_object_get(st, "host")) ||
		json_is_null(json_object_get(st, "host")), "%s: start.host", what);
	T_CHECK(json_is_integer(json_object_get(json_object_get(st, "timestamp"),
						"timesecs")),
		"%s: start.timestamp.timesecs", what);
	T_CHECK(json_is_string(json_object_get(json_object_get(st, "timestamp"),
					       "time")),
		"%s: start.timestamp.time", what);
}

/* A usage error with --json: exit 2, the error document, and the same
 * message on stderr; sub (may be NULL): a substring of the error. */
static void usage_doc(const char *cmd, char *const args[], const char *sub)
{
	char *out, *err, what[256];
	const char *e;
	json_t *d;
	int st;

	snprintf(what, sizeof(what), "%s %s %s", cmd, args[1] ? args[1] : "",
		 args[1] && args[2] ? args[2] : "");
	st = run(args, &out, &err);
	T_CHECK(st == 2, "%s: exit %d, want 2 (stderr: %s)", what, st, err);
	d = one_doc(what, out);
	check_start(what, d);
	T_CHECK(!strcmp(json_string_value(json_object_get(d, "command")) ?: "",
			cmd), "%s: command", what);
	T_CHECK(json_integer_value(json_object_get(d, "exit_status")) == 2 &&
		json_is_integer(json_object_get(d, "exit_status")),
		"%s: exit_status", what);
	e = json_string_value(json_object_get(d, "error"));
	T_CHECK(e && strlen(e) > 10, "%s: no error message:\n%s", what, out);
	T_CHECK(!sub || strstr(e, sub), "%s: error '%s' lacks '%s'", what, e,
		sub);
	T_CHECK(strstr(err, "devmemtcp ") && strchr(err, '\n') ==
		err + strlen(err) - 1, "%s: not one line on stderr: %s", what, err);
	printf("ok: %s -> %s\n", what, e);
	json_decref(d);
	free(out);
	free(err);
}

int main(void)
{
	char *out, *err;
	json_t *d;
	int st;

	T_SKIP_IF(!getenv("DMT_JSONCHECK"), "DMT_JSONCHECK not set (run from CTest)");
	cu_tmpdir(dir, sizeof(dir));

	/* every command: an error before --json is parsed, and after */
	usage_doc("client", (char *[]){ "client", "--bogus", "--json", NULL },
		  "--bogus");
	usage_doc("client", (char *[]){ "client", "--json", "-s", "127.0.0.1",
					 "-p", "0", NULL }, "port");
	usage_doc("client", (char *[]){ "client", "-s", "127.0.0.1", "--json",
					 "--size", NULL }, "--size");
	usage_doc("server", (char *[]){ "server", "-v", "1", "--json", NULL },
		  "-v");
	usage_doc("demo", (char *[]){ "demo", "--json", "--size", "1", NULL },
		  "size");
	usage_doc("doctor", (char *[]){ "doctor", "--bogus", "--json", NULL },
		  "--bogus");
	usage_doc("doctor", (char *[]){ "doctor", "-j", "--bogus", NULL },
		  "--bogus");
	usage_doc("bench", (char *[]){ "bench", "--json", "--reps", "0", NULL },
		  "reps");
	usage_doc("setup", (char *[]){ "setup", "--json", NULL }, "interface");
	usage_doc("setup", (char *[]){ "setup", "-j", "--queues", "0", "x", NULL },
		  "queues");
	usage_doc("setup", (char *[]){ "setup", "--bogus", "-j", NULL }, "--bogus");
	/* getopt's abbreviation of --json counts */
	usage_doc("client", (char *[]){ "client", "--bogus", "--jso", NULL },
		  "--bogus");

	/* a message carrying bytes that are not UTF-8 and control
	 * characters: escaped, and each bad byte U+FFFD */
	usage_doc("client", (char *[]){ "client", "--json", "-s", "127.0.0.1",
					 "-f", "n\xff\x01\"\\\xc3\xa9", NULL },
		  "n\xef\xbf\xbd\x01\"\\\xc3\xa9");
	usage_doc("doctor", (char *[]){ "doctor", "--json", "x\xe9\x1f\xc0\xaf",
					 NULL }, "x\xef\xbf\xbd\x1f\xef\xbf\xbd");

	/* --json-stream: one error event line */
	st = run((char *[]){ "client", "--json-stream", "--bogus", NULL }, &out,
		 &err);
	T_CHECK(st == 2, "json-stream usage error: exit %d", st);
	T_CHECK(jsoncheck(out, true) == 0, "json-stream: not JSON lines:\n%s", out);
	d = one_doc("client --json-stream --bogus", out);
	T_CHECK(!strcmp(json_string_value(json_object_get(d, "event")) ?: "",
			"error") &&
		json_integer_value(json_object_get(json_object_get(d, "data"),
						   "exit_status")) == 2,
		"json-stream: not an error event:\n%s", out);
	json_decref(d);
	free(out);
	free(err);
	printf("ok: client --json-stream --bogus -> an error event\n");

	/* --help with --json: the help text in a document */
	st = run((char *[]){ "server", "--json", "--help", NULL }, &out, &err);
	T_CHECK(st == 0, "server --json --help: exit %d", st);
	d = one_doc("server --json --help", out);
	T_CHECK(strstr(json_string_value(json_object_get(d, "help")) ?: "",
		       "usage: devmemtcp server"), "no help text:\n%s", out);
	json_decref(d);
	free(out);
	free(err);
	printf("ok: server --json --help -> a help document\n");

	/* a run error after the options (no such local address): the
	 * server's own document says so, once */
	st = run((char *[]){ "server", "--json", "-s", "192.0.2.1", "-p", "0",
			     "--timeout", "1", NULL }, &out, &err);
	T_CHECK(st == 1, "server on 192.0.2.1: exit %d: %s", st, err);
	d = one_doc("server -s 192.0.2.1", out);
	check_start("server -s 192.0.2.1", d);
	T_CHECK(!strcmp(json_string_value(json_object_get(d, "role")) ?: "",
			"server") &&
		json_is_false(json_object_get(json_object_get(d, "result"),
					      "complete")) &&
		json_is_string(json_object_get(json_object_get(d, "result"),
					       "error")),
		"server run error: not a failed server document:\n%s", out);
	json_decref(d);
	free(out);
	free(err);
	printf("ok: server run error -> one server document\n");

	cu_rmdir(dir);
	return T_PASS;
}
