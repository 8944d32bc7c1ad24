// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: the sending half of a stream (the pattern through a
 * libdevmemtcp TX engine, or stdin through a ring of regions) and the
 * server's result read after the last byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "client.h"
#include "common.h"
#include "json_out.h"
#include "session.h"
#include "stream.h"

#define STDIN_REGIONS 8

void cs_err(struct cstream *cs, const char *fmt, ...)
{
	va_list ap;

	if (cs->err[0])
		return;	/* the first cause is the one to say */
	va_start(ap, fmt);
	vsnprintf(cs->err, sizeof(cs->err), fmt, ap);
	va_end(ap);
}

int stopped(struct cstream *cs, uint64_t done)
{
	if (!cli_stop)
		return 0;
	cs_err(cs, "interrupted by %s after %" PRIu64 " bytes", cli_stop_name(),
	       done);
	return -1;
}

/* stdin: a ring of regions; before a region is refilled, wait until the
 * kernel no longer reads it (its sends have completed). */
static int send_stdin(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	struct sender *sd = &cs->sd;
	size_t bsz = dmt_buf_size(cs->buf);
	unsigned char *map = dmt_buf_map(cs->buf), *tmp = NULL;
	uint64_t reg = bsz / STDIN_REGIONS, wp = 0, base = 0;
	unsigned int ri = 0;
	int ret = -1;

	if (reg < 4096)
		reg = bsz;
	if (!map && !(tmp = malloc(c->msg_size))) {
		cs_err(cs, "out of memory");
		return -1;
	}
	for (;;) {
		uint64_t want = reg - wp;
		ssize_t n;

		if (want > c->msg_size)
			want = c->msg_size;
		if (map) {
			dmt_buf_begin_cpu(cs->buf, DMT_SYNC_WRITE);
			n = read(STDIN_FILENO, map + base + wp, want);
			dmt_buf_end_cpu(cs->buf, DMT_SYNC_WRITE);
		} else {
			n = read(STDIN_FILENO, tmp, want);
			if (n > 0 && dmt_buf_write(cs->buf, base + wp, tmp,
						   (size_t)n) < 0) {
				cs_err(cs, "buffer write: %s",
				       dmt_buf_last_error(cs->buf)->message);
				goto out;
			}
		}
		if (n < 0 && errno == EINTR && !stopped(cs, sd->sent))
			continue;
		if (cs->err[0])
			goto out;
		if (n < 0) {
			cs_err(cs, "reading stdin: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (snd_range(sd, base + wp, (uint64_t)n) < 0) {
			cs_err(cs, "%s", sd->err);
			goto out;
		}
		wp += (uint64_t)n;
		if (wp == reg) {
			double end = now_s() + c->timeout_s;
			int w;

			ri = (ri + 1) % (unsigned int)(bsz / reg);
			base = ri * reg;
			wp = 0;
			while ((w = dmt_tx_wait_region(sd->tx, base, reg, 200)) ==
			       -ETIMEDOUT && !cli_stop && now_s() < end)
				;
			if (w < 0) {
				if (!stopped(cs, sd->sent))
					cs_err(cs, "waiting for region %u: %s%s", ri,
					       dmt_tx_last_error(sd->tx)->message,
					       w == -ETIMEDOUT ? " (--timeout)" : "");
				goto out;
			}
		}
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

static void not_taken(struct cstream *cs, int e)
{
	cs_err(cs, "the receiver did not take all %" PRIu64 " bytes: %s%s",
	       cs->sd.sent, strerror(e), e == ECONNRESET ? " (it reset the "
	       "connection: it died, or it was busy with another test)" : "");
}

/* The peer's result line (what it sent after our last byte) into
 * cs->server, or the reason there is none into server_note. */
void take_result(struct cstream *cs, const char *buf, size_t len)
{
	if (!len) {
		snprintf(cs->server_note, sizeof(cs->server_note), "the %s sent "
			 "no result (not a devmemtcp server)", cs->r->dir ==
			 SESS_FWD ? "receiver" : "server");
		return;
	}
	cs->server = sess_result_parse(buf, len, cs->server_note,
				       sizeof(cs->server_note));
}

/*
 * Forward: after the last byte, close our direction and read what the
 * receiver sends back until it closes its own: a devmemtcp server's
 * result line, nothing from a foreign receiver. A reset instead means
 * that it did not read it all. Bounded by --timeout.
 */
int confirm_delivery(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	int fd = dmt_tx_fd(cs->sd.tx);
	double end = now_s() + c->timeout_s;
	char *buf = malloc(SESS_LINE_MAX);
	size_t len = 0;
	int ret = -1;

	if (!buf) {
		cs_err(cs, "out of memory");
		return -1;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		if (errno == ENOTCONN)	/* the reset came first */
			not_taken(cs, ECONNRESET);
		else
			cs_err(cs, "closing the stream after %" PRIu64 " bytes: %s",
			       cs->sd.sent, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now_s();
		ssize_t n;

		if (stopped(cs, cs->sd.sent))
			goto out;
		if (left <= 0) {
			cs_err(cs, "the receiver did not close the connection within "
			       "%d s (--timeout) after the last byte: delivery of "
			       "the %" PRIu64 " bytes is not confirmed",
			       c->timeout_s, cs->sd.sent);
			goto out;
		}
		if (poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, buf + len, len < SESS_LINE_MAX ? SESS_LINE_MAX - len :
			 SESS_LINE_MAX, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {	/* past the limit: counted, not kept */
			len = len + (size_t)n < SESS_LINE_MAX ? len + (size_t)n :
			      SESS_LINE_MAX;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			continue;
		not_taken(cs, errno);
		goto out;
	}
	take_result(cs, buf, len);
	ret = 0;
out:
	free(buf);
	return ret;
}

/* The sending half: the pattern (or stdin), every completion. */
int cs_send(struct cstream *cs)
{
	const struct client_cfg *c = cs->r->c;
	int ret;

	if (cs->r->pattern)
		ret = snd_pattern(&cs->sd, c->have_size ? c->size : 0, c->time_s);
	else
		ret = send_stdin(cs);
	if (ret == 0)
		ret = snd_flush(&cs->sd);
	if (ret < 0)
		cs_err(cs, "%s", cs->sd.err);
	if (ret == 0 && c->have_size && cs->sd.sent != c->size) {
		cs_err(cs, "sent %" PRIu64 " of %" PRIu64 " bytes", cs->sd.sent,
		       c->size);
		ret = -1;
	}
	if (ret == 0 && dmt_tx_outstanding(cs->sd.tx)) {
		cs_err(cs, "%u sends still await their completion",
		       dmt_tx_outstanding(cs->sd.tx));
		ret = -1;
	}
	return ret;
}

void *send_thread(void *arg)
{
	struct cstream *cs = arg;

	cs->snd_ret = cs_send(cs);
	/* --bidir: our half ends; the receiving half reads on */
	if (cs->snd_ret == 0)
		shutdown(dmt_tx_fd(cs->sd.tx), SHUT_WR);
	return NULL;
}
