// SPDX-License-Identifier: MIT
/*
 * tier B: bind-tx against the real kernel. On lo and on a veth (in a private
 * namespace) the kernel answers EOPNOTSUPP "Driver does not support netmem
 * TX" before it looks at the fd; the library returns -DMT_ERR_NO_NETMEM_TX
 * and the user-visible error must carry that
 * text. Unknown ifindex gives ENODEV. No binding must be counted.
 */
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "netns.h"
#include "internal.h"
#include "uapi.h"

static int check_eopnotsupp(const char *ifname)
{
	struct dmt_error err;
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, &err);
	int fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	int ifindex = (int)if_nametoindex(ifname);
	const struct dmt_error *le;
	uint32_t id = 0;
	int ret;

	T_CHECK(ctx, "dmt_ctx_new: %s", err.message);
	T_CHECK(ifindex > 0, "no %s", ifname);
	ret = dmt_ctx_bind_tx(ctx, ifindex, fd, &id);
	le = dmt_ctx_last_error(ctx);
	printf("%s: ret %d, message: %s\n", ifname, ret, le->message);
	T_CHECK(ret == -DMT_ERR_NO_NETMEM_TX, "bind-tx on %s returned %d",
		ifname, ret);
	T_CHECK(errno == DMT_ERR_NO_NETMEM_TX, "errno %d", errno);
	T_CHECK(!strcmp(le->extack, "Driver does not support netmem TX"),
		"extack '%s'", le->extack);
	T_CHECK(strstr(le->message, "Driver does not support netmem TX") &&
		strstr(le->message, ifname) && strstr(le->message, "fallback"),
		"message lacks kernel text, interface or fix: %s", le->message);
	T_CHECK(id == 0 && dmt_ctx_binding_count(ctx) == 0, "no binding");
	close(fd);
	dmt_ctx_free(ctx);
	return 0;
}

static int in_ns(void *arg)
{
	return check_eopnotsupp(arg);
}

int main(void)
{
	struct dmt_error err;
	struct netpair np;
	struct dmt_ctx *ctx;
	char why[256];
	uint32_t id = 0;
	int ret;

	t_require_root();
	ctx = dmt_ctx_new(NULL, &err);
	T_SKIP_IF(!ctx && err.err == -DMT_ERR_NO_FAMILY, "%s", err.message);
	T_CHECK(ctx, "dmt_ctx_new: %s", err.message);
	T_SKIP_IF(!dmt_ctx_has_op(ctx, DMT_NETDEV_CMD_BIND_TX), "this kernel has no "
		  "bind-tx operation (devmem TX needs 6.16), so its bind-tx errors "
		  "cannot be seen; tier V kernel_ops covers such kernels");
	T_CHECK(dmt_ctx_netdev_family(ctx) > 0, "family id");

	/* ENODEV for an ifindex that does not exist */
	ret = dmt_ctx_bind_tx(ctx, 999999, 0, &id);
	T_CHECK(ret == -ENODEV, "ifindex 999999: %d", ret);
	T_CHECK(strstr(dmt_ctx_last_error(ctx)->message, "does not exist"),
		"ENODEV message: %s", dmt_ctx_last_error(ctx)->message);
	/* argument validation before any syscall */
	T_CHECK(dmt_ctx_bind_tx(ctx, 0, 0, &id) == -EINVAL, "ifindex 0");
	T_CHECK(dmt_ctx_bind_tx(ctx, 1, -1, &id) == -EINVAL, "fd -1");
	dmt_ctx_free(ctx);

	check_eopnotsupp("lo");
	ret = netpair_create(&np, 0, why, sizeof(why));
	T_CHECK(ret == 0, "netpair: %s", why);
	ret = netpair_run(&np, 0, in_ns, np.ifname[0], NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "veth check in namespace exited %d", ret);
	printf("bind_tx_errors: ok\n");
	return T_PASS;
}
