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

/* Record err + a printf-formatted sentence; returns err (negative). */
int dmt_err_set(struct dmt_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dmt_err_clear(struct dmt_error *e);
/* Copy src into dst when dst is not NULL. */
void dmt_err_copy(struct dmt_error *dst, const struct dmt_error *src);

/*
 * Options validation: opts may be NULL; otherwise opts->sz must cover at
 * least the first field, and any bytes beyond what this library knows must
 * be zero (a newer caller asking for something we do not have).
 */
bool dmt_opts_valid(const void *opts, size_t known_sz);
#define DMT_OPTS_VALID(opts, type) dmt_opts_valid((opts), sizeof(struct type))
#define DMT_OPTS_HAS(opts, field)                                            \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) +     \
				       sizeof((opts)->field))
#define DMT_OPTS_GET(opts, field, def)                                       \
	(DMT_OPTS_HAS(opts, field) && (opts)->field ? (opts)->field : (def))

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
