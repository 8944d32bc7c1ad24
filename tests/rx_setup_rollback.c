// SPDX-License-Identifier: MIT
/* tier B: a failed NIC setup on a veth (2 queues, private namespace) leaves
 * the interface exactly as it was. Each step is made to be the first that
 * fails (header split, RSS, ntuple, bind-rx); rings, channels, features,
 * RSS and rules are compared before and after through the library's
 * netlink getters and through the legacy SIOCETHTOOL ioctls (another
 * kernel path; no ethtool program); the journal is gone; the error names
 * cause and fix. Also the CLI, and --restore of a journal. */
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "ethtool.h"
#include "helpers.h"
#include "ethtool_view.h"	/* after helpers.h */
#include "journal.h"
#include "netns.h"

static const char *jdir = "/tmp/dmt-rollback-journal";

struct snap {
	int rr, cr, fr, sr, nr;
	struct dmt_rings rings;
	struct dmt_channels ch;
	bool nt_on, nt_fixed;
	uint32_t rss_size;
	uint32_t nrules;
	struct t_ethview view;
};

static void snap(struct dmt_ctx *ctx, int ifx, struct snap *s)
{
	struct dmt_rss rss;
	struct dmt_ntuple_list l;

	memset(s, 0, sizeof(*s));
	s->rr = dmt_ethtool_rings_get(ctx, ifx, &s->rings);
	s->cr = dmt_ethtool_channels_get(ctx, ifx, &s->ch);
	s->fr = dmt_ethtool_feature_get(ctx, ifx, "rx-ntuple-filter", &s->nt_on,
					&s->nt_fixed);
	s->sr = dmt_ethtool_rss_get(ctx, ifx, &rss);
	if (!s->sr)
		s->rss_size = rss.indir_size;
	dmt_rss_free(&rss);
	s->nr = dmt_ethtool_ntuple_list(ctx, ifx, &l);
	if (!s->nr)
		s->nrules = l.count;
	dmt_ntuple_list_free(&l);
	t_ethview(ifx, &s->view);
}

static void same(const struct snap *a, const struct snap *b, const char *when)
{
	char why[256];

	T_CHECK(a->rr == b->rr && !memcmp(&a->rings, &b->rings, sizeof(a->rings)),
		"%s: rings differ", when);
	T_CHECK(a->cr == b->cr && !memcmp(&a->ch, &b->ch, sizeof(a->ch)),
		"%s: channels differ", when);
	T_CHECK(a->fr == b->fr && a->nt_on == b->nt_on, "%s: ntuple", when);
	T_CHECK(a->sr == b->sr && a->rss_size == b->rss_size, "%s: rss", when);
	T_CHECK(a->nr == b->nr && a->nrules == b->nrules, "%s: rules", when);
	T_CHECK(t_ethview_same(&a->view, &b->view, why, sizeof(why)),
		"%s: SIOCETHTOOL view differs: %s", when, why);
}

static bool journal_exists(void)
{
	char p[256];

	dmt_nic_journal_path(jdir, "dmt0", p, sizeof(p));
	return access(p, F_OK) == 0;
}

static int in_ns(void *arg)
{
	static const struct {
		unsigned int flags;
		int err;
		const char *want;
	} cases[] = {
		{ 0, -EOPNOTSUPP, "tcp-data-split is not supported by veth" },
		{ DMT_NIC_F_NO_HDS, -EOPNOTSUPP, "RSS is not supported by veth" },
		{ DMT_NIC_F_NO_HDS | DMT_NIC_F_NO_RSS, -EOPNOTSUPP,
		  "ntuple filters are fixed off on dmt0" },
		{ DMT_NIC_F_NO_HDS | DMT_NIC_F_NO_RSS | DMT_NIC_F_NO_RULE,
		  -DMT_ERR_NO_NETMEM_RX, "queue management API" },
	};
	struct sockaddr_in srv = { .sin_family = AF_INET };
	struct snap before, after;
	struct dmt_buf *buf;
	struct dmt_ctx *ctx;
	struct dmt_error e;
	char out[4096], cmd[512];
	int ifx, ret;

	(void)arg;
	ifx = (int)if_nametoindex("dmt0");
	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx && ifx > 0, "ctx");
	{
		const struct dmt_channels two = { .rx = 2, .tx = 2 };

		ret = dmt_ethtool_channels_set(ctx, ifx, &two);
	}
	T_CHECK(ret == 0, "channels-set dmt0 rx 2 tx 2: %s",
		dmt_ctx_last_error(ctx)->message);
	buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &e);
	T_CHECK(buf, "%s", e.message);
	buf->dmabuf_fd = buf->memfd;	/* any fd: veth refuses before use */
	srv.sin_addr.s_addr = htonl(0xc6120001);
	snap(ctx, ifx, &before);
	T_CHECK(before.cr == 0 && before.ch.rx == 2, "veth has 2 RX queues");
	T_CHECK(before.view.ch_ret >= 0 && before.view.ch.rx_count == 2 &&
		before.view.ch.tx_count == 2, "GCHANNELS: rx %u tx %u (%d)",
		before.view.ch.rx_count, before.view.ch.tx_count,
		before.view.ch_ret);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		DMT_OPTS(dmt_nic_setup_opts, o, .flags = cases[i].flags,
			 .port = 5201, .journal_dir = jdir,
			 .server = (struct sockaddr *)&srv,
			 .server_len = sizeof(srv));
		struct dmt_nic_setup *s = dmt_nic_setup_new(ctx, ifx, &o, &e);

		T_CHECK(s, "new: %s", e.message);
		ret = dmt_nic_setup_apply(s, buf);
		printf("  flags 0x%x: %s\n", cases[i].flags,
		       dmt_nic_setup_last_error(s)->message);
		T_CHECK(ret == cases[i].err, "case %u: %d", i, ret);
		T_CHECK(strstr(dmt_nic_setup_last_error(s)->message, cases[i].want),
			"case %u: '%s' not in: %s", i, cases[i].want,
			dmt_nic_setup_last_error(s)->message);
		T_CHECK(dmt_nic_setup_binding_id(s) == 0, "no binding");
		T_CHECK(!journal_exists(), "case %u: journal left behind", i);
		dmt_nic_setup_free(s);
		snap(ctx, ifx, &after);
		same(&before, &after, "after a failed setup");
	}
	buf->dmabuf_fd = -1;
	dmt_buf_free(buf);

	/* the CLI: exit 1, nothing changed; it names the driver's missing
	 * header split before it plans anything (tests/cli_setup_errors.c) */
	snprintf(cmd, sizeof(cmd), "%s setup dmt0 --port 5201 --journal-dir %s",
		 t_cli(), jdir);
	ret = t_run(cmd, out, sizeof(out));
	T_CHECK(ret == 1 && strstr(out, "(driver veth) cannot do devmem RX") &&
		strstr(out, "no header split"), "cli: rc %d: %s", ret, out);
	snap(ctx, ifx, &after);
	same(&before, &after, "after the CLI");
	T_CHECK(!journal_exists(), "cli left a journal");

	/* --restore of a journal left by a dead process: the ntuple feature
	 * record is undone (already off: fine) and the journal removed */
	{
		char p[256];
		FILE *f;

		mkdir(jdir, 0700);
		dmt_nic_journal_path(jdir, "dmt0", p, sizeof(p));
		f = fopen(p, "w");
		T_CHECK(f, "journal");
		{
			char rec[5][64], l[80];

			snprintf(rec[0], sizeof(rec[0]), "devmemtcp-journal 2");
			snprintf(rec[1], sizeof(rec[1]), "ifname dmt0");
			snprintf(rec[2], sizeof(rec[2]), "ifindex %d", ifx);
			snprintf(rec[3], sizeof(rec[3]), "pid 999999 1");
			snprintf(rec[4], sizeof(rec[4]), "feature rx-ntuple-filter 0");
			for (int i = 0; i < 5; i++) {
				T_CHECK(dmt_journal_line(l, sizeof(l), rec[i]) > 0,
					"line");
				fputs(l, f);
			}
		}
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s setup --restore dmt0 --journal-dir %s",
			 t_cli(), jdir);
		ret = t_run(cmd, out, sizeof(out));
		T_CHECK(ret == 0 && strstr(out, "restored: ntuple filters off"),
			"restore: rc %d: %s", ret, out);
		T_CHECK(!journal_exists(), "restore removed the journal");
		ret = t_run(cmd, out, sizeof(out));
		T_CHECK(ret == 0 && strstr(out, "nothing to restore"), "%s", out);
	}
	snap(ctx, ifx, &after);
	same(&before, &after, "after restore");
	dmt_ctx_free(ctx);
	rmdir(jdir);
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct netpair np;
	int ret;

	t_require_root();
	t_netpair(&np);
	ret = netpair_run(&np, 0, in_ns, NULL, NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "namespace child failed (%d)", ret);
	printf("rx_setup_rollback: ok\n");
	return T_PASS;
}
