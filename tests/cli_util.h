/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the CLI tests (cli_*.c): run the devmemtcp binary with its
 * output in a file, wait with a deadline, find the port a server printed,
 * and an independent oracle of the ncdevmem pattern (byte i of the stream
 * is s = (1 + i) mod v, written as s, or '\n' when s is 0).
 */
#ifndef DMT_TEST_CLI_UTIL_H
#define DMT_TEST_CLI_UTIL_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static inline unsigned char oracle_byte(uint64_t i, unsigned int v)
{
	unsigned int s = (unsigned int)((1 + i) % v);

	return s ? (unsigned char)s : (unsigned char)'\n';
}

static inline double cu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a child runs: argv with stdin from in (NULL: /dev/null), stdout to
 * out and stderr to err (NULL: same as stdout). */
struct cu_exec {
	char *const *argv;
	const char *in, *out, *err;
};

/* Redirect and exec (in a child); returns 126/127 only on failure. Usable
 * as a netpair_run() function. */
static inline int cu_exec_fn(void *arg)
{
	const struct cu_exec *e = arg;
	int in = open(e->in ? e->in : "/dev/null", O_RDONLY);
	int out = open(e->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err = e->err ? open(e->err, O_WRONLY | O_CREAT | O_TRUNC, 0600) : out;

	if (in < 0 || out < 0 || err < 0)
		return 126;
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	execvp(e->argv[0], e->argv);
	return 127;
}

static inline pid_t cu_spawn(char *const argv[], const char *in_path,
			     const char *out_path, const char *err_path)
{
	struct cu_exec e = { argv, in_path, out_path, err_path };
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(cu_exec_fn(&e));
	return pid;
}

/* Wait for pid at most timeout_s; on timeout kill it (SIGKILL) and return
 * -1. Otherwise the exit status (128 + signal when killed). */
static inline int cu_wait(pid_t pid, double timeout_s)
{
	double end = cu_now() + timeout_s;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (cu_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fprintf(stderr, "pid %d ran past %.0f s: killed\n", (int)pid,
				timeout_s);
			return -1;
		}
		usleep(5000);
	}
}

/* Read a whole file (NUL-terminated); *len may be NULL. Caller frees. */
static inline char *cu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0, cap = 0;

	if (len)
		*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap - n < 65536) {	/* grow geometrically: big files */
			size_t ncap = cap ? cap * 2 : 65536;
			char *t = realloc(b, ncap + 1);
			T_CHECK(t, "out of memory");
			b = t;
			cap = ncap;
		}
		r = fread(b + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	if (!b)
		b = calloc(1, 1);
	T_CHECK(b, "out of memory");
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

/* Wait until out_path shows "key=" at the start of a line; copy the value.
 * Returns 0, or -1 after timeout_s or when pid exited. */
static inline int cu_wait_kv(const char *out_path, const char *key, pid_t pid,
			     char *val, size_t vlen, double timeout_s)
{
	double end = cu_now() + timeout_s;
	char pat[64];

	snprintf(pat, sizeof(pat), "%s=", key);
	while (cu_now() < end) {
		char *s = cu_slurp(out_path, NULL);
		char *p = s;

		while (p && (p = strstr(p, pat))) {
			if (p == s || p[-1] == '\n') {
				size_t k = strcspn(p + strlen(pat), "\n");
				if (p[strlen(pat) + k] == '\n') {
					snprintf(val, vlen, "%.*s", (int)k,
						 p + strlen(pat));
					free(s);
					return 0;
				}
			}
			p++;
		}
		free(s);
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10000);
	}
	return -1;
}

/* "key=value" value of a finished output, or NULL. Static buffer. */
static inline const char *cu_kv(const char *text, const char *key)
{
	static char val[512];
	char pat[64];
	const char *p = text;

	snprintf(pat, sizeof(pat), "%s=", key);
	while ((p = strstr(p, pat))) {
		if (p == text || p[-1] == '\n') {
			size_t k = strcspn(p + strlen(pat), "\n");
			snprintf(val, sizeof(val), "%.*s", (int)k, p + strlen(pat));
			return val;
		}
		p++;
	}
	return NULL;
}

/* Copy the value of key (or "?") into d, truncated to n - 1 bytes. */
static inline void cu_cp(char *d, size_t n, const char *text, const char *key)
{
	const char *v = cu_kv(text, key);
	size_t l;

	if (!v)
		v = "?";
	l = strlen(v);
	if (l >= n)
		l = n - 1;
	memcpy(d, v, l);
	d[l] = '\0';
}

/* Port from "listen=ADDR:PORT". */
static inline int cu_port_of(const char *listen)
{
	const char *c = strrchr(listen, ':');

	return c ? atoi(c + 1) : -1;
}

/* 1 when an executable named prog is in PATH. */
static inline bool cu_have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* A TCP port that was free a moment ago on 127.0.0.1. */
static inline int cu_free_port(void)
{
	int port = 0;
	int fd = t_listen("127.0.0.1", &port);

	close(fd);
	return port;
}

/* Wait until something listens on TCP port (from /proc/net/tcp{,6}). */
static inline bool cu_wait_listen(int port, double timeout_s)
{
	double end = cu_now() + timeout_s;
	char want[16];

	snprintf(want, sizeof(want), ":%04X ", port);
	while (cu_now() < end) {
		const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };

		for (int i = 0; i < 2; i++) {
			char *s = cu_slurp(files[i], NULL), *line;

			for (line = s ? strtok(s, "\n") : NULL; line;
			     line = strtok(NULL, "\n")) {
				char *l = strstr(line, want);
				/* local address column, state 0A = LISTEN */
				if (l && l < line + 60 && strstr(line, " 0A ")) {
					free(s);
					return true;
				}
			}
			free(s);
		}
		usleep(10000);
	}
	return false;
}

/* Write n bytes of the oracle pattern to path. */
static inline void cu_write_pattern(const char *path, uint64_t n, unsigned int v)
{
	FILE *f = fopen(path, "wb");
	unsigned char buf[65536];
	uint64_t i = 0;

	T_CHECK(f, "%s: %s", path, strerror(errno));
	while (i < n) {
		size_t k = n - i < sizeof(buf) ? (size_t)(n - i) : sizeof(buf);
		for (size_t j = 0; j < k; j++)
			buf[j] = oracle_byte(i + j, v);
		T_CHECK(fwrite(buf, 1, k, f) == k, "write %s", path);
		i += k;
	}
	T_CHECK(fclose(f) == 0, "close %s", path);
}

/* Compare a file against the oracle: -1 when equal, else the first
 * differing offset (or the shorter length). */
static inline int64_t cu_check_pattern(const char *path, uint64_t n,
				       unsigned int v)
{
	size_t len;
	unsigned char *b = (unsigned char *)cu_slurp(path, &len);
	int64_t bad = -1;

	if (!b)
		return 0;
	for (size_t i = 0; i < len && i < n; i++)
		if (b[i] != oracle_byte(i, v)) {
			bad = (int64_t)i;
			break;
		}
	if (bad < 0 && len != n)
		bad = (int64_t)(len < n ? len : n);
	free(b);
	return bad;
}

static char cu_tmpdir_path[64];
static pid_t cu_tmpdir_owner;

static inline void cu_tmpdir_cleanup(void)
{
	char cmd[128];

	/* forked children exit too: only the process that made it removes */
	if (!cu_tmpdir_path[0] || getpid() != cu_tmpdir_owner)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cu_tmpdir_path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", cu_tmpdir_path);
}

/* A private temporary directory; removed by cu_rmdir(), and at exit when a
 * check fails first. */
static inline void cu_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/dmt-cli-XXXXXX");
	T_CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	if (!cu_tmpdir_owner)
		atexit(cu_tmpdir_cleanup);
	cu_tmpdir_owner = getpid();
	snprintf(cu_tmpdir_path, sizeof(cu_tmpdir_path), "%s", dir);
}

static inline void cu_rmdir(const char *dir)
{
	char cmd[300];

	if (!strcmp(dir, cu_tmpdir_path))
		cu_tmpdir_path[0] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}


/* ---- one verified client -> server transfer ---- */

/* Starts e in side (0 client, 1 server); returns the pid. */
typedef pid_t (*cu_launch_fn)(void *ctx, int side, struct cu_exec *e);

static inline pid_t cu_launch_local(void *ctx, int side, struct cu_exec *e)
{
	(void)ctx;
	(void)side;
	return cu_spawn(e->argv, e->in, e->out, e->err);
}

struct cu_pair {
	cu_launch_fn launch;
	void *ctx;
	const char *dir;	/* scratch directory */
	const char *srv_addr;	/* server -s and client -s */
	const char *engine;	/* client --engine */
	uint64_t size;
	unsigned int v;
	const char *stdin_file;	/* send this file as stdin instead of --size */
	const char *extra[6];	/* more client arguments */
};

/* 0 when both ends exit 0 and the server verified size bytes. */
static inline int cu_pair_run(const struct cu_pair *p)
{
	char so[256], co[256], lis[128], sz[32], vs[8], port[8];
	char *sargv[20], *cargv[24];
	struct cu_exec se, ce;
	int n = 0, rs, rc, bad = 0;
	char *sout, *cout;
	const char *k;
	pid_t sp, cp;

	snprintf(so, sizeof(so), "%s/server.out", p->dir);
	snprintf(co, sizeof(co), "%s/client.out", p->dir);
	unlink(so);	/* no stale listen= line from the previous case */
	unlink(co);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)p->size);
	snprintf(vs, sizeof(vs), "%u", p->v);
	sargv[n++] = (char *)t_cli(); sargv[n++] = "server";
	sargv[n++] = "-s"; sargv[n++] = (char *)p->srv_addr;
	sargv[n++] = "-p"; sargv[n++] = "0";
	sargv[n++] = "-v"; sargv[n++] = vs;
	sargv[n++] = "--size"; sargv[n++] = sz;
	sargv[n++] = "--timeout"; sargv[n++] = "20";
	sargv[n++] = "-i"; sargv[n++] = "0";
	sargv[n++] = "-V";	/* the configuration lines (engine=...) too */
	sargv[n] = NULL;
	se = (struct cu_exec){ sargv, NULL, so, NULL };
	sp = p->launch(p->ctx, 1, &se);
	T_CHECK(sp > 0, "server did not start");
	if (cu_wait_kv(so, "listen", sp, lis, sizeof(lis), 10) < 0) {
		char *t = cu_slurp(so, NULL);
		fprintf(stderr, "server did not listen:\n%s\n", t ? t : "");
		free(t);
		cu_wait(sp, 1);
		return 1;
	}
	snprintf(port, sizeof(port), "%d", cu_port_of(lis));
	n = 0;
	cargv[n++] = (char *)t_cli(); cargv[n++] = "client";
	cargv[n++] = "-s"; cargv[n++] = (char *)p->srv_addr;
	cargv[n++] = "-p"; cargv[n++] = port;
	cargv[n++] = "-v"; cargv[n++] = vs;
	cargv[n++] = "--engine"; cargv[n++] = (char *)p->engine;
	cargv[n++] = "-i"; cargv[n++] = "0";
	cargv[n++] = "--timeout"; cargv[n++] = "20";
	cargv[n++] = "-V";
	if (!p->stdin_file) {
		cargv[n++] = "--size"; cargv[n++] = sz;
	}
	for (int i = 0; i < 6 && p->extra[i]; i++)
		cargv[n++] = (char *)p->extra[i];
	cargv[n] = NULL;
	ce = (struct cu_exec){ cargv, p->stdin_file, co, NULL };
	cp = p->launch(p->ctx, 0, &ce);
	T_CHECK(cp > 0, "client did not start");
	rc = cu_wait(cp, 40);
	rs = cu_wait(sp, rc == 0 ? 20 : 2);
	sout = cu_slurp(so, NULL);
	cout = cu_slurp(co, NULL);
	T_CHECK(sout && cout, "outputs missing");
	if (rc != 0 || rs != 0)
		bad = 1;
	if (!(k = cu_kv(sout, "bytes")) || strtoull(k, NULL, 10) != p->size)
		bad = 1;
	if (!(k = cu_kv(sout, "mismatches")) || strcmp(k, "0"))
		bad = 1;
	if (!(k = cu_kv(sout, "complete")) || strcmp(k, "true"))
		bad = 1;
	if (!(k = cu_kv(cout, "complete")) || strcmp(k, "true"))
		bad = 1;
	if (!(k = cu_kv(cout, "engine")) ||
	    (strcmp(p->engine, "auto") && strcmp(k, p->engine)))
		bad = 1;
	if (!cu_kv(cout, "engine_reason") || !cu_kv(cout, "engine_reason")[0])
		bad = 1;
	if ((k = cu_kv(cout, "engine")) && (!strcmp(k, "zerocopy") ||
	    !strcmp(k, "uring")) && (!(k = cu_kv(cout, "zc_completions")) ||
	    !strtoull(k, NULL, 10)))
		bad = 1;	/* zero-copy engines must have reaped completions */
	{
		char ce_[32], zc_[8], sb_[32], sm_[32], tp_[32];

#define CU_CP(dst, txt, key) cu_cp(dst, sizeof(dst), txt, key)
		CU_CP(ce_, cout, "engine");
		CU_CP(zc_, cout, "zc");
		CU_CP(sb_, sout, "bytes");
		CU_CP(sm_, sout, "mismatches");
		CU_CP(tp_, sout, "throughput_GBps");
#undef CU_CP
		printf("%s engine=%s%s%s size=%llu: client exit %d (engine %s, "
		       "zc=%s), server exit %d (bytes %s, mismatches %s, %s GB/s)\n",
		       bad ? "FAIL" : "ok", p->engine, p->stdin_file ? " stdin" : "",
		       p->extra[0] ? " +args" : "", (unsigned long long)p->size,
		       rc, ce_, zc_, rs, sb_, sm_, tp_);
	}
	if (bad)
		fprintf(stderr, "--- server output\n%s--- client output\n%s---\n",
			sout, cout);
	free(sout);
	free(cout);
	return bad;
}

#endif
