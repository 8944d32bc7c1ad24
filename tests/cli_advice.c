// SPDX-License-Identifier: MIT
/*
 * tier A: the CLI's reading of library messages (tools/devmemtcp/advice.c).
 * The library names its own terms; the CLI shows its flags and commands:
 * calls with and without an argument, option fields, flags and buffer
 * kinds become the tool's words, identifiers that merely start with a term
 * are left alone, and a short output buffer is cut, never overrun.
 */
#include <string.h>

#include "advice.h"
#include "helpers.h"

static int checks;

static void expect(const char *lib, const char *want)
{
	char out[512];

	cli_advice(lib, out, sizeof(out));
	T_CHECK(!strcmp(out, want), "\"%s\"\n  gave \"%s\"\n  want \"%s\"", lib,
		out, want);
	checks++;
}

int main(void)
{
	char small[8];

	expect("a previous run left changes on eth1 (journal /run/x): "
	       "dmt_nic_setup_restore(eth1) first",
	       "a previous run left changes on eth1 (journal /run/x): "
	       "devmemtcp setup --restore eth1 first");
	expect("release it (dmt_nic_setup_restore()) or pick other queues",
	       "release it (devmemtcp setup --restore) or pick other queues");
	expect("dmt_nic_setup_apply(eth0) (sets hds-thresh 0)",
	       "devmemtcp setup eth0 (sets hds-thresh 0)");
	expect("bind fewer queues (dmt_nic_setup_opts.nqueues), add queues "
	       "(ethtool -L), or leave RSS alone (DMT_NIC_F_NO_RSS)",
	       "bind fewer queues (-q), add queues (ethtool -L), or leave RSS "
	       "alone (--no-rss)");
	expect("a fallback engine (dmt_tx_opts.engine uring|zerocopy|copy)",
	       "a fallback engine (--engine uring|zerocopy|copy)");
	expect("DMT_BUF_CUDA: libcuda.so.1 not found: no NVIDIA driver on "
	       "this host", "--buffer cuda: libcuda.so.1 not found: no NVIDIA "
	       "driver on this host");
	expect("use DMT_BUF_UDMABUF or DMT_BUF_HOST",
	       "use --buffer udmabuf or --buffer host");
	expect("not a dma-buf (dmt_buf_new with DMT_BUF_UDMABUF, "
	       "DMT_BUF_DMAHEAP, DMT_BUF_CUDA or DMT_BUF_ROCM, or "
	       "dmt_buf_import)", "not a dma-buf (--buffer udmabuf, dmaheap, "
	       "cuda or rocm)");
	/* not terms: longer identifiers, an unclosed call, plain text */
	expect("DMT_BUF_HOSTX and XDMT_BUF_HOST stay",
	       "DMT_BUF_HOSTX and XDMT_BUF_HOST stay");
	expect("dmt_nic_setup_apply( without end", "dmt_nic_setup_apply( without end");
	expect("nothing to map here", "nothing to map here");
	expect("", "");
	T_CHECK(!strcmp(cli_advice(NULL, small, sizeof(small)), ""), "NULL");
	cli_advice("DMT_BUF_HOST", small, sizeof(small));
	T_CHECK(strlen(small) == sizeof(small) - 1 &&
		!strncmp(small, "--buffe", 7), "cut: \"%s\"", small);
	printf("ok: %d translations, a NULL and a cut output\nPASS\n", checks);
	return T_PASS;
}
