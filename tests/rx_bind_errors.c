// SPDX-License-Identifier: MIT
/* tier B: bind-rx on this kernel's devices. lo and a veth in a private
 * namespace give EOPNOTSUPP, returned as -DMT_ERR_NO_NETMEM_RX with a
 * sentence naming the missing driver
 * support; without CAP_NET_ADMIN (dropped in a child, with the netlink
 * socket opened before and after the drop) EPERM naming the capability;
 * an empty queue list is refused before the kernel is asked. */
#include <linux/capability.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "helpers.h"
#include "netns.h"

static int memfd(void)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	T_CHECK(fd >= 0 && ftruncate(fd, 4096) == 0, "memfd");
	return fd;
}

/* bind-rx expecting err; the message must contain want. */
static void expect_bind(struct dmt_ctx *ctx, int ifindex, int err,
			const char *want, const char *want2)
{
	uint32_t q[2] = { 0, 1 }, id = 0;
	int fd = memfd(), ret;
	const struct dmt_error *e;

	ret = dmt_ctx_bind_rx(ctx, ifindex, fd, q, 1, &id);
	e = dmt_ctx_last_error(ctx);
	T_CHECK(ret == err, "bind-rx on %d: %d (%s), expected %d", ifindex, ret,
		e->message, err);
	T_CHECK(errno == -err, "errno %d", errno);
	T_CHECK(e->err == err, "record err %d", e->err);
	T_CHECK(strstr(e->message, want) && (!want2 || strstr(e->message, want2)),
		"message lacks '%s'/'%s': %s", want, want2 ? want2 : "", e->message);
	T_CHECK(dmt_ctx_binding_count(ctx) == 0 && id == 0, "no binding");
	printf("  %s\n", e->message);
	close(fd);
}

static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
	d[CAP_NET_ADMIN / 32].inheritable &= ~(1u << (CAP_NET_ADMIN % 32));
	return (int)syscall(SYS_capset, &h, d);
}

static int eperm_child(bool socket_first)
{
	struct dmt_ctx *ctx = NULL;
	struct dmt_error e;

	if (socket_first) {
		ctx = dmt_ctx_new(NULL, &e);
		T_CHECK(ctx, "%s", e.message);
	}
	T_CHECK(drop_net_admin() == 0, "capset: %s", strerror(errno));
	if (!ctx) {
		ctx = dmt_ctx_new(NULL, &e);
		T_CHECK(ctx, "%s", e.message);
	}
	expect_bind(ctx, 1, -EPERM, "CAP_NET_ADMIN", "bind-rx");
	dmt_ctx_free(ctx);
	return 0;
}

static void run_child(bool socket_first)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	T_CHECK(pid >= 0, "fork");
	if (!pid) {
		int rc = eperm_child(socket_first);

		fflush(stdout);
		_exit(rc);
	}
	T_CHECK(waitpid(pid, &st, 0) == pid, "wait");
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "EPERM child (socket %s "
		"the drop) failed", socket_first ? "before" : "after");
}

static int in_veth(void *arg)
{
	struct dmt_ctx *ctx;
	struct dmt_error e;
	int ifx = (int)if_nametoindex("dmt0");

	(void)arg;
	T_CHECK(ifx > 0, "dmt0 missing");
	ctx = dmt_ctx_new(NULL, &e);
	T_CHECK(ctx, "%s", e.message);
	expect_bind(ctx, ifx, -DMT_ERR_NO_NETMEM_RX, "bind-rx on dmt0", "(veth)");
	T_CHECK(strstr(dmt_ctx_last_error(ctx)->message, "queue management"),
		"names the missing queue API");
	dmt_ctx_free(ctx);
	return 0;
}

int main(void)
{
	struct dmt_ctx *ctx;
	struct netpair np;
	uint32_t id;
	int ret;

	t_require_root();
	ctx = t_ctx();

	printf("lo:\n");
	expect_bind(ctx, 1, -DMT_ERR_NO_NETMEM_RX, "bind-rx on lo", "queue management");
	/* empty queue list: refused by the library, nothing sent */
	ret = dmt_ctx_bind_rx(ctx, 1, 0, NULL, 0, &id);
	T_CHECK(ret == -EINVAL && strstr(dmt_ctx_last_error(ctx)->message,
					 "at least one queue"), "empty: %d %s",
		ret, dmt_ctx_last_error(ctx)->message);
	dmt_ctx_free(ctx);

	printf("veth in a private namespace:\n");
	t_netpair(&np);
	ret = netpair_run(&np, 0, in_veth, NULL, NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "veth child failed (%d)", ret);

	printf("without CAP_NET_ADMIN:\n");
	run_child(true);
	run_child(false);
	printf("rx_bind_errors: ok\n");
	return T_PASS;
}
