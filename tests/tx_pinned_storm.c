// SPDX-License-Identifier: MIT
/*
 * tier B, unpriv: an ENOBUFS and locked-memory storm. In a private network
 * namespace with net.core.optmem_max lowered to 8192 (per namespace), four
 * senders run at once as the user nobody, without capabilities, each under
 * RLIMIT_MEMLOCK = 256 KiB, which their pinned pages share (the kernel
 * counts them per user): engines uring and zerocopy, TCP_NODELAY, sends of
 * 100 B to 128 KiB. Zero-copy sends then meet ENOBUFS (optmem, and pinned
 * pages for MSG_ZEROCOPY) and ENOMEM (pinned pages for io_uring) again and
 * again. Every stream must arrive whole, exactly once and in order (the
 * receiver checks the pattern), every completion must be reaped, and the
 * storm must really have happened (ENOBUFS retries counted).
 */
#include <grp.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"
#include "tx.h"

#define V 251
#define NSEND 4
#define TOTAL (8ull << 20)
#define MEMLOCK (256ull << 10)

static const size_t chunks[] = { 100, 131072, 4096, 65536, 1000, 16384, 32768 };

static int sender(int i, const struct passwd *pw, int pipefd)
{
	struct rlimit rl = { MEMLOCK, MEMLOCK };
	struct t_sink sink = { .v = V };
	size_t L = (size_t)V * 4096;
	unsigned long long pos = 0;
	enum dmt_engine eng = (i & 1) || !dmt_engine_built(DMT_ENGINE_URING) ?
			      DMT_ENGINE_ZEROCOPY : DMT_ENGINE_URING;
	struct dmt_tx_stats st = { .sz = sizeof(st) };
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	struct dmt_tx *tx;
	int one = 1;
	char line[256];

	T_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit");
	T_CHECK(setgroups(0, NULL) == 0 && setresgid(pw->pw_gid, pw->pw_gid,
		pw->pw_gid) == 0 && setresuid(pw->pw_uid, pw->pw_uid,
		pw->pw_uid) == 0, "drop to nobody: %s", strerror(errno));
	T_CHECK(geteuid() == pw->pw_uid, "still root");
	ctx = t_ctx();
	DMT_OPTS(dmt_tx_opts, opts, .engine = eng);
	tx = t_sink_tx(ctx, &sink, L, &opts, &buf);
	T_CHECK(tx->memlock == MEMLOCK, "the library sees the limit (%llu)",
		(unsigned long long)tx->memlock);
	t_pattern_fill(dmt_buf_map(buf), L, V);
	setsockopt(dmt_tx_fd(tx), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (unsigned int k = (unsigned int)i; pos < TOTAL; k++) {
		size_t off = (size_t)(pos % L), len = chunks[k % 7];
		struct dmt_seg s;
		ssize_t n;

		if (len > L - off)
			len = L - off;
		if (len > TOTAL - pos)
			len = (size_t)(TOTAL - pos);
		s.off = off;
		s.len = len;
		n = dmt_tx_send(tx, &s, 1);
		T_CHECK(n == (ssize_t)len, "sender %d (%s) at %llu: %zd: %s", i,
			dmt_engine_name(eng), pos, n, dmt_tx_last_error(tx)->message);
		pos += len;
	}
	T_CHECK(dmt_tx_flush(tx, 30000) == 0, "flush: %s",
		dmt_tx_last_error(tx)->message);
	dmt_tx_get_stats(tx, &st);
	shutdown(dmt_tx_fd(tx), SHUT_WR);
	t_sink_join(&sink);
	snprintf(line, sizeof(line), "sender %d %s: %llu bytes, enobufs/enomem "
		 "retries %llu, ids %llu completed %llu; received %llu, %llu bad\n",
		 i, dmt_engine_name(eng), (unsigned long long)st.bytes,
		 (unsigned long long)st.enobufs, (unsigned long long)st.zc_ids,
		 (unsigned long long)st.zc_completed, sink.got, sink.bad);
	fputs(line, stdout);
	T_CHECK(sink.err == 0 && sink.got == TOTAL && sink.bad == 0,
		"sender %d: stream err %d got %llu bad %llu (first %llu)", i,
		sink.err, sink.got, sink.bad, sink.first_bad);
	T_CHECK(st.bytes == TOTAL && st.zc_completed == st.zc_ids,
		"sender %d accounting", i);
	T_CHECK(write(pipefd, &st.enobufs, sizeof(st.enobufs)) ==
		sizeof(st.enobufs), "report");
	dmt_tx_free(tx);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return 0;
}

int main(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	unsigned long long storms = 0, e;
	struct passwd *pw;
	pid_t pid[NSEND];
	int fd, p[2], fails = 0;

	t_require_root();
	pw = getpwnam("nobody");
	T_SKIP_IF(!pw, "no user nobody to drop to");
	T_SKIP_IF(unshare(CLONE_NEWNET) < 0 && errno == EPERM,
		  "network namespaces not permitted here");
	/* a namespace of our own (it goes with this process): lo up, and
	 * optmem_max (per namespace) low */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	T_CHECK(fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0, "lo flags");
	ifr.ifr_flags |= IFF_UP;
	T_CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0, "lo up: %s", strerror(errno));
	close(fd);
	fd = open("/proc/sys/net/core/optmem_max", O_WRONLY | O_CLOEXEC);
	T_CHECK(fd >= 0 && write(fd, "8192", 4) == 4, "optmem_max");
	close(fd);
	T_CHECK(pipe(p) == 0, "pipe");
	fflush(NULL);
	for (int i = 0; i < NSEND; i++) {
		pid[i] = fork();
		T_CHECK(pid[i] >= 0, "fork");
		if (pid[i] == 0) {
			int r;

			close(p[0]);
			r = sender(i, pw, p[1]);
			fflush(NULL);
			_exit(r);
		}
	}
	close(p[1]);
	while (read(p[0], &e, sizeof(e)) == sizeof(e))
		storms += e;
	close(p[0]);
	for (int i = 0; i < NSEND; i++) {
		int st;

		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "sender %d failed\n", i);
			fails++;
		}
	}
	T_CHECK(fails == 0, "%d senders failed", fails);
	printf("%llu ENOBUFS/ENOMEM retries in all\n", storms);
	T_CHECK(storms > 0, "the storm was not provoked");
	printf("tx_pinned_storm: ok\n");
	return T_PASS;
}
