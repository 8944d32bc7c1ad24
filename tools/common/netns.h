/* SPDX-License-Identifier: MIT */
/*
 * A private pair of network namespaces joined by a veth pair, for the demo,
 * bench --netns and the tests. Built with rtnetlink (libmnl), no ip(8).
 * The namespaces are anonymous and held by two child processes; when they
 * die (netpair_destroy(), or the parent dying: PR_SET_PDEATHSIG) the kernel
 * removes the namespaces and the veth with them, so nothing is left behind
 * even after a crash or Ctrl-C.
 */
#ifndef DMT_NETNS_H
#define DMT_NETNS_H

#include <stddef.h>
#include <sys/types.h>

struct netpair {
	pid_t holder[2];	/* processes holding namespace A and B */
	int nsfd[2];		/* /proc/<holder>/ns/net */
	char ifname[2][16];	/* veth ends: "dmt0" in A, "dmt1" in B */
	char addr[2][16];	/* 198.18.0.1 in A, 198.18.0.2 in B */
};

/* Create both namespaces and the veth (MTU mtu, 0 for the default).
 * 0 or -errno with err filled. Needs CAP_SYS_ADMIN and CAP_NET_ADMIN. */
int netpair_create(struct netpair *p, unsigned int mtu, char *err,
		   size_t errlen);
/* Move the calling process (single-threaded) into side 0 or 1. */
int netpair_enter(const struct netpair *p, int side);
/* Run fn(arg) in a child inside side; returns its exit status, or -errno.
 * pid_out (may be NULL) makes it asynchronous: returns 0 and the pid. */
int netpair_run(const struct netpair *p, int side, int (*fn)(void *),
		void *arg, pid_t *pid_out);
/* Kill the holders (by PID) and reap them. Safe to call twice. */
void netpair_destroy(struct netpair *p);
/* ifindex of name in side (looked up inside that namespace), or -errno. */
int netpair_ifindex(const struct netpair *p, int side, const char *name);

#endif
