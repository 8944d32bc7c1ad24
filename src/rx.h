/* SPDX-License-Identifier: MIT */
/*
 * RX internals: the receive object (rx.c), its engines (rx_devmem.c,
 * rx_copy.c: copy and staged) and the listener that owns the NIC setup and
 * the devmem binding (rx_listen.c). The pure parts stand alone:
 * rx_parse.h (cmsg parser) and tokens.h (token batcher).
 *
 * A walk of one fragment: dmt_rx_recv (rx.c) -> engine recv (recvmsg or
 * recv) -> parser -> the caller -> dmt_rx_release (rx.c) -> token batcher
 * (SO_DEVMEM_DONTNEED) or the copy ring.
 */
#ifndef DMT_RX_H
#define DMT_RX_H

#include <net/if.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "buffer.h"
#include "rx_parse.h"
#include "tokens.h"

struct dmt_rx;

/* One receive engine. Every function leaves a sentence in rx->err when it
 * fails (not for -EAGAIN / -EINTR). */
struct dmt_rx_engine {
	enum dmt_engine id;
	/* Allocate the engine's state; opts are validated. 0 or -errno. */
	int (*setup)(struct dmt_rx *rx, const struct dmt_rx_opts *opts);
	/* One receive into frags[0..max) (max >= 1, within max_outstanding):
	 * bytes (> 0, *nfrags set), 0 at end of stream, or -errno. */
	ssize_t (*recv)(struct dmt_rx *rx, struct dmt_frag *frags,
			unsigned int max, unsigned int *nfrags);
	/* Fragments lent now. */
	uint64_t (*outstanding)(const struct dmt_rx *rx);
	void (*destroy)(struct dmt_rx *rx);
};

extern const struct dmt_rx_engine dmt_rx_engine_devmem;	/* rx_devmem.c */
extern const struct dmt_rx_engine dmt_rx_engine_copy;	/* rx_copy.c */
extern const struct dmt_rx_engine dmt_rx_engine_staged;	/* rx_copy.c */

/* The listener (rx_listen.c). After dmt_rx_listen() returns, only
 * buf_users changes: connections may be made from several threads. */
struct dmt_rx_listener {
	struct dmt_ctx *ctx;
	struct dmt_buf *buf;
	int fd;				/* listening socket, -1: none */
	enum dmt_engine engine;		/* what AUTO connections get */
	struct dmt_nic_setup *setup;	/* devmem: owns the binding */
	uint32_t binding;
	char ifname[IF_NAMESIZE];
	int block_err;			/* first reason devmem cannot run, 0 */
	char blockers[1024];		/* every reason, "; " between them */
	atomic_uint buf_users;		/* copy/staged receivers on buf */
	char reason[1200];
	struct dmt_error err;
};

typedef ssize_t (*dmt_recvmsg_fn)(void *user, int fd, struct msghdr *msg,
				  int flags);

/* Copy and staged engines: one record per lent fragment. */
struct dmt_rx_copy_rec {
	uint64_t off;
	uint32_t len;
	bool released;
};

struct dmt_rx {
	struct dmt_rx_listener *l;	/* may be NULL */
	struct dmt_ctx *ctx;		/* logging only; may be NULL */
	struct dmt_buf *buf;
	bool buf_counted;		/* holds one of l->buf_users */
	int fd;
	bool own_fd;
	bool nonblock;
	bool no_linear;
	const struct dmt_rx_engine *eng;
	unsigned int max_outstanding;
	/* devmem (rx_devmem.c) */
	bool auto_engine;		/* AUTO picked devmem: plain data is
					 * delivered as linear, not an error */
	uint32_t binding;
	char *ctrl;
	size_t ctrl_size, ctrl_max;
	char *linear;
	size_t linear_size;
	uint64_t outstanding;		/* devmem tokens lent */
	/* copy and staged (rx_copy.c): a ring over the buffer, synthetic
	 * tokens */
	char *bounce;
	size_t bounce_size;
	struct dmt_stage *stage;	/* staged */
	struct dmt_rx_copy_rec *ring;	/* max_outstanding records */
	uint64_t tok_head, tok_tail;	/* next token to lend / oldest lent
					 * (64-bit counters; token = low 32) */
	uint64_t wpos;			/* next write offset in buf */
	char *scratch;			/* gather between unmapped buffers */
	/* callbacks */
	dmt_rx_frag_fn frag_fn;
	dmt_rx_pressure_fn pressure_fn;
	void *user;
	/* syscalls (replaced by tests) */
	dmt_recvmsg_fn recvmsg_fn;
	dmt_dontneed_fn dontneed_fn;
	void *sys_user;
	bool eof;
	struct dmt_rx_stats st;
	char reason[1300];
	struct dmt_error err;
};

/* AUTO without devmem: staged for memory without a CPU mapping, else
 * copy; and that choice in words (for a reason line). */
const struct dmt_rx_engine *dmt_rx_fallback(const struct dmt_buf *buf);
void dmt_rx_fallback_text(const struct dmt_buf *buf, char *out, size_t len);
/* Does ifindex's driver have netmem RX? 0 (yes), -EOPNOTSUPP (no), -EPERM
 * (no CAP_NET_ADMIN to ask), -ENODEV, or a local failure (-errno); the
 * probe's raw answer (the kernel's -errno, EINVAL or EBADF when the driver
 * passed and the memfd was refused, or the local failure) in *answer, the
 * kernel's extack in ext. */
int dmt_rx_netmem_probe(int ifindex, int *answer, char *ext, size_t extlen);
/* Back-pressure: ask the caller's callback to release fragments; true
 * when fewer are lent afterwards. */
bool dmt_rx_relieved(struct dmt_rx *rx);
/* Copy-ring release of one fragment: 1 when it was lent by rx. */
int dmt_rx_copy_release(struct dmt_rx *rx, const struct dmt_frag *f);

/* Test hooks (tier A): replace the two syscalls, force the devmem path on
 * a host buffer with a given binding id. */
void dmt_rx_test_hooks(struct dmt_rx *rx, dmt_recvmsg_fn r, dmt_dontneed_fn d,
		       void *user);
int dmt_rx_test_force_devmem(struct dmt_rx *rx, uint32_t binding, bool autom);

#endif
