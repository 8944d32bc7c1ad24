// SPDX-License-Identifier: MIT
/* libFuzzer: the NIC-setup journal reader, through its entry point
 * dmt_nic_restore_ops() with a simulated NIC (nothing real is touched).
 * Each input is written as the journal of interface "fz0" (ifindex 1) in
 * a private directory, then restored. */
#include <stdbool.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "nicsetup.h"

static int rings_get(void *u, struct dmt_ctx *c, int ifx, struct dmt_rings *r)
{
	(void)u; (void)c; (void)ifx;
	memset(r, 0, sizeof(*r));
	r->has_tcp_data_split = true;
	return 0;
}

static int rings_set(void *u, struct dmt_ctx *c, int ifx, int tds, int64_t t)
{
	(void)u; (void)c; (void)ifx; (void)tds; (void)t;
	return 0;
}

static int ch_get(void *u, struct dmt_ctx *c, int ifx, struct dmt_channels *ch)
{
	(void)u; (void)c; (void)ifx;
	memset(ch, 0, sizeof(*ch));
	ch->rx = ch->rx_max = 4;
	return 0;
}

static int feat_get(void *u, struct dmt_ctx *c, int ifx, const char *n,
		    bool *a, bool *f)
{
	(void)u; (void)c; (void)ifx; (void)n;
	*a = true;
	*f = false;
	return 0;
}

static int feat_set(void *u, struct dmt_ctx *c, int ifx, const char *n, bool on)
{
	(void)u; (void)c; (void)ifx; (void)n; (void)on;
	return 0;
}

static int rss_get(void *u, struct dmt_ctx *c, int ifx, struct dmt_rss *rss)
{
	(void)u; (void)c; (void)ifx;
	memset(rss, 0, sizeof(*rss));
	return 0;
}

static int rss_set(void *u, struct dmt_ctx *c, int ifx, const uint32_t *in,
		   uint32_t n)
{
	uint32_t sum = 0;

	(void)u; (void)c; (void)ifx;
	for (uint32_t i = 0; i < n; i++)	/* ASan: the table is n long */
		sum += in[i];
	return sum == 0xdeadbeefu ? 0 : 0;
}

static int nt_list(void *u, struct dmt_ctx *c, int ifx,
		   struct dmt_ntuple_list *l)
{
	(void)u; (void)c; (void)ifx;
	memset(l, 0, sizeof(*l));
	return 0;
}

static int nt_add(void *u, struct dmt_ctx *c, int ifx,
		  const struct dmt_flow_rule *r, uint32_t loc, uint32_t *out)
{
	(void)u; (void)c; (void)ifx; (void)r;
	*out = loc;
	return 0;
}

static int nt_del(void *u, struct dmt_ctx *c, int ifx, uint32_t loc)
{
	(void)u; (void)c; (void)ifx; (void)loc;
	return 0;
}

static int bind_rx(void *u, struct dmt_ctx *c, int ifx, int fd,
		   const uint32_t *q, unsigned int n, uint32_t *id)
{
	(void)u; (void)c; (void)ifx; (void)fd; (void)q; (void)n;
	*id = 1;
	return 0;
}

static void unbind(void *u)
{
	(void)u;
}

static int ch_set(void *u, struct dmt_ctx *c, int ifx,
		  const struct dmt_channels *ch)
{
	(void)u; (void)c; (void)ifx; (void)ch;
	return 0;
}

static const struct dmt_nic_ops ops = {
	.rings_get = rings_get, .rings_set_hds = rings_set,
	.channels_get = ch_get, .feature_get = feat_get,
	.feature_set = feat_set, .rss_get = rss_get, .rss_set = rss_set,
	.ntuple_list = nt_list, .ntuple_add = nt_add, .ntuple_del = nt_del,
	.bind_rx = bind_rx, .unbind = unbind, .channels_set = ch_set,
};

static char dir[64];
static char path[256];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmt_ctx ctx;	/* no sockets: the ops are simulated */
	struct dmt_error e;
	char sum[1024];
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/dmt-fuzz-journal-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		if (dmt_nic_journal_path(dir, "fz0", path, sizeof(path)) < 0)
			abort();
		atexit(cleanup);
	}
	f = fopen(path, "w");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	dmt_nic_restore_ops(&ctx, "fz0", 1, dir, &ops, NULL, sum, sizeof(sum), &e);
	FZ_ASSERT(memchr(e.message, 0, sizeof(e.message)));
	FZ_ASSERT(memchr(sum, 0, sizeof(sum)));
	unlink(path);
	return 0;
}
