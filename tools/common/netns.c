// SPDX-License-Identifier: MIT
/* Private namespace pair + veth over rtnetlink. See netns.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"

static int rtnl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL) ^ (unsigned int)rand();
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

static struct mnl_socket *rtnl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

static int link_up(struct mnl_socket *nl, int ifindex, unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rtnl_talk(nl, nlh);
}

static int add_addr(struct mnl_socket *nl, int ifindex, const char *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct in_addr a;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return -EINVAL;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = (unsigned int)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &a);
	return rtnl_talk(nl, nlh);
}

static int add_veth(struct mnl_socket *nl, const char *a, const char *b,
		    int peer_nsfd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *linkinfo, *data, *peer;
	struct ifinfomsg *ifi, *pifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, b);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return rtnl_talk(nl, nlh);
}

/* Child: new netns with lo up, report, then wait to be killed. */
static void holder_main(int wfd, pid_t parent)
{
	struct mnl_socket *nl;
	char ok = 'E';

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (unshare(CLONE_NEWNET) == 0 && (nl = rtnl_open())) {
		if (link_up(nl, 1, 0) == 0)
			ok = 'K';
		mnl_socket_close(nl);
	}
	if (write(wfd, &ok, 1) != 1)
		_exit(1);
	close(wfd);
	for (;;)
		pause();
}

static int spawn_holder(pid_t *pid)
{
	pid_t parent = getpid();
	int pfd[2];
	char c = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (*pid == 0) {
		close(pfd[0]);
		holder_main(pfd[1], parent);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		c = 0;
	close(pfd[0]);
	return c == 'K' ? 0 : -EPERM;
}

static int open_ns(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int netpair_ifindex(const struct netpair *p, int side, const char *name)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int idx = -ENODEV;
	unsigned int i;

	if (self < 0)
		return -errno;
	if (setns(p->nsfd[side], CLONE_NEWNET) < 0) {
		idx = -errno;
		close(self);
		return idx;
	}
	i = if_nametoindex(name);
	if (i)
		idx = (int)i;
	if (setns(self, CLONE_NEWNET) < 0)
		idx = -errno;
	close(self);
	return idx;
}

static int configure_side(const struct netpair *p, int side, unsigned int mtu)
{
	struct mnl_socket *nl;
	int idx, ret;

	if (setns(p->nsfd[side], CLONE_NEWNET) < 0)
		return -errno;
	nl = rtnl_open();
	if (!nl)
		return -errno;
	if (side == 0) {
		ret = add_veth(nl, p->ifname[0], p->ifname[1], p->nsfd[1]);
		if (ret < 0)
			goto out;
	}
	idx = (int)if_nametoindex(p->ifname[side]);
	if (!idx) {
		ret = -ENODEV;
		goto out;
	}
	ret = add_addr(nl, idx, p->addr[side]);
	if (ret == 0)
		ret = link_up(nl, idx, mtu);
out:
	mnl_socket_close(nl);
	return ret;
}

int netpair_create(struct netpair *p, unsigned int mtu, char *err,
		   size_t errlen)
{
	int self = -1, ret;

	memset(p, 0, sizeof(*p));
	p->nsfd[0] = p->nsfd[1] = -1;
	snprintf(p->ifname[0], sizeof(p->ifname[0]), "dmt0");
	snprintf(p->ifname[1], sizeof(p->ifname[1]), "dmt1");
	snprintf(p->addr[0], sizeof(p->addr[0]), "198.18.0.1");
	snprintf(p->addr[1], sizeof(p->addr[1]), "198.18.0.2");

	for (int s = 0; s < 2; s++) {
		ret = spawn_holder(&p->holder[s]);
		if (ret < 0) {
			snprintf(err, errlen, "cannot create a network namespace: "
				 "%s (needs root: CAP_SYS_ADMIN and CAP_NET_ADMIN)",
				 strerror(-ret));
			goto fail;
		}
		p->nsfd[s] = open_ns(p->holder[s]);
		if (p->nsfd[s] < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot open namespace %d: %s", s,
				 strerror(errno));
			goto fail;
		}
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open own namespace: %s", strerror(errno));
		goto fail;
	}
	for (int s = 0; s < 2; s++) {
		ret = configure_side(p, s, mtu);
		if (ret < 0) {
			snprintf(err, errlen, "veth setup in namespace %c failed: %s",
				 'A' + s, strerror(-ret));
			break;
		}
	}
	if (setns(self, CLONE_NEWNET) < 0 && ret == 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot return to own namespace: %s",
			 strerror(errno));
	}
	close(self);
	if (ret == 0)
		return 0;
fail:
	netpair_destroy(p);
	return ret;
}

int netpair_enter(const struct netpair *p, int side)
{
	return setns(p->nsfd[side], CLONE_NEWNET) < 0 ? -errno : 0;
}

int netpair_run(const struct netpair *p, int side, int (*fn)(void *),
		void *arg, pid_t *pid_out)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (netpair_enter(p, side) < 0)
			_exit(125);
		int rc = fn(arg);
		fflush(NULL);
		_exit(rc);
	}
	if (pid_out) {
		*pid_out = pid;
		return 0;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void netpair_destroy(struct netpair *p)
{
	for (int s = 0; s < 2; s++) {
		if (p->nsfd[s] >= 0)
			close(p->nsfd[s]);
		p->nsfd[s] = -1;
		if (p->holder[s] > 0) {
			kill(p->holder[s], SIGKILL);
			while (waitpid(p->holder[s], NULL, 0) < 0 && errno == EINTR)
				;
		}
		p->holder[s] = 0;
	}
}
