// SPDX-License-Identifier: MIT
/*
 * tier B: devmem TX with a named interface follows the kernel's rule. The
 * socket is SO_BINDTODEVICE'd to the named device, and the kernel then
 * only checks that the route leaves through the binding's device, which a
 * bound socket always does; so a main-table route through another device
 * must not make the library refuse. In a private namespace the peer
 * 198.18.0.2 routes via the veth while "lo" is named: the attempt must get
 * as far as bind-tx on lo (-DMT_ERR_NO_NETMEM_TX: no netmem TX on lo), not stop at a
 * route mismatch. Without a named interface the route picks the device.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buffer.h"
#include "helpers.h"
#include "netns.h"

static int attempt(const char *ifname, const char *peer, struct dmt_error *e)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct dmt_ctx *ctx = dmt_ctx_new(NULL, e);
	struct dmt_buf *buf;
	struct dmt_tx *tx;

	T_CHECK(ctx, "ctx: %s", e->message);
	buf = dmt_buf_new(DMT_BUF_HOST, 1 << 16, NULL, e);
	T_CHECK(buf, "buf: %s", e->message);
	/* any fd: bind-tx on lo/veth is refused before the fd is used */
	buf->dmabuf_fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	inet_pton(AF_INET, peer, &dst.sin_addr);
	DMT_OPTS(dmt_tx_opts, o, .engine = DMT_ENGINE_DEVMEM, .ifname = ifname);
	tx = dmt_tx_connect(ctx, buf, (struct sockaddr *)&dst, sizeof(dst), NULL,
			    0, &o, e);
	T_CHECK(!tx, "devmem TX cannot succeed on %s", ifname ? ifname : "-");
	printf("%s -> %s: %d %s\n", ifname ? ifname : "(route)", peer, e->err,
	       e->message);
	dmt_buf_free(buf);
	dmt_ctx_free(ctx);
	return e->err;
}

static int in_ns(void *arg)
{
	struct dmt_error e;
	int ret;

	(void)arg;
	/* named lo, route via the veth: the kernel would accept the route */
	ret = attempt("lo", "198.18.0.2", &e);
	T_CHECK(ret == -DMT_ERR_NO_NETMEM_TX && strstr(e.message, "netmem TX"),
		"named interface: want bind-tx's NO_NETMEM_TX, got %d: %s", ret,
		e.message);
	T_CHECK(!strstr(e.message, "route to the peer"), "route check ran");
	/* a connected socket handed over, not bound to the named device:
	 * the route check stays (198.18.0.1 is local: it leaves via lo) */
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET,
			SOCK_STREAM, 0);
		struct dmt_ctx *ctx = dmt_ctx_new(NULL, &e);
		struct dmt_buf *buf = dmt_buf_new(DMT_BUF_HOST, 1 << 16, NULL, &e);

		T_CHECK(ctx && buf, "%s", e.message);
		buf->dmabuf_fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
		inet_pton(AF_INET, "198.18.0.1", &a.sin_addr);
		T_CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&a,
			&al) == 0 && connect(c, (struct sockaddr *)&a, al) == 0,
			"local connection");
		DMT_OPTS(dmt_tx_opts, o, .engine = DMT_ENGINE_DEVMEM,
			 .ifname = "dmt0");
		T_CHECK(!dmt_tx_from_fd(ctx, buf, c, &o, &e) &&
			e.err == -DMT_ERR_ROUTE_MISMATCH, "unbound socket: %d %s",
			e.err, e.message);
		printf("handed-over socket, route via lo, dmt0 named: %s\n",
		       e.message);
		close(c);
		close(l);
		dmt_buf_free(buf);
		dmt_ctx_free(ctx);
	}
	/* no interface: the route's device (the veth) is bound */
	ret = attempt(NULL, "198.18.0.2", &e);
	T_CHECK(ret == -DMT_ERR_NO_NETMEM_TX && strstr(e.message, "dmt"),
		"route's device: %d %s", ret, e.message);
	return 0;
}

int main(void)
{
	struct netpair np;
	int ret;

	t_require_root();
	dmt_ctx_free(t_ctx());
	t_netpair(&np);
	ret = netpair_run(&np, 0, in_ns, NULL, NULL);
	netpair_destroy(&np);
	T_CHECK(ret == 0, "namespace child exited %d", ret);
	printf("tx_route_named: ok\n");
	return T_PASS;
}
