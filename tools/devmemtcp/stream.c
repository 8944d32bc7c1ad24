// SPDX-License-Identifier: MIT
/* One direction of one connection: the pattern sender (dmt_tx) and the
 * pattern receiver (dmt_rx), shared by the client and the server. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "session.h"
#include "stream.h"

#define RCV_FRAGS 256

static void sd_err(struct sender *sd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sd_err(struct sender *sd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sd->err, sizeof(sd->err), fmt, ap);
	va_end(ap);
}

static int sd_stopped(struct sender *sd)
{
	if (!cli_stop)
		return 0;
	sd_err(sd, "interrupted by %s after %" PRIu64 " bytes", cli_stop_name(),
	       sd->sent);
	return -1;
}

/* Split [off, off+len) into segments of at most chunk bytes. */
static unsigned int make_segs(struct dmt_seg *segs, uint64_t off, uint64_t len,
			      uint64_t chunk)
{
	unsigned int n = 0;

	while (len && n < SND_MAX_SEGS) {
		uint64_t l = chunk && chunk < len ? chunk : len;

		segs[n].off = off;
		segs[n].len = l;
		off += l;
		len -= l;
		n++;
	}
	return n;
}

/* Wait at most ms for the sender to be able to go on: the socket writable
 * or a completion to reap (the tx is non-blocking, so the waits are ours,
 * bounded, and a signal ends them). */
static void tx_wait(struct sender *sd, int ms)
{
	short cev = 0;
	int cfd = dmt_tx_completion_fd(sd->tx, &cev);
	struct pollfd p[2] = {
		{ .fd = dmt_tx_fd(sd->tx), .events = dmt_tx_poll_events(sd->tx) },
		{ .fd = cfd, .events = cev },
	};

	poll(p, cfd >= 0 && cfd != p[0].fd ? 2 : 1, ms);
	dmt_tx_reap(sd->tx);
}

int snd_range(struct sender *sd, uint64_t off, uint64_t len)
{
	double stall = now_s(), limit = sd->timeout_s;
	uint64_t done = 0;

	while (done < len) {
		unsigned int n = make_segs(sd->segs, off + done, len - done,
					   sd->chunk);
		ssize_t s;

		if (sd_stopped(sd))
			return -1;
		s = dmt_tx_send(sd->tx, sd->segs, n);
		if (s > 0) {
			done += (uint64_t)s;
			/* atomic: the client's [SUM] lines read it meanwhile */
			__atomic_fetch_add(&sd->sent, (uint64_t)s, __ATOMIC_RELAXED);
			if (sd->iv)
				out_ivl_tick(sd->iv, sd->sent);
			stall = now_s();
			continue;
		}
		if (s == -EAGAIN) {
			double left = limit - (now_s() - stall);

			if (left <= 0) {
				sd_err(sd, "send made no progress for %d s "
				       "(--timeout) after %" PRIu64 " bytes: the "
				       "receiver is not reading, or the path to it "
				       "is gone", sd->timeout_s, sd->sent);
				return -1;
			}
			tx_wait(sd, left > 0.2 ? 200 : (int)(left * 1000) + 1);
			continue;
		}
		{
			const struct dmt_error *e = dmt_tx_last_error(sd->tx);

			sd_err(sd, "send failed after %" PRIu64 " bytes: %s",
			       sd->sent, e->message[0] ? e->message :
			       dmt_strerror((int)s));
		}
		return -1;
	}
	return 0;
}

int snd_flush(struct sender *sd)
{
	double end = now_s() + sd->timeout_s;

	for (;;) {
		int ret = dmt_tx_flush(sd->tx, 200);

		if (ret == 0)
			return 0;
		if (sd_stopped(sd))
			return -1;
		if (ret != -ETIMEDOUT || now_s() >= end) {
			sd_err(sd, "completions: %s%s",
			       dmt_tx_last_error(sd->tx)->message,
			       ret == -ETIMEDOUT ? " (--timeout)" : "");
			return -1;
		}
	}
}

/* The buffer holds L bytes of pattern (L a multiple of v), so sending
 * from offset (pos mod L) continues the stream without rewriting. Only
 * what the transfer uses is written, before the clock starts. */
int snd_fill_pattern(struct sender *sd, unsigned int v, uint64_t size)
{
	size_t bsz = dmt_buf_size(sd->buf);
	uint64_t L = (bsz / v) * v, need = (size + v - 1) / v * v;
	struct pat p;
	unsigned char *tmp;

	sd->err[0] = '\0';
	if (L == 0) {
		sd_err(sd, "buffer of %zu bytes is smaller than the pattern "
		       "period %u", bsz, v);
		return -1;
	}
	if (size && need < L)	/* a timed run: the whole buffer */
		L = need;
	if (pat_init(&p, v) < 0 || !(tmp = malloc(1u << 20))) {
		sd_err(sd, "out of memory");
		return -1;
	}
	for (uint64_t o = 0; o < L; o += 1u << 20) {
		size_t n = L - o < (1u << 20) ? (size_t)(L - o) : 1u << 20;

		if (sd_stopped(sd))
			break;
		pat_fill(&p, tmp, n);
		if (dmt_buf_write(sd->buf, o, tmp, n) < 0) {
			sd_err(sd, "filling the buffer: %s",
			       dmt_buf_last_error(sd->buf)->message);
			break;
		}
	}
	free(tmp);
	pat_free(&p);
	sd->L = L;
	return sd->err[0] ? -1 : 0;
}

int snd_pattern(struct sender *sd, uint64_t size, double time_s)
{
	uint64_t msg = sd->msg_size, L = sd->L;
	double t_end = now_s() + time_s;

	if (msg > L)
		msg = L;
	/* size: until N bytes; time: until SEC seconds have passed (the
	 * last send is whole, so the run ends within one send of SEC) */
	while (size ? sd->sent < size : now_s() < t_end) {
		uint64_t off = sd->sent % L;
		uint64_t n = size ? size - sd->sent : msg;

		if (n > msg)
			n = msg;
		if (n > L - off)
			n = L - off;	/* a send never crosses the wrap */
		if (snd_range(sd, off, n) < 0)
			return -1;
	}
	return 0;
}

/* ---- receiver ---- */

int rcv_open(struct receiver *rv, int fd, uint64_t buf_size, unsigned int v,
	     int timeout_s)
{
	/* the copy engine today; the devmem engine on a client needs a NIC
	 * binding, which the rx object will carry */
	DMT_OPTS(dmt_rx_opts, o, .engine = DMT_ENGINE_COPY);
	struct timeval tv = { .tv_usec = 250000 };
	struct dmt_error e;
	char why[256];
	const struct buf_choice host = { .kind = DMT_BUF_HOST };

	memset(rv, 0, sizeof(*rv));
	rv->fd = fd;
	rv->timeout_s = timeout_s;
	if (pat_init(&rv->pat, v) < 0) {
		snprintf(rv->err, sizeof(rv->err), "out of memory");
		return -1;
	}
	rv->buf = alloc_buffer(&host, (size_t)buf_size, why, sizeof(why));
	if (!rv->buf) {
		snprintf(rv->err, sizeof(rv->err), "receive buffer: %s", why);
		return -1;
	}
	/* receives wait in slices, so that a signal or --timeout ends them */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rv->rx = dmt_rx_from_fd(NULL, rv->buf, fd, &o, &e);
	if (!rv->rx) {
		snprintf(rv->err, sizeof(rv->err), "receive: %.300s", e.message);
		return -1;
	}
	snprintf(rv->engine, sizeof(rv->engine), "%s",
		 dmt_engine_name(dmt_rx_engine(rv->rx)));
	rv->trailer = malloc(SESS_LINE_MAX);
	if (!rv->trailer) {
		snprintf(rv->err, sizeof(rv->err), "out of memory");
		return -1;
	}
	return 0;
}

/* Bytes of one fragment, in host memory: pattern until a NUL byte, then
 * the trailer. -1 when the trailer is over-long. */
static int rcv_take(struct receiver *rv, const unsigned char *d, size_t len)
{
	if (!rv->tlen) {
		const unsigned char *z = memchr(d, 0, len);
		size_t n = z ? (size_t)(z - d) : len;

		if (n) {
			pat_check(&rv->pat, d, n);
			__atomic_fetch_add(&rv->bytes, (uint64_t)n, __ATOMIC_RELAXED);
		}
		d += n;
		len -= n;
	}
	if (!len)
		return 0;
	if (rv->tlen + len > SESS_LINE_MAX) {
		snprintf(rv->err, sizeof(rv->err), "more than %d bytes after the "
			 "pattern: not a devmemtcp result", SESS_LINE_MAX);
		return -1;
	}
	memcpy(rv->trailer + rv->tlen, d, len);
	rv->tlen += len;
	return 0;
}

int rcv_run(struct receiver *rv)
{
	struct dmt_frag f[RCV_FRAGS];
	const unsigned char *map = dmt_buf_map(rv->buf);
	double idle = now_s();
	unsigned int nf;

	for (;;) {
		ssize_t n = dmt_rx_recv(rv->rx, f, RCV_FRAGS, &nf);

		if (n == 0)
			return 0;
		if (cli_stop) {
			snprintf(rv->err, sizeof(rv->err), "interrupted by %s after "
				 "%" PRIu64 " bytes", cli_stop_name(), rv->bytes);
			return -1;
		}
		if (n == -EAGAIN || n == -EINTR) {
			if (rv->timeout_s && now_s() - idle >= rv->timeout_s) {
				snprintf(rv->err, sizeof(rv->err), "no data for %d s "
					 "(--timeout) after %" PRIu64 " bytes: the "
					 "sender stalled", rv->timeout_s, rv->bytes);
				return -1;
			}
			continue;
		}
		if (n < 0) {
			snprintf(rv->err, sizeof(rv->err), "receive failed after %"
				 PRIu64 " bytes: %.300s", rv->bytes,
				 dmt_rx_last_error(rv->rx)->message);
			return -1;
		}
		idle = now_s();
		dmt_buf_begin_cpu(rv->buf, DMT_SYNC_READ);
		for (unsigned int i = 0; i < nf; i++) {
			if (rcv_take(rv, map + f[i].off, f[i].len) < 0) {
				dmt_buf_end_cpu(rv->buf, DMT_SYNC_READ);
				dmt_rx_release(rv->rx, f, nf);
				return -1;
			}
		}
		dmt_buf_end_cpu(rv->buf, DMT_SYNC_READ);
		if (dmt_rx_release(rv->rx, f, nf) < 0) {
			snprintf(rv->err, sizeof(rv->err), "%.300s",
				 dmt_rx_last_error(rv->rx)->message);
			return -1;
		}
		if (rv->iv)
			out_ivl_tick(rv->iv, rv->bytes);
	}
}

void rcv_close(struct receiver *rv)
{
	dmt_rx_free(rv->rx);
	dmt_buf_free(rv->buf);
	pat_free(&rv->pat);
	free(rv->trailer);
	memset(rv, 0, sizeof(*rv));
	rv->fd = -1;
}
