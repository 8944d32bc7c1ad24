// SPDX-License-Identifier: MIT
/*
 * Staging: moving bytes between a socket and memory the CPU cannot map
 * (GPU memory) through host bounce buffers, double-buffered.
 *
 * A stage owns two bounce halves of `chunk` bytes (pinned by the GPU
 * runtime when it can: cuMemHostRegister / hsa_amd_memory_lock) and one
 * copy thread. The halves form a ring of two slots with a producer and a
 * consumer:
 *   send: the copy thread produces (device -> half), the caller's thread
 *         consumes (half -> send()); the copy of chunk k+1 overlaps the
 *         send of chunk k.
 *   recv: the caller's thread produces (recv() -> half), the copy thread
 *         consumes (half -> device); the copy of chunk k overlaps the
 *         receive of chunk k+1.
 * The device copies are dmt_buf_read()/dmt_buf_write(), so any buffer kind
 * works (host buffers too, which is how the pipeline is tested without a
 * GPU).
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "gpu.h"
#include "stage.h"

#define NSLOT 2
#define STAGE_CHUNK_DEFAULT (4u << 20)
#define STAGE_CHUNK_MAX (1ull << 30)

enum job { JOB_NONE, JOB_SEND, JOB_RECV, JOB_QUIT };

struct slot {
	char *p;
	size_t len;
	uint64_t off;	/* recv: where the bytes go in the buffer */
};

struct dmt_stage {
	struct dmt_buf *buf;
	size_t chunk;
	char *mem;
	size_t memlen;
	bool pinned;
	struct slot slot[NSLOT];

	pthread_t thr;
	bool thr_ok;
	pthread_mutex_t mu;
	pthread_cond_t cv_worker;	/* the copy thread waits here */
	pthread_cond_t cv_main;		/* the caller's thread waits here */

	/* under mu */
	enum job job;
	const struct iovec *iov;	/* send: ranges (offsets) to copy out */
	unsigned int niov;
	uint64_t prod, cons;		/* slots produced / consumed */
	bool prod_done;			/* the producer will add no more */
	bool cancel;			/* send: consumer gave up */
	int werr;			/* copy thread's error (negative) */

	struct dmt_stage_stats st;
	struct dmt_error err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int dmt_gpu_pin(struct dmt_buf *b, void *p, size_t len)
{
	switch (b->kind) {
	case DMT_BUF_CUDA:
		return dmt_cuda_pin(b, p, len);
	case DMT_BUF_ROCM:
		return dmt_rocm_pin(b, p, len);
	default:
		return 0;
	}
}

void dmt_gpu_unpin(struct dmt_buf *b, void *p)
{
	switch (b->kind) {
	case DMT_BUF_CUDA:
		dmt_cuda_unpin(b, p);
		break;
	case DMT_BUF_ROCM:
		dmt_rocm_unpin(b, p);
		break;
	default:
		break;
	}
}

/* ---- copy thread ---- */

/* Producer for sends: fill slots from the device. Called with mu held. */
static void worker_send(struct dmt_stage *s)
{
	unsigned int i = 0;
	uint64_t pos = 0;

	while (i < s->niov) {
		struct slot *sl;
		size_t len = 0;
		uint64_t t0;
		int ret = 0;

		while (s->prod - s->cons >= NSLOT && !s->cancel)
			pthread_cond_wait(&s->cv_worker, &s->mu);
		if (s->cancel)
			break;
		sl = &s->slot[s->prod % NSLOT];
		pthread_mutex_unlock(&s->mu);
		t0 = now_ns();
		while (len < s->chunk && i < s->niov && ret == 0) {
			uint64_t off = (uint64_t)(uintptr_t)s->iov[i].iov_base + pos;
			uint64_t rem = s->iov[i].iov_len - pos;
			size_t take = rem < s->chunk - len ? (size_t)rem :
							     s->chunk - len;

			ret = dmt_buf_read(s->buf, (size_t)off, sl->p + len, take);
			len += take;
			pos += take;
			if (pos == s->iov[i].iov_len) {
				i++;
				pos = 0;
			}
		}
		pthread_mutex_lock(&s->mu);
		s->st.copy_ns += now_ns() - t0;
		if (ret < 0) {
			s->werr = ret;
			break;
		}
		sl->len = len;
		s->st.from_device += len;
		s->st.chunks++;
		s->prod++;
		pthread_cond_signal(&s->cv_main);
	}
	s->prod_done = true;
}

/* Consumer for receives: drain slots into the device. mu held. */
static void worker_recv(struct dmt_stage *s)
{
	for (;;) {
		struct slot *sl;
		uint64_t t0;
		int ret;

		while (s->prod == s->cons && !s->prod_done)
			pthread_cond_wait(&s->cv_worker, &s->mu);
		if (s->prod == s->cons)
			break;
		sl = &s->slot[s->cons % NSLOT];
		pthread_mutex_unlock(&s->mu);
		t0 = now_ns();
		ret = dmt_buf_write(s->buf, (size_t)sl->off, sl->p, sl->len);
		pthread_mutex_lock(&s->mu);
		s->st.copy_ns += now_ns() - t0;
		if (ret < 0) {
			s->werr = ret;
			break;
		}
		s->st.to_device += sl->len;
		s->st.chunks++;
		s->cons++;
		pthread_cond_signal(&s->cv_main);
	}
}

static void *worker(void *arg)
{
	struct dmt_stage *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->job == JOB_NONE)
			pthread_cond_wait(&s->cv_worker, &s->mu);
		if (s->job == JOB_QUIT)
			break;
		if (s->job == JOB_SEND)
			worker_send(s);
		else
			worker_recv(s);
		s->job = JOB_NONE;
		pthread_cond_broadcast(&s->cv_main);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Start a job (mu held). */
static void job_start(struct dmt_stage *s, enum job j)
{
	s->job = j;
	s->prod = s->cons = 0;
	s->prod_done = false;
	s->cancel = false;
	s->werr = 0;
	pthread_cond_signal(&s->cv_worker);
}

/* Wait for the copy thread to finish the job (mu held). */
static void job_wait(struct dmt_stage *s)
{
	while (s->job != JOB_NONE)
		pthread_cond_wait(&s->cv_main, &s->mu);
}

/* ---- public API ---- */

DMT_EXPORT struct dmt_stage *dmt_stage_new(struct dmt_buf *buf,
					   const struct dmt_stage_opts *opts,
					   struct dmt_error *err)
{
	size_t ps = dmt_page_size();
	struct dmt_stage *s;
	size_t chunk;
	int ret;

	dmt_err_clear(err);
	if (!buf) {
		dmt_err_set(err, -EINVAL, "stage: a buffer is required");
		errno = EINVAL;
		return NULL;
	}
	if (!DMT_OPTS_CHECK(opts, dmt_stage_opts, err))
		return NULL;
	chunk = DMT_OPTS_OR(opts, chunk, STAGE_CHUNK_DEFAULT);
	if (chunk > STAGE_CHUNK_MAX) {
		dmt_err_set(err, -EINVAL, "stage: chunk %zu is above the limit of "
			    "1 GiB", chunk);
		errno = EINVAL;
		return NULL;
	}
	chunk = (chunk + ps - 1) & ~(ps - 1);
	s = calloc(1, sizeof(*s));
	if (!s) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->buf = buf;
	s->chunk = chunk;
	s->memlen = chunk * NSLOT;
	s->mem = mmap(NULL, s->memlen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (s->mem == MAP_FAILED) {
		ret = dmt_neg_errno();
		dmt_err_set(err, ret, "stage: cannot allocate %zu bytes of bounce "
			    "buffers: %s", s->memlen, dmt_strerror(ret));
		free(s);
		errno = -ret;
		return NULL;
	}
	for (int i = 0; i < NSLOT; i++)
		s->slot[i].p = s->mem + (size_t)i * chunk;
	s->pinned = dmt_gpu_pin(buf, s->mem, s->memlen) == 1;
	s->st.sz = sizeof(s->st);
	s->st.pinned = s->pinned;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_worker, NULL);
	pthread_cond_init(&s->cv_main, NULL);
	ret = -pthread_create(&s->thr, NULL, worker, s);
	if (ret < 0) {
		dmt_err_set(err, ret, "stage: cannot start the copy thread: %s",
			    dmt_strerror(ret));
		dmt_stage_free(s);
		errno = -ret;
		return NULL;
	}
	s->thr_ok = true;
	return s;
}

DMT_EXPORT void dmt_stage_free(struct dmt_stage *s)
{
	if (!s)
		return;
	if (s->thr_ok) {
		pthread_mutex_lock(&s->mu);
		s->job = JOB_QUIT;
		pthread_cond_signal(&s->cv_worker);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thr, NULL);
	}
	pthread_cond_destroy(&s->cv_main);
	pthread_cond_destroy(&s->cv_worker);
	pthread_mutex_destroy(&s->mu);
	if (s->pinned)
		dmt_gpu_unpin(s->buf, s->mem);
	munmap(s->mem, s->memlen);
	free(s);
}

DMT_EXPORT const struct dmt_error *dmt_stage_last_error(const struct dmt_stage *s)
{
	return &s->err;
}

DMT_EXPORT size_t dmt_stage_chunk(const struct dmt_stage *s)
{
	return s->chunk;
}

DMT_EXPORT int dmt_stage_get_stats(const struct dmt_stage *s,
				   struct dmt_stage_stats *stats)
{
	struct dmt_stage_stats v;
	size_t n;

	if (!stats || stats->sz < sizeof(size_t))
		return dmt_ret(-EINVAL);
	pthread_mutex_lock((pthread_mutex_t *)&s->mu);
	v = s->st;
	pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	n = stats->sz < sizeof(v) ? stats->sz : sizeof(v);
	v.sz = stats->sz;
	memcpy(stats, &v, n);
	return 0;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n;

	do
		n = poll(&p, 1, -1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? dmt_neg_errno() : 0;
}

static int copy_failed(struct dmt_stage *s, int werr, const char *dir)
{
	const struct dmt_error *be = dmt_buf_last_error(s->buf);

	return dmt_err_set(&s->err, werr, "stage: device copy %s failed: %s", dir,
			   be->message[0] ? be->message : dmt_strerror(werr));
}

ssize_t dmt_stage_sendv(struct dmt_stage *s, int fd, const struct iovec *iov,
			unsigned int n, bool dontwait, uint64_t *syscalls)
{
	uint64_t sent = 0;
	int err = 0, werr;

	for (unsigned int i = 0; i < n; i++) {
		if (!dmt_buf_range_ok(s->buf, (uintptr_t)iov[i].iov_base,
				      iov[i].iov_len))
			return dmt_ret(dmt_err_set(&s->err, -EINVAL, "stage: range "
				"[%zu, +%zu) lies outside the %zu-byte buffer",
				(size_t)(uintptr_t)iov[i].iov_base,
				iov[i].iov_len, s->buf->size));
	}
	pthread_mutex_lock(&s->mu);
	s->iov = iov;
	s->niov = n;
	job_start(s, JOB_SEND);
	for (;;) {
		struct slot *sl;
		size_t done = 0;
		uint64_t t0 = now_ns();

		while (s->prod == s->cons && !s->prod_done)
			pthread_cond_wait(&s->cv_main, &s->mu);
		s->st.net_wait_ns += now_ns() - t0;
		if (s->prod == s->cons)
			break;	/* all sent, or the copy thread failed */
		sl = &s->slot[s->cons % NSLOT];
		pthread_mutex_unlock(&s->mu);
		while (done < sl->len) {
			ssize_t r = send(fd, sl->p + done, sl->len - done,
					 MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
			if (syscalls)
				(*syscalls)++;
			if (r > 0) {
				done += (size_t)r;
				continue;
			}
			if (r == 0) {
				err = -EPIPE;
				break;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && !dontwait) {
				err = wait_fd(fd, POLLOUT);
				if (err < 0)
					break;
				continue;
			}
			err = dmt_neg_errno();
			break;
		}
		sent += done;
		pthread_mutex_lock(&s->mu);
		s->st.sent += done;
		if (err < 0) {
			s->cancel = true;
			pthread_cond_signal(&s->cv_worker);
			break;
		}
		s->cons++;
		pthread_cond_signal(&s->cv_worker);
	}
	s->cancel = true;
	pthread_cond_signal(&s->cv_worker);
	job_wait(s);
	werr = s->werr;
	pthread_mutex_unlock(&s->mu);
	if (err < 0 && err != -EAGAIN)
		dmt_err_set(&s->err, err, "stage: send failed: %s%s",
			    dmt_strerror(err), err == -EPIPE || err == -ECONNRESET ?
			    ": the peer closed the connection" : "");
	if (werr < 0 && err == 0)
		err = copy_failed(s, werr, "out of the buffer");
	if (sent)
		return (ssize_t)sent;
	return dmt_ret(err);
}

DMT_EXPORT ssize_t dmt_stage_send(struct dmt_stage *s, int fd, uint64_t off,
				  uint64_t len)
{
	struct iovec v = { .iov_base = (void *)(uintptr_t)off, .iov_len = len };
	uint64_t sent = 0;

	if (!len)
		return 0;
	if (!dmt_buf_range_ok(s->buf, off, len))
		return dmt_ret(dmt_err_set(&s->err, -EINVAL, "stage: send [%llu, "
			"+%llu) lies outside the %zu-byte buffer",
			(unsigned long long)off, (unsigned long long)len,
			s->buf->size));
	while (sent < len) {
		ssize_t r;

		v.iov_base = (void *)(uintptr_t)(off + sent);
		v.iov_len = len - sent;
		r = dmt_stage_sendv(s, fd, &v, 1, false, NULL);
		if (r < 0)
			return sent ? (ssize_t)sent : r;
		sent += (uint64_t)r;
	}
	return (ssize_t)sent;
}

DMT_EXPORT ssize_t dmt_stage_recv(struct dmt_stage *s, int fd, uint64_t off,
				  uint64_t len)
{
	uint64_t got = 0, landed0;
	int err = 0, werr;
	bool eof = false;

	if (!len)
		return 0;
	if (!dmt_buf_range_ok(s->buf, off, len))
		return dmt_ret(dmt_err_set(&s->err, -EINVAL, "stage: recv [%llu, "
			"+%llu) lies outside the %zu-byte buffer",
			(unsigned long long)off, (unsigned long long)len,
			s->buf->size));
	pthread_mutex_lock(&s->mu);
	landed0 = s->st.to_device;
	job_start(s, JOB_RECV);
	while (got < len && !eof && !err) {
		struct slot *sl;
		size_t want, n = 0;
		uint64_t t0 = now_ns();

		while (s->prod - s->cons >= NSLOT && !s->werr)
			pthread_cond_wait(&s->cv_main, &s->mu);
		s->st.net_wait_ns += now_ns() - t0;
		if (s->werr)
			break;
		sl = &s->slot[s->prod % NSLOT];
		pthread_mutex_unlock(&s->mu);
		want = len - got < s->chunk ? (size_t)(len - got) : s->chunk;
		while (n < want) {
			ssize_t r = recv(fd, sl->p + n, want - n, 0);
			if (r > 0) {
				n += (size_t)r;
				continue;
			}
			if (r == 0) {
				eof = true;
				break;
			}
			if (errno == EINTR)
				continue;
			err = dmt_neg_errno();
			break;
		}
		pthread_mutex_lock(&s->mu);
		s->st.received += n;
		if (n) {	/* never drop bytes that left the socket */
			sl->off = off + got;
			sl->len = n;
			s->prod++;
			pthread_cond_signal(&s->cv_worker);
		}
		got += n;
	}
	s->prod_done = true;
	pthread_cond_signal(&s->cv_worker);
	job_wait(s);
	werr = s->werr;
	got = s->st.to_device - landed0;
	pthread_mutex_unlock(&s->mu);
	if (werr < 0)
		return dmt_ret(copy_failed(s, werr, "into the buffer"));
	if (got)
		return (ssize_t)got;
	if (err < 0)
		return dmt_ret(dmt_err_set(&s->err, err, "stage: recv failed: %s",
					   dmt_strerror(err)));
	return 0;	/* end of stream before any byte */
}
