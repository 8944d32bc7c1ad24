/* SPDX-License-Identifier: MIT */
/* Internals of the NCCL net plugin shared between its source files. */
#ifndef DMT_NCCL_PLUGIN_H
#define DMT_NCCL_PLUGIN_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <devmemtcp.h>

#include "nccl_net.h"

#define PN_MAX_DEVS 32
#define PN_MAX_SOCKS 16
#define PN_MAX_REQS NCCL_NET_MAX_REQUESTS

extern ncclDebugLogger_t pn_logger;

#define PN_WARN(...) pn_log(NCCL_LOG_WARN, NCCL_NET, __FILE__, __LINE__, __VA_ARGS__)
#define PN_INFO(flags, ...) pn_log(NCCL_LOG_INFO, flags, __FILE__, __LINE__, __VA_ARGS__)
void pn_log(ncclDebugLogLevel lvl, unsigned long flags, const char *file,
	    int line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct pn_dev {
	char name[IF_NAMESIZE];
	int ifindex;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *pci_path;		/* realpath of /sys/class/net/X/device, NULL virtual */
	uint64_t guid;
	int speed;		/* Mbps */
	bool speed_known;
	int tx_ready, rx_ready;	/* doctor verdicts, -1 unknown */
	char why[256];		/* first blocking devmem reason */
	bool devmem;		/* devmem TX+RX usable with a GPU runtime */
};

extern struct pn_dev pn_devs[PN_MAX_DEVS];
extern int pn_ndevs;
extern struct dmt_ctx *pn_ctx;
extern pthread_mutex_t pn_lock;

struct pn_comm;
struct pn_listen;

/* A registered memory region. */
struct pn_mr {
	uint32_t magic;
	int type;		/* NCCL_PTR_HOST or NCCL_PTR_CUDA */
	void *base;
	size_t size;
	struct dmt_buf *buf;	/* host: dmt_buf_wrap; dma-buf: import */
	bool dmabuf;		/* registered through regMrDmaBuf */
	uint64_t dmabuf_off;	/* offset of base in the dma-buf */
	uint32_t binding;	/* devmem TX binding of the dma-buf (sends) */
	struct pn_binding *bind; /* cache entry holding it */
};

struct pn_req {
	int slot;		/* request number, -1 when free */
	uint64_t seq;
	uint64_t size;		/* send: size; recv: size the sender sent */
	uint64_t cap;		/* recv: size posted */
	char *dst;		/* recv: destination */
	struct pn_mr *mr;
	uint64_t mr_off;	/* offset of the data in mr->buf */
	uint64_t ctrl_end;	/* send: control bytes up to its header */
	unsigned int pending;	/* chunks not finished */
	bool have_hdr;		/* recv: header arrived */
	bool flush;		/* an iflush request */
	uint64_t flush_mark;	/* gpu: copies queued before the flush */
};

/* One chunk of one message on one stream. */
struct pn_task {
	struct pn_req *req;
	char *dst;		/* recv: where the chunk lands */
	uint64_t off;		/* offset of the chunk in the message */
	uint64_t len;
	uint64_t done;
	struct dmt_tx *tx;	/* send: tx that queued it */
};

struct pn_gpu_stream;
struct pn_gpu_comm;

struct pn_stream {
	int fd;
	struct dmt_tx *tx_host;	/* sends from host memory */
	struct dmt_tx *tx_dev;	/* devmem sends from dma-bufs */
	struct dmt_tx *cur_tx;
	struct pn_mr *cur_mr;	/* region of the last send */
	struct pn_mr *host_mr, *dev_mr; /* region each tx is set to */
	int lowat;		/* recv: SO_RCVLOWAT set on fd (0: default 1) */
	bool full;		/* the last send was cut short: wait for the
				 * kernel's write low-water mark (POLLOUT) */
	struct pn_task task[PN_MAX_REQS];
	uint64_t head, sent, tail;
	struct pn_gpu_stream *gpu; /* devmem RX state */
};

struct pn_comm {
	uint32_t magic;
	bool is_send;
	struct pn_dev *dev;
	int nsocks;
	int ctrl_fd;
	char peer[64];
	ncclResult_t err;	/* sticky */
	struct pn_stream st[PN_MAX_SOCKS];
	unsigned int next_stream;
	struct pn_req req[PN_MAX_REQS];
	uint64_t head, tail;	/* request sequence numbers */
	/* send: control bytes (message headers) */
	char ctrl_buf[PN_MAX_REQS * 16];
	uint64_t ctrl_queued, ctrl_sent;
	/* recv: header being read, for request hdr_next */
	struct {
		uint32_t magic, seq;
		uint64_t size;
	} hdr;
	uint32_t hdr_got;
	uint64_t hdr_next, hdr_seq;
	bool logged_host, logged_dev;
	struct dmt_ctx *devctx;	/* devmem senders of this comm: the library
				 * binds their first dma-buf through it; freed
				 * (releasing that binding) at close */
	struct pn_gpu_comm *gpu; /* devmem RX state */
	struct pn_comm *next_all; /* every open comm (pn_lock) */
	uint64_t serial;	/* unique per process, never reused */
};

/* First bytes on every socket of a comm. */
struct pn_hello {
	uint32_t magic;
	uint16_t index;		/* 0 control, 1..nsocks data */
	uint16_t nsocks;
	uint64_t nonce;		/* the listener's */
	uint64_t comm_id;	/* the connector's, groups the sockets */
};

struct pn_pending {
	int fd;
	uint32_t got;
	struct pn_hello hello;
};

struct pn_listen {
	uint32_t magic;
	struct pn_dev *dev;
	int fd;
	uint64_t nonce;
	int nsocks;
	struct pn_pending pend[64];
	unsigned int npend;
};

/* devices.c */
ncclResult_t pn_devices_init(void);
/* Match name against an NCCL_SOCKET_IFNAME-style list; exported for the
 * tests through the plugin's internal header only. */
bool pn_ifname_match(const char *list, const char *name);

bool pn_cuda_present(void);

/* net.c */
/* A region record of type over [data, data + size); NULL without memory. */
struct pn_mr *pn_mr_new(int type, void *data, size_t size);
ncclResult_t pn_reg_mr_host(struct pn_comm *c, void *data, size_t size,
			    void **mhandle);
/* Mark c failed (sticky, one WARN); returns -1. */
int pn_fail(struct pn_comm *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pn_env_mb(const char *name, int def);
unsigned int pn_port(const struct sockaddr_storage *ss);
#define PN_MAGIC 0x444d544eu	/* "DMTN" */

/* gpu.c: devmem TX bindings and devmem RX into a plugin-owned GPU buffer */
ncclResult_t pn_reg_mr_dmabuf(void *comm, void *data, size_t size, int type,
			      uint64_t offset, int fd, void **mhandle);
void pn_gpu_mr_release(struct pn_mr *mr);
/* The dmt_buf a send from mr goes out of. */
struct dmt_buf *pn_mr_buf(struct pn_mr *mr);
/* Set up devmem RX for a new receive comm; on failure the comm receives
 * host memory only and the reason is logged. */
void pn_gpu_recv_setup(struct pn_comm *c, struct pn_listen *l);
void pn_gpu_comm_fini(struct pn_comm *c);
void pn_gpu_stream_fini(struct pn_comm *c, struct pn_stream *s);
/* Progress a receive chunk into GPU memory: 1 finished, 0 not yet, -1
 * error (c->err set). */
int pn_gpu_recv_task(struct pn_comm *c, struct pn_stream *s, struct pn_task *t);
void pn_gpu_flush_mark(struct pn_comm *c, struct pn_req *r);
bool pn_gpu_flush_done(struct pn_comm *c, struct pn_req *r);

#endif
