// SPDX-License-Identifier: MIT
/*
 * Device discovery: the interfaces NCCL's socket transport would pick
 * (NCCL_SOCKET_IFNAME, NCCL_SOCKET_FAMILY), devmem-capable ones first as the
 * library's doctor judges them, with truthful properties from sysfs.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn.h"

struct pn_dev pn_devs[PN_MAX_DEVS];
int pn_ndevs;

/* One entry of the list matches name: "eth" a prefix, "=eth0" exact;
 * a ":port" suffix (NCCL's syntax) is ignored. */
static bool entry_match(const char *e, size_t elen, bool exact,
			const char *name)
{
	const char *colon = memchr(e, ':', elen);

	if (colon)
		elen = (size_t)(colon - e);
	if (elen == 0)
		return false;
	if (exact)
		return strlen(name) == elen && !strncmp(name, e, elen);
	return !strncmp(name, e, elen);
}

bool pn_ifname_match(const char *list, const char *name)
{
	bool exclude = false, exact = false, hit = false;
	const char *p = list;

	if (*p == '^') {
		exclude = true;
		p++;
	}
	if (*p == '=') {
		exact = true;
		p++;
	}
	while (*p && !hit) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		hit = entry_match(p, len, exact, name);
		p += len + (end ? 1 : 0);
	}
	return exclude ? !hit : hit;
}

static int read_sysfs(const char *ifname, const char *attr, char *out,
		      size_t outlen)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = 0;
	while (n && isspace((unsigned char)out[n - 1]))
		out[--n] = 0;
	return (int)n;
}

static void fill_props(struct pn_dev *d)
{
	char path[128], buf[64], real[PATH_MAX];
	unsigned int mac[6] = { 0 };
	long speed;
	char *end;

	/* A physical NIC has a device link to its bus device; a virtual one
	 * (lo, veth, bridge) has none. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", d->name);
	d->pci_path = realpath(path, real) ? strdup(real) : NULL;
	/* guid: the permanent identity of the port, its MAC address (the
	 * ifindex for devices without one, like lo). */
	d->guid = (uint64_t)d->ifindex;
	if (read_sysfs(d->name, "address", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2],
		   &mac[3], &mac[4], &mac[5]) == 6) {
		uint64_t g = 0;

		for (int i = 0; i < 6; i++)
			g = g << 8 | (mac[i] & 0xff);
		if (g)
			d->guid = g;
	}
	/* Link speed as ethtool reports it (the kernel's sysfs speed is the
	 * same ethtool_link_ksettings value); unknown (-1, virtual devices)
	 * counts as 10 Gb/s, as NCCL's socket transport assumes. */
	d->speed = 10000;
	d->speed_known = false;
	if (read_sysfs(d->name, "speed", buf, sizeof(buf)) > 0) {
		errno = 0;
		speed = strtol(buf, &end, 10);
		if (!errno && !*end && speed > 0 && speed < INT_MAX) {
			d->speed = (int)speed;
			d->speed_known = true;
		}
	}
}

static int family_wanted(void)
{
	const char *f = getenv("NCCL_SOCKET_FAMILY");

	if (f && !strcmp(f, "AF_INET"))
		return AF_INET;
	if (f && !strcmp(f, "AF_INET6"))
		return AF_INET6;
	return AF_UNSPEC;
}

/* Collect up interfaces matching list into pn_devs; IPv4 preferred unless
 * NCCL_SOCKET_FAMILY says otherwise; one address per interface. */
static int collect(struct ifaddrs *ifa, const char *list)
{
	int fam = family_wanted();

	pn_ndevs = 0;
	for (int pass = 0; pass < 2; pass++) {
		int want = fam != AF_UNSPEC ? fam : pass == 0 ? AF_INET : AF_INET6;

		if (fam != AF_UNSPEC && pass == 1)
			break;
		for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
			bool dup = false;

			if (!a->ifa_addr || a->ifa_addr->sa_family != want)
				continue;
			if (!(a->ifa_flags & IFF_UP) || !pn_ifname_match(list, a->ifa_name))
				continue;
			if (want == AF_INET6) {
				const struct sockaddr_in6 *s6 =
					(const struct sockaddr_in6 *)a->ifa_addr;

				if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
					continue;
			}
			for (int i = 0; i < pn_ndevs; i++)
				dup |= !strcmp(pn_devs[i].name, a->ifa_name);
			if (dup || pn_ndevs == PN_MAX_DEVS)
				continue;
			struct pn_dev *d = &pn_devs[pn_ndevs++];

			memset(d, 0, sizeof(*d));
			snprintf(d->name, sizeof(d->name), "%s", a->ifa_name);
			d->ifindex = (int)if_nametoindex(a->ifa_name);
			d->addrlen = want == AF_INET ? sizeof(struct sockaddr_in) :
				     sizeof(struct sockaddr_in6);
			memcpy(&d->addr, a->ifa_addr, d->addrlen);
			d->tx_ready = d->rx_ready = -1;
		}
	}
	return pn_ndevs;
}

bool pn_cuda_present(void)
{
	/* the same driver gpu.c loads */
	const char *name = secure_getenv("DMT_CUDA_LIB");
	void *h = dlopen(name && *name ? name : "libcuda.so.1",
			 RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return false;
	dlclose(h);
	return true;
}

/* Ask the library's doctor about every selected device; keep its verdicts
 * and order the devmem-ready ones first (stable). */
static void judge(void)
{
	const char *names[PN_MAX_DEVS];
	unsigned int n = 0;
	struct dmt_error err;
	struct dmt_doctor *doc;
	bool gpu = pn_cuda_present();

	for (int i = 0; i < pn_ndevs; i++)
		if (strcmp(pn_devs[i].name, "lo"))
			names[n++] = pn_devs[i].name;
	for (int i = 0; i < pn_ndevs; i++)
		snprintf(pn_devs[i].why, sizeof(pn_devs[i].why), "%s",
			 !strcmp(pn_devs[i].name, "lo") ?
			 "loopback has no devmem queues" : "not judged");
	if (!n)
		return;
	DMT_OPTS(dmt_doctor_opts, o, .ifnames = names, .nifnames = n,
		 .what = DMT_DOCTOR_TX | DMT_DOCTOR_RX);
	doc = dmt_doctor_run(&o, &err);
	if (!doc) {
		PN_INFO(NCCL_INIT | NCCL_NET, "NET/devmemtcp: devmem checks could "
			"not run (%s); using the host engines on every device",
			err.message);
		return;
	}
	for (unsigned int i = 0; i < dmt_doctor_iface_count(doc); i++) {
		const struct dmt_doctor_iface *f = dmt_doctor_iface_at(doc, i);

		for (int j = 0; j < pn_ndevs; j++) {
			struct pn_dev *d = &pn_devs[j];

			if (strcmp(d->name, f->ifname))
				continue;
			d->tx_ready = f->tx_ready;
			d->rx_ready = f->rx_ready;
			snprintf(d->why, sizeof(d->why), "%s",
				 f->tx_ready != 1 ? f->tx_reason :
				 f->rx_ready != 1 ? f->rx_reason :
				 !gpu ? "no GPU runtime (libcuda.so.1) to hold the "
					"buffers" : "");
			d->devmem = f->tx_ready == 1 && f->rx_ready == 1 && gpu;
		}
	}
	dmt_doctor_free(doc);
	/* Stable: devmem-ready first, each group in discovery order. */
	struct pn_dev tmp[PN_MAX_DEVS];
	int k = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < pn_ndevs; i++)
			if (pn_devs[i].devmem == (pass == 0))
				tmp[k++] = pn_devs[i];
	memcpy(pn_devs, tmp, sizeof(tmp[0]) * (size_t)pn_ndevs);
}

ncclResult_t pn_devices_init(void)
{
	const char *env = getenv("NCCL_SOCKET_IFNAME");
	/* NCCL's default order: InfiniBand IP, then anything but docker,
	 * loopback and libvirt bridges, then docker, then loopback. */
	static const char *const defaults[] = { "ib", "^docker,lo,virbr",
						"docker", "lo" };
	struct ifaddrs *ifa;

	if (getifaddrs(&ifa) < 0) {
		PN_WARN("NET/devmemtcp: cannot list network interfaces "
			"(getifaddrs: %s)", strerror(errno));
		return ncclSystemError;
	}
	if (env && *env) {
		collect(ifa, env);
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			if (collect(ifa, defaults[i]) > 0)
				break;
	}
	freeifaddrs(ifa);
	if (pn_ndevs == 0) {
		PN_WARN("NET/devmemtcp: no usable interface: none is up with an %s "
			"address%s%s%s; set NCCL_SOCKET_IFNAME to an interface that "
			"is (NCCL falls back to its own transports)",
			family_wanted() == AF_INET6 ? "IPv6" : "IP",
			env ? " and matches NCCL_SOCKET_IFNAME=\"" : "",
			env ? env : "", env ? "\"" : "");
		return ncclSystemError;
	}
	for (int i = 0; i < pn_ndevs; i++)
		fill_props(&pn_devs[i]);
	judge();
	for (int i = 0; i < pn_ndevs; i++) {
		struct pn_dev *d = &pn_devs[i];
		char a[INET6_ADDRSTRLEN] = "?";
		const void *ip = d->addr.ss_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)&d->addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)&d->addr)->sin6_addr;

		inet_ntop(d->addr.ss_family, ip, a, sizeof(a));
		PN_INFO(NCCL_INIT | NCCL_NET, "NET/devmemtcp: dev %d %s %s speed %d "
			"Mb/s%s pci %s: %s%s", i, d->name, a, d->speed,
			d->speed_known ? "" : " (unknown, assumed)",
			d->pci_path ? d->pci_path : "none (virtual)",
			d->devmem ? "devmem TX+RX ready" : "host engines: ",
			d->devmem ? "" : d->why);
	}
	return ncclSuccess;
}
