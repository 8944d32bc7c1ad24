// SPDX-License-Identifier: MIT
/* The client/server protocol around the data: hello and result lines
 * (session.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "json_out.h"
#include "session.h"
#include "stream.h"

static const char *dir_name(enum sess_dir d)
{
	return d == SESS_REV ? "reverse" : d == SESS_BIDIR ? "bidir" : "forward";
}

/* The tag, the compact JSON of obj, '\n'. */
static char *line_of(const char *tag, size_t taglen, json_t *obj, size_t *len)
{
	char *js = json_dumps(obj, JSON_COMPACT), *l;
	size_t n;

	if (!js)
		return NULL;
	n = strlen(js);
	l = malloc(taglen + n + 1);
	if (l) {
		memcpy(l, tag, taglen);
		memcpy(l + taglen, js, n);
		l[taglen + n] = '\n';
		*len = taglen + n + 1;
	}
	free(js);
	return l;
}

char *sess_hello_line(const struct sess_hello *h, size_t *len)
{
	json_t *o = json_object();
	char *l;

	jout_set_str(o, "mode", dir_name(h->dir));
	jout_set_int(o, "streams", h->streams);
	jout_set_int(o, "stream", h->stream);
	jout_set_u64(o, "cookie", h->cookie);
	jout_set_int(o, "v", h->v);
	jout_set_u64(o, "size", h->size);
	jout_set_num(o, "time", h->time_s);
	jout_set_u64(o, "msg_size", h->msg_size);
	l = line_of(SESS_HELLO_TAG, SESS_HELLO_TAGLEN, o, len);
	json_decref(o);
	return l;
}

static uint64_t get_u64(json_t *o, const char *k, uint64_t dflt)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
		(uint64_t)json_integer_value(v) : dflt;
}

int sess_hello_parse(const char *js, size_t n, struct sess_hello *h,
		     char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(js, n, 0, &je), *m;
	const char *mode;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "a broken hello from the client: %s",
			 o ? "not a JSON object" : je.text);
		json_decref(o);
		return -1;
	}
	m = json_object_get(o, "mode");
	mode = json_is_string(m) ? json_string_value(m) : "forward";
	h->dir = !strcmp(mode, "reverse") ? SESS_REV :
		 !strcmp(mode, "bidir") ? SESS_BIDIR : SESS_FWD;
	h->streams = (unsigned int)get_u64(o, "streams", 1);
	h->stream = (unsigned int)get_u64(o, "stream", 0);
	h->cookie = get_u64(o, "cookie", 0);
	h->v = (unsigned int)get_u64(o, "v", PAT_MAX_V);
	h->size = get_u64(o, "size", 0);
	h->msg_size = get_u64(o, "msg_size", CLI_DEFAULT_MSG);
	m = json_object_get(o, "time");
	h->time_s = json_is_number(m) ? json_number_value(m) : 0;
	if (strcmp(mode, "forward") && strcmp(mode, "reverse") &&
	    strcmp(mode, "bidir")) {
		snprintf(err, errlen, "the client asked for mode '%.40s', which "
			 "this server does not know (a newer client?)", mode);
		json_decref(o);
		return -1;
	}
	json_decref(o);
	if (!h->streams || h->streams > SESS_MAX_STREAMS ||
	    h->stream >= h->streams || h->v < 2 || h->v > PAT_MAX_V ||
	    !h->msg_size || h->msg_size > (1ull << 30) ||
	    (h->dir != SESS_FWD && !h->size && !(h->time_s > 0)) ||
	    h->time_s < 0 || h->time_s > 86400 * 7) {
		snprintf(err, errlen, "the client's hello is out of range "
			 "(streams 1..%d, v 2..256, a size or a time)",
			 SESS_MAX_STREAMS);
		return -1;
	}
	return 0;
}

int sess_hello_read(int fd, int timeout_s, struct sess_hello *h, char *err,
		    size_t errlen)
{
	double end = now_s() + (timeout_s ? timeout_s : 30);
	int one = 1, idle = 10, intvl = 5, cnt = 3;
	bool any = false;
	char *line = NULL;
	size_t have = 0;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	h->streams = 1;
	/* Without --timeout the first byte may take as long as it takes (a
	 * client sending its stdin); keepalive notices a peer that vanished
	 * (about 25 s), as it does during the transfer. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	/* 1: is it a hello? Decided at the first byte that differs from
	 * the tag (a pattern's first byte already does). */
	for (;;) {
		char peek[SESS_HELLO_TAGLEN];
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left;

		if (!timeout_s && !any)
			end = now_s() + 30;	/* no bound before a first byte */
		left = end - now_s();
		if (cli_stop || left <= 0) {
			if (cli_stop)
				snprintf(err, errlen, "interrupted by %s while "
					 "reading the client's first bytes",
					 cli_stop_name());
			else
				snprintf(err, errlen, "no data for %d s%s after 0 "
					 "bytes: the peer stalled%s", timeout_s ?
					 timeout_s : 30, timeout_s ? " (--timeout)" :
					 "", any ? " inside its hello" : "");
			return -1;
		}
		if (poll(&p, 1, left > 0.25 ? 250 : (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)	/* EOF, an error, or devmem data (EFAULT): the
				 * engine meets it and says so */
			return 0;
		if (memcmp(peek, SESS_HELLO_TAG, (size_t)n))
			return 0;	/* data */
		any = true;
		if (n == SESS_HELLO_TAGLEN)
			break;
		/* a prefix of the tag so far: wait for more (readable
		 * already, so poll would not wait) */
		usleep(10000);
	}
	/* 2: read the line up to '\n', byte runs at a time, never past it */
	line = malloc(SESS_LINE_MAX);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		char *nl;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = end - now_s();

		if (cli_stop || left <= 0 || have == SESS_LINE_MAX) {
			snprintf(err, errlen, "the client's hello %s",
				 have == SESS_LINE_MAX ? "is too long" :
				 cli_stop ? "was interrupted" : "did not end in time");
			free(line);
			return -1;
		}
		n = recv(fd, line + have, SESS_LINE_MAX - have,
			 MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			poll(&p, 1, left > 0.25 ? 250 : (int)(left * 1000) + 1);
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "the client closed the connection "
				 "inside its hello");
			free(line);
			return -1;
		}
		nl = memchr(line + have, '\n', (size_t)n);
		/* take the peeked bytes, up to and with the newline */
		n = nl ? nl - (line + have) + 1 : n;
		if (recv(fd, line + have, (size_t)n, 0) != n) {
			snprintf(err, errlen, "reading the client's hello: %s",
				 strerror(errno));
			free(line);
			return -1;
		}
		have += (size_t)n;
		if (nl)
			break;
	}
	h->present = true;
	if (sess_hello_parse(line + SESS_HELLO_TAGLEN, have - SESS_HELLO_TAGLEN - 1,
			h, err, errlen) < 0) {
		free(line);
		return -1;
	}
	free(line);
	return 0;
}

static json_t *result_obj(const struct sess_result *r)
{
	json_t *o = json_object();

	jout_set_bool(o, "complete", r->complete);
	jout_set_str(o, "error", r->complete ? NULL : r->error);
	jout_set_str(o, "verdict", r->verdict);
	jout_set_u64(o, "bytes", r->bytes);
	jout_set_num(o, "seconds", round(r->seconds * 1e6) / 1e6);
	jout_set_u64(o, "bits_per_second", r->seconds > 0 ?
		     (uint64_t)llround((double)r->bytes * 8 / r->seconds) : 0);
	jout_set_num(o, "cpu_s", round(r->cpu_s * 1e3) / 1e3);
	jout_set_num(o, "cpu_pct", round(r->cpu_pct * 10) / 10);
	jout_set_num(o, "cpu_user_pct", round(r->cpu_user_pct * 10) / 10);
	jout_set_num(o, "cpu_sys_pct", round(r->cpu_sys_pct * 10) / 10);
	jout_set_num(o, "cpu_s_per_GB", round(per_gb(r->cpu_s, r->bytes +
						      r->sent) * 1e3) / 1e3);
	jout_set_str(o, "engine", r->engine);
	jout_set_str(o, "validation", r->validation);
	jout_set_u64(o, "checked_bytes", r->checked);
	jout_set_u64(o, "mismatches", r->mismatches);
	if (r->sent_valid) {
		jout_set_u64(o, "sent", r->sent);
		jout_set_str(o, "tx_engine", r->tx_engine);
	}
	jout_set_u64(o, "retransmits", r->retransmits);
	return o;
}

int sess_result_send(int fd, const struct sess_result *r, int timeout_s)
{
	double end = now_s() + (timeout_s ? timeout_s : 10);
	size_t len = 0, off = 0;
	json_t *obj = result_obj(r);
	char *l = line_of(SESS_RESULT_TAG, SESS_RESULT_TAGLEN, obj, &len);
	int ret = 0;

	json_decref(obj);
	if (!l)
		return -ENOMEM;
	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, l + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (cli_stop || now_s() >= end) {
			ret = -ETIMEDOUT;
			break;
		}
		poll(&p, 1, 200);
	}
	free(l);
	return ret;
}

/* ---- the server's stream (-R, --bidir) ---- */

static void *tx_thread(void *arg)
{
	struct sess_tx *t = arg;

	t->ret = snd_pattern(t->sd, t->size, t->time_s);
	return NULL;
}

int sess_tx_run(struct sess_tx *t, int fd, const struct sess_hello *h,
		int timeout_s, struct out_ivl *iv, bool thread)
{
	DMT_OPTS(dmt_tx_opts, to, .engine = DMT_ENGINE_AUTO,
		 .max_iov = SND_MAX_SEGS, .nonblock = 1);
	const struct buf_choice host = { .kind = DMT_BUF_HOST };
	struct sender *sd;
	struct dmt_error e;
	char why[256];

	memset(t, 0, sizeof(*t));
	sd = calloc(1, sizeof(*sd));
	__atomic_store_n(&t->sd, sd, __ATOMIC_RELEASE);	/* [SUM] lines read it */
	if (!sd)
		return -1;
	sd->msg_size = h->msg_size;
	sd->timeout_s = timeout_s ? timeout_s : 30;
	sd->iv = iv;
	sd->buf = alloc_buffer(&host, CLI_DEFAULT_BUF, why, sizeof(why));
	if (!sd->buf) {
		snprintf(sd->err, sizeof(sd->err), "send buffer: %s", why);
		return t->ret = -1;
	}
	if (snd_fill_pattern(sd, h->v, h->size) < 0)
		return t->ret = -1;
	sd->tx = dmt_tx_from_fd(NULL, sd->buf, fd, &to, &e);
	if (!sd->tx) {
		snprintf(sd->err, sizeof(sd->err), "send: %.300s", e.message);
		return t->ret = -1;
	}
	snprintf(t->engine, sizeof(t->engine), "%s",
		 dmt_engine_name(dmt_tx_engine(sd->tx)));
	if (iv)
		out_ivl_start(iv, now_s());
	if (!thread) {
		t->ret = snd_pattern(sd, h->size, h->time_s);
		return t->ret;
	}
	/* tx_thread sends with the hello's size or time */
	t->threaded = true;
	t->size = h->size;
	t->time_s = h->time_s;
	if (pthread_create(&t->th, NULL, tx_thread, t)) {
		t->threaded = false;
		snprintf(sd->err, sizeof(sd->err), "cannot start the sending "
			 "thread");
		return t->ret = -1;
	}
	return 0;
}
int sess_tx_join(struct sess_tx *t)
{
	if (!t->sd)
		return -1;
	if (t->threaded) {
		pthread_join(t->th, NULL);
		t->threaded = false;
	}
	if (t->ret == 0 && t->sd->tx)
		t->ret = snd_flush(t->sd);
	return t->ret;
}

uint64_t sess_tx_sent(const struct sess_tx *t)
{
	struct sender *sd = __atomic_load_n(&t->sd, __ATOMIC_ACQUIRE);

	return sd ? __atomic_load_n(&sd->sent, __ATOMIC_RELAXED) : 0;
}

const char *sess_tx_error(const struct sess_tx *t)
{
	return t->sd ? t->sd->err : "out of memory";
}

void sess_tx_free(struct sess_tx *t)
{
	if (t->threaded)
		pthread_join(t->th, NULL);
	if (t->sd) {
		dmt_tx_free(t->sd->tx);
		dmt_buf_free(t->sd->buf);
		free(t->sd);
	}
	memset(t, 0, sizeof(*t));
}

json_t *sess_result_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	const char *nl;
	json_t *o;

	if (len < SESS_RESULT_TAGLEN ||
	    memcmp(buf, SESS_RESULT_TAG, SESS_RESULT_TAGLEN)) {
		snprintf(err, errlen, "the receiver sent %zu bytes that are not a "
			 "devmemtcp result", len);
		return NULL;
	}
	nl = memchr(buf, '\n', len);
	if (!nl) {
		snprintf(err, errlen, "the receiver's result was cut short "
			 "(%zu bytes, no end of line)", len);
		return NULL;
	}
	o = json_loadb(buf + SESS_RESULT_TAGLEN,
		       (size_t)(nl - buf) - SESS_RESULT_TAGLEN, 0, &je);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the receiver's result is not a JSON "
			 "object: %s", o ? "another value" : je.text);
		json_decref(o);
		return NULL;
	}
	return o;
}
