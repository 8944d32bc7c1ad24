// SPDX-License-Identifier: MIT
/*
 * tier V: the library on kernels without devmem TX (scripts/vm-test.sh 6.12
 * and 6.1). Skips on a kernel that has bind-tx (6.16+).
 *
 * 6.12 (netdev family with bind-rx, no bind-tx):
 *  - bind-tx is refused as the kernel's lack, never a driver's: "devmem TX
 *    needs Linux 6.16" (before the fix: "the lo driver has no devmem TX
 *    support");
 *  - a sender's reason names the kernel, not the driver;
 *  - doctor: kernel.bind_tx FAIL with the 6.16 fix, TX verdict "the kernel
 *    has no bind-tx operation";
 *  - bind-rx with a real dma-buf on virtio-net: the kernel's real answer;
 *  - SO_DEVMEM_DONTNEED exists (80), the TX cmsg (SCM_DEVMEM_DMABUF, 79)
 *    does not.
 * 6.1 (no netdev family):
 *  - dmt_ctx_new fails with DMT_ERR_NO_FAMILY and says what is needed;
 *  - doctor: the netdev family check fails and both verdicts say why;
 *  - no udmabuf: the error names CONFIG_UDMABUF; SO_DEVMEM_DONTNEED is
 *    unknown (ENOPROTOOPT).
 */
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "uapi.h"

static int tcp_pair(int *cfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int port = 0, lfd, sfd;

	lfd = t_listen("127.0.0.1", &port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_CHECK(*cfd >= 0 && connect(*cfd, (struct sockaddr *)&a, sizeof(a)) == 0,
		"connect: %s", strerror(errno));
	sfd = accept(lfd, NULL, NULL);
	T_CHECK(sfd >= 0, "accept: %s", strerror(errno));
	close(lfd);
	return sfd;
}

/* SO_DEVMEM_DONTNEED with one unknown token: 0 (known option) or -errno. */
static int dontneed(int fd)
{
	struct { uint32_t token_start, token_count; } t = { 12345, 1 };

	return setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, &t, sizeof(t)) < 0 ?
		-errno : 0;
}

/* A send carrying SCM_DEVMEM_DMABUF with binding id 0: kernels with devmem
 * TX accept the cmsg (id 0 means "none"), older ones do not know it. */
static int tx_cmsg(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t))] __attribute__((aligned(8))) = { 0 };
	struct iovec v = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	uint32_t id = 0;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_DEVMEM_DMABUF;
	c->cmsg_len = CMSG_LEN(sizeof(id));
	memcpy(CMSG_DATA(c), &id, sizeof(id));
	return sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static const struct dmt_doctor_check *find_check(const struct dmt_doctor *d,
						 const char *id)
{
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++)
		if (!strcmp(dmt_doctor_check_at(d, i)->id, id))
			return dmt_doctor_check_at(d, i);
	return NULL;
}

static const struct dmt_doctor_iface *doctor_eth0(struct dmt_doctor **d)
{
	static const char *const names[] = { "eth0" };
	DMT_OPTS(dmt_doctor_opts, o, .ifnames = names, .nifnames = 1);
	struct dmt_error err;

	*d = dmt_doctor_run(&o, &err);
	T_CHECK(*d, "doctor: %s", err.message);
	T_CHECK(dmt_doctor_iface_count(*d) == 1, "doctor interfaces");
	return dmt_doctor_iface_at(*d, 0);
}

static void kernel_612(struct dmt_ctx *ctx)
{
	struct dmt_error err;
	const struct dmt_doctor_check *k;
	const struct dmt_doctor_iface *f;
	struct dmt_doctor *d;
	struct dmt_buf *b;
	struct dmt_tx *tx;
	uint32_t id = 0, q = 0;
	int cfd, sfd, ret, eth0;

	T_CHECK(dmt_ctx_has_op(ctx, DMT_NETDEV_CMD_BIND_RX),
		"netdev family without bind-rx: not the 6.12 shape");
	b = dmt_buf_new(DMT_BUF_UDMABUF, 1 << 20, NULL, &err);
	T_CHECK(b, "udmabuf: %s", err.message);

	/* bind-tx: the kernel lacks the op; no driver is blamed */
	ret = dmt_ctx_bind_tx(ctx, (int)if_nametoindex("lo"), dmt_buf_dmabuf_fd(b), &id);
	printf("bind-tx on lo: %d: %s\n", ret, dmt_ctx_last_error(ctx)->message);
	T_CHECK(ret == -EOPNOTSUPP, "bind-tx returned %d", ret);
	T_CHECK(strstr(dmt_ctx_last_error(ctx)->message, "devmem TX needs Linux 6.16") &&
		!strstr(dmt_ctx_last_error(ctx)->message, "driver"),
		"bind-tx message: %s", dmt_ctx_last_error(ctx)->message);

	/* a sender's reason: the kernel first */
	{
		int port = 0, lfd = t_listen("127.0.0.1", &port);
		tx = t_tx_loopback(ctx, b, port, NULL, &err);
		T_CHECK(tx, "connect: %s", err.message);
		printf("sender: %s (%s)\n", dmt_engine_name(dmt_tx_engine(tx)),
		       dmt_tx_engine_reason(tx));
		T_CHECK(strstr(dmt_tx_engine_reason(tx), "has no devmem TX") &&
			!strstr(dmt_tx_engine_reason(tx), "driver"),
			"reason: %s", dmt_tx_engine_reason(tx));
		dmt_tx_free(tx);
		close(lfd);
	}

	/* doctor: the kernel check and the verdict */
	eth0 = (int)if_nametoindex("eth0");
	if (eth0) {
		f = doctor_eth0(&d);
		k = find_check(d, "kernel.bind_tx");
		T_CHECK(k && k->status == DMT_DOCTOR_FAIL && strstr(k->fix, "6.16"),
			"kernel.bind_tx: %s / %s", k ? k->evidence : "missing",
			k ? k->fix : "");
		k = find_check(d, "kernel.bind_rx");
		T_CHECK(k && k->status == DMT_DOCTOR_PASS, "kernel.bind_rx");
		printf("doctor eth0 TX: %s\ndoctor eth0 RX: %s\n", f->tx_reason,
		       f->rx_reason);
		T_CHECK(f->tx_ready == 0 && strstr(f->tx_reason, "no bind-tx"),
			"TX verdict: %s", f->tx_reason);
		T_CHECK(f->rx_ready == 0 && f->rx_reason[0], "RX verdict: %s",
			f->rx_reason);
		dmt_doctor_free(d);

		/* bind-rx with a real dma-buf on virtio-net: the kernel gets
		 * past dma_buf_get() (a real exporter) to the driver, which
		 * has no queue management API */
		ret = dmt_ctx_bind_rx(ctx, eth0, dmt_buf_dmabuf_fd(b), &q, 1, &id);
		printf("bind-rx on eth0 (virtio_net) with a udmabuf: %d: %s\n", ret,
		       dmt_ctx_last_error(ctx)->message);
		T_CHECK(ret == -DMT_ERR_NO_NETMEM_RX &&
			strstr(dmt_ctx_last_error(ctx)->message, "queue management"),
			"bind-rx: %d %s", ret, dmt_ctx_last_error(ctx)->message);
	} else {
		printf("no eth0: doctor and bind-rx checks not run\n");
	}
	dmt_buf_free(b);

	/* the socket ABI of 6.12: RX token release yes, TX cmsg no */
	sfd = tcp_pair(&cfd);
	ret = dontneed(sfd);
	T_CHECK(ret == 0, "SO_DEVMEM_DONTNEED: %s", strerror(-ret));
	ret = tx_cmsg(cfd);
	printf("SO_DEVMEM_DONTNEED (%d): known; SCM_DEVMEM_DMABUF (%d) send: %s\n",
	       SO_DEVMEM_DONTNEED, SCM_DEVMEM_DMABUF, ret ? strerror(-ret) : "accepted");
	T_CHECK(ret == -EINVAL, "TX cmsg on a kernel without devmem TX: %s",
		ret ? strerror(-ret) : "accepted");
	close(sfd);
	close(cfd);
}

static void kernel_61(const struct dmt_error *cerr)
{
	const struct dmt_doctor_check *k;
	const struct dmt_doctor_iface *f;
	struct dmt_doctor *d;
	struct dmt_error err;
	int cfd, sfd, ret;

	printf("context: %s\n", cerr->message);
	T_CHECK(cerr->err == -DMT_ERR_NO_FAMILY, "context error %d", cerr->err);
	T_CHECK(!dmt_buf_new(DMT_BUF_UDMABUF, 4096, NULL, &err) &&
		err.err == -DMT_ERR_NO_EXPORTER && strstr(err.message, "CONFIG_UDMABUF"),
		"udmabuf: %s", err.message);
	if (if_nametoindex("eth0")) {
		f = doctor_eth0(&d);
		k = find_check(d, "kernel.netdev_family");
		T_CHECK(k && k->status == DMT_DOCTOR_FAIL, "kernel.netdev_family");
		printf("doctor: %s: %s\n  fix: %s\n", k->title, k->evidence, k->fix);
		T_CHECK(strstr(k->fix, "6.12"), "fix names no kernel: %s", k->fix);
		printf("doctor eth0 TX: %s\ndoctor eth0 RX: %s\n", f->tx_reason,
		       f->rx_reason);
		T_CHECK(!f->tx_ready && strstr(f->tx_reason, "no netdev netlink family"),
			"TX verdict: %s", f->tx_reason);
		T_CHECK(!f->rx_ready && strstr(f->rx_reason, "no netdev netlink family"),
			"RX verdict: %s", f->rx_reason);
		dmt_doctor_free(d);
	}
	sfd = tcp_pair(&cfd);
	ret = dontneed(sfd);
	T_CHECK(ret == -ENOPROTOOPT, "SO_DEVMEM_DONTNEED on 6.1: %s",
		ret ? strerror(-ret) : "accepted");
	close(sfd);
	close(cfd);
}

int main(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx;

	t_require_root();
	ctx = dmt_ctx_new(NULL, &err);
	if (!ctx) {
		T_CHECK(err.err == -DMT_ERR_NO_FAMILY, "context: %s", err.message);
		kernel_61(&err);
	} else {
		T_SKIP_IF(dmt_ctx_has_op(ctx, DMT_NETDEV_CMD_BIND_TX),
			  "this kernel has devmem TX (bind-tx): the tier V kernel "
			  "checks are for 6.1 and 6.12 (scripts/vm-test.sh)");
		kernel_612(ctx);
		dmt_ctx_free(ctx);
	}
	printf("PASS\n");
	return T_PASS;
}
