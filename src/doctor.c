// SPDX-License-Identifier: MIT
/*
 * Doctor: will devmem TCP work here, and if not, why and what to do.
 *
 * Two halves: the gatherers ask the system (netlink controller, capget,
 * exporter devices, GPU runtimes through dlopen, ethtool, rtnetlink, the
 * netdev family) and fill plain fact records; dmt_doctor_evaluate() turns
 * facts into checks and verdicts without touching the system. Nothing here
 * changes the host: bind probes run on a private context that is closed at
 * once, which releases any binding the kernel made.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "doctor.h"
#include "drivers.h"
#include "gpu.h"
#include "netdev.h"
#include "uring_probe.h"
#include "nl.h"
#include "rx.h"
#include "uapi.h"

#define OP(n) (1ull << (n))

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

struct dmt_doctor {
	char release[65];
	unsigned int what;
	struct dmt_doctor_check *checks;
	unsigned int nchecks, capchecks;
	struct dmt_doctor_iface *ifs;
	unsigned int nifs;
	char **strs;			/* every string the records point to */
	unsigned int nstrs, capstrs;
	bool oom;
	char nics[64 + DMT_NIC_DRIVER_LIST_LEN]; /* "a NIC whose driver ..." */
};

static const char *keep(struct dmt_doctor *d, const char *s)
{
	char *c;

	if (d->nstrs == d->capstrs) {
		unsigned int n = d->capstrs ? d->capstrs * 2 : 64;
		char **p = realloc(d->strs, n * sizeof(*p));

		if (!p) {
			d->oom = true;
			return "";
		}
		d->strs = p;
		d->capstrs = n;
	}
	c = strdup(s ? s : "");
	if (!c) {
		d->oom = true;
		return "";
	}
	d->strs[d->nstrs++] = c;
	return c;
}

static void add(struct dmt_doctor *d, enum dmt_doctor_group g,
		const char *ifname, const char *id, enum dmt_doctor_status st,
		const char *title, const char *evidence, const char *fix)
{
	struct dmt_doctor_check *c;

	if (d->nchecks == d->capchecks) {
		unsigned int n = d->capchecks ? d->capchecks * 2 : 32;
		struct dmt_doctor_check *p = realloc(d->checks, n * sizeof(*p));

		if (!p) {
			d->oom = true;
			return;
		}
		d->checks = p;
		d->capchecks = n;
	}
	c = &d->checks[d->nchecks++];
	memset(c, 0, sizeof(*c));
	c->group = g;
	c->status = st;
	c->id = keep(d, id);
	c->ifname = ifname ? keep(d, ifname) : NULL;
	c->title = keep(d, title);
	c->evidence = keep(d, evidence);
	c->fix = keep(d, st == DMT_DOCTOR_PASS ? "" : fix);
}

/* printf into a fixed buffer, for evidence and fix texts */
#define FMT(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

static const char *errname(int ret)
{
	switch (-ret) {
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case ENODEV: return "ENODEV";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ERANGE: return "ERANGE";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	default: return NULL;
	}
}

/* "EOPNOTSUPP (Operation not supported)" or the library's text */
static const char *errtxt(int ret, char *buf, size_t len)
{
	const char *n = errname(ret);

	if (n)
		snprintf(buf, len, "%s (%s)", n, dmt_strerror(ret));
	else
		snprintf(buf, len, "%s", dmt_strerror(ret));
	return buf;
}

static const char *kernel_says(const char *extack, char *buf, size_t len)
{
	if (extack && extack[0])
		snprintf(buf, len, ", kernel message \"%s\"", extack);
	else
		snprintf(buf, len, ", no kernel message");
	return buf;
}

/* ------------------------------------------------------------------ */
/* Evaluation: facts -> checks and verdicts (no system calls)          */
/* ------------------------------------------------------------------ */


struct reasons {
	char tx[320], rx[320];
};

static void block(char *slot, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void block(char *slot, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (slot[0])
		return; /* only the first blocking reason is the verdict */
	va_start(ap, fmt);
	vsnprintf(slot, len, fmt, ap);
	va_end(ap);
}
#define BLOCK_TX(r, ...) block((r)->tx, sizeof((r)->tx), __VA_ARGS__)
#define BLOCK_RX(r, ...) block((r)->rx, sizeof((r)->rx), __VA_ARGS__)

static bool netdev_ok(const struct dmt_doc_host *h)
{
	return h->netdev_ret == 0;
}

static int any_exporter(const struct dmt_doc_host *h, char *names, size_t len)
{
	static const char *const nm[DMT_DOC_NEXP] = { "udmabuf", "DMA heap",
						      "CUDA", "ROCm" };
	int n = 0;

	if (names && len)
		names[0] = '\0';
	for (int i = 0; i < DMT_DOC_NEXP; i++) {
		if (h->exp[i].state != DMT_DOC_EXP_OK)
			continue;
		if (names)
			snprintf(names + strlen(names), len - strlen(names),
				 "%s%s", n ? ", " : "", nm[i]);
		n++;
	}
	return n;
}

/* host-wide blocking reasons, applied to every interface's verdicts */
static void host_blocks(const struct dmt_doc_host *h, struct reasons *r,
			bool phase_late)
{
	if (!phase_late) {
		if (!netdev_ok(h)) {
			BLOCK_TX(r, "the kernel has no netdev netlink family "
				 "(no devmem TCP)");
			BLOCK_RX(r, "the kernel has no netdev netlink family "
				 "(no devmem TCP)");
			return;
		}
		if (!(h->ops & OP(DMT_NETDEV_CMD_BIND_TX)))
			BLOCK_TX(r, "the kernel has no bind-tx operation "
				 "(netdev op 15): no devmem TX in this kernel");
		if (!(h->ops & OP(DMT_NETDEV_CMD_BIND_RX)))
			BLOCK_RX(r, "the kernel has no bind-rx operation "
				 "(netdev op 13): no devmem RX in this kernel");
		return;
	}
	/* after the device checks: privileges, then exporters */
	if ((h->ops_admin & OP(DMT_NETDEV_CMD_BIND_TX)) && !h->cap_net_admin)
		BLOCK_TX(r, "bind-tx needs CAP_NET_ADMIN on this kernel and "
			 "this process lacks it");
	if (!h->cap_net_admin)
		BLOCK_RX(r, "bind-rx needs CAP_NET_ADMIN and this process "
			 "lacks it");
	if (!any_exporter(h, NULL, 0)) {
		BLOCK_TX(r, "no dma-buf exporter is usable (udmabuf, DMA heaps, "
			 "CUDA, ROCm)");
		BLOCK_RX(r, "no dma-buf exporter is usable (udmabuf, DMA heaps, "
			 "CUDA, ROCm)");
	}
}

static void eval_kernel(struct dmt_doctor *d, const struct dmt_doc_host *h)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_KERNEL;
	char ev[512], e1[96];
	static const struct {
		int op;
		const char *id, *title, *miss_fix;
		bool needed;
	} ops[] = {
		{ DMT_NETDEV_CMD_BIND_RX, "kernel.bind_rx",
		  "bind-rx operation (netdev op 13)",
		  "use a kernel with devmem RX (CONFIG_NET_DEVMEM; mainline since "
		  "6.12)", true },
		{ DMT_NETDEV_CMD_BIND_TX, "kernel.bind_tx",
		  "bind-tx operation (netdev op 15)",
		  "use a kernel with devmem TX (CONFIG_NET_DEVMEM; mainline since "
		  "6.16)", true },
		{ DMT_NETDEV_CMD_PAGE_POOL_GET, "kernel.page_pool_get",
		  "page-pool introspection (netdev op 5)",
		  "a kernel with CONFIG_PAGE_POOL and the page-pool-get op; "
		  "devmem works without it, doctor sees less", false },
		{ DMT_NETDEV_CMD_QUEUE_GET, "kernel.queue_get",
		  "queue introspection (netdev op 10)",
		  "a kernel with the queue-get op; without it doctor cannot see "
		  "queues already bound to a memory provider or AF_XDP", false },
	};

	if (netdev_ok(h)) {
		FMT(ev, "the generic netlink controller knows \"netdev\": family "
		    "id %d, version %u", h->netdev_id, h->netdev_version);
		add(d, G, NULL, "kernel.netdev_family", DMT_DOCTOR_PASS,
		    "netdev netlink family", ev, "");
	} else {
		FMT(ev, "CTRL_CMD_GETFAMILY \"netdev\": %s",
		    errtxt(h->netdev_ret, e1, sizeof(e1)));
		add(d, G, NULL, "kernel.netdev_family", DMT_DOCTOR_FAIL,
		    "netdev netlink family", ev,
		    "use a kernel with the netdev family and CONFIG_NET_DEVMEM "
		    "(devmem RX: 6.12+, TX: 6.16+)");
	}
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		bool has = h->ops & OP(ops[i].op);
		bool admin = h->ops_admin & OP(ops[i].op);

		if (!netdev_ok(h)) {
			add(d, G, NULL, ops[i].id, DMT_DOCTOR_SKIP, ops[i].title,
			    "not checked: no netdev family", "");
			continue;
		}
		if (has)
			FMT(ev, "op %d is in the family's operation list%s",
			    ops[i].op, admin ? " (flag ADMIN_PERM: needs "
			    "CAP_NET_ADMIN)" : (ops[i].op == DMT_NETDEV_CMD_BIND_TX ?
			    " (no permission flag)" : ""));
		else
			FMT(ev, "op %d is not in the family's operation list",
			    ops[i].op);
		add(d, G, NULL, ops[i].id,
		    has ? DMT_DOCTOR_PASS :
			  (ops[i].needed ? DMT_DOCTOR_FAIL : DMT_DOCTOR_WARN),
		    ops[i].title, ev, ops[i].miss_fix);
	}
	/* Not needed for devmem: the fastest fallback where devmem is not
	 * available, so a warning at most. */
	if (h->uring_ret == 0)
		add(d, G, NULL, "kernel.uring_send_zc", DMT_DOCTOR_PASS,
		    "uring fallback engine (io_uring SEND_ZC)", h->uring_detail, "");
	else
		add(d, G, NULL, "kernel.uring_send_zc", DMT_DOCTOR_WARN,
		    "uring fallback engine (io_uring SEND_ZC)", h->uring_detail,
		    h->uring_ret == DMT_DOC_NOT_RUN ?
		    "install liburing-dev and rebuild devmemtcp for the uring "
		    "engine; zerocopy and copy remain" :
		    "allow io_uring (sysctl kernel.io_uring_disabled=0, Linux "
		    "6.0+); zerocopy and copy remain");
}

static void eval_privileges(struct dmt_doctor *d, const struct dmt_doc_host *h)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_PRIVILEGES;
	bool rx = d->what & DMT_DOCTOR_RX;
	char ev[512], e1[96];
	int present = 0, noaccess = 0;

	if (h->cap_ret < 0)
		FMT(ev, "capget failed: %s", errtxt(h->cap_ret, e1, sizeof(e1)));
	else
		FMT(ev, "CAP_NET_ADMIN is %sin the effective capability set%s",
		    h->cap_net_admin ? "" : "not ",
		    (h->ops_admin & OP(DMT_NETDEV_CMD_BIND_RX)) ?
			    "; bind-rx is ADMIN_PERM on this kernel" : "");
	add(d, G, NULL, "priv.cap_net_admin",
	    h->cap_net_admin ? DMT_DOCTOR_PASS :
			       (rx ? DMT_DOCTOR_FAIL : DMT_DOCTOR_WARN),
	    "CAP_NET_ADMIN (bind-rx, NIC setup)", ev,
	    "run as root, or grant the capability to the program "
	    "(setcap cap_net_admin+ep PROGRAM); TX alone does not need it");

	if (!netdev_ok(h) || !(h->ops & OP(DMT_NETDEV_CMD_BIND_TX))) {
		add(d, G, NULL, "priv.bind_tx", DMT_DOCTOR_SKIP,
		    "bind-tx permission", "not checked: the kernel has no bind-tx",
		    "");
	} else if (h->ops_admin & OP(DMT_NETDEV_CMD_BIND_TX)) {
		add(d, G, NULL, "priv.bind_tx",
		    h->cap_net_admin ? DMT_DOCTOR_PASS : DMT_DOCTOR_FAIL,
		    "bind-tx permission",
		    "bind-tx carries ADMIN_PERM on this kernel",
		    "run as root or grant CAP_NET_ADMIN");
	} else {
		add(d, G, NULL, "priv.bind_tx", DMT_DOCTOR_PASS,
		    "bind-tx permission",
		    "bind-tx carries no permission flag: any user may bind", "");
	}

	for (int i = 0; i < DMT_DOC_NEXP; i++) {
		if (h->exp[i].state != DMT_DOC_EXP_ABSENT)
			present++;
		if (h->exp[i].state == DMT_DOC_EXP_NO_ACCESS)
			noaccess++;
	}
	if (!present)
		add(d, G, NULL, "priv.exporter_access", DMT_DOCTOR_SKIP,
		    "access to dma-buf exporters",
		    "no exporter device or runtime is present", "");
	else if (noaccess)
		add(d, G, NULL, "priv.exporter_access",
		    noaccess == present ? DMT_DOCTOR_FAIL : DMT_DOCTOR_WARN,
		    "access to dma-buf exporters",
		    "an exporter device exists but this user cannot open it "
		    "(see the exporter checks)",
		    "add the user to the group that owns /dev/udmabuf or "
		    "/dev/dma_heap/* (or the GPU device nodes), or run as root");
	else
		add(d, G, NULL, "priv.exporter_access", DMT_DOCTOR_PASS,
		    "access to dma-buf exporters",
		    "every exporter present can be opened by this user", "");
}

static void eval_exporters(struct dmt_doctor *d, const struct dmt_doc_host *h)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_EXPORTERS;
	static const struct {
		const char *id, *title, *absent_fix, *unusable_fix;
		enum dmt_doctor_status absent;
	} x[DMT_DOC_NEXP] = {
		[DMT_DOC_UDMABUF] = { "exp.udmabuf", "udmabuf (/dev/udmabuf)",
			"build the kernel with CONFIG_UDMABUF or load the module "
			"(modprobe udmabuf)", "", DMT_DOCTOR_WARN },
		[DMT_DOC_HEAPS] = { "exp.dma_heap", "DMA heaps (/dev/dma_heap)",
			"build the kernel with CONFIG_DMABUF_HEAPS and "
			"CONFIG_DMABUF_HEAPS_SYSTEM", "", DMT_DOCTOR_WARN },
		[DMT_DOC_CUDA] = { "exp.cuda", "CUDA (libcuda.so.1, dlopen)",
			"install the NVIDIA driver (libcuda.so.1) for GPU memory",
			"a GPU and driver with DMA_BUF_SUPPORTED (open kernel "
			"modules, CUDA 12+)", DMT_DOCTOR_SKIP },
		[DMT_DOC_ROCM] = { "exp.rocm", "ROCm (libhsa-runtime64.so.1, dlopen)",
			"install ROCm (libhsa-runtime64.so.1) for AMD GPU memory",
			"an AMD GPU with the amdgpu driver and ROCm 6+", DMT_DOCTOR_SKIP },
	};
	char ev[512], names[96];

	for (int i = 0; i < DMT_DOC_NEXP; i++) {
		const struct dmt_doc_exporter *e = &h->exp[i];
		enum dmt_doctor_status st;
		const char *fix = "";

		switch (e->state) {
		case DMT_DOC_EXP_OK:
			st = DMT_DOCTOR_PASS;
			break;
		case DMT_DOC_EXP_ABSENT:
			/* only a problem when nothing else can export */
			st = any_exporter(h, NULL, 0) ? DMT_DOCTOR_SKIP :
							x[i].absent;
			fix = x[i].absent_fix;
			break;
		case DMT_DOC_EXP_NO_ACCESS:
			st = DMT_DOCTOR_FAIL;
			fix = "give this user read/write access to the device "
			      "(group membership or udev rule), or run as root";
			break;
		default:
			st = DMT_DOCTOR_WARN;
			fix = x[i].unusable_fix;
			break;
		}
		static const char *const dflt[] = {
			[DMT_DOC_EXP_ABSENT] = "not present",
			[DMT_DOC_EXP_NO_ACCESS] =
				"present, but this user cannot open it",
			[DMT_DOC_EXP_UNUSABLE] = "present, but cannot make dma-bufs",
			[DMT_DOC_EXP_OK] = "present and usable",
		};
		const char *det = e->detail[0] ? e->detail :
				  (unsigned int)e->state < ARRAY_SIZE(dflt) ?
				  dflt[e->state] : "?";

		if (i == DMT_DOC_UDMABUF && h->udmabuf_limit_mb >= 0)
			FMT(ev, "%s; size_limit_mb %lld", det,
			    (long long)h->udmabuf_limit_mb);
		else
			FMT(ev, "%s", det);
		add(d, G, NULL, x[i].id, st, x[i].title, ev, fix);
	}
	if (any_exporter(h, names, sizeof(names))) {
		FMT(ev, "usable: %s", names);
		add(d, G, NULL, "exp.any", DMT_DOCTOR_PASS,
		    "a dma-buf exporter is usable", ev, "");
	} else {
		add(d, G, NULL, "exp.any", DMT_DOCTOR_FAIL,
		    "a dma-buf exporter is usable",
		    "no udmabuf, DMA heap, CUDA or ROCm exporter can be used by "
		    "this process: devmem needs a dma-buf to bind",
		    "enable udmabuf (CONFIG_UDMABUF, modprobe udmabuf) or DMA "
		    "heaps, or install a GPU driver that exports dma-bufs; "
		    "without one use a fallback engine (uring, zerocopy, copy)");
	}
}

static void eval_tx(struct dmt_doctor *d, const struct dmt_doc_host *h,
		    const struct dmt_doc_if *f, struct reasons *r)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_INTERFACE;
	const char *drv = f->driver[0] ? f->driver : f->name;
	char ev[640], fx[320], e1[96], k[300];

	if (!netdev_ok(h) || !(h->ops & OP(DMT_NETDEV_CMD_BIND_TX))) {
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_SKIP, "bind-tx",
		    "not tried: the kernel has no bind-tx", "");
		return;
	}
	if (f->tx_ret == DMT_DOC_NOT_RUN) {
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_SKIP, "bind-tx",
		    "not tried (TX not asked)", "");
		return;
	}
	kernel_says(f->tx_extack, k, sizeof(k));
	errtxt(f->tx_ret, e1, sizeof(e1));
	FMT(fx, "use %s, or a fallback engine (dmt_tx_opts.engine "
	    "uring|zerocopy|copy)", d->nics);
	if (f->tx_real) {
		if (f->tx_ret == 0) {
			FMT(ev, "bind-tx with a throwaway %s dma-buf succeeded; "
			    "the binding was released at once", f->tx_exporter);
			add(d, G, f->name, "tx.bind", DMT_DOCTOR_PASS,
			    "bind-tx (real, throwaway binding)", ev, "");
			return;
		}
		FMT(ev, "bind-tx with a throwaway %s dma-buf: %s%s",
		    f->tx_exporter, e1, k);
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_FAIL,
		    "bind-tx (real, throwaway binding)", ev,
		    f->tx_ret == -EOPNOTSUPP ? fx :
		    "see the kernel message; dmt_ctx_bind_tx(3) lists the causes");
		if (f->tx_ret == -EOPNOTSUPP)
			BLOCK_TX(r, "the %s driver does not support netmem TX "
				 "(kernel: \"%s\")", drv, f->tx_extack[0] ?
				 f->tx_extack : "EOPNOTSUPP");
		else
			BLOCK_TX(r, "bind-tx failed: %s%s", e1, k);
		return;
	}
	/* the memfd probe: only the driver check can be seen */
	if (f->tx_ret == -EOPNOTSUPP) {
		FMT(ev, "driver probe, not a full bind: bind-tx with a memfd "
		    "(no dma-buf needed) answered %s%s; the kernel checks the "
		    "driver before it looks at the fd, so this is the %s "
		    "driver's answer", e1, k, drv);
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_FAIL,
		    "bind-tx driver probe (memfd)", ev, fx);
		BLOCK_TX(r, "the %s driver does not support netmem TX "
			 "(kernel: \"%s\")", drv,
			 f->tx_extack[0] ? f->tx_extack : "EOPNOTSUPP");
	} else if (f->tx_ret == -EINVAL || f->tx_ret == -EBADF) {
		FMT(ev, "driver probe, not a full bind: bind-tx with a memfd "
		    "passed the driver check and was refused as not a dma-buf "
		    "(%s%s), as expected; a real bind needs an exporter", e1, k);
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_PASS,
		    "bind-tx driver probe (memfd)", ev, "");
	} else if (f->tx_ret == 0) {
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_WARN,
		    "bind-tx driver probe (memfd)",
		    "the kernel accepted a memfd for bind-tx (unexpected); the "
		    "binding was released at once",
		    "report this kernel's behaviour to the devmemtcp authors");
	} else {
		FMT(ev, "driver probe: bind-tx with a memfd answered %s%s", e1, k);
		add(d, G, f->name, "tx.bind", DMT_DOCTOR_WARN,
		    "bind-tx driver probe (memfd)", ev,
		    "see the kernel message; dmt_ctx_bind_tx(3) lists the causes");
		BLOCK_TX(r, "bind-tx probe failed: %s%s", e1, k);
	}
}

/* RX, header split: tcp-data-split and hds-thresh as the driver reports
 * them. */
static void eval_rx_split(struct dmt_doctor *d, const struct dmt_doc_if *f,
			  struct reasons *r)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_INTERFACE;
	const char *drv = f->driver[0] ? f->driver : f->name;
	const char *n = f->name;
	char ev[640], fx[320], e1[96];
	bool hs_supported = false;

	/* header split */
	FMT(fx, "dmt_nic_setup_apply(%s) (turns tcp-data-split on and "
	    "hds-thresh to 0, with a journal for dmt_nic_setup_restore())", n);
	if (f->rings_ret == 0 && f->rings.has_tcp_data_split) {
		static const char *const st[] = { "unknown", "disabled",
						   "enabled" };
		uint8_t v = f->rings.tcp_data_split;

		hs_supported = true;
		FMT(ev, "rings-get reports tcp-data-split %s (what the driver "
		    "does; bind-rx checks the configured value, which "
		    "dmt_nic_setup_apply() sets explicitly)", v < 3 ? st[v] : "?");
		if (v == DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED) {
			add(d, G, n, "rx.header_split", DMT_DOCTOR_PASS,
			    "TCP header/data split", ev, "");
		} else {
			add(d, G, n, "rx.header_split", DMT_DOCTOR_FAIL,
			    "TCP header/data split", ev, fx);
			BLOCK_RX(r, "header split (tcp-data-split) is supported "
				 "but not enabled");
		}
	} else if (f->rings_ret == 0 || f->rings_ret == -EOPNOTSUPP) {
		if (f->rings_ret == 0)
			FMT(ev, "rings-get reply has no tcp-data-split attribute: "
			    "the %s driver does not support header split", drv);
		else
			FMT(ev, "rings-get answered EOPNOTSUPP: the %s driver "
			    "exposes no ring parameters, so no header split", drv);
		FMT(fx, "devmem RX needs %s (header split is a hardware "
		    "feature); use the copy engine on this NIC", d->nics);
		add(d, G, n, "rx.header_split", DMT_DOCTOR_FAIL,
		    "TCP header/data split", ev, fx);
		BLOCK_RX(r, "header split (tcp-data-split) unsupported by the %s "
			 "driver", drv);
	} else if (f->rings_ret == DMT_DOC_NOT_RUN) {
		add(d, G, n, "rx.header_split", DMT_DOCTOR_SKIP,
		    "TCP header/data split", "not checked", "");
	} else {
		FMT(ev, "rings-get failed: %s", errtxt(f->rings_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.header_split", DMT_DOCTOR_WARN,
		    "TCP header/data split", ev,
		    "check that the ethtool netlink family is available");
		BLOCK_RX(r, "header split state unknown (rings-get: %s)", e1);
	}

	/* hds-thresh */
	if (f->rings_ret == 0 && f->rings.has_hds_thresh) {
		FMT(ev, "hds-thresh %u (maximum %u)", f->rings.hds_thresh,
		    f->rings.hds_thresh_max);
		if (f->rings.hds_thresh == 0) {
			add(d, G, n, "rx.hds_thresh", DMT_DOCTOR_PASS,
			    "header split threshold", ev, "");
		} else {
			FMT(fx, "dmt_nic_setup_apply(%s) (sets hds-thresh 0)", n);
			add(d, G, n, "rx.hds_thresh", DMT_DOCTOR_FAIL,
			    "header split threshold", ev, fx);
			BLOCK_RX(r, "hds-thresh is %u; devmem RX needs 0",
				 f->rings.hds_thresh);
		}
	} else if (hs_supported) {
		add(d, G, n, "rx.hds_thresh", DMT_DOCTOR_WARN,
		    "header split threshold",
		    "the driver reports header split but no hds-thresh",
		    "a kernel/driver that reports hds-thresh (the bind checks "
		    "it is 0)");
	} else {
		add(d, G, n, "rx.hds_thresh", DMT_DOCTOR_SKIP,
		    "header split threshold",
		    "no hds-thresh attribute (no header split)", "");
	}
}

/* RX, the queues: the queue management API (bind-rx probe), an XDP
 * program, queues other providers already hold. */
static void eval_rx_queues(struct dmt_doctor *d, const struct dmt_doc_host *h,
			   const struct dmt_doc_if *f, struct reasons *r)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_INTERFACE;
	const char *drv = f->driver[0] ? f->driver : f->name;
	const char *n = f->name;
	char ev[640], fx[320], e1[96], k[300];

	/* the driver's queue management API, seen through a bind-rx probe */
	if (f->rxprobe_ret == DMT_DOC_NOT_RUN) {
		add(d, G, n, "rx.queue_api", DMT_DOCTOR_SKIP,
		    "queue management API (bind-rx probe)",
		    !netdev_ok(h) || !(h->ops & OP(DMT_NETDEV_CMD_BIND_RX)) ?
			    "not tried: the kernel has no bind-rx" :
		    !h->cap_net_admin ?
			    "not tried: bind-rx needs CAP_NET_ADMIN" :
			    "not tried (RX not asked)", "");
	} else {
		kernel_says(f->rxprobe_extack, k, sizeof(k));
		errtxt(f->rxprobe_ret, e1, sizeof(e1));
		if (f->rxprobe_ret == -EOPNOTSUPP) {
			FMT(ev, "driver probe, not a full bind: bind-rx of rx "
			    "queue 0 with a memfd answered %s%s before looking "
			    "at the fd: the %s driver has no queue management "
			    "API", e1, k, drv);
			FMT(fx, "devmem RX needs %s", d->nics);
			add(d, G, n, "rx.queue_api", DMT_DOCTOR_FAIL,
			    "queue management API (bind-rx probe)", ev, fx);
			BLOCK_RX(r, "the %s driver has no queue management API "
				 "for devmem RX", drv);
		} else if (f->rxprobe_ret == -EINVAL || f->rxprobe_ret == -EBADF) {
			FMT(ev, "driver probe, not a full bind: bind-rx with a "
			    "memfd passed the driver check and was refused as "
			    "not a dma-buf (%s%s), as expected", e1, k);
			add(d, G, n, "rx.queue_api", DMT_DOCTOR_PASS,
			    "queue management API (bind-rx probe)", ev, "");
		} else {
			FMT(ev, "bind-rx probe with a memfd answered %s%s", e1, k);
			add(d, G, n, "rx.queue_api", DMT_DOCTOR_WARN,
			    "queue management API (bind-rx probe)", ev,
			    "see the kernel message; dmt_ctx_bind_rx(3) lists the "
			    "causes");
		}
	}

	/* XDP program */
	if (f->xdp_ret == 0 && f->xdp_attached) {
		FMT(ev, "XDP program id %u attached (mode %u): the kernel refuses "
		    "a memory provider while XDP is attached", f->xdp_prog_id,
		    f->xdp_attached);
		FMT(fx, "detach it if it is not needed (ip link set dev %s xdp "
		    "off)", n);
		add(d, G, n, "rx.xdp", DMT_DOCTOR_FAIL, "no XDP program attached",
		    ev, fx);
		BLOCK_RX(r, "an XDP program (id %u) is attached", f->xdp_prog_id);
	} else if (f->xdp_ret == 0) {
		add(d, G, n, "rx.xdp", DMT_DOCTOR_PASS, "no XDP program attached",
		    "RTM_GETLINK: IFLA_XDP reports no program", "");
	} else {
		FMT(ev, "RTM_GETLINK failed: %s", errtxt(f->xdp_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.xdp", DMT_DOCTOR_SKIP, "no XDP program attached",
		    ev, "");
	}

	/* queues already taken */
	if (f->queues_ret == 0) {
		int busy = f->q_dmabuf + f->q_io_uring + f->q_xsk;

		FMT(ev, "%d RX queue(s); bound to a dma-buf: %d, io_uring zcrx: "
		    "%d, AF_XDP: %d", f->q_rx, f->q_dmabuf, f->q_io_uring,
		    f->q_xsk);
		if (!busy) {
			add(d, G, n, "rx.queues_free", DMT_DOCTOR_PASS,
			    "RX queues free of memory providers and AF_XDP", ev, "");
		} else {
			bool all = busy >= f->q_rx;

			add(d, G, n, "rx.queues_free",
			    all ? DMT_DOCTOR_FAIL : DMT_DOCTOR_WARN,
			    "RX queues free of memory providers and AF_XDP", ev,
			    "bind other queues, or stop the program that holds "
			    "them (dmt_nic_setup_restore() if it was a crashed "
			    "run that set the NIC up)");
			if (all)
				BLOCK_RX(r, "every RX queue is already used by a "
					 "memory provider or AF_XDP");
		}
	} else {
		FMT(ev, "queue-get %s", f->queues_ret == DMT_DOC_NOT_RUN ?
		    "not available" : errtxt(f->queues_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.queues_free", DMT_DOCTOR_SKIP,
		    "RX queues free of memory providers and AF_XDP", ev, "");
	}
}

/* RX, steering the flow to the bound queues: HW-GRO where header split
 * needs it, the ntuple feature, channels, RSS, existing rules. */
static void eval_rx_steering(struct dmt_doctor *d, const struct dmt_doc_if *f,
			     struct reasons *r)
{
	const enum dmt_doctor_group G = DMT_DOCTOR_INTERFACE;
	const char *drv = f->driver[0] ? f->driver : f->name;
	const char *n = f->name;
	char ev[640], fx[320], e1[96];

	/* HW-GRO: some drivers (mlx5) accept tcp-data-split only with
	 * rx-gro-hw on (drivers.c) */
	if (f->gro_ret == 0 && dmt_nic_driver_find(drv) &&
	    dmt_nic_driver_find(drv)->hds_needs_gro) {
		FMT(ev, "rx-gro-hw %s%s; the %s driver accepts header split only "
		    "with HW-GRO", f->gro_active ? "on" : "off",
		    f->gro_fixed ? " [fixed]" : "", drv);
		if (f->gro_active) {
			add(d, G, n, "rx.gro_hw", DMT_DOCTOR_PASS, "HW-GRO for "
			    "header split", ev, "");
		} else if (!f->gro_fixed) {
			FMT(fx, "dmt_nic_setup_apply(%s) turns rx-gro-hw on before "
			    "header split (journalled, restored afterwards)", n);
			add(d, G, n, "rx.gro_hw", DMT_DOCTOR_WARN, "HW-GRO for "
			    "header split", ev, fx);
		} else {
			add(d, G, n, "rx.gro_hw", DMT_DOCTOR_FAIL, "HW-GRO for "
			    "header split", ev, "HW-GRO is fixed off (firmware or "
			    "an incompatible setting such as XDP): devmem RX is not "
			    "possible until it can be enabled");
			BLOCK_RX(r, "rx-gro-hw is fixed off and %s needs it for "
				 "header split", drv);
		}
	} else if (f->gro_ret == 0) {
		FMT(ev, "rx-gro-hw %s%s (this driver does not need it for header "
		    "split)",
		    f->gro_active ? "on" : "off", f->gro_fixed ? " [fixed]" : "");
		add(d, G, n, "rx.gro_hw", DMT_DOCTOR_PASS, "HW-GRO for header "
		    "split", ev, "");
	} else if (f->gro_ret != DMT_DOC_NOT_RUN) {
		FMT(ev, "feature query failed: %s",
		    errtxt(f->gro_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.gro_hw", DMT_DOCTOR_SKIP, "HW-GRO for header "
		    "split", ev, "");
	}

	/* ntuple feature: flow steering to the bound queue */
	if (f->ntuple_ret == 0) {
		FMT(ev, "rx-ntuple-filter %s%s", f->ntuple_active ? "on" : "off",
		    f->ntuple_fixed ? " [fixed]" : "");
		if (f->ntuple_active) {
			add(d, G, n, "rx.ntuple", DMT_DOCTOR_PASS,
			    "ntuple flow steering", ev, "");
		} else if (!f->ntuple_fixed) {
			FMT(fx, "dmt_nic_setup_apply(%s) turns it on (ethtool -K %s "
			    "ntuple on)", n, n);
			add(d, G, n, "rx.ntuple", DMT_DOCTOR_WARN,
			    "ntuple flow steering", ev, fx);
		} else {
			FMT(fx, "devmem RX needs flow steering to the bound queue: "
			    "use %s", d->nics);
			add(d, G, n, "rx.ntuple", DMT_DOCTOR_FAIL,
			    "ntuple flow steering", ev, fx);
			BLOCK_RX(r, "no ntuple flow steering (rx-ntuple-filter off "
				 "[fixed])");
		}
	} else {
		FMT(ev, "feature query failed: %s",
		    errtxt(f->ntuple_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.ntuple", DMT_DOCTOR_WARN,
		    "ntuple flow steering", ev,
		    "check the interface with ethtool -k");
	}

	/* channels */
	if (f->channels_ret == 0 || f->rxq >= 0) {
		if (f->channels_ret == 0)
			FMT(ev, "channels rx %u/%u, tx %u/%u, combined %u/%u: %d "
			    "RX queue(s)", f->channels.rx, f->channels.rx_max,
			    f->channels.tx, f->channels.tx_max,
			    f->channels.combined, f->channels.combined_max, f->rxq);
		else
			FMT(ev, "no channels knob (%s); queue-get lists %d RX "
			    "queue(s)", errtxt(f->channels_ret, e1, sizeof(e1)),
			    f->rxq);
		if (f->rxq >= 2) {
			add(d, G, n, "rx.channels", DMT_DOCTOR_PASS, "RX queues",
			    ev, "");
		} else {
			FMT(fx, "devmem binds whole RX queues: give the device "
			    "at least 2 (ethtool -L %s combined 2, or rx 2) so "
			    "other traffic keeps one", n);
			add(d, G, n, "rx.channels", DMT_DOCTOR_WARN, "RX queues",
			    ev, fx);
		}
	} else {
		FMT(ev, "channels-get failed: %s",
		    errtxt(f->channels_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.channels", DMT_DOCTOR_SKIP, "RX queues", ev, "");
	}

	/* RSS */
	if (f->rss_ret == 0 && f->rss_indir_size) {
		FMT(ev, "RSS indirection table of %u entries (RSS contexts not "
		    "examined)", f->rss_indir_size);
		add(d, G, n, "rx.rss", DMT_DOCTOR_PASS, "RSS indirection table",
		    ev, "");
	} else {
		if (f->rss_ret == 0)
			FMT(ev, "ETHTOOL_GRSSH reports an indirection table of 0 "
			    "entries");
		else
			FMT(ev, "ETHTOOL_GRSSH: %s",
			    errtxt(f->rss_ret, e1, sizeof(e1)));
		add(d, G, n, "rx.rss", DMT_DOCTOR_WARN, "RSS indirection table", ev,
		    "without an RSS table the devmem queue cannot be taken out "
		    "of RSS; other flows may land on it");
	}

	/* existing ntuple rules */
	if (f->rules_ret == 0) {
		FMT(ev, "%u rule(s) installed, table size %u", f->rules,
		    f->rule_table);
		add(d, G, n, "rx.ntuple_rules",
		    f->rules ? DMT_DOCTOR_WARN : DMT_DOCTOR_PASS,
		    "existing ntuple rules", ev,
		    "existing rules may steer the flow elsewhere: list them "
		    "(ethtool -n) and check they do not match devmem flows");
	} else {
		FMT(ev, "ETHTOOL_GRXCLSRLCNT: %s%s",
		    errtxt(f->rules_ret, e1, sizeof(e1)),
		    f->rules_ret == -EOPNOTSUPP ? ": the driver has no rule table"
						 : "");
		add(d, G, n, "rx.ntuple_rules", DMT_DOCTOR_SKIP,
		    "existing ntuple rules", ev, "");
	}
}

static void eval_rx(struct dmt_doctor *d, const struct dmt_doc_host *h,
		    const struct dmt_doc_if *f, struct reasons *r)
{
	eval_rx_split(d, f, r);
	eval_rx_queues(d, h, f, r);
	eval_rx_steering(d, f, r);
}

struct dmt_doctor *dmt_doctor_evaluate(const struct dmt_doc_host *h,
				       const struct dmt_doc_if *ifs,
				       unsigned int nifs, unsigned int what)
{
	struct dmt_doctor *d = calloc(1, sizeof(*d));

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	char list[DMT_NIC_DRIVER_LIST_LEN];

	d->what = what ? what : DMT_DOCTOR_TX | DMT_DOCTOR_RX;
	snprintf(d->release, sizeof(d->release), "%s", h->release);
	snprintf(d->nics, sizeof(d->nics), "a NIC whose driver has devmem "
		 "support (e.g. %s)", dmt_nic_driver_list(false, false, list,
							  sizeof(list)));
	eval_kernel(d, h);
	eval_privileges(d, h);
	eval_exporters(d, h);
	if (nifs) {
		d->ifs = calloc(nifs, sizeof(*d->ifs));
		if (!d->ifs)
			d->oom = true;
	}
	for (unsigned int i = 0; d->ifs && i < nifs; i++) {
		const struct dmt_doc_if *f = &ifs[i];
		struct dmt_doctor_iface *v = &d->ifs[d->nifs++];
		struct reasons r = { "", "" };
		char ev[160], e1[96];

		if (f->drv_ret == 0)
			FMT(ev, "driver %s, version %s (ETHTOOL_GDRVINFO)",
			    f->driver, f->version[0] ? f->version : "n/a");
		else
			FMT(ev, "ETHTOOL_GDRVINFO: %s%s",
			    errtxt(f->drv_ret, e1, sizeof(e1)),
			    f->drv_ret == -EOPNOTSUPP ? ": the device reports no "
			    "driver information" : "");
		add(d, DMT_DOCTOR_INTERFACE, f->name, "if.driver",
		    f->drv_ret == 0 ? DMT_DOCTOR_PASS :
		    f->drv_ret == -EOPNOTSUPP ? DMT_DOCTOR_SKIP : DMT_DOCTOR_WARN,
		    "driver", ev, f->drv_ret == -EOPNOTSUPP ? "" :
		    "check that the interface exists and answers ethtool -i");
		host_blocks(h, &r, false);
		if (d->what & DMT_DOCTOR_TX)
			eval_tx(d, h, f, &r);
		if (d->what & DMT_DOCTOR_RX)
			eval_rx(d, h, f, &r);
		host_blocks(h, &r, true);

		v->ifname = keep(d, f->name);
		v->driver = keep(d, f->drv_ret == 0 ? f->driver : "");
		v->driver_version = keep(d, f->drv_ret == 0 ? f->version : "");
		v->ifindex = f->ifindex;
		v->tx_ready = d->what & DMT_DOCTOR_TX ? !r.tx[0] : -1;
		v->rx_ready = d->what & DMT_DOCTOR_RX ? !r.rx[0] : -1;
		v->tx_reason = keep(d, d->what & DMT_DOCTOR_TX ? r.tx : "");
		v->rx_reason = keep(d, d->what & DMT_DOCTOR_RX ? r.rx : "");
	}
	if (d->oom) {
		dmt_doctor_free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

/* ------------------------------------------------------------------ */
/* Gathering: host                                                      */
/* ------------------------------------------------------------------ */

static void probe_netdev(struct dmt_doc_host *h)
{
	struct dmt_genl_family fam;
	struct dmt_nl nl;
	int ret;

	ret = dmt_nl_open(&nl, NETLINK_GENERIC);
	if (ret == 0) {
		ret = dmt_genl_resolve(&nl, DMT_NETDEV_FAMILY_NAME, &fam, NULL);
		dmt_nl_close(&nl);
	}
	h->netdev_ret = ret;
	if (ret == 0) {
		h->netdev_id = fam.id;
		h->netdev_version = fam.version;
		h->ops = fam.ops;
		h->ops_admin = fam.ops_admin | fam.ops_uns_admin;
	}
}

static void probe_caps(struct dmt_doc_host *h)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0) {
		h->cap_ret = dmt_neg_errno();
		return;
	}
	h->cap_net_admin = data[CAP_NET_ADMIN / 32].effective &
			   (1u << (CAP_NET_ADMIN % 32));
}

static void probe_udmabuf(struct dmt_doc_host *h)
{
	struct dmt_doc_exporter *e = &h->exp[DMT_DOC_UDMABUF];
	struct stat st;
	FILE *f;
	int fd;

	h->udmabuf_limit_mb = -1;
	f = fopen("/sys/module/udmabuf/parameters/size_limit_mb", "re");
	if (f) {
		long long v;

		if (fscanf(f, "%lld", &v) == 1)
			h->udmabuf_limit_mb = v;
		fclose(f);
	}
	if (stat("/dev/udmabuf", &st) < 0) {
		e->state = DMT_DOC_EXP_ABSENT;
		FMT(e->detail, "/dev/udmabuf: %s (kernel without CONFIG_UDMABUF "
		    "or module not loaded)", strerror(errno));
		return;
	}
	fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e->state = DMT_DOC_EXP_NO_ACCESS;
		FMT(e->detail, "/dev/udmabuf exists (mode %04o, uid %u, gid %u) "
		    "but cannot be opened: %s", st.st_mode & 07777, st.st_uid,
		    st.st_gid, strerror(errno));
		return;
	}
	close(fd);
	e->state = DMT_DOC_EXP_OK;
	e->count = 1;
	FMT(e->detail, "/dev/udmabuf present and opens read/write");
}

static void probe_heaps(struct dmt_doc_host *h)
{
	struct dmt_doc_exporter *e = &h->exp[DMT_DOC_HEAPS];
	struct dirent *de;
	int seen = 0, ok = 0;
	size_t used;
	DIR *dir;

	dir = opendir("/dev/dma_heap");
	if (!dir) {
		e->state = DMT_DOC_EXP_ABSENT;
		FMT(e->detail, "/dev/dma_heap: %s (kernel without "
		    "CONFIG_DMABUF_HEAPS)", strerror(errno));
		return;
	}
	used = (size_t)FMT(e->detail, "/dev/dma_heap:");
	while ((de = readdir(dir))) {
		char path[300];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/dev/dma_heap/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		seen++;
		if (fd >= 0) {
			ok++;
			close(fd);
		}
		if (used < sizeof(e->detail))
			used += (size_t)snprintf(e->detail + used,
						 sizeof(e->detail) - used, " %s%s",
						 de->d_name, fd >= 0 ? "" :
						 " (no access)");
	}
	closedir(dir);
	if (!seen) {
		e->state = DMT_DOC_EXP_ABSENT;
		FMT(e->detail, "/dev/dma_heap exists but holds no heap");
	} else if (!ok) {
		e->state = DMT_DOC_EXP_NO_ACCESS;
	} else {
		e->state = DMT_DOC_EXP_OK;
		e->count = ok;
	}
}

/*
 * GPU exporters: the providers' own probes (gpu_cuda.c, gpu_rocm.c) load
 * the runtime the buffers would use (DMT_CUDA_LIB / DMT_ROCM_LIB override
 * it), count the devices, check dma-buf support and export one 2 MiB
 * allocation per device, freed at once. The exporter is usable when an
 * export succeeded.
 */
static void probe_gpu(struct dmt_doc_exporter *e, const char *support,
		      int (*probe)(int device, struct dmt_gpu_probe *p))
{
	struct dmt_gpu_probe p;
	int n, supported = 0, exported = 0, pcie = 0;
	char fail[sizeof(p.message)] = "";

	probe(0, &p);
	if (p.lib_found <= 0) {
		e->state = DMT_DOC_EXP_ABSENT;
		FMT(e->detail, "%s", p.message);
		return;
	}
	n = p.ndevices > 0 ? p.ndevices : 0;
	for (int i = 0; i < n; i++) {
		if (i > 0)
			probe(i, &p);
		supported += p.dmabuf_supported == 1;
		exported += p.export_ok == 1;
		pcie += p.pcie_mapping == 1;
		if (p.export_ok != 1 && !fail[0])
			snprintf(fail, sizeof(fail), "device %d: %s", i, p.message);
	}
	if (!n) {
		e->state = DMT_DOC_EXP_UNUSABLE;
		FMT(e->detail, "%s", p.message);
		return;
	}
	FMT(e->detail, "%s (driver %d): %d device(s), %d with %s, %d exported "
	    "a 2 MiB dma-buf%s%s%s", p.lib, p.driver_version > 0 ?
	    p.driver_version : 0, n, supported, support, exported,
	    pcie ? " (PCIe mapping)" : "", fail[0] ? "; " : "", fail);
	e->state = exported ? DMT_DOC_EXP_OK : DMT_DOC_EXP_UNUSABLE;
	e->count = exported;
}

static void probe_cuda(struct dmt_doc_host *h)
{
	probe_gpu(&h->exp[DMT_DOC_CUDA], "DMA_BUF_SUPPORTED (attribute 124)",
		  dmt_cuda_probe);
}

static void probe_rocm(struct dmt_doc_host *h)
{
	probe_gpu(&h->exp[DMT_DOC_ROCM], "the dma-buf export entry point",
		  dmt_rocm_probe);
}

/* The best fallback engine: can this process use io_uring SEND_ZC? */
static void probe_uring(struct dmt_doc_host *h)
{
#ifdef DMT_HAVE_LIBURING
	h->uring_ret = dmt_uring_probe(h->uring_detail, sizeof(h->uring_detail));
#else
	h->uring_ret = DMT_DOC_NOT_RUN;
	FMT(h->uring_detail, "this library was built without liburing");
#endif
}

void dmt_doctor_gather_host(struct dmt_doc_host *h)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0)
		snprintf(h->release, sizeof(h->release), "%s", u.release);
	probe_netdev(h);
	probe_caps(h);
	probe_udmabuf(h);
	probe_heaps(h);
	probe_cuda(h);
	probe_rocm(h);
	probe_uring(h);
}

/* ------------------------------------------------------------------ */
/* Gathering: one interface                                            */
/* ------------------------------------------------------------------ */

struct xdp_info {
	uint8_t attached;
	uint32_t prog_id;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xdp_info *x = data;
	const struct nlattr *a, *in;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(a) != IFLA_XDP)
			continue;
		mnl_attr_for_each_nested(in, a) {
			if (mnl_attr_get_type(in) == IFLA_XDP_ATTACHED &&
			    mnl_attr_get_payload_len(in) >= 1)
				x->attached = mnl_attr_get_u8(in);
			else if (mnl_attr_get_type(in) == IFLA_XDP_PROG_ID &&
				 mnl_attr_get_payload_len(in) >= 4)
				x->prog_id = mnl_attr_get_u32(in);
		}
	}
	return MNL_CB_OK;
}

static int probe_xdp(int ifindex, struct xdp_info *x)
{
	char buf[DMT_NL_BUFSZ] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct dmt_nl nl;
	int ret;

	memset(x, 0, sizeof(*x));
	ret = dmt_nl_open(&nl, NETLINK_ROUTE);
	if (ret < 0)
		return ret;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	ret = dmt_nl_talk(&nl, nlh, link_cb, x, NULL);
	dmt_nl_close(&nl);
	return ret;
}

/* One bind on a private context, closed at once (releasing the binding
 * if the kernel made one). */
/* bind-tx of fd through a private context: the kernel's answer, its
 * extack in extack. (The bind-rx probe is the receive code's
 * dmt_rx_netmem_probe, the one the listener's blockers use.) */
static int bind_tx_probe(int ifindex, int fd, char *extack, size_t len)
{
	struct dmt_error err;
	struct dmt_ctx *c = dmt_ctx_new(NULL, &err);
	uint32_t id = 0;
	int ret;

	extack[0] = '\0';
	if (!c)
		return err.err ? err.err : -ENOMEM;
	ret = dmt_ctx_bind_tx(c, ifindex, fd, &id);
	if (ret < 0)
		snprintf(extack, len, "%s", dmt_ctx_last_error(c)->extack);
	dmt_ctx_free(c);
	/* the evidence names what the kernel answered (EOPNOTSUPP), which
	 * the library reports as "the driver lacks devmem" */
	if (ret == -DMT_ERR_NO_NETMEM_TX)
		ret = -EOPNOTSUPP;
	return ret;
}

static int memfd_tx_probe(int ifindex, char *extack, size_t len)
{
	int fd = memfd_create("devmemtcp-doctor-probe", MFD_CLOEXEC), ret;

	if (fd < 0)
		return dmt_neg_errno();
	ret = bind_tx_probe(ifindex, fd, extack, len);
	close(fd);
	return ret;
}

static void probe_tx(const struct dmt_doc_host *h, struct dmt_doc_if *f)
{
	static const struct {
		int exp;
		enum dmt_buf_kind kind;
		size_t size;
	} order[] = {
		{ DMT_DOC_UDMABUF, DMT_BUF_UDMABUF, 0 },
		{ DMT_DOC_HEAPS, DMT_BUF_DMAHEAP, 0 },
		{ DMT_DOC_CUDA, DMT_BUF_CUDA, 2u << 20 },
		{ DMT_DOC_ROCM, DMT_BUF_ROCM, 2u << 20 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		struct dmt_buf *b;

		if (h->exp[order[i].exp].state != DMT_DOC_EXP_OK)
			continue;
		b = dmt_buf_new(order[i].kind,
				order[i].size ? order[i].size : dmt_page_size(),
				NULL, NULL);
		if (!b || dmt_buf_dmabuf_fd(b) < 0) {
			dmt_buf_free(b);
			continue;
		}
		f->tx_real = true;
		snprintf(f->tx_exporter, sizeof(f->tx_exporter), "%s",
			 dmt_buf_kind_name(order[i].kind));
		f->tx_ret = bind_tx_probe(f->ifindex, dmt_buf_dmabuf_fd(b),
					  f->tx_extack, sizeof(f->tx_extack));
		dmt_buf_free(b);
		return;
	}
	f->tx_ret = memfd_tx_probe(f->ifindex, f->tx_extack,
					   sizeof(f->tx_extack));
}

void dmt_doctor_gather_if(const struct dmt_doc_host *h, struct dmt_ctx *ctx,
			  struct dmt_doc_if *f, unsigned int what)
{
	bool nd = h->netdev_ret == 0;
	struct dmt_ntuple_list l;
	struct dmt_rss rss;
	struct xdp_info x;

	if (!what)
		what = DMT_DOCTOR_TX | DMT_DOCTOR_RX;
	f->drv_ret = dmt_if_driver(f->ifindex, f->driver, sizeof(f->driver),
				   f->version, sizeof(f->version));
	f->tx_ret = DMT_DOC_NOT_RUN;
	f->rxprobe_ret = DMT_DOC_NOT_RUN;
	if ((what & DMT_DOCTOR_TX) && nd && (h->ops & OP(DMT_NETDEV_CMD_BIND_TX)))
		probe_tx(h, f);
	if ((what & DMT_DOCTOR_RX) && nd && h->cap_net_admin &&
	    (h->ops & OP(DMT_NETDEV_CMD_BIND_RX)))
		dmt_rx_netmem_probe(f->ifindex, &f->rxprobe_ret,
				    f->rxprobe_extack, sizeof(f->rxprobe_extack));

	f->rings_ret = dmt_ethtool_rings_get(ctx, f->ifindex, &f->rings);
	f->channels_ret = dmt_ethtool_channels_get(ctx, f->ifindex, &f->channels);
	f->rxq = -1;
	if (f->channels_ret == 0)
		f->rxq = (int)(f->channels.rx + f->channels.combined);
	f->ntuple_ret = dmt_ethtool_feature_get(ctx, f->ifindex,
						"rx-ntuple-filter",
						&f->ntuple_active,
						&f->ntuple_fixed);
	f->gro_ret = dmt_ethtool_feature_get(ctx, f->ifindex, "rx-gro-hw",
					     &f->gro_active, &f->gro_fixed);
	f->rss_ret = dmt_ethtool_rss_get(ctx, f->ifindex, &rss);
	if (f->rss_ret == 0) {
		f->rss_indir_size = rss.indir_size;
		dmt_rss_free(&rss);
	}
	f->rules_ret = dmt_ethtool_ntuple_list(ctx, f->ifindex, &l);
	if (f->rules_ret == 0) {
		f->rules = l.count;
		f->rule_table = l.table_size;
		dmt_ntuple_list_free(&l);
	}
	f->xdp_ret = probe_xdp(f->ifindex, &x);
	f->xdp_attached = x.attached;
	f->xdp_prog_id = x.prog_id;

	f->queues_ret = DMT_DOC_NOT_RUN;
	if (nd && (h->ops & OP(DMT_NETDEV_CMD_QUEUE_GET))) {
		struct dmt_queue_info q[256];
		int n = dmt_ctx_queue_dump(ctx, f->ifindex, q, ARRAY_SIZE(q));

		f->queues_ret = n < 0 ? n : 0;
		for (int i = 0; i < n && i < (int)ARRAY_SIZE(q); i++) {
			if (q[i].type != DMT_QUEUE_RX)
				continue;
			f->q_rx++;
			f->q_dmabuf += q[i].has_dmabuf;
			f->q_io_uring += q[i].has_io_uring;
			f->q_xsk += q[i].has_xsk;
		}
		if (f->rxq < 0 && n >= 0)
			f->rxq = f->q_rx;
	}
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

static bool is_loopback(const char *name)
{
	struct ifreq ifr;
	int fd, ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return ret == 0 && (ifr.ifr_flags & IFF_LOOPBACK);
}

static int add_if(struct dmt_doc_if **ifs, unsigned int *n, const char *name,
		  int ifindex)
{
	struct dmt_doc_if *p = realloc(*ifs, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	*ifs = p;
	memset(&p[*n], 0, sizeof(p[*n]));
	snprintf(p[*n].name, sizeof(p[*n].name), "%s", name);
	p[*n].ifindex = ifindex;
	(*n)++;
	return 0;
}

DMT_EXPORT struct dmt_doctor *dmt_doctor_run(const struct dmt_doctor_opts *opts,
					     struct dmt_error *err)
{
	const char *const *names = DMT_OPTS_FIELD(opts, ifnames, NULL);
	unsigned int nnames = DMT_OPTS_FIELD(opts, nifnames, 0);
	unsigned int what = DMT_OPTS_FIELD(opts, what, 0);
	struct dmt_doc_if *ifs = NULL;
	struct dmt_doctor *doc = NULL;
	struct dmt_doc_host *h;
	struct dmt_ctx *ctx;
	unsigned int nifs = 0;
	int ret = 0;

	dmt_err_clear(err);
	if (!DMT_OPTS_CHECK(opts, dmt_doctor_opts, err))
		return NULL;
	if ((what & ~(DMT_DOCTOR_TX | DMT_DOCTOR_RX)) || (nnames && !names)) {
		dmt_fail(err, -EINVAL, "dmt_doctor_opts: unknown bits in what "
			 "(0x%x), or nifnames without ifnames", what);
		return NULL;
	}
	if (!what)
		what = DMT_DOCTOR_TX | DMT_DOCTOR_RX;
	if (names) {
		for (unsigned int i = 0; i < nnames && !ret; i++) {
			unsigned int idx = names[i] ? if_nametoindex(names[i]) : 0;

			if (!idx || strlen(names[i]) >= IF_NAMESIZE) {
				dmt_err_set(err, -ENODEV, "interface \"%s\" does "
					    "not exist in this network namespace; "
					    "'ip link' lists the interfaces",
					    names[i] ? names[i] : "(null)");
				free(ifs);
				errno = ENODEV;
				return NULL;
			}
			ret = add_if(&ifs, &nifs, names[i], (int)idx);
		}
	} else {
		struct if_nameindex *all = if_nameindex(), *p;

		if (!all)
			ret = dmt_neg_errno();
		for (p = all; p && p->if_index && !ret; p++)
			if (!is_loopback(p->if_name))
				ret = add_if(&ifs, &nifs, p->if_name,
					     (int)p->if_index);
		if (all)
			if_freenameindex(all);
	}
	if (ret < 0)
		goto fail;

	h = calloc(1, sizeof(*h));
	if (!h) {
		ret = -ENOMEM;
		goto fail;
	}
	dmt_doctor_gather_host(h);
	/* ethtool queries need a context; without the netdev family make a
	 * bare one (the ethtool socket opens lazily). */
	ctx = dmt_ctx_new(NULL, NULL);
	if (!ctx)
		ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		free(h);
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < nifs; i++)
		dmt_doctor_gather_if(h, ctx, &ifs[i], what);
	dmt_ctx_free(ctx);
	doc = dmt_doctor_evaluate(h, ifs, nifs, what);
	free(h);
	free(ifs);
	if (!doc) {
		dmt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
	}
	return doc;
fail:
	free(ifs);
	dmt_err_set(err, ret, "doctor: %s", dmt_strerror(ret));
	errno = -ret;
	return NULL;
}

DMT_EXPORT void dmt_doctor_free(struct dmt_doctor *doc)
{
	if (!doc)
		return;
	for (unsigned int i = 0; i < doc->nstrs; i++)
		free(doc->strs[i]);
	free(doc->strs);
	free(doc->checks);
	free(doc->ifs);
	free(doc);
}

DMT_EXPORT unsigned int dmt_doctor_check_count(const struct dmt_doctor *doc)
{
	return doc ? doc->nchecks : 0;
}

DMT_EXPORT const struct dmt_doctor_check *
dmt_doctor_check_at(const struct dmt_doctor *doc, unsigned int i)
{
	return doc && i < doc->nchecks ? &doc->checks[i] : NULL;
}

DMT_EXPORT unsigned int dmt_doctor_iface_count(const struct dmt_doctor *doc)
{
	return doc ? doc->nifs : 0;
}

DMT_EXPORT const struct dmt_doctor_iface *
dmt_doctor_iface_at(const struct dmt_doctor *doc, unsigned int i)
{
	return doc && i < doc->nifs ? &doc->ifs[i] : NULL;
}

DMT_EXPORT int dmt_doctor_ready(const struct dmt_doctor *doc)
{
	if (!doc || !doc->nifs)
		return 0;
	for (unsigned int i = 0; i < doc->nifs; i++)
		if (doc->ifs[i].tx_ready == 0 || doc->ifs[i].rx_ready == 0)
			return 0;
	return 1;
}

DMT_EXPORT const char *dmt_doctor_kernel_release(const struct dmt_doctor *doc)
{
	return doc ? doc->release : "";
}

DMT_EXPORT unsigned int dmt_doctor_what(const struct dmt_doctor *doc)
{
	return doc ? doc->what : 0;
}

DMT_EXPORT const char *dmt_doctor_status_name(enum dmt_doctor_status s)
{
	static const char *const n[] = { "pass", "warn", "fail", "skip" };

	return (unsigned int)s < ARRAY_SIZE(n) ? n[s] : "?";
}

DMT_EXPORT const char *dmt_doctor_group_name(enum dmt_doctor_group g)
{
	static const char *const n[] = { "kernel", "privileges", "exporters",
					 "interface" };

	return (unsigned int)g < ARRAY_SIZE(n) ? n[g] : "?";
}
