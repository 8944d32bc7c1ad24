// SPDX-License-Identifier: MIT
/*
 * soak SECONDS [FLOWS] [SIZE_MIB]: one long-lived process that, for SECONDS,
 * runs rounds of FLOWS connections at once (default 8) over loopback, each
 * sending SIZE_MIB MiB (default 8) of the ncdevmem pattern through the
 * library, the engine changing every round (copy, zerocopy, uring when
 * built, auto). A receiver thread checks every byte of every connection
 * against the pattern (exactly once, in order: each stream must be the
 * pattern from byte 0 and end at its size). Every few seconds, and at the
 * end, it samples its own resident memory (VmRSS) and open file
 * descriptors; the last line says whether both stayed flat. Exit 0 when
 * every byte was right and both stayed flat, 1 otherwise. bench/soak.sh
 * runs it; it is not part of CI.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <devmemtcp.h>

#define V 251			/* pattern modulus */
#define MAXF 64
#define MSG (256u << 10)
#define RSS_SLACK_KB (8 * 1024)	/* growth allowed after the warm-up */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char pbyte(uint64_t i)
{
	unsigned int s = (unsigned int)((1 + i) % V);

	return s ? (unsigned char)s : (unsigned char)'\n';
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* ---- receiver: accept FLOWS connections, check every byte ---- */

struct rx {
	int lfd;
	unsigned int flows;
	uint64_t size;
	uint64_t bytes, bad;	/* out */
	char err[256];
};

static unsigned char *table;	/* the pattern from offset 0, V + 64 KiB */

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	struct pollfd p[MAXF];
	uint64_t got[MAXF] = { 0 };
	unsigned char buf[65536];
	unsigned int open_ = 0;

	for (unsigned int i = 0; i < r->flows; i++) {
		p[i].fd = accept(r->lfd, NULL, NULL);
		p[i].events = POLLIN;
		if (p[i].fd < 0) {
			snprintf(r->err, sizeof(r->err), "accept: %s",
				 strerror(errno));
			r->flows = i;
			break;
		}
		open_++;
	}
	while (open_) {
		if (poll(p, r->flows, 30000) <= 0) {
			snprintf(r->err, sizeof(r->err), "no data for 30 s");
			break;
		}
		for (unsigned int i = 0; i < r->flows; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n <= 0) {
				if (n < 0)
					snprintf(r->err, sizeof(r->err), "recv: %s",
						 strerror(errno));
				else if (got[i] != r->size)
					snprintf(r->err, sizeof(r->err), "flow %u "
						 "ended at %" PRIu64 " of %" PRIu64,
						 i, got[i], r->size);
				close(p[i].fd);
				p[i].fd = -1;
				open_--;
				continue;
			}
			if (memcmp(buf, table + got[i] % V, (size_t)n)) {
				for (ssize_t k = 0; k < n; k++)
					r->bad += buf[k] != pbyte(got[i] + (uint64_t)k);
			}
			got[i] += (uint64_t)n;
			r->bytes += (uint64_t)n;
		}
	}
	for (unsigned int i = 0; i < r->flows; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return NULL;
}

/* ---- one round: FLOWS senders, round robin, blocking sends ---- */

static int round_run(struct dmt_ctx *ctx, struct dmt_buf *buf, uint64_t L,
		     enum dmt_engine eng, unsigned int flows, uint64_t size,
		     uint64_t *bytes, uint64_t *bad, char *err, size_t errlen)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct rx r = { .flows = flows, .size = size };
	struct dmt_tx *tx[MAXF] = { 0 };
	uint64_t pos[MAXF] = { 0 };
	socklen_t al = sizeof(a);
	pthread_t th;
	int ret = 0, one = 1;

	r.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(r.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r.lfd < 0 || bind(r.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(r.lfd, MAXF) < 0 ||
	    getsockname(r.lfd, (struct sockaddr *)&a, &al) < 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		if (r.lfd >= 0)
			close(r.lfd);
		return -1;
	}
	pthread_create(&th, NULL, rx_main, &r);
	for (unsigned int i = 0; i < flows; i++) {
		DMT_OPTS(dmt_tx_opts, o, .engine = eng,
			 .connect_timeout_ms = 10000);
		struct dmt_error e;

		tx[i] = dmt_tx_connect(ctx, buf, (struct sockaddr *)&a, sizeof(a),
				       NULL, 0, &o, &e);
		if (!tx[i]) {
			snprintf(err, errlen, "connect: %s", e.message);
			ret = -1;
			break;
		}
	}
	for (bool more = !ret; more && !ret;) {
		more = false;
		for (unsigned int i = 0; i < flows && !ret; i++) {
			uint64_t off = pos[i] % L, n = size - pos[i];
			struct dmt_seg s;
			ssize_t k;

			if (!n)
				continue;
			if (n > MSG)
				n = MSG;
			if (n > L - off)
				n = L - off;
			s.off = off;
			s.len = n;
			k = dmt_tx_send(tx[i], &s, 1);
			if (k <= 0) {
				snprintf(err, errlen, "send: %s",
					 dmt_tx_last_error(tx[i])->message);
				ret = -1;
				break;
			}
			pos[i] += (uint64_t)k;
			more |= pos[i] < size;
		}
	}
	for (unsigned int i = 0; i < flows; i++) {
		if (!tx[i])
			continue;
		if (!ret && dmt_tx_flush(tx[i], 10000) < 0) {
			snprintf(err, errlen, "flush: %s",
				 dmt_tx_last_error(tx[i])->message);
			ret = -1;
		}
		dmt_tx_free(tx[i]);	/* closes: the receiver sees EOF */
	}
	if (ret)	/* unblock a receiver still in accept */
		shutdown(r.lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(r.lfd);
	*bytes += r.bytes;
	*bad += r.bad;
	if (!ret && r.err[0]) {
		snprintf(err, errlen, "receiver: %s", r.err);
		ret = -1;
	}
	if (!ret && r.bytes != (uint64_t)flows * size) {
		snprintf(err, errlen, "received %" PRIu64 " of %" PRIu64 " bytes",
			 r.bytes, (uint64_t)flows * size);
		ret = -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 60;
	unsigned int flows = argc > 2 ? (unsigned int)atoi(argv[2]) : 8;
	uint64_t size = (argc > 3 ? strtoull(argv[3], NULL, 10) : 8) << 20;
	enum dmt_engine engines[4];
	unsigned int ne = 0;
	uint64_t L = (uint64_t)V * 4096, bytes = 0, bad = 0, conns = 0;
	uint64_t rounds = 0, per[4] = { 0 };
	struct dmt_error e;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	long rss0 = -1, rss_max = 0, rss;
	int fd0 = -1, fd_max = 0, fds;
	double t0, next = 0;
	char err[512] = "";

	if (secs <= 0 || flows < 1 || flows > MAXF || !size) {
		fprintf(stderr, "usage: soak SECONDS [FLOWS 1..%d] [SIZE_MIB]\n",
			MAXF);
		return 2;
	}
	engines[ne++] = DMT_ENGINE_COPY;
	engines[ne++] = DMT_ENGINE_ZEROCOPY;
	if (dmt_engine_built(DMT_ENGINE_URING))
		engines[ne++] = DMT_ENGINE_URING;
	engines[ne++] = DMT_ENGINE_AUTO;
	table = malloc(V + 65536);
	ctx = dmt_ctx_new(NULL, &e);
	buf = dmt_buf_new(DMT_BUF_HOST, L, NULL, &e);
	if (!table || !ctx || !buf) {
		fprintf(stderr, "soak: setup: %s\n", e.message);
		return 1;
	}
	for (size_t i = 0; i < V + 65536; i++)
		table[i] = pbyte(i);
	memcpy(dmt_buf_map(buf), table, V);
	for (uint64_t o = V; o < L; o += V)
		memcpy((unsigned char *)dmt_buf_map(buf) + o, table, V);
	printf("soak: %.0f s, %u connections per round, %" PRIu64 " MiB each, "
	       "engines", secs, flows, size >> 20);
	for (unsigned int i = 0; i < ne; i++)
		printf(" %s", dmt_engine_name(engines[i]));
	printf("\n%8s %8s %12s %14s %10s %8s\n", "time_s", "rounds",
	       "connections", "GiB_verified", "rss_KiB", "fds");
	t0 = now_s();
	while (now_s() - t0 < secs) {
		unsigned int k = (unsigned int)(rounds % ne);

		if (round_run(ctx, buf, L, engines[k], flows, size, &bytes, &bad,
			      err, sizeof(err)) < 0) {
			fprintf(stderr, "soak: round %" PRIu64 " (%s): %s\n", rounds,
				dmt_engine_name(engines[k]), err);
			break;
		}
		rounds++;
		per[k]++;
		conns += flows;
		rss = rss_kb();
		fds = open_fds();
		if (rounds == ne) {	/* every engine warmed up once */
			rss0 = rss;
			fd0 = fds;
		}
		if (rss0 >= 0) {
			rss_max = rss > rss_max ? rss : rss_max;
			fd_max = fds > fd_max ? fds : fd_max;
		}
		if (now_s() - t0 >= next) {
			printf("%8.0f %8" PRIu64 " %12" PRIu64 " %14.2f %10ld %8d\n",
			       now_s() - t0, rounds, conns,
			       (double)bytes / (1u << 30), rss, fds);
			fflush(stdout);
			next += 10;
		}
	}
	rss = rss_kb();
	fds = open_fds();
	printf("%8.0f %8" PRIu64 " %12" PRIu64 " %14.2f %10ld %8d\n",
	       now_s() - t0, rounds, conns, (double)bytes / (1u << 30), rss, fds);
	for (unsigned int i = 0; i < ne; i++)
		printf("rounds with %s: %" PRIu64 "\n", dmt_engine_name(engines[i]),
		       per[i]);
	printf("bytes verified: %" PRIu64 ", mismatches: %" PRIu64 "\n", bytes,
	       bad);
	printf("after warm-up: rss %ld KiB -> max %ld KiB (+%ld), fds %d -> max "
	       "%d\n", rss0, rss_max, rss_max - rss0, fd0, fd_max);
	{
		bool flat = rss0 >= 0 && rss_max - rss0 <= RSS_SLACK_KB &&
			    fd_max == fd0;
		bool ok = flat && !bad && !err[0] && rounds > ne;

		printf("soak: %s (%s; %s)\n", ok ? "PASS" : "FAIL",
		       bad ? "MISMATCHES" : "every byte right",
		       flat ? "memory and fds flat" : "memory or fds GREW");
		dmt_buf_free(buf);
		dmt_ctx_free(ctx);
		free(table);
		return ok ? 0 : 1;
	}
}
