/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the CLI fault tests (cli_fault_*.c): a misbehaving receiver
 * in a child process (never reads; reads some bytes into a file, then dies
 * by SIGKILL or resets the connection), the devmemtcp client or server run
 * with its stdout and stderr in files, and the JSON check by the
 * independent parser (dmt_jsoncheck).
 */
#ifndef DMT_TEST_CLI_FAULT_H
#define DMT_TEST_CLI_FAULT_H

#include <stdarg.h>
#include <sys/resource.h>

#include "cli_util.h"

enum cf_mode {
	CF_NOREAD,	/* accept, never read */
	CF_KILL,	/* read take bytes into file, wait, SIGKILL itself */
	CF_RST,		/* read take bytes into file, wait, close with RST */
};

struct cf_recv {
	enum cf_mode mode;
	uint64_t take;		/* bytes read before the fault */
	double wait_s;		/* then wait this long (the sender finishes) */
	const char *file;	/* what was read, in order */
	int port;		/* out */
	pid_t pid;		/* out */
};

static inline void cf_recv_main(struct cf_recv *r, int lfd)
{
	static unsigned char buf[65536];
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint64_t got = 0;
	int fd = accept(lfd, NULL, NULL), out = -1;

	if (fd < 0)
		_exit(3);
	close(lfd);
	if (r->mode == CF_NOREAD)
		for (;;)
			pause();
	out = open(r->file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0)
		_exit(3);
	while (got < r->take) {
		size_t want = r->take - got < sizeof(buf) ?
			      (size_t)(r->take - got) : sizeof(buf);
		ssize_t n = recv(fd, buf, want, 0);

		if (n <= 0)
			_exit(4);
		if (write(out, buf, (size_t)n) != n)
			_exit(5);
		got += (uint64_t)n;
	}
	close(out);
	usleep((useconds_t)(r->wait_s * 1e6));
	if (r->mode == CF_KILL)
		kill(getpid(), SIGKILL);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	_exit(0);
}

/* Listen on 127.0.0.1 (a free port) and fork the receiver. */
static inline void cf_recv_start(struct cf_recv *r)
{
	int lfd;

	r->port = 0;
	lfd = t_listen("127.0.0.1", &r->port);
	fflush(NULL);
	r->pid = fork();
	T_CHECK(r->pid >= 0, "fork: %s", strerror(errno));
	if (r->pid == 0)
		cf_recv_main(r, lfd);
	close(lfd);
}

static inline void cf_recv_stop(struct cf_recv *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

/* argv for "devmemtcp ARGS..." (NULL-terminated list, at most 30). */
static inline pid_t cf_spawn(const char *out, const char *err, ...)
{
	char *argv[32] = { (char *)t_cli() };
	va_list ap;
	int n = 1;

	va_start(ap, err);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return cu_spawn(argv, NULL, out, err);
}

/* Run dmt_jsoncheck on file for path; 0 with the value in out, or its
 * exit status (3 invalid JSON, 4 no such path). */
static inline int cf_json(const char *file, const char *path, char *out,
			  size_t outlen)
{
	char cmd[600];
	int st;

	T_CHECK(getenv("DMT_JSONCHECK"), "DMT_JSONCHECK not set (run from CTest)");
	snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s'", getenv("DMT_JSONCHECK"),
		 file, path);
	st = t_run(cmd, out, outlen);
	for (size_t l = strlen(out); l && out[l - 1] == '\n';)
		out[--l] = '\0';
	return st;
}

/* The number of times needle occurs in hay. */
static inline int cf_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Print a file (for a failure's context). */
static inline void cf_dump(const char *label, const char *path)
{
	char *t = cu_slurp(path, NULL);

	fprintf(stderr, "--- %s (%s)\n%s---\n", label, path, t ? t : "(none)");
	free(t);
}

/* A client run against the misbehaving receiver R: starts R, runs the
 * client to 127.0.0.1 with ENGINE, --size SIZE, --timeout TIMEOUT (and
 * --json), waits at most WAIT_S, stops R. Fills the paths of its stdout
 * and stderr in DIR, their contents (the caller frees them), its exit
 * status and the seconds it took. */
struct cf_run {
	char out[256], err[256];
	char *o, *e;
	int st;
	double dt;
};

static inline void cf_client_run(struct cf_recv *r, const char *dir,
				 const char *engine, const char *size,
				 const char *timeout, bool json, double wait_s,
				 struct cf_run *c)
{
	char port[16];
	double t0;
	pid_t pid;

	snprintf(c->out, sizeof(c->out), "%s/out", dir);
	snprintf(c->err, sizeof(c->err), "%s/err", dir);
	cf_recv_start(r);
	snprintf(port, sizeof(port), "%d", r->port);
	t0 = cu_now();
	pid = cf_spawn(c->out, c->err, "client", "-s", "127.0.0.1", "-p", port,
		       "--engine", engine, "--size", size, "--timeout", timeout,
		       "-i", "0", json ? "--json" : NULL, NULL);
	c->st = cu_wait(pid, wait_s);
	c->dt = cu_now() - t0;
	cf_recv_stop(r);
	c->o = cu_slurp(c->out, NULL);
	c->e = cu_slurp(c->err, NULL);
	T_CHECK(c->o && c->e, "outputs missing");
}

#define CF_TAKE (1u << 20)

static inline int cf_die_one(enum cf_mode mode, const char *dir,
			     const char *engine, const char *size, bool json)
{
	char file[256], v[256];
	struct cf_recv r = { .mode = mode, .take = CF_TAKE, .wait_s = 1.0,
			     .file = file };
	struct cf_run c;
	int64_t chk;
	int bad = 0;

	snprintf(file, sizeof(file), "%s/received", dir);
	cf_client_run(&r, dir, engine, size, "5", json, 30, &c);
	chk = cu_check_pattern(file, CF_TAKE, 256);
	if (c.st != 1 || c.dt > 10 || chk != -1 ||
	    !(strstr(c.e, "reset") || strstr(c.e, "Broken pipe")))
		bad = 1;
	if (json) {
		if (cf_json(c.out, "result.complete", v, sizeof(v)) ||
		    strcmp(v, "false") ||
		    cf_json(c.out, "result.bytes", v, sizeof(v)))
			bad = 1;
	} else if (!strstr(c.o, "complete=false") || !strstr(c.o, "summary:")) {
		bad = 1;
	}
	printf("%s engine=%s size=%s%s: exit %d after %.1f s, received file "
	       "%s: %s", bad ? "FAIL" : "ok", engine, size, json ? " --json" : "",
	       c.st, c.dt, chk == -1 ? "the pattern, 1 MiB" : "WRONG", c.e);
	if (bad) {
		cf_dump("client stdout", c.out);
		cf_dump("client stderr", c.err);
	}
	free(c.o);
	free(c.e);
	return bad;
}

/* The receiver reads 1 MiB, then goes away as MODE says (CF_KILL or
 * CF_RST), while the client is still sending and after it queued its last
 * byte; the client must fail clearly within its --timeout and the bytes
 * read must be the pattern from byte 0 (cli_fault_kill, cli_fault_rst). */
static inline int cf_peer_dies(enum cf_mode mode, const char *name)
{
	char dir[64];
	int bad = 0;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	bad += cf_die_one(mode, dir, "copy", "1G", false);
	bad += cf_die_one(mode, dir, "auto", "1G", false);
	bad += cf_die_one(mode, dir, "copy", "3M", false);
	bad += cf_die_one(mode, dir, "zerocopy", "3M", false);
	bad += cf_die_one(mode, dir, "auto", "3M", true);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("%s: ok\n", name);
	return T_PASS;
}

/* The four signal cases of cli_fault_sig_client and cli_fault_sig_server:
 * ONE(dir, signal, json, variant) for SIGINT and SIGTERM, text and --json,
 * with the test's variant off and on; NAME for the closing line. */
static inline int cf_sig_cases(int (*one)(const char *, int, bool, bool),
			       const char *name)
{
	char dir[64];
	int bad = 0;

	signal(SIGPIPE, SIG_IGN);
	cu_tmpdir(dir, sizeof(dir));
	bad += one(dir, SIGINT, false, false);
	bad += one(dir, SIGTERM, true, false);
	bad += one(dir, SIGINT, true, true);
	bad += one(dir, SIGTERM, false, true);
	cu_rmdir(dir);
	T_CHECK(bad == 0, "%d cases failed", bad);
	printf("%s: ok\n", name);
	return T_PASS;
}

#endif
