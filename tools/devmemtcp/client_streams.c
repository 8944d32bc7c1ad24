// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: one stream (connect: buffer, TX engine, hello; its
 * data phase; -R/--bidir receiving through stream.c's receiver) and the
 * [SUM] interval lines of -P.
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

/* The receiving half (-R, --bidir): the pattern, then the server's
 * result after its NUL byte. */
static int cs_receive(struct cstream *cs)
{
	int ret = rcv_run(&cs->rv);

	if (ret < 0) {
		cs_err(cs, "%s", cs->rv.err);
		return -1;
	}
	take_result(cs, cs->rv.trailer, cs->rv.tlen);
	if (cs->rv.pat.mismatches) {
		cs_err(cs, "%" PRIu64 " received bytes do not match the pattern, "
		       "the first at offset %" PRIu64, cs->rv.pat.mismatches,
		       cs->rv.pat.nbad ? cs->rv.pat.bad[0].off : 0);
		return -1;
	}
	if (cs->r->c->have_size && cs->rv.bytes != cs->r->c->size) {
		cs_err(cs, "received %" PRIu64 " bytes, expected %" PRIu64,
		       cs->rv.bytes, cs->r->c->size);
		return -1;
	}
	return 0;
}

/* One connection's data phase, timed (a thread of its own with -P). */
void *cs_run(void *arg)
{
	struct cstream *cs = arg;
	enum sess_dir dir = cs->r->dir;
	int ret = 0;

	cs->st.sz = sizeof(cs->st);
	cs->t0 = now_s();
	if (dir == SESS_FWD) {
		out_ivl_start(&cs->r->o.iv, cs->t0);
		if (cs->id)
			out_ivl_start(cs->sd.iv, cs->t0);
		ret = cs_send(cs);
		cs->t1 = now_s();
		if (ret == 0)
			ret = confirm_delivery(cs);
	} else if (dir == SESS_REV) {
		out_ivl_start(cs->rv.iv, cs->t0);
		ret = cs_receive(cs);
		cs->t1 = now_s();
	} else {
		out_ivl_start(cs->sd.iv, cs->t0);
		out_ivl_start(cs->rv.iv, cs->t0);
		if (pthread_create(&cs->sth, NULL, send_thread, cs)) {
			cs_err(cs, "cannot start the sending thread");
			ret = -1;
		} else {
			ret = cs_receive(cs);
			pthread_join(cs->sth, NULL);
			if (cs->snd_ret < 0)
				ret = -1;
		}
		cs->t1 = now_s();
	}
	if (cs->sd.iv)
		out_ivl_final(cs->sd.iv, cs->sd.sent);
	if (cs->rv.iv)
		out_ivl_final(cs->rv.iv, cs->rv.bytes);
	if (cs->sd.tx) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		dmt_tx_get_stats(cs->sd.tx, &cs->st);
		cs->verdict = dmt_tx_zerocopy_verdict(cs->sd.tx);
		if (!getsockopt(dmt_tx_fd(cs->sd.tx), IPPROTO_TCP, TCP_INFO, &ti,
				&tl))
			cs->retr = ti.tcpi_total_retrans;
	}
	cs->ret = ret ? 1 : 0;
	__atomic_store_n(&cs->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* -P: while the streams run, a [SUM] line per interval of what they
 * moved together; returns when every stream has ended. */
void sum_lines(struct crun *r, double t0)
{
	double period = r->c->interval, last_t = t0;
	uint64_t last = 0;

	for (;;) {
		bool all = true;
		uint64_t tot = 0;
		double t;

		for (unsigned int i = 0; i < r->n; i++) {
			struct cstream *cs = &r->s[i];

			all &= !cs->th_started ||
			       __atomic_load_n(&cs->done, __ATOMIC_ACQUIRE);
			tot += __atomic_load_n(&cs->sd.sent, __ATOMIC_RELAXED) +
			       __atomic_load_n(&cs->rv.bytes, __ATOMIC_RELAXED);
		}
		if (all)
			return;
		t = now_s();
		if (period > 0 && t - last_t >= period) {
			out_sum(&r->o, last_t - t0, t - t0, tot - last);
			last_t = t;
			last = tot;
		}
		usleep(20000);
	}
}

/* The source address to bind (-c, --cport), for stream i. */
static bool source_addr(const struct client_cfg *c, int family, unsigned int i,
			struct sockaddr_storage *src, socklen_t *slen)
{
	unsigned int port = c->have_cport ? c->cport : c->client ? c->port : 0;

	if (!c->client && !port)
		return false;
	if (port)
		port += i;
	if (c->client)
		parse_addr(c->client, port, family, src, slen);
	else	/* --cport alone: the wildcard of the server's family */
		parse_addr(NULL, port, family, src, slen);
	return true;
}

/* Connect stream cs: buffer, pattern, tx, the hello. 0 or -1 with err. */
int cs_open(struct cstream *cs, const struct sockaddr_storage *dst,
		   socklen_t dlen)
{
	struct crun *r = cs->r;
	const struct client_cfg *c = r->c;
	DMT_OPTS(dmt_tx_opts, to, .engine = c->engine, .ifname = c->ifname,
		 .max_iov = SND_MAX_SEGS, .nonblock = 1,
		 .connect_timeout_ms = c->timeout_s * 1000);
	struct sockaddr_storage src;
	socklen_t slen = 0;
	struct dmt_error err = { 0 };
	char why[1024];
	bool bind_src;

	if (!c->buf.kind && (c->engine == DMT_ENGINE_ZEROCOPY ||
			     c->engine == DMT_ENGINE_URING ||
			     c->engine == DMT_ENGINE_COPY || r->dir == SESS_REV)) {
		/* a CPU engine gains nothing from a dma-buf, and zero-copy
		 * ones cannot pin udmabuf or DMA-heap pages (-R sends
		 * nothing: the buffer only carries the hello's socket) */
		const struct buf_choice host = { .kind = DMT_BUF_HOST };

		cs->buf = alloc_buffer(&host, r->dir == SESS_REV ? 4096 :
				       c->buf_size, why, sizeof(why));
		if (cs->buf)
			snprintf(why, sizeof(why), "auto: host memory for the %s "
				 "engine", dmt_engine_name(c->engine));
	} else {
		cs->buf = alloc_buffer(&c->buf, c->buf_size, why, sizeof(why));
	}
	if (!cs->buf) {
		cs_err(cs, "buffer: %s", why);
		return -1;
	}
	if (cs->id <= 1) {
		snprintf(r->buf_why, sizeof(r->buf_why), "%s", why);
		if (c->res) {
			snprintf(c->res->buffer, sizeof(c->res->buffer), "%s",
				 dmt_buf_kind_name(dmt_buf_kind(cs->buf)));
			snprintf(c->res->buffer_reason,
				 sizeof(c->res->buffer_reason), "%s", why);
		}
	}
	cs->sd.buf = cs->buf;
	cs->sd.chunk = c->chunk;
	cs->sd.msg_size = c->msg_size;
	cs->sd.timeout_s = c->timeout_s;
	if (r->pattern && r->dir != SESS_REV &&
	    snd_fill_pattern(&cs->sd, r->v, c->have_size ? c->size : 0) < 0) {
		cs_err(cs, "%s", cs->sd.err);
		return -1;
	}
	bind_src = source_addr(c, dst->ss_family, cs->id ? cs->id - 1 : 0,
			       &src, &slen);
	cs->sd.tx = dmt_tx_connect(r->ctx, cs->buf, (const struct sockaddr *)dst,
				   dlen, bind_src ? (struct sockaddr *)&src : NULL,
				   slen, &to, &err);
	if (!cs->sd.tx) {
		cs_err(cs, "%s", err.message[0] ? err.message : dmt_strerror(-errno));
		return -1;
	}
	if (r->n > 1 || r->dir != SESS_FWD) {
		struct sess_hello h = {
			.present = true, .dir = r->dir, .streams = r->n,
			.stream = cs->id ? cs->id - 1 : 0, .cookie = r->cookie,
			.v = r->v, .size = c->have_size ? c->size : 0,
			.time_s = c->time_s, .msg_size = c->msg_size,
		};
		size_t len = 0, off = 0;
		char *l = sess_hello_line(&h, &len);
		double end = now_s() + c->timeout_s;
		int fd = dmt_tx_fd(cs->sd.tx);

		while (l && off < len && now_s() < end && !cli_stop) {
			ssize_t w = send(fd, l + off, len - off, MSG_NOSIGNAL);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
			else
				poll(&(struct pollfd){ .fd = fd, .events = POLLOUT },
				     1, 200);
		}
		free(l);
		if (off != len) {
			cs_err(cs, "sending the hello: %s", l ? strerror(errno) :
			       "out of memory");
			return -1;
		}
	}
	if (r->dir != SESS_FWD) {
		if (rcv_open(&cs->rv, dmt_tx_fd(cs->sd.tx), CLI_DEFAULT_BUF, r->v,
			     c->timeout_s) < 0) {
			cs_err(cs, "%s", cs->rv.err);
			return -1;
		}
		cs->rv_open = true;
		if (r->dir == SESS_REV)	/* nothing more to say: the hello */
			shutdown(dmt_tx_fd(cs->sd.tx), SHUT_WR);
	}
	/* interval clocks: the document's own for one forward stream */
	if (r->n == 1 && r->dir == SESS_FWD) {
		out_set_fd(&r->o, dmt_tx_fd(cs->sd.tx), true);
		cs->sd.iv = &r->o.iv;
	} else if (r->n == 1 && r->dir == SESS_REV) {
		out_set_fd(&r->o, dmt_tx_fd(cs->sd.tx), false);
		cs->rv.iv = &r->o.iv;
	} else {
		struct out_ivl *iv = cs->ivs = calloc(2, sizeof(*iv));

		if (!iv) {
			cs_err(cs, "out of memory");
			return -1;
		}
		if (r->dir != SESS_REV) {
			out_ivl_init(&r->o, &iv[0], cs->id ? cs->id : 1,
				     dmt_tx_fd(cs->sd.tx), true,
				     r->dir == SESS_BIDIR ? "TX" : NULL);
			cs->sd.iv = &iv[0];
		}
		if (r->dir != SESS_FWD) {
			out_ivl_init(&r->o, &iv[1], cs->id ? cs->id : 1,
				     dmt_tx_fd(cs->sd.tx), false,
				     r->dir == SESS_BIDIR ? "RX" : NULL);
			cs->rv.iv = &iv[1];
		}
	}
	return 0;
}

void cs_free(struct cstream *cs)
{
	if (cs->rv_open)
		rcv_close(&cs->rv);
	dmt_tx_free(cs->sd.tx);
	dmt_buf_free(cs->buf);
	json_decref(cs->server);
	free(cs->ivs);
}
