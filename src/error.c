// SPDX-License-Identifier: MIT
/* Error records, dmt_strerror(), logging, options validation. */
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

static const char *const dmt_errstr[DMT_ERR_MAX - DMT_ERR_BASE] = {
	[DMT_ERR_NO_NETMEM_TX - DMT_ERR_BASE] =
		"device driver does not support devmem TX (netmem TX)",
	[DMT_ERR_NO_NETMEM_RX - DMT_ERR_BASE] =
		"device driver does not support devmem RX (queue management API)",
	[DMT_ERR_NO_EXPORTER - DMT_ERR_BASE] = "no dma-buf exporter available",
	[DMT_ERR_NOT_DMABUF - DMT_ERR_BASE] = "buffer is not a dma-buf",
	[DMT_ERR_ROUTE_MISMATCH - DMT_ERR_BASE] =
		"route to the peer leaves through a device other than the bound one",
	[DMT_ERR_FLOW_STEERING - DMT_ERR_BASE] =
		"flow steering error: data arrived outside the devmem binding",
	[DMT_ERR_HEADER_SPLIT - DMT_ERR_BASE] =
		"TCP header/data split is not enabled or not supported",
	[DMT_ERR_NETLINK - DMT_ERR_BASE] = "malformed or unexpected netlink reply",
	[DMT_ERR_NO_FAMILY - DMT_ERR_BASE] =
		"generic netlink family not present in this kernel",
	[DMT_ERR_ENGINE - DMT_ERR_BASE] = "engine not available",
	[DMT_ERR_GPU - DMT_ERR_BASE] = "GPU runtime error",
};

DMT_EXPORT const char *dmt_strerror(int err)
{
	static __thread char buf[64];

	if (err == INT_MIN) {	/* -INT_MIN does not exist */
		snprintf(buf, sizeof(buf), "unknown error %d", err);
		return buf;
	}
	if (err < 0)
		err = -err;
	if (err >= DMT_ERR_BASE && err < DMT_ERR_MAX)
		return dmt_errstr[err - DMT_ERR_BASE];
	if (err == 525)
		return "control buffer too small for the next devmem cmsg (ETOOSMALL)";
	if (err == 524)
		return "operation not supported by the exporter or driver (ENOTSUPP)";
	if (err == 0)
		return "success";
	if (err < DMT_ERR_BASE) {
		/* strerror_r (XSI or GNU) is not portable to write; copy it. */
		snprintf(buf, sizeof(buf), "%s", strerror(err));
		return buf;
	}
	snprintf(buf, sizeof(buf), "unknown error %d", err);
	return buf;
}

int dmt_err_set(struct dmt_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return err;
}

int dmt_fail(struct dmt_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->err = err;
		e->bad_attr = 0;
		e->miss_type = 0;
		e->extack[0] = '\0';
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
	}
	return dmt_ret(err);
}

void dmt_err_clear(struct dmt_error *e)
{
	if (!e)
		return;
	e->err = 0;
	e->bad_attr = 0;
	e->miss_type = 0;
	e->extack[0] = '\0';
	e->message[0] = '\0';
}

void dmt_err_copy(struct dmt_error *dst, const struct dmt_error *src)
{
	if (dst && src && dst != src)
		*dst = *src;
}

bool dmt_opts_valid(const void *opts, size_t known_sz)
{
	const unsigned char *p = opts;
	size_t sz;

	if (!opts)
		return true;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return false;
	for (size_t i = known_sz; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

bool dmt_opts_check(const void *opts, size_t known_sz, const char *type,
		    struct dmt_error *err)
{
	if (dmt_opts_valid(opts, known_sz))
		return true;
	dmt_fail(err, -EINVAL, "struct %s: unknown fields set (bytes from %zu "
		 "on must be 0) or sz %zu too small: declare it with DMT_OPTS() "
		 "and rebuild against this library's header", type, known_sz,
		 *(const size_t *)opts);
	return false;
}

void dmt_log(const struct dmt_ctx *ctx, enum dmt_log_level lvl,
	     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ctx || !ctx->log_fn || lvl > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(lvl, msg, ctx->log_user);
}

size_t dmt_page_size(void)
{
	static size_t ps;

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
	}
	return ps;
}

const char *dmt_ifname(int ifindex, char *buf)
{
	if (ifindex <= 0 || !if_indextoname((unsigned int)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
	return buf;
}

DMT_EXPORT int dmt_version_major(void)
{
	return DMT_VERSION_MAJOR;
}

DMT_EXPORT int dmt_version_minor(void)
{
	return DMT_VERSION_MINOR;
}
