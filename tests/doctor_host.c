// SPDX-License-Identifier: MIT
/*
 * tier B: `devmemtcp doctor` on this host: lo and eth0, then a veth inside a
 * private namespace (the CLI is exec'd inside it). The expected verdicts are
 * derived from the kernel, not hard-coded: a bind-tx probe of our own gives
 * the driver's answer and its message ("Driver does not support netmem TX"
 * on 6.18), rings-get tells whether header split exists. The JSON is parsed
 * by a second program (dmt_jsoncheck), exit codes are checked, and the
 * interfaces' state is snapshotted before and after to prove the doctor
 * changed nothing.
 */
#include <limits.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ethtool.h"
#include "helpers.h"
#include "ethtool_view.h"	/* after helpers.h */
#include "netns.h"

static char jsoncheck[PATH_MAX];
static char tmpdir[] = "/tmp/dmt-doctor-XXXXXX";

/* The scratch directory goes also when a check fails (T_CHECK exits). */
static pid_t owner;

static void cleanup(void)
{
	char cmd[64];

	if (getpid() != owner) /* a forked child exiting */
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Everything that the doctor could conceivably change on ifn: link flags,
 * XDP and queues (`ip -d link`), rings, channels, flags and features (the
 * SIOCETHTOOL ioctls). ip is installed by scripts/deps.sh; its failure
 * fails the test rather than comparing two error messages. */
static void snapshot(const char *ifn, char *out, size_t len)
{
	struct t_ethview v;
	char cmd[128];
	size_t used;
	int rc;

	snprintf(cmd, sizeof(cmd), "ip -d link show dev %s", ifn);
	rc = t_run(cmd, out, len);
	T_CHECK(rc == 0, "%s: exit %d: %s", cmd, rc, out);
	t_ethview((int)if_nametoindex(ifn), &v);
	used = strlen(out);
	snprintf(out + used, len - used, "rings %d %u/%u %u/%u\nchannels %d "
		 "%u/%u %u/%u %u/%u %u/%u\nflags 0x%x\nfeatures",
		 v.rings_ret, v.rings.rx_pending, v.rings.rx_max_pending,
		 v.rings.tx_pending, v.rings.tx_max_pending, v.ch_ret,
		 v.ch.rx_count, v.ch.max_rx, v.ch.tx_count, v.ch.max_tx,
		 v.ch.other_count, v.ch.max_other, v.ch.combined_count,
		 v.ch.max_combined, v.flags.data);
	for (uint32_t i = 0; i < v.feat.hdr.size; i++) {
		used = strlen(out);
		snprintf(out + used, len - used, " %08x/%08x",
			 v.feat.hdr.features[i].active,
			 v.feat.hdr.features[i].requested);
	}
}

/* Run jsoncheck on file with the paths; lines[i] receives each answer. */
static int jq(const char *file, const char *const *paths, int n, char *out,
	      size_t len, char **lines)
{
	char cmd[8192];
	size_t used;
	int rc;

	used = (size_t)snprintf(cmd, sizeof(cmd), "%s %s", jsoncheck, file);
	for (int i = 0; i < n && used < sizeof(cmd); i++)
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " '%s'",
					 paths[i]);
	T_CHECK(used < sizeof(cmd), "command too long");
	rc = t_run(cmd, out, len);
	for (int i = 0; i < n; i++) {
		char *nl = strchr(out, '\n');

		lines[i] = out;
		if (nl) {
			*nl = '\0';
			out = nl + 1;
		} else {
			out += strlen(out);
		}
	}
	return rc;
}

static const char *q1(const char *file, const char *path)
{
	static char out[4096];
	char *line;
	const char *paths[1] = { path };

	T_CHECK(jq(file, paths, 1, out, sizeof(out), &line) == 0,
		"jsoncheck %s %s failed: %s", file, path, out);
	return line;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* The schema of docs/doctor.md, checked from outside. */
static void check_schema(const char *file, int nifs)
{
	static const char *const statuses[] = { "pass", "warn", "fail", "skip",
						NULL };
	static const char *const groups[] = { "kernel", "privileges",
					      "exporters", "interface", NULL };
	static const char *const bools[] = { "true", "false", NULL };
	char out[8192], path[5][64], *l[5];
	const char *pp[5];
	int n;

	T_CHECK(!strcmp(q1(file, "schema_version"), "1"), "schema_version");
	T_CHECK(one_of(q1(file, "ready"), bools), "ready");
	T_CHECK(one_of(q1(file, "asked.tx"), bools) &&
		one_of(q1(file, "asked.rx"), bools), "asked");
	T_CHECK(q1(file, "kernel_release")[0], "kernel_release");
	T_CHECK(strchr(q1(file, "library_version"), '.'), "library_version");
	n = atoi(q1(file, "checks.#"));
	T_CHECK(n >= 13, "only %d checks", n);
	for (int i = 0; i < n; i++) {
		static const char *const f[] = { "id", "group", "status", "fix",
						 "evidence" };

		for (int k = 0; k < 5; k++) {
			snprintf(path[k], sizeof(path[k]), "checks.%d.%s", i, f[k]);
			pp[k] = path[k];
		}
		T_CHECK(jq(file, pp, 5, out, sizeof(out), l) == 0, "check %d", i);
		T_CHECK(l[0][0] && one_of(l[1], groups) && one_of(l[2], statuses),
			"check %d: id '%s' group '%s' status '%s'", i, l[0], l[1],
			l[2]);
		T_CHECK(l[4][0], "check %s has no evidence", l[0]);
		if (!strcmp(l[2], "warn") || !strcmp(l[2], "fail"))
			T_CHECK(strcmp(l[3], "null") && l[3][0],
				"check %s is %s without a fix", l[0], l[2]);
		if (!strcmp(l[2], "pass"))
			T_CHECK(!strcmp(l[3], "null"), "pass %s with a fix", l[0]);
	}
	T_CHECK(atoi(q1(file, "interfaces.#")) == nifs, "interfaces.# %s want %d",
		q1(file, "interfaces.#"), nifs);
}

/* Our own probes: what the kernel says for ifindex. */
struct expect {
	int tx_ret;
	char tx_extack[256];
	bool no_header_split;
};

static void derive(int ifindex, struct expect *x)
{
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, NULL);
	struct dmt_rings r;
	uint32_t id;
	int fd, ret;

	T_CHECK(ctx, "ctx: %s", strerror(errno));
	fd = memfd_create("t_doctor_host", MFD_CLOEXEC);
	T_CHECK(fd >= 0, "memfd");
	x->tx_ret = dmt_ctx_bind_tx(ctx, ifindex, fd, &id);
	if (x->tx_ret == -DMT_ERR_NO_NETMEM_TX)	/* the kernel's EOPNOTSUPP */
		x->tx_ret = -EOPNOTSUPP;
	snprintf(x->tx_extack, sizeof(x->tx_extack), "%s",
		 dmt_ctx_last_error(ctx)->extack);
	close(fd);
	ret = dmt_ethtool_rings_get(ctx, ifindex, &r);
	x->no_header_split = ret == -EOPNOTSUPP ||
			     (ret == 0 && !r.has_tcp_data_split);
	dmt_ctx_free(ctx);
}

static void check_iface(const char *file, int idx, const char *name,
			const struct expect *x)
{
	char p[96];
	const char *v;

	snprintf(p, sizeof(p), "interfaces.%d.name", idx);
	T_CHECK(!strcmp(q1(file, p), name), "%s: name %s", p, q1(file, p));
	snprintf(p, sizeof(p), "interfaces.%d.ifindex", idx);
	T_CHECK(atoi(q1(file, p)) == (int)if_nametoindex(name), "ifindex");
	if (x->tx_ret == -EOPNOTSUPP) {
		T_CHECK(x->tx_extack[0], "%s: kernel gave no message", name);
		snprintf(p, sizeof(p), "interfaces.%d.tx.ready", idx);
		T_CHECK(!strcmp(q1(file, p), "false"), "%s tx ready", name);
		snprintf(p, sizeof(p), "interfaces.%d.tx.reason", idx);
		v = q1(file, p);
		T_CHECK(strstr(v, x->tx_extack) && strstr(v, "netmem TX"),
			"%s: TX reason '%s' lacks the kernel's '%s'", name, v,
			x->tx_extack);
		printf("%s TX: not ready: %s\n", name, v);
	} else {
		printf("%s: bind-tx probe gave %d, TX verdict not asserted\n",
		       name, x->tx_ret);
	}
	if (x->no_header_split) {
		snprintf(p, sizeof(p), "interfaces.%d.rx.ready", idx);
		T_CHECK(!strcmp(q1(file, p), "false"), "%s rx ready", name);
		snprintf(p, sizeof(p), "interfaces.%d.rx.reason", idx);
		v = q1(file, p);
		T_CHECK(strstr(v, "header split (tcp-data-split) unsupported"),
			"%s: RX reason '%s'", name, v);
		printf("%s RX: not ready: %s\n", name, v);
	}
}

static int run_cli(const char *args, const char *outfile, char *out,
		   size_t len)
{
	char cmd[1024];

	if (outfile)
		snprintf(cmd, sizeof(cmd), "%s doctor %s > %s", t_cli(), args,
			 outfile);
	else
		snprintf(cmd, sizeof(cmd), "%s doctor %s", t_cli(), args);
	return t_run(cmd, out, len);
}

static int veth_side(void *arg)
{
	const struct netpair *p = arg;
	const char *ifn = p->ifname[0];
	static char before[16384], after[16384], out[16384];
	char file[256], args[64];
	struct expect x;
	int rc;

	derive((int)if_nametoindex(ifn), &x);
	snapshot(ifn, before, sizeof(before));
	snprintf(file, sizeof(file), "%s/veth.json", tmpdir);
	snprintf(args, sizeof(args), "%s --json", ifn);
	rc = run_cli(args, file, out, sizeof(out));
	T_CHECK(rc == 1, "doctor %s: exit %d (%s)", args, rc, out);
	check_schema(file, 1);
	check_iface(file, 0, ifn, &x);
	T_CHECK(x.tx_ret == -EOPNOTSUPP && x.no_header_split,
		"veth is expected to lack netmem TX and header split");
	/* no name: every non-loopback interface of this namespace = the veth */
	snprintf(file, sizeof(file), "%s/veth-all.json", tmpdir);
	rc = run_cli("--json", file, out, sizeof(out));
	T_CHECK(rc == 1, "doctor --json in netns: exit %d", rc);
	check_schema(file, 1);
	T_CHECK(!strcmp(q1(file, "interfaces.0.name"), ifn), "all = veth");
	snapshot(ifn, after, sizeof(after));
	T_CHECK(!strcmp(before, after), "veth state changed:\n--- before\n%s\n"
		"--- after\n%s", before, after);
	return 0;
}

int main(void)
{
	static char lo_before[16384], lo_after[16384], e_before[16384],
		e_after[16384], out[65536];
	char file[256], *slash;
	struct expect xlo, xeth;
	struct netpair np;
	bool eth0 = if_nametoindex("eth0") > 0;
	ssize_t n;
	int rc;

	t_require_root();
	n = readlink("/proc/self/exe", jsoncheck, sizeof(jsoncheck) - 32);
	T_CHECK(n > 0, "readlink");
	jsoncheck[n] = '\0';
	slash = strrchr(jsoncheck, '/');
	strcpy(slash + 1, "dmt_jsoncheck");
	T_CHECK(access(jsoncheck, X_OK) == 0, "%s missing", jsoncheck);
	T_CHECK(access(t_cli(), X_OK) == 0, "CLI %s missing", t_cli());
	T_CHECK(mkdtemp(tmpdir), "mkdtemp");
	owner = getpid();
	atexit(cleanup);
	{
		struct dmt_ctx *c = t_ctx();
		dmt_ctx_free(c);
	}

	derive((int)if_nametoindex("lo"), &xlo);
	if (eth0)
		derive((int)if_nametoindex("eth0"), &xeth);
	snapshot("lo", lo_before, sizeof(lo_before));
	if (eth0)
		snapshot("eth0", e_before, sizeof(e_before));

	/* lo eth0 --json: not ready, exit 1 */
	snprintf(file, sizeof(file), "%s/host.json", tmpdir);
	rc = run_cli(eth0 ? "lo eth0 --json" : "lo --json", file, out,
		     sizeof(out));
	T_CHECK(rc == 1, "doctor lo eth0 --json: exit %d (%s)", rc, out);
	check_schema(file, eth0 ? 2 : 1);
	T_CHECK(!strcmp(q1(file, "ready"), "false"), "ready");
	T_CHECK(!strcmp(q1(file, "asked.tx"), "true") &&
		!strcmp(q1(file, "asked.rx"), "true"), "asked both");
	check_iface(file, 0, "lo", &xlo);
	if (eth0)
		check_iface(file, 1, "eth0", &xeth);

	/* --tx: RX not judged */
	snprintf(file, sizeof(file), "%s/tx.json", tmpdir);
	rc = run_cli("lo --tx --json", file, out, sizeof(out));
	T_CHECK(rc == 1, "doctor lo --tx: exit %d", rc);
	T_CHECK(!strcmp(q1(file, "asked.rx"), "false") &&
		!strcmp(q1(file, "interfaces.0.rx.ready"), "null") &&
		!strcmp(q1(file, "interfaces.0.rx.asked"), "false"), "--tx");

	/* human output: groups, statuses, verdict lines */
	rc = run_cli(eth0 ? "eth0" : "lo", NULL, out, sizeof(out));
	T_CHECK(rc == 1, "human: exit %d", rc);
	T_CHECK(strstr(out, "\nKernel\n") && strstr(out, "\nPrivileges\n") &&
		strstr(out, "dma-buf exporters") && strstr(out, "PASS  ") &&
		strstr(out, "FAIL  ") && strstr(out, "fix: ") &&
		strstr(out, "\nVerdict\n") && strstr(out, "TX: not ready: ") &&
		strstr(out, "RX: not ready: "), "human output:\n%s", out);

	/* usage errors: exit 2, one line */
	rc = run_cli("lo nosuchif0", NULL, out, sizeof(out));
	T_CHECK(rc == 2 && strstr(out, "nosuchif0") &&
		strchr(out, '\n') == out + strlen(out) - 1,
		"unknown interface: exit %d, '%s'", rc, out);
	rc = run_cli("--bogus", NULL, out, sizeof(out));
	T_CHECK(rc == 2 && strchr(out, '\n') == out + strlen(out) - 1,
		"bad option: exit %d '%s'", rc, out);
	rc = run_cli("--help", NULL, out, sizeof(out));
	T_CHECK(rc == 0 && strstr(out, "usage"), "--help: %d", rc);

	/* the veth, inside a private namespace */
	rc = netpair_create(&np, 0, out, 256);
	T_CHECK(rc == 0, "netpair: %s", out);
	rc = netpair_run(&np, 0, veth_side, &np, NULL);
	netpair_destroy(&np);
	T_CHECK(rc == 0, "veth side exited %d", rc);

	/* nothing changed on lo and eth0 */
	snapshot("lo", lo_after, sizeof(lo_after));
	T_CHECK(!strcmp(lo_before, lo_after), "lo changed:\n%s\n---\n%s",
		lo_before, lo_after);
	if (eth0) {
		snapshot("eth0", e_after, sizeof(e_after));
		T_CHECK(!strcmp(e_before, e_after), "eth0 changed:\n%s\n---\n%s",
			e_before, e_after);
	}
	printf("doctor_host: ok (state of lo%s and the veth unchanged)\n",
	       eth0 ? ", eth0" : "");
	return T_PASS;
}
