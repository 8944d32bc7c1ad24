// SPDX-License-Identifier: MIT
/* Library terms -> this tool's flags and commands (advice.h). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "advice.h"

/*
 * lib: a term the library's messages use. A term ending in "(" is a call
 * whose argument (up to ")", may be empty) is put where cli has %s; an
 * empty argument drops the space before it.
 */
static const struct {
	const char *lib;
	const char *cli;
} terms[] = {
	{ "dmt_nic_setup_restore(", "devmemtcp setup --restore %s" },
	{ "dmt_nic_setup_apply(", "devmemtcp setup %s" },
	{ "bind without a NIC setup (dmt_ctx_bind_rx)",
	  "run the server without one (--no-setup)" },
	{ "dmt_nic_setup_opts.nqueues", "-q" },
	{ "dmt_nic_setup_opts.port", "-p" },
	{ "DMT_NIC_F_NO_RSS", "--no-rss" },
	{ "DMT_NIC_F_NO_RULE", "--no-rule" },
	{ "dmt_tx_opts.engine", "--engine" },
	{ "dmt_rx_opts.engine", "--engine" },
	{ "dmt_rx_listen_opts.engine", "--engine" },
	{ "dmt_rx_listen_opts.ifname", "-f IFNAME" },
	{ "dmt_rx_listen_opts.port", "-p" },
	{ "dmt_rx_listen_opts.peer", "-c" },
	{ "dmt_rx_listen_opts.nic_flags has DMT_NIC_F_NO_HDS", "--no-setup was "
	  "given" },
	/* before the single kinds: the whole list reads as one flag */
	{ "dmt_buf_new with DMT_BUF_UDMABUF, DMT_BUF_DMAHEAP, DMT_BUF_CUDA or "
	  "DMT_BUF_ROCM, or dmt_buf_import", "--buffer udmabuf, dmaheap, cuda "
	  "or rocm" },
	{ "DMT_BUF_HOST", "--buffer host" },
	{ "DMT_BUF_UDMABUF", "--buffer udmabuf" },
	{ "DMT_BUF_DMAHEAP", "--buffer dmaheap" },
	{ "DMT_BUF_CUDA", "--buffer cuda" },
	{ "DMT_BUF_ROCM", "--buffer rocm" },
};

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Append n bytes of s to out at *o, keeping room for the terminator. */
static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (*o + 1 >= outlen)
		return;
	if (n > outlen - 1 - *o)
		n = outlen - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
}

/* The term at p (none when it is part of a longer identifier). */
static int term_at(const char *msg, const char *p)
{
	if (p > msg && word_char(p[-1]))
		return -1;
	for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++) {
		size_t n = strlen(terms[i].lib);

		if (strncmp(p, terms[i].lib, n))
			continue;
		if (terms[i].lib[n - 1] == '(' ? strchr(p + n, ')') != NULL :
		    !word_char(p[n]))
			return (int)i;
	}
	return -1;
}

const char *cli_advice(const char *msg, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return out;
	out[0] = '\0';
	if (!msg)
		return out;
	for (const char *p = msg; *p;) {
		int t = term_at(msg, p);
		const char *lib, *cli, *pct;
		size_t n;

		if (t < 0) {
			put(out, outlen, &o, p++, 1);
			continue;
		}
		lib = terms[t].lib;
		cli = terms[t].cli;
		n = strlen(lib);
		pct = strstr(cli, "%s");
		if (lib[n - 1] != '(' || !pct) {
			put(out, outlen, &o, cli, strlen(cli));
			p += n;
			continue;
		}
		{
			const char *arg = p + n, *end = strchr(arg, ')');
			size_t head = (size_t)(pct - cli);

			if (end == arg && head && cli[head - 1] == ' ')
				head--;	/* no argument: no space for it */
			put(out, outlen, &o, cli, head);
			put(out, outlen, &o, arg, (size_t)(end - arg));
			put(out, outlen, &o, pct + 2, strlen(pct + 2));
			p = end + 1;
		}
	}
	out[o] = '\0';
	return out;
}
