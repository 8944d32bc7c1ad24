// SPDX-License-Identifier: MIT
/*
 * Many connections on one epoll loop: NCONN non-blocking senders
 * (dmt_tx_opts.nonblock) share one buffer that holds the ncdevmem pattern
 * of modulus 251, laid out so that it repeats every 251 bytes; each stream
 * sends BYTES of it. The loop waits for what each sender needs:
 * EPOLLOUT while it can send, and its completion fd (the socket's error
 * queue, or the io_uring ring) when sends wait for completions
 * (dmt_tx_send() answered -EAGAIN with the socket writable). The buffer is
 * never rewritten, so completions only need reaping.
 *
 *   example_epoll_senders IPV4 PORT NCONN BYTES
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <devmemtcp.h>

#define PERIOD 251u
#define BUFLEN (PERIOD * 4096u)	/* a whole number of pattern periods */
#define MSG (64u << 10)
#define MAXCONN 64

struct conn {
	struct dmt_tx *tx;
	unsigned long long sent;
	int cfd;		/* completion fd when it is not the socket */
	int done;
};

static int watch(int ep, int op, int fd, unsigned int events, void *p)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	return epoll_ctl(ep, op, fd, &ev);
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	static unsigned char pat[BUFLEN];
	static struct conn c[MAXCONN];
	struct dmt_error err = { 0 };
	unsigned long long bytes;
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	int nconn, left, ep = -1, ret = 1;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 ||
	    (nconn = atoi(argv[3])) < 1 || nconn > MAXCONN) {
		fprintf(stderr, "usage: %s IPV4 PORT NCONN(1..%d) BYTES\n",
			argv[0], MAXCONN);
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	bytes = strtoull(argv[4], NULL, 0);

	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	buf = dmt_buf_new(DMT_BUF_HOST, BUFLEN, NULL, &err);
	if (!buf) {
		fprintf(stderr, "%s\n", err.message);
		goto out_ctx;
	}
	for (size_t i = 0; i < BUFLEN; i++) {
		unsigned int s = (unsigned int)((i + 1) % PERIOD);

		pat[i] = s ? (unsigned char)s : '\n';
	}
	if (dmt_buf_write(buf, 0, pat, BUFLEN) < 0)
		goto out_buf;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("epoll_create1");
		goto out_buf;
	}

	DMT_OPTS(dmt_tx_opts, opts, .nonblock = 1);
	for (int i = 0; i < nconn; i++) {
		short cev;

		c[i].tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst,
					 sizeof(dst), NULL, 0, &opts, &err);
		if (!c[i].tx) {
			fprintf(stderr, "connection %d: %s\n", i, err.message);
			goto out;
		}
		/* a second fd for completions (uring), else EPOLLERR on
		 * the socket brings them */
		c[i].cfd = dmt_tx_completion_fd(c[i].tx, &cev);
		if (watch(ep, EPOLL_CTL_ADD, dmt_tx_fd(c[i].tx), EPOLLOUT, &c[i]) ||
		    (c[i].cfd >= 0 &&
		     watch(ep, EPOLL_CTL_ADD, c[i].cfd, (unsigned int)cev, &c[i]))) {
			perror("epoll_ctl");
			goto out;
		}
	}
	printf("%d connections, engine %s: %s\n", nconn,
	       dmt_engine_name(dmt_tx_engine(c[0].tx)),
	       dmt_tx_engine_reason(c[0].tx));

	for (left = nconn; left > 0;) {
		struct epoll_event ev[MAXCONN];
		int n = epoll_wait(ep, ev, MAXCONN, 10000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s\n", n ? strerror(errno) :
				"no progress for 10 s: the receiver stalled");
			goto out;
		}
		for (int k = 0; k < n; k++) {
			struct conn *x = ev[k].data.ptr;
			int fd = dmt_tx_fd(x->tx);

			if (x->done)
				continue;
			if (dmt_tx_reap(x->tx) < 0)	/* completions, if any */
				goto fail;
			while (x->sent < bytes) {
				uint64_t off = x->sent % BUFLEN;
				struct dmt_seg seg = { .off = off, .len = MSG };
				ssize_t s;

				if (seg.len > BUFLEN - off)
					seg.len = BUFLEN - off;
				if (seg.len > bytes - x->sent)
					seg.len = bytes - x->sent;
				s = dmt_tx_send(x->tx, &seg, 1);
				if (s == -EAGAIN)
					break;
				if (s < 0)
					goto fail;
				x->sent += (unsigned long long)s;
			}
			if (x->sent < bytes) {
				/* -EAGAIN with the socket writable and sends
				 * outstanding: max_outstanding reached, wait
				 * for completions only (the completion fd, or
				 * EPOLLERR, which epoll always reports); else
				 * the socket is full: wait for EPOLLOUT */
				unsigned int want = (ev[k].events & EPOLLOUT) &&
					dmt_tx_outstanding(x->tx) ? 0 : EPOLLOUT;

				if (watch(ep, EPOLL_CTL_MOD, fd, want, x))
					goto fail;
				continue;
			}
			/* all queued: wait for the last completions, close */
			if (dmt_tx_flush(x->tx, 5000) < 0)
				goto fail;
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			if (x->cfd >= 0)
				epoll_ctl(ep, EPOLL_CTL_DEL, x->cfd, NULL);
			dmt_tx_free(x->tx);
			x->tx = NULL;
			x->done = 1;
			left--;
			continue;
fail:
			fprintf(stderr, "%s\n", dmt_tx_last_error(x->tx)->message);
			goto out;
		}
	}
	printf("sent %llu bytes on each of %d connections\n", bytes, nconn);
	ret = 0;
out:
	for (int i = 0; i < nconn; i++)
		dmt_tx_free(c[i].tx);
	close(ep);
out_buf:
	dmt_buf_free(buf);
out_ctx:
	dmt_ctx_free(ctx);
	return ret;
}
