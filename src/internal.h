/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the library's sources. Not installed. */
#ifndef DMT_INTERNAL_H
#define DMT_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devmemtcp.h"

#define DMT_EXPORT DMT_API

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* ---- errors (error.c) ---- */

/* Store errno in errno and return it negated, the one place -1/errno
 * becomes -errno. */
static inline int dmt_neg_errno(void)
{
	int e = errno ? errno : EIO;
	return -e;
}

static inline int dmt_ret(int ret)
{
	if (ret < 0)
		errno = -ret;
	return ret;
}

/* Record err + a printf-formatted sentence; returns err (negative). The
 * extack and attribute fields are left as they are (a kernel answer being
 * explained keeps them). */
int dmt_err_set(struct dmt_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A failure of the library's own (no kernel answer behind it): record err
 * and the sentence with the extack and attribute fields cleared, store the
 * errno and return err (negative). The one setter for a handle's record. */
int dmt_fail(struct dmt_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dmt_err_clear(struct dmt_error *e);
/* Copy src into dst when dst is not NULL. */
void dmt_err_copy(struct dmt_error *dst, const struct dmt_error *src);

/*
 * Options structs (docs/conventions.md). opts may be NULL (defaults);
 * otherwise opts->sz must cover at least sz itself, and every byte the
 * caller passes beyond the end of the last field this library knows must
 * be zero (a newer caller asking for something this library lacks). The
 * end is that of the last named field, not sizeof, whose tail padding a
 * newer header may fill with a field (libbpf's OPTS_VALID rule). Each
 * options struct names its last field next to its type:
 * #define dmt_tx_opts__last connect_timeout_ms.
 */
#define dmt_offsetofend(type, field)                                         \
	(offsetof(type, field) + sizeof(((type *)0)->field))
#define DMT_OPTS_END(type) dmt_offsetofend(struct type, type##__last)
bool dmt_opts_valid(const void *opts, size_t known_sz);
#define DMT_OPTS_VALID(opts, type) dmt_opts_valid((opts), DMT_OPTS_END(type))
/* The constructors' prologue: false (err filled, errno EINVAL) when opts
 * is not valid for type. */
bool dmt_opts_check(const void *opts, size_t known_sz, const char *type,
		    struct dmt_error *err);
#define DMT_OPTS_CHECK(opts, type, err)                                      \
	dmt_opts_check((opts), DMT_OPTS_END(type), #type, (err))
/* Does the caller's struct have field (its sz covers it)? */
#define DMT_OPTS_HAS(opts, field)                                            \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) +     \
				       sizeof((opts)->field))
/* The field as the caller set it, 0 included; absent when the caller's
 * struct is older than the field (or opts is NULL). */
#define DMT_OPTS_FIELD(opts, field, absent)                                  \
	(DMT_OPTS_HAS(opts, field) ? (opts)->field : (absent))
/* For the fields whose documented 0 means "the default": def when the
 * field is absent or 0. */
#define DMT_OPTS_OR(opts, field, def)                                        \
	(DMT_OPTS_HAS(opts, field) && (opts)->field ? (opts)->field : (def))

/* The last named field of each options struct (DMT_OPTS_END). */
#define dmt_ctx_opts__last log_level
#define dmt_buf_opts__last pci_bus_id
#define dmt_tx_opts__last connect_timeout_ms
#define dmt_tx_stats__last copy_sends
#define dmt_doctor_opts__last what
#define dmt_rx_opts__last no_linear
#define dmt_rx_stats__last __reserved
#define dmt_rx_listen_opts__last no_socket
#define dmt_nic_setup_opts__last journal_dir

/* ---- context ---- */

struct mnl_socket;

struct dmt_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	int family;		/* genl family id, or 0 for rtnetlink */
};

struct dmt_ctx {
	struct dmt_nl netdev;	/* owns the bindings */
	struct dmt_nl rtnl;	/* route lookups, opened lazily */
	struct dmt_nl ethtool;	/* ethtool family, opened lazily */
	int nbindings;
	uint64_t netdev_ops;	/* the family's op list (bit n: cmd n), 0 unknown */
	dmt_log_fn log_fn;
	void *log_user;
	enum dmt_log_level log_level;
	struct dmt_error err;
};

void dmt_log(const struct dmt_ctx *ctx, enum dmt_log_level lvl,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Does this kernel's netdev family list op cmd? (true when unknown) */
bool dmt_ctx_has_op(const struct dmt_ctx *ctx, int cmd);

/* ---- misc ---- */
size_t dmt_page_size(void);
/* interface name for ifindex (buf of IF_NAMESIZE), "ifN" when unknown */
const char *dmt_ifname(int ifindex, char *buf);

#endif /* DMT_INTERNAL_H */
