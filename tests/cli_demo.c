// SPDX-License-Identifier: MIT
/*
 * devmemtcp demo --size 64M: exit 0, names the engine and its reason and
 * says whether devmem is available and why; afterwards no process of the
 * demo (namespace holders, server, client) is alive and no veth of it is
 * in the root namespace. Then the same after SIGTERM and SIGINT in the
 * middle of a long run, and the --json document (its rates whole
 * bytes_per_second and bits_per_second, consistent with the server's
 * bytes and seconds).
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <sys/prctl.h>

#include "cli_util.h"

/* Live processes whose parent is us (we are a subreaper, so orphans of
 * the demo land here). Zombies are reaped first. */
static int leftovers(char *names, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	names[0] = '\0';
	T_CHECK(d, "opendir /proc");
	while ((e = readdir(d))) {
		char path[300], buf[512], comm[64] = "", state = 0;
		int ppid = 0;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *rp = strrchr(buf, ')');
			if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 &&
			    ppid == getpid() && state != 'Z') {
				sscanf(buf, "%*d (%63[^)]", comm);
				n++;
				snprintf(names + strlen(names), len - strlen(names),
					 " %s(%s)", e->d_name, comm);
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void check_clean(const char *when)
{
	char names[512], out[4096];

	usleep(100000);
	T_CHECK(leftovers(names, sizeof(names)) == 0, "%s: processes left:%s",
		when, names);
	T_CHECK(t_run("ip -o link show type veth", out, sizeof(out)) == 0,
		"ip link: %s", out);
	T_CHECK(!strstr(out, " dmt0") && !strstr(out, " dmt1"),
		"%s: veth left in the root namespace: %s", when, out);
}

static void interrupted(const char *dir, int sig)
{
	char o[128], *text;
	char *argv[] = { (char *)t_cli(), "demo", "--size", "64G", NULL };
	pid_t pid;
	int st;

	snprintf(o, sizeof(o), "%s/demo-sig.out", dir);
	pid = cu_spawn(argv, NULL, o, NULL);
	/* let it set up and start moving data */
	for (int i = 0; i < 200; i++) {
		text = cu_slurp(o, NULL);
		bool up = text && strstr(text, "setting up");
		free(text);
		if (up)
			break;
		usleep(10000);
	}
	usleep(700000);
	kill(pid, sig);
	st = cu_wait(pid, 15);
	text = cu_slurp(o, NULL);
	printf("demo after %s: exit %d\n", strsignal(sig), st);
	T_CHECK(st == 128 + sig, "exit %d after %s, want %d; output:\n%s", st,
		strsignal(sig), 128 + sig, text ? text : "");
	T_CHECK(text && strstr(text, "stopped; children and namespaces removed"),
		"no stop notice:\n%s", text ? text : "");
	free(text);
	check_clean(strsignal(sig));
}

int main(void)
{
	char dir[64], o[128], *text;
	char *argv[] = { (char *)t_cli(), "demo", "--size", "64M", NULL };
	char *jargv[] = { (char *)t_cli(), "demo", "--size", "16M", "--json", NULL };
	bool root = geteuid() == 0;
	size_t len;
	pid_t pid;
	int st;

	T_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper: %s",
		strerror(errno));
	cu_tmpdir(dir, sizeof(dir));
	snprintf(o, sizeof(o), "%s/demo.out", dir);
	pid = cu_spawn(argv, NULL, o, NULL);
	st = cu_wait(pid, 50);
	text = cu_slurp(o, NULL);
	T_CHECK(text, "no output");
	printf("%s", text);
	T_CHECK(st == 0, "demo exit %d", st);
	T_CHECK(strstr(text, "\nengine: ") && strstr(text, "demo: PASS"),
		"engine line or PASS missing");
	{	/* "engine: NAME (REASON)" with a non-empty reason */
		const char *e = strstr(text, "\nengine: ");
		const char *lp = strchr(e, '(');
		const char *nl = strchr(e + 1, '\n');
		T_CHECK(lp && nl && lp < nl && lp[1] != ')', "engine reason missing");
	}
	T_CHECK(strstr(text, "devmem TX here: "), "devmem availability missing");
	T_CHECK(strstr(text, "67108864 bytes received") &&
		strstr(text, " 0 mismatches"), "not 64 MiB verified");
	T_CHECK(strstr(text, "s/GB"), "CPU s/GB missing");
	if (root)
		T_CHECK(strstr(text, "topology: private network namespaces"),
			"root but no namespaces");
	if (strstr(text, "devmem TX here: not available") &&
	    access("/dev/udmabuf", F_OK) && access("/dev/dma_heap", F_OK))
		T_CHECK(strstr(text, "dma-buf exporter: none"),
			"no exporter here, but the demo does not say so");
	if (root && strstr(text, "devmem TX here: not available"))
		T_CHECK(strstr(text, "bind-tx on dmt0:"),
			"the bind-tx answer for the veth is missing");
	free(text);
	check_clean("after the demo");

	pid = cu_spawn(jargv, NULL, o, NULL);
	st = cu_wait(pid, 30);
	text = cu_slurp(o, &len);
	T_CHECK(text, "cannot read the demo's output %s", o);
	T_CHECK(st == 0, "demo --json exit %d:\n%s", st, text);
	T_CHECK(text[0] == '{' && len > 2 && text[len - 2] == '}' &&
		strchr(text, '\n') == text + len - 1, "not one JSON line:\n%s", text);
	T_CHECK(strstr(text, "\"pass\":true") && strstr(text, "\"engine_reason\":"),
		"JSON lacks pass/engine_reason:\n%s", text);
	{	/* the rates name their unit: whole bytes and bits per second,
		 * bits = 8 x bytes, bytes = the server's bytes over its time */
		json_t *d = json_loads(text, 0, NULL), *srv;
		double bps, bits, want;

		T_CHECK(d, "demo --json: not JSON:\n%s", text);
		srv = json_object_get(d, "server");
		bps = (double)json_integer_value(json_object_get(d, "bytes_per_second"));
		bits = (double)json_integer_value(json_object_get(d, "bits_per_second"));
		want = (double)json_integer_value(json_object_get(srv, "bytes")) /
		       json_number_value(json_object_get(srv, "seconds"));
		T_CHECK(bps > 0 && fabs(bits - 8 * bps) <= 8 &&
			fabs(bps - want) <= want * 0.01 &&
			json_is_number(json_object_get(srv, "cpu_ns_per_byte")) &&
			!json_object_get(d, "throughput_GBps"),
			"demo --json rates: %.0f B/s, %.0f bit/s, want %.0f B/s:\n%s",
			bps, bits, want, text);
		printf("ok: demo --json: %.0f bytes_per_second, %.0f "
		       "bits_per_second\n", bps, bits);
		json_decref(d);
	}
	free(text);
	check_clean("after demo --json");

	interrupted(dir, SIGTERM);
	interrupted(dir, SIGINT);
	cu_rmdir(dir);
	return T_PASS;
}
