// SPDX-License-Identifier: MIT
/*
 * dmt_jsoncheck FILE [PATH...]: a second, independent program that parses
 * JSON strictly (RFC 8259) and prints the value at each PATH, one per line.
 * PATH is dot-separated object keys and array indexes ("interfaces.0.name");
 * a final "#" prints the number of members/elements. Strings print raw
 * (escapes decoded), other scalars as written, objects/arrays as <object>
 * and <array>. Strings must be well-formed UTF-8 (raw or as \u escapes,
 * surrogate pairs included). "dmt_jsoncheck --lines FILE" checks JSON
 * lines instead: each line one value; prints the count.
 * Exit 0 ok, 3 invalid JSON, 4 a path not found, 2 usage.
 * Used by the doctor tests so the CLI's JSON is checked by something other
 * than the code that wrote it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	char *s;		/* string value, number/bool text, or object key */
	struct jval **kids;	/* array elements or object members */
	char **keys;
	size_t n;
};

static const char *p;
static int depth;

static void ws(void)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
}

static void *xalloc(size_t n)
{
	void *v = calloc(1, n);

	if (!v)
		exit(3);
	return v;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when malformed. */
static size_t utf8_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static char *parse_string(void)
{
	size_t cap = 64, len = 0;
	char *out = xalloc(cap);

	if (*p != '"')
		return NULL;
	p++;
	for (;;) {
		unsigned int c = (unsigned char)*p++;

		if (len + 8 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			if (!out)
				exit(3);
		}
		if (c == '"')
			break;
		if (c < 0x20)
			return NULL; /* raw control characters are invalid */
		if (c >= 0x80) {
			/* JSON text is UTF-8 (RFC 8259 section 8.1): the
			 * whole sequence must be well formed */
			size_t n = utf8_len(p - 1);

			if (!n)
				return NULL;
			if (len + n + 8 >= cap) {
				cap = cap * 2 + n;
				out = realloc(out, cap);
				if (!out)
					exit(3);
			}
			memcpy(out + len, p - 1, n);
			len += n;
			p += n - 1;
			continue;
		}
		if (c != '\\') {
			out[len++] = (char)c;
			continue;
		}
		c = (unsigned char)*p++;
		switch (c) {
		case '"': case '\\': case '/':
			out[len++] = (char)c;
			break;
		case 'b': out[len++] = '\b'; break;
		case 'f': out[len++] = '\f'; break;
		case 'n': out[len++] = '\n'; break;
		case 'r': out[len++] = '\r'; break;
		case 't': out[len++] = '\t'; break;
		case 'u': {
			unsigned int u = 0;

			for (int i = 0; i < 4; i++) {
				char h = *p++;

				u <<= 4;
				if (h >= '0' && h <= '9')
					u |= (unsigned int)(h - '0');
				else if (h >= 'a' && h <= 'f')
					u |= (unsigned int)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					u |= (unsigned int)(h - 'A' + 10);
				else
					return NULL;
			}
			if (u >= 0xd800 && u <= 0xdbff) {
				/* a high surrogate: its low half must follow */
				unsigned int lo = 0;

				if (p[0] != '\\' || p[1] != 'u')
					return NULL;
				p += 2;
				for (int i = 0; i < 4; i++) {
					char h = *p++;

					lo <<= 4;
					if (h >= '0' && h <= '9')
						lo |= (unsigned int)(h - '0');
					else if (h >= 'a' && h <= 'f')
						lo |= (unsigned int)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F')
						lo |= (unsigned int)(h - 'A' + 10);
					else
						return NULL;
				}
				if (lo < 0xdc00 || lo > 0xdfff)
					return NULL;
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				out[len++] = (char)(0xf0 | (u >> 18));
				out[len++] = (char)(0x80 | ((u >> 12) & 0x3f));
				out[len++] = (char)(0x80 | ((u >> 6) & 0x3f));
				out[len++] = (char)(0x80 | (u & 0x3f));
				break;
			}
			if (u >= 0xdc00 && u <= 0xdfff)
				return NULL;	/* a lone low surrogate */
			if (u < 0x80) {
				out[len++] = (char)u;
			} else if (u < 0x800) {
				out[len++] = (char)(0xc0 | (u >> 6));
				out[len++] = (char)(0x80 | (u & 0x3f));
			} else {
				out[len++] = (char)(0xe0 | (u >> 12));
				out[len++] = (char)(0x80 | ((u >> 6) & 0x3f));
				out[len++] = (char)(0x80 | (u & 0x3f));
			}
			break;
		}
		default:
			return NULL;
		}
	}
	out[len] = '\0';
	return out;
}

static struct jval *parse_value(void);

static int add_kid(struct jval *v, char *key, struct jval *kid)
{
	v->kids = realloc(v->kids, (v->n + 1) * sizeof(*v->kids));
	v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
	if (!v->kids || !v->keys)
		exit(3);
	v->kids[v->n] = kid;
	v->keys[v->n] = key;
	v->n++;
	return 0;
}

static struct jval *parse_container(char open, char close)
{
	struct jval *v = xalloc(sizeof(*v));

	v->t = open == '{' ? J_OBJ : J_ARR;
	p++;
	if (++depth > 64)
		return NULL;
	ws();
	if (*p == close) {
		p++;
		depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jval *kid;

		ws();
		if (v->t == J_OBJ) {
			key = parse_string();
			if (!key)
				return NULL;
			ws();
			if (*p++ != ':')
				return NULL;
		}
		kid = parse_value();
		if (!kid)
			return NULL;
		add_kid(v, key, kid);
		ws();
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == close) {
			p++;
			depth--;
			return v;
		}
		return NULL;
	}
}

static struct jval *parse_number(void)
{
	const char *s = p;
	struct jval *v;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	v = xalloc(sizeof(*v));
	v->t = J_NUM;
	v->s = strndup(s, (size_t)(p - s));
	return v;
}

static struct jval *parse_value(void)
{
	struct jval *v;

	ws();
	switch (*p) {
	case '{':
		return parse_container('{', '}');
	case '[':
		return parse_container('[', ']');
	case '"':
		v = xalloc(sizeof(*v));
		v->t = J_STR;
		v->s = parse_string();
		return v->s ? v : NULL;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = { "true", "false", "null" };

		for (int i = 0; i < 3; i++) {
			size_t l = strlen(lit[i]);

			if (!strncmp(p, lit[i], l)) {
				v = xalloc(sizeof(*v));
				v->t = i == 2 ? J_NULL : J_BOOL;
				v->s = strdup(lit[i]);
				p += l;
				return v;
			}
		}
		return NULL;
	}
	default:
		return parse_number();
	}
}

static void jfree(struct jval *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jfree(v->kids[i]);
		free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->s);
	free(v);
}

static int query(const struct jval *v, const char *path)
{
	char *copy = strdup(path), *save = NULL, *tok;

	for (tok = strtok_r(copy, ".", &save); tok;
	     tok = strtok_r(NULL, ".", &save)) {
		const struct jval *next = NULL;

		if (!strcmp(tok, "#") && (v->t == J_ARR || v->t == J_OBJ)) {
			printf("%zu\n", v->n);
			free(copy);
			return 0;
		}
		if (v->t == J_OBJ) {
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->keys[i], tok))
					next = v->kids[i];
		} else if (v->t == J_ARR) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);

			if (!*end && i < v->n)
				next = v->kids[i];
		}
		if (!next) {
			free(copy);
			return 4;
		}
		v = next;
	}
	free(copy);
	if (v->t == J_OBJ)
		printf("<object>\n");
	else if (v->t == J_ARR)
		printf("<array>\n");
	else
		printf("%s\n", v->s);
	return 0;
}

/* --lines: every line (each ends with a newline) one JSON value; prints
 * the number of lines. */
static int check_lines(char *buf, size_t len)
{
	size_t count = 0;
	char *line = buf;

	if (len == 0 || buf[len - 1] != '\n') {
		fprintf(stderr, "jsoncheck: no lines, or the last is unterminated\n");
		return 3;
	}
	while (*line) {
		char *nl = strchr(line, '\n');
		struct jval *v;

		*nl = '\0';
		p = line;
		depth = 0;
		v = parse_value();
		if (v)
			ws();
		if (!v || *p) {
			fprintf(stderr, "jsoncheck: line %zu: invalid JSON at "
				"byte %zu\n", count + 1, (size_t)(p - line));
			return 3;
		}
		jfree(v);
		count++;
		line = nl + 1;
	}
	printf("%zu\n", count);
	return 0;
}

int main(int argc, char **argv)
{
	struct jval *root;
	char *buf;
	size_t len = 0, cap = 1 << 16, n;
	FILE *f;
	int rc = 0;
	bool lines = argc > 1 && !strcmp(argv[1], "--lines");

	if (lines) {
		argc--;
		argv++;
	}
	if (argc < 2 || (lines && argc > 2)) {
		fprintf(stderr, "usage: dmt_jsoncheck FILE [PATH...]\n"
			"       dmt_jsoncheck --lines FILE\n");
		return 2;
	}
	f = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	buf = xalloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				return 3;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fprintf(stderr, "jsoncheck: NUL byte in input\n");
		return 3;
	}
	if (lines)
		return check_lines(buf, len);
	p = buf;
	root = parse_value();
	if (root)
		ws();
	if (!root || *p) {
		fprintf(stderr, "jsoncheck: invalid JSON at byte %zu\n",
			(size_t)(p - buf));
		free(buf);
		return 3;
	}
	for (int i = 2; i < argc; i++) {
		int r = query(root, argv[i]);

		if (r) {
			printf("<missing>\n");
			fprintf(stderr, "jsoncheck: no %s\n", argv[i]);
			rc = r;
		}
	}
	jfree(root);
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}
