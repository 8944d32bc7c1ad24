// SPDX-License-Identifier: MIT
/*
 * tier B: what `devmemtcp setup` says first, on a veth in a private network
 * namespace (the veth driver has neither header split nor the queue
 * management API devmem RX needs).
 *  - as root: that the interface cannot do devmem RX whatever setup
 *    changes, naming the veth driver and the missing header split and
 *    queue API, exit 1; never a complaint about its queue counts (before:
 *    "binding all 1 RX queues of dmt0 leaves none for other traffic"),
 *    also with --dry-run and --json;
 *  - as nobody without capabilities: "run as root or with CAP_NET_ADMIN",
 *    exit 1, before the driver or the queues; with --dry-run (which needs
 *    no privilege) the driver's missing header split, exit 1;
 *  - a missing interface is exit 2: setup, setup --restore without a
 *    journal for it, and setup --restore of a journal whose interface is
 *    gone.
 */
#include <grp.h>
#include <jansson.h>

#include "cli_util.h"
#include "journal.h"
#include "netns.h"

static char dir[64];

struct run {
	bool nobody;
	char *const *args;
	char out[128];
};

/* In the namespace (a child of netpair_run): exec the CLI, output in
 * r->out, as nobody without capabilities when asked. */
static int run_fn(void *arg)
{
	struct run *r = arg;
	char *argv[16] = { (char *)t_cli() };
	int fd = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644), n = 1;

	if (fd < 0)
		_exit(126);
	for (int i = 0; r->args[i] && n < 15; i++)
		argv[n++] = r->args[i];
	argv[n] = NULL;
	dup2(fd, 1);
	dup2(fd, 2);
	if (r->nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			  setresuid(65534, 65534, 65534)))
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

/* Run the CLI in side 0 of np (NULL: here); exit status, output in text
 * (caller frees). */
static int run(const struct netpair *np, bool nobody, char **text,
	       char *const args[])
{
	struct run r = { .nobody = nobody, .args = args };
	int st;

	snprintf(r.out, sizeof(r.out), "%s/out", dir);
	if (np) {
		st = netpair_run(np, 0, run_fn, &r, NULL);
	} else {
		pid_t pid = fork();

		T_CHECK(pid >= 0, "fork");
		if (pid == 0)
			_exit(run_fn(&r));
		st = cu_wait(pid, 30);
	}
	*text = cu_slurp(r.out, NULL);
	T_CHECK(*text, "no output");
	return st;
}

/* One case: exit status want_st, output holding every string of want
 * (NULL-terminated) and none of not. 0 when so. */
static int expect(const struct netpair *np, bool nobody, int want_st,
		  const char *const *want, const char *const *not,
		  char *const args[])
{
	char *text;
	int st = run(np, nobody, &text, args), bad = st != want_st;
	char line[256] = "";

	for (int i = 0; want && want[i]; i++)
		bad |= !strstr(text, want[i]);
	for (int i = 0; not && not[i]; i++)
		bad |= strstr(text, not[i]) != NULL;
	for (int i = 0; args[i]; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s",
			 args[i]);
	printf("%s%s%s: exit %d: %s", bad ? "FAIL" : "ok",
	       nobody ? " (as nobody)" : "", line, st, text);
	free(text);
	return bad;
}

#define S(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define A(...) ((char *const[]){ __VA_ARGS__, NULL })

/* A journal for an interface that is not here, left by a dead process. */
static void gone_journal(const char *ifname)
{
	char text[1024], rec[3][64], path[200];
	const char *recs[] = { "devmemtcp-journal 2", rec[0], rec[1], rec[2],
			       "bind 7", NULL };
	size_t used = 0;
	FILE *f;

	snprintf(rec[0], sizeof(rec[0]), "ifname %s", ifname);
	snprintf(rec[1], sizeof(rec[1]), "ifindex 999999");
	snprintf(rec[2], sizeof(rec[2]), "pid 4194000 12345");
	for (int i = 0; recs[i]; i++) {
		int n = dmt_journal_line(text + used, sizeof(text) - used, recs[i]);

		T_CHECK(n > 0, "journal line");
		used += (size_t)n;
	}
	snprintf(path, sizeof(path), "%s/%s.journal", dir, ifname);
	f = fopen(path, "w");
	T_CHECK(f && fwrite(text, 1, used, f) == used && fclose(f) == 0,
		"write %s", path);
}

int main(void)
{
	static const char *const queue_talk[] = { "queues", "RX queue", NULL };
	char port[16], gone[IF_NAMESIZE], jdir_arg[80];
	struct netpair np;
	int bad = 0;

	t_require_root();
	cu_tmpdir(dir, sizeof(dir));
	t_netpair(&np);
	snprintf(port, sizeof(port), "%d", 20000 + getpid() % 20000);
	snprintf(gone, sizeof(gone), "gone%d", getpid() % 100000);
	snprintf(jdir_arg, sizeof(jdir_arg), "%s", dir);

	/* root: the driver, never the queue counts */
	bad += expect(&np, false, 1, S("dmt0 (driver veth) cannot do devmem RX",
				       "no header split", "no queue management API"),
		      queue_talk, A("setup", "dmt0", "--port", port));
	bad += expect(&np, false, 1, S("cannot do devmem RX", "driver veth"),
		      queue_talk, A("setup", "dmt0", "--port", port, "-n"));
	{
		char *text;
		json_error_t je;
		json_t *d;
		int st = run(&np, false, &text, A("setup", "dmt0", "--port", port,
						   "--no-rss", "--json"));
		char *nl = strchr(text, '\n');

		T_CHECK(nl, "setup --json: no line: %s", text);
		*nl = '\0';	/* the document's line; stderr follows */
		d = json_loads(text, 0, &je);
		T_CHECK(st == 1 && d && json_is_false(json_object_get(d, "ok")) &&
			strstr(json_string_value(json_object_get(d, "error")),
			       "cannot do devmem RX"), "setup --json: exit %d: %s",
			st, text);
		printf("ok setup dmt0 --json: exit 1, ok false, the driver in "
		       "\"error\"\n");
		json_decref(d);
		free(text);
	}
	/* nobody: the privilege first; with -n (no privilege needed) the
	 * driver, still not the queues */
	bad += expect(&np, true, 1, S("run as root or with CAP_NET_ADMIN"),
		      S("devmem RX", "queues", "RX queue"),
		      A("setup", "dmt0", "--port", port));
	bad += expect(&np, true, 1, S("dmt0 (driver veth) cannot do devmem RX",
				      "no header split"),
		      queue_talk, A("setup", "dmt0", "--port", port, "-n"));
	/* a missing interface: exit 2 */
	bad += expect(&np, false, 2, S("no interface 'nosuch0'"), NULL,
		      A("setup", "nosuch0", "--port", port));
	bad += expect(NULL, false, 2, S("no interface 'nosuch0'", "no journal"),
		      NULL, A("setup", "--restore", "nosuch0", "--journal-dir",
			      jdir_arg));
	gone_journal(gone);
	bad += expect(NULL, false, 2, S("no longer exists"), NULL,
		      A("setup", "--restore", gone, "--journal-dir", jdir_arg));
	netpair_destroy(&np);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	return T_PASS;
}
