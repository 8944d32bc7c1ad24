// SPDX-License-Identifier: MIT
/*
 * tier A: the CLI's JSON writer (tools/devmemtcp/json_out.c) on its own.
 * Strings: every byte that is not part of well-formed UTF-8 (RFC 3629:
 * stray continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, sequences cut short) becomes U+FFFD and valid UTF-8 passes
 * unchanged; numbers from text; one document per run: a second one, and
 * the error document after it, are not printed.
 */
#include <jansson.h>

#include "cli_util.h"
#include "json_out.h"

#define R "\xef\xbf\xbd"	/* U+FFFD */

static const struct {
	const char *in, *want;
} strs[] = {
	{ "plain", "plain" },
	{ "tab\tnl\n\x01\x1f\x7f", "tab\tnl\n\x01\x1f\x7f" },
	{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "\xff", R },
	{ "a\x80z", "a" R "z" },			/* stray continuation */
	{ "\xc0\xaf", R R },				/* overlong '/' */
	{ "\xe0\x80\xaf", R R R },			/* overlong, 3 bytes */
	{ "\xed\xa0\x80", R R R },			/* surrogate U+D800 */
	{ "\xf4\x90\x80\x80", R R R R },		/* above U+10FFFF */
	{ "\xf5\x80", R R },
	{ "x\xe2\x82", "x" R R },			/* cut short at the end */
	{ "\xe2\x82x", R R "x" },			/* cut short mid-string */
	{ "\xf0\x9f\x98", R R R },
	{ "j\xe9\x01\"\\x", "j" R "\x01\"\\x" },
};

static void str_cases(void)
{
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *v = jout_str(strs[i].in);
		char *text;
		json_t *back;

		T_CHECK(v && json_is_string(v), "case %zu: no string", i);
		T_CHECK(!strcmp(json_string_value(v), strs[i].want),
			"case %zu: got '%s'", i, json_string_value(v));
		/* and it serialises to JSON that parses back to the same */
		text = json_dumps(v, JSON_ENCODE_ANY);
		T_CHECK(text, "case %zu: no text", i);
		back = json_loads(text, JSON_DECODE_ANY, NULL);
		T_CHECK(back && json_equal(back, v), "case %zu: '%s' does not "
			"read back", i, text);
		json_decref(back);
		free(text);
		json_decref(v);
	}
	T_CHECK(json_is_null(jout_str(NULL)), "NULL is not null");
	printf("ok: %zu strings\n", sizeof(strs) / sizeof(strs[0]));
}

static void raw_cases(void)
{
	json_t *v;

	v = jout_raw("12");
	T_CHECK(json_is_integer(v) && json_integer_value(v) == 12, "12");
	json_decref(v);
	v = jout_raw("1.5");
	T_CHECK(json_is_real(v) && json_real_value(v) == 1.5, "1.5");
	json_decref(v);
	v = jout_raw("true");
	T_CHECK(json_is_true(v), "true");
	json_decref(v);
	v = jout_raw("[1,2]");
	T_CHECK(json_is_array(v) && json_array_size(v) == 2, "[1,2]");
	json_decref(v);
	v = jout_raw("18446744073709551615");
	T_CHECK(json_is_real(v) && json_real_value(v) > 1.8e19, "u64 max");
	json_decref(v);
	T_CHECK(json_is_null(jout_raw("")) && json_is_null(jout_raw("nan")) &&
		json_is_null(jout_raw("inf")) && json_is_null(jout_raw("12abc")),
		"text that is no number is not null");
	printf("ok: numbers from text\n");
}

/* In a child with stdout on a file: two documents and an error, only the
 * first printed. */
static void once(void)
{
	char dir[64], path[128], *text;
	pid_t pid;

	cu_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/out", dir);
	fflush(NULL);
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char *argv[] = { "client", "--json", NULL };
		json_t *d = jout_doc();

		if (!freopen(path, "w", stdout))
			_exit(3);
		jout_scan_argv(2, argv, false);
		jout_set_str(d, "n", "first");
		if (jout_emit(d, JOUT_COMPACT))
			_exit(4);
		d = jout_doc();
		jout_set_str(d, "n", "second");
		if (!jout_emit(d, JOUT_COMPACT))
			_exit(5);
		jout_note_error("client", 1, "late");
		_exit(jout_end("client", 1) == 1 ? 0 : 6);
	}
	T_CHECK(cu_wait(pid, 10) == 0, "child failed");
	text = cu_slurp(path, NULL);
	T_CHECK(text && strstr(text, "\"n\":\"first\"") &&
		strchr(text, '\n') == text + strlen(text) - 1 &&
		!strstr(text, "second") && !strstr(text, "late"),
		"not one document:\n%s", text ? text : "");
	free(text);

	/* no document printed: jout_end prints the error document */
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		char *argv[] = { "doctor", "-j", NULL };

		if (!freopen(path, "w", stdout))
			_exit(3);
		jout_scan_argv(2, argv, true);
		jout_note_error("doctor", 2, "first \xff");
		jout_note_error("doctor", 1, "second");
		_exit(jout_end("doctor", 2) == 2 ? 0 : 6);
	}
	T_CHECK(cu_wait(pid, 10) == 0, "child failed");
	text = cu_slurp(path, NULL);
	{
		json_t *d = json_loads(text, 0, NULL);

		T_CHECK(d && !strcmp(json_string_value(json_object_get(d, "error"))
				     ?: "", "first " R) &&
			json_integer_value(json_object_get(d, "exit_status")) == 2 &&
			json_is_object(json_object_get(d, "start")),
			"error document:\n%s", text);
		json_decref(d);
	}
	free(text);
	cu_rmdir(dir);
	printf("ok: one document per run\n");
}

int main(void)
{
	str_cases();
	raw_cases();
	once();
	return T_PASS;
}
