// SPDX-License-Identifier: MIT
/*
 * tier B: the iperf3-style options of devmemtcp client against a foreign
 * peer (tests/foreign_peer.py, python3, none of the CLI's code), across a
 * veth between two network namespaces (198.18.0.1 -> 198.18.0.2):
 *  - -t 1: the peer counts the bytes itself; the count and the client's
 *    bytes= agree, the pattern checks, no hello was sent, and the client
 *    says the receiver sent no result (and still succeeds);
 *  - -P 3 --size 8M: three connections, each 8 MiB of pattern after a
 *    hello, the client prints a line per stream and [SUM];
 *  - -R --size 16M: the peer sends the pattern the hello asks for; the
 *    client validates it; with one byte changed at offset 5000000 the
 *    client fails and names that offset.
 */
#include "cli_util.h"
#include "netns.h"

static pid_t launch_ns(const struct netpair *np, int side, struct cu_exec *e)
{
	pid_t pid = 0;

	T_CHECK(netpair_run(np, side, cu_exec_fn, e, &pid) == 0,
		"netpair_run failed");
	return pid;
}

struct run {
	int pst, cst;	/* exit statuses: peer, client */
	char *po, *co;	/* outputs */
};

/* The peer (argv after the script) in side 1, the client in side 0. */
static void run(const struct netpair *np, const char *dir, char **pargv,
		char **cargv, struct run *r)
{
	char po[128], co[128], pe[128];
	struct cu_exec pe_ = { pargv, NULL, po, pe };
	struct cu_exec ce = { cargv, NULL, co, NULL };
	pid_t pp, cp;
	double t0 = cu_now();

	snprintf(po, sizeof(po), "%s/peer.out", dir);
	snprintf(pe, sizeof(pe), "%s/peer.err", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	unlink(po);
	pp = launch_ns(np, 1, &pe_);
	for (;;) {	/* the peer prints "listening" once bound */
		char *t = cu_slurp(po, NULL);
		bool up = t && strstr(t, "listening");

		free(t);
		if (up)
			break;
		T_CHECK(cu_now() - t0 < 15, "the foreign peer did not listen");
		usleep(50000);
	}
	cp = launch_ns(np, 0, &ce);
	r->cst = cu_wait(cp, 60);
	r->pst = cu_wait(pp, 30);
	r->po = cu_slurp(po, NULL);
	r->co = cu_slurp(co, NULL);
	T_CHECK(r->po && r->co, "outputs missing");
}

static void run_free(struct run *r)
{
	free(r->po);
	free(r->co);
}

int main(void)
{
	char dir[64], port[16], script[512];
	struct netpair np;
	int bad = 0;

	t_require_root();
	T_SKIP_IF(!cu_have("python3"), "python3 is not installed");
	snprintf(script, sizeof(script), "%s/tests/foreign_peer.py", DMT_SRC_DIR);
	t_netpair(&np);
	cu_tmpdir(dir, sizeof(dir));
	snprintf(port, sizeof(port), "%d", 20000 + getpid() % 20000);

	{	/* -t 1 against a receiver that counts by itself */
		char *pa[] = { "python3", script, "recv", np.addr[1], port, "1",
			       "251", NULL };
		char *ca[] = { (char *)t_cli(), "client", "-s", np.addr[1], "-p",
			       port, "-v", "251", "-t", "1", "-i", "0",
			       "--timeout", "20", NULL };
		struct run r;
		unsigned long long pb = 0, cb = 0;
		int hello = -1, pbad = -1;
		const char *k, *l;

		run(&np, dir, pa, ca, &r);
		l = strstr(r.po, "conn 0 ");
		if (l)
			sscanf(l, "conn 0 hello %d bytes %llu bad %d", &hello, &pb,
			       &pbad);
		if ((k = cu_kv(r.co, "bytes")))
			cb = strtoull(k, NULL, 10);
		if (r.cst || r.pst || !pb || pb != cb || pbad || hello != 0 ||
		    !strstr(r.co, "sent no result (not a devmemtcp server)")) {
			bad++;
			fprintf(stderr, "--- peer\n%s--- client\n%s", r.po, r.co);
		}
		printf("%s -t 1: client exit %d, %llu bytes; the peer counted %llu, "
		       "%d bad, hello %d\n", bad ? "FAIL" : "ok", r.cst, cb, pb,
		       pbad, hello);
		run_free(&r);
	}
	{	/* -P 3: three connections, each with a hello and 8 MiB */
		char *pa[] = { "python3", script, "recv", np.addr[1], port, "3",
			       "251", NULL };
		char *ca[] = { (char *)t_cli(), "client", "-s", np.addr[1], "-p",
			       port, "-v", "251", "--size", "8M", "-P", "3", "-i",
			       "0", "--timeout", "20", NULL };
		struct run r;
		int ok = 0, b0 = bad;

		run(&np, dir, pa, ca, &r);
		for (int i = 0; i < 3; i++) {
			char want[64];

			snprintf(want, sizeof(want), "conn %d hello 1 bytes 8388608 "
				 "bad 0\n", i);
			ok += strstr(r.po, want) != NULL;
		}
		if (r.cst || r.pst || ok != 3 || !strstr(r.co, "[SUM]") ||
		    !strstr(r.co, "[  3]")) {
			bad++;
			fprintf(stderr, "--- peer\n%s--- client\n%s", r.po, r.co);
		}
		printf("%s -P 3: client exit %d, %d of 3 connections with 8 MiB of "
		       "pattern after a hello\n", bad > b0 ? "FAIL" : "ok", r.cst,
		       ok);
		run_free(&r);
	}
	for (int corrupt = 0; corrupt < 2; corrupt++) {
		/* -R: the peer sends, the client validates */
		char *pa[] = { "python3", script, "send", np.addr[1], port, "251",
			       corrupt ? "5000000" : NULL, NULL };
		char *ca[] = { (char *)t_cli(), "client", "-s", np.addr[1], "-p",
			       port, "-v", "251", "--size", "16M", "-R", "-i", "0",
			       "--timeout", "20", NULL };
		struct run r;
		int b0 = bad;

		run(&np, dir, pa, ca, &r);
		if (r.pst || !strstr(r.po, "sent 16777216") ||
		    (!corrupt && (r.cst != 0 || !strstr(r.co, "here: verified") ||
				  !strstr(r.co, "sent no result"))) ||
		    (corrupt && (r.cst != 1 ||
				 !strstr(r.co, "the first at offset 5000000")))) {
			bad++;
			fprintf(stderr, "--- peer\n%s--- client\n%s", r.po, r.co);
		}
		printf("%s -R%s: client exit %d\n", bad > b0 ? "FAIL" : "ok",
		       corrupt ? " (byte 5000000 changed)" : "", r.cst);
		run_free(&r);
	}
	netpair_destroy(&np);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d foreign cases failed", bad);
	printf("cli_foreign_iperf: ok\n");
	return T_PASS;
}
