/* SPDX-License-Identifier: MIT */
/*
 * devmemtcp.h - public interface of libdevmemtcp.
 *
 * Conventions (docs/conventions.md has the long form):
 *  - Every int-returning call returns >= 0 on success or a negative errno
 *    (also stored in errno). Library-specific codes are >= DMT_ERR_BASE.
 *  - Constructors return NULL and set errno; they take an optional
 *    struct dmt_error * that receives the full explanation.
 *  - Handles are opaque. Options structs start with their size; declare them
 *    with DMT_OPTS() so that the size is set and everything else, padding
 *    included, is zero. A NULL options pointer means defaults. A field the
 *    caller's struct has is taken as given, 0 included; each field says
 *    what its 0 means (often "the default"), and named values such as
 *    DMT_TX_NEVER stand for "never". A field the caller's older struct
 *    lacks takes its default; bytes past the last field this library knows
 *    must be zero (-EINVAL otherwise).
 *  - Every handle carries a last-error record (dmt_*_last_error()) holding
 *    the errno, the kernel's extended-ack text and a sentence for the user.
 *  - The library never prints and never exits. Diagnostics go to the log
 *    callback of a context (dmt_ctx_opts.log_fn), silent by default.
 *  - A handle may be used by one thread at a time; different handles are
 *    independent. A dmt_rx_listener is the exception: connections may be
 *    made from it by several threads at once (see the RX section).
 */
#ifndef DEVMEMTCP_H
#define DEVMEMTCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMT_VERSION_MAJOR 0
#define DMT_VERSION_MINOR 1

#if defined(__GNUC__)
#define DMT_API __attribute__((visibility("default")))
#else
#define DMT_API
#endif

/* Declare an options struct of TYPE named NAME: every byte zeroed (tail
 * padding too, which the library checks), .sz set, then the fields given. */
#define DMT_OPTS(TYPE, NAME, ...)                                            \
	struct TYPE NAME = __extension__({                                    \
		__builtin_memset(&NAME, 0, sizeof(struct TYPE));             \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };      \
	})

DMT_API int dmt_version_major(void);
DMT_API int dmt_version_minor(void);

/* ------------------------------------------------------------------ */
/* Errors and logging                                                  */
/* ------------------------------------------------------------------ */

/* Library-specific error codes, returned negated like errno values. */
enum dmt_errcode {
	DMT_ERR_BASE = 4096,
	DMT_ERR_NO_NETMEM_TX = 4096,	/* driver lacks devmem TX */
	DMT_ERR_NO_NETMEM_RX,		/* driver lacks devmem RX (queue API) */
	DMT_ERR_NO_EXPORTER,		/* no dma-buf exporter available */
	DMT_ERR_NOT_DMABUF,		/* buffer has no dma-buf fd */
	DMT_ERR_ROUTE_MISMATCH,		/* route leaves through another device */
	DMT_ERR_FLOW_STEERING,		/* data arrived on a non-devmem queue */
	DMT_ERR_HEADER_SPLIT,		/* tcp-data-split off / unsupported */
	DMT_ERR_NETLINK,		/* malformed netlink reply */
	DMT_ERR_NO_FAMILY,		/* generic netlink family missing */
	DMT_ERR_ENGINE,			/* engine not available */
	DMT_ERR_GPU,			/* GPU runtime failure */
	DMT_ERR_MAX
};

/*
 * A full error explanation. A value record; its layout is ABI.
 *  err       negative errno or -DMT_ERR_* (0: no error)
 *  message   one sentence for the user: what failed, why, what to do
 *  extack    the kernel's extended-ack text, "" when the kernel sent none
 *  bad_attr  offset of the attribute the kernel blamed, 0 if none
 *  miss_type attribute type the kernel reported missing, 0 if none
 */
struct dmt_error {
	int err;
	uint32_t bad_attr;
	uint32_t miss_type;
	uint32_t __reserved;
	char extack[256];
	char message[512];
};

/* Text for an error code (either sign; errno or DMT_ERR_*). Never NULL. */
DMT_API const char *dmt_strerror(int err);

enum dmt_log_level {
	DMT_LOG_ERROR = 0,
	DMT_LOG_WARN,
	DMT_LOG_INFO,
	DMT_LOG_DEBUG,
};

typedef void (*dmt_log_fn)(enum dmt_log_level level, const char *msg,
			   void *user);

/* ------------------------------------------------------------------ */
/* Context: netlink sockets and device bindings                        */
/* ------------------------------------------------------------------ */

struct dmt_ctx;

struct dmt_ctx_opts {
	size_t sz;
	dmt_log_fn log_fn;	/* NULL: silent */
	void *log_user;
	enum dmt_log_level log_level;	/* highest level passed to log_fn;
					 * 0 is DMT_LOG_ERROR (absent: WARN) */
	size_t :0;
};

/*
 * Open a context: a netlink socket (SOCK_CLOEXEC) on the netdev family that
 * owns every binding made through it. dmt_ctx_free() closes it, which makes
 * the kernel release those bindings. Returns NULL + errno (err filled when
 * not NULL); -DMT_ERR_NO_FAMILY when the kernel has no netdev family.
 */
DMT_API struct dmt_ctx *dmt_ctx_new(const struct dmt_ctx_opts *opts,
				    struct dmt_error *err);
DMT_API void dmt_ctx_free(struct dmt_ctx *ctx);
/* Borrowed until the next call on ctx. Never NULL. */
DMT_API const struct dmt_error *dmt_ctx_last_error(const struct dmt_ctx *ctx);
/* The dynamic family id of "netdev" on this kernel. */
DMT_API int dmt_ctx_netdev_family(const struct dmt_ctx *ctx);

/*
 * bind-tx: bind dmabuf_fd for transmission on ifindex. The binding lives as
 * long as ctx. Unprivileged. On success stores the binding id.
 * Errors: -DMT_ERR_NO_NETMEM_TX (kernel EOPNOTSUPP "Driver does not support
 * netmem TX"), -ENODEV, -EBADF/-EINVAL (fd is not a dma-buf), ...
 */
DMT_API int dmt_ctx_bind_tx(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
			uint32_t *binding_id);

/*
 * bind-rx: bind dmabuf_fd to the RX queues listed. Needs CAP_NET_ADMIN.
 * Same lifetime and id space as bind-tx.
 */
DMT_API int dmt_ctx_bind_rx(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
			const uint32_t *queues, unsigned int nqueues,
			uint32_t *binding_id);

/* Number of bindings made through ctx that are still alive. */
DMT_API int dmt_ctx_binding_count(const struct dmt_ctx *ctx);

/* dev-get */
struct dmt_dev_info {
	uint32_t ifindex;
	uint32_t xdp_zc_max_segs;
	uint64_t xdp_features;
	uint64_t xdp_rx_metadata_features;
	uint64_t xsk_features;
};
DMT_API int dmt_ctx_dev_get(struct dmt_ctx *ctx, int ifindex,
			struct dmt_dev_info *info);

enum dmt_queue_type { DMT_QUEUE_RX = 0, DMT_QUEUE_TX = 1 };

/* queue-get: one record per queue. has_* say which fields were reported. */
struct dmt_queue_info {
	uint32_t ifindex;
	uint32_t id;
	uint32_t type;		/* enum dmt_queue_type */
	uint32_t napi_id;
	uint32_t dmabuf;	/* binding id installed on an RX queue */
	uint8_t has_napi_id;
	uint8_t has_dmabuf;
	uint8_t has_io_uring;	/* io_uring zcrx provider on this queue */
	uint8_t has_xsk;	/* AF_XDP socket on this queue */
	uint32_t __reserved;
};
DMT_API int dmt_ctx_queue_get(struct dmt_ctx *ctx, int ifindex,
			  enum dmt_queue_type type, uint32_t id,
			  struct dmt_queue_info *info);
/* Dump the queues of ifindex into q[0..max); returns the number found
 * (may exceed max: only max are stored). */
DMT_API int dmt_ctx_queue_dump(struct dmt_ctx *ctx, int ifindex,
			   struct dmt_queue_info *q, unsigned int max);

/* page-pool-get: one record per page pool. A devmem RX binding shows as
 * pools whose dmabuf is the binding id; inflight counts buffers held (for
 * devmem: by tokens not yet returned). */
struct dmt_page_pool_info {
	uint64_t id;
	uint32_t ifindex;	/* 0 when the device is gone */
	uint32_t napi_id;
	uint64_t inflight;
	uint64_t inflight_mem;
	uint32_t dmabuf;	/* binding id of a devmem pool */
	uint8_t has_dmabuf;
	uint8_t has_io_uring;	/* io_uring zcrx pool */
	uint16_t __reserved;
};
/* Dump the page pools of ifindex (0: of every device) into pp[0..max);
 * returns the number found (may exceed max: only max are stored). Kernels
 * without page-pool introspection answer -EOPNOTSUPP. */
DMT_API int dmt_ctx_page_pool_dump(struct dmt_ctx *ctx, int ifindex,
			       struct dmt_page_pool_info *pp, unsigned int max);

/*
 * Egress interface of a route lookup towards dst (RTM_GETROUTE), the
 * device a devmem TX binding must be made on. Stores ifindex (> 0).
 */
DMT_API int dmt_ctx_route_egress(struct dmt_ctx *ctx, const struct sockaddr *dst,
			     socklen_t dstlen, int *ifindex);

/* ------------------------------------------------------------------ */
/* Buffers: memory a socket sends from or receives into                */
/* ------------------------------------------------------------------ */

struct dmt_buf;

enum dmt_buf_kind {
	DMT_BUF_HOST = 1,	/* memfd + mmap, no dma-buf (fallback engines) */
	DMT_BUF_UDMABUF,	/* memfd wrapped by /dev/udmabuf */
	DMT_BUF_DMAHEAP,	/* /dev/dma_heap/<name> (default "system") */
	DMT_BUF_IMPORT,		/* a dma-buf fd made elsewhere (see dmt_buf_import) */
	DMT_BUF_CUDA,		/* GPU memory, CUDA driver API via dlopen */
	DMT_BUF_ROCM,		/* GPU memory, ROCm HSA runtime via dlopen */
};

struct dmt_buf_opts {
	size_t sz;
	const char *heap;	/* DMAHEAP: heap name, default "system" */
	int device;		/* CUDA/ROCm: device index */
	const char *pci_bus_id;	/* CUDA: select device by PCI bus id */
	size_t :0;
};

/*
 * Allocate size bytes of kind. size is rounded up to the page size
 * (dmt_buf_size() tells the result). Returns NULL + errno; err explains,
 * e.g. "/dev/udmabuf not found: kernel built without CONFIG_UDMABUF".
 */
DMT_API struct dmt_buf *dmt_buf_new(enum dmt_buf_kind kind, size_t size,
				    const struct dmt_buf_opts *opts,
				    struct dmt_error *err);
/*
 * Wrap a dma-buf fd created elsewhere. The fd is dup'd (F_DUPFD_CLOEXEC):
 * the caller keeps ownership of its own fd and may close it at once.
 * size 0 means "ask the fd" (lseek SEEK_END). CPU mapping is attempted and
 * is optional (dmt_buf_map() returns NULL when the exporter refuses it).
 */
DMT_API struct dmt_buf *dmt_buf_import(int dmabuf_fd, size_t size,
				       struct dmt_error *err);
DMT_API void dmt_buf_free(struct dmt_buf *buf);
/*
 * Describe size bytes of the caller's own host memory at addr as a
 * DMT_BUF_HOST buffer (no copy, no dma-buf), so that a sender can send
 * from memory it did not allocate here. The memory stays the caller's and
 * must outlive the buffer; dmt_buf_free() does not unmap it.
 */
DMT_API struct dmt_buf *dmt_buf_wrap(void *addr, size_t size,
				     struct dmt_error *err);

DMT_API enum dmt_buf_kind dmt_buf_kind(const struct dmt_buf *buf);
DMT_API const char *dmt_buf_kind_name(enum dmt_buf_kind kind);
DMT_API size_t dmt_buf_size(const struct dmt_buf *buf);
/* dma-buf fd owned by buf, or -1 for host memory. */
DMT_API int dmt_buf_dmabuf_fd(const struct dmt_buf *buf);
/* CPU mapping owned by buf, or NULL where the memory is not CPU-mappable. */
DMT_API void *dmt_buf_map(const struct dmt_buf *buf);
/* Offset of the allocation inside the exported dma-buf (ROCm may be > 0). */
DMT_API uint64_t dmt_buf_dmabuf_offset(const struct dmt_buf *buf);
DMT_API const struct dmt_error *dmt_buf_last_error(const struct dmt_buf *buf);

/* CPU access brackets (DMA_BUF_IOCTL_SYNC); no-ops for host memory. */
#define DMT_SYNC_READ 1u
#define DMT_SYNC_WRITE 2u
#define DMT_SYNC_RW 3u
DMT_API int dmt_buf_begin_cpu(struct dmt_buf *buf, unsigned int flags);
DMT_API int dmt_buf_end_cpu(struct dmt_buf *buf, unsigned int flags);
/* Copy in / out with the brackets (and through the GPU runtime for GPU
 * memory). Offsets are checked: -EINVAL outside the buffer. */
DMT_API int dmt_buf_write(struct dmt_buf *buf, uint64_t off, const void *src,
			  size_t len);
DMT_API int dmt_buf_read(struct dmt_buf *buf, uint64_t off, void *dst,
			 size_t len);

/* ------------------------------------------------------------------ */
/* TX: sending (offset, length) segments of a buffer                   */
/* ------------------------------------------------------------------ */

enum dmt_engine {
	DMT_ENGINE_AUTO = 0,	/* devmem if possible, else the best fallback */
	DMT_ENGINE_DEVMEM,	/* bind-tx + SCM_DEVMEM_DMABUF */
	DMT_ENGINE_URING,	/* io_uring SEND_ZC */
	DMT_ENGINE_ZEROCOPY,	/* MSG_ZEROCOPY from the CPU mapping */
	DMT_ENGINE_COPY,	/* plain send / recv */
	DMT_ENGINE_STAGED,	/* GPU memory through host bounce buffers:
				 * TX device -> bounce -> send, RX recv ->
				 * bounce -> device */
	DMT_ENGINE_MAX
};
DMT_API const char *dmt_engine_name(enum dmt_engine e);
/* Parse a name ("auto", "devmem", ...); -EINVAL when unknown. */
DMT_API int dmt_engine_from_name(const char *name, enum dmt_engine *e);
/* 1 when this build includes engine e (uring needs liburing at build). */
DMT_API int dmt_engine_built(enum dmt_engine e);

struct dmt_tx;

struct dmt_tx_opts {
	size_t sz;
	enum dmt_engine engine;	/* default AUTO */
	const char *ifname;	/* devmem: egress device; default: route lookup */
	unsigned int max_iov;	/* iovecs per sendmsg, 1..1024; 0: 1024 */
	int nonblock;		/* dmt_tx_send() returns -EAGAIN instead of waiting */
	unsigned int :32;	/* was uring_depth (removed: the uring engine
				 * keeps one request in flight; its queue
				 * depth is fixed) */
	unsigned int max_outstanding; /* sends awaiting their completion
				   * before dmt_tx_send() waits (or, with
				   * nonblock, returns -EAGAIN); 16..65536,
				   * 0: 512. Bounds memory: no allocation
				   * on the send path after the first sends. */
	uint64_t auto_copy_min;	/* AUTO with a zero-copy engine: once 32
				   * completions in a row came back COPIED
				   * (the kernel copies on this path anyway,
				   * as on loopback and veth), sends of at
				   * least this many bytes use plain send(),
				   * which is cheaper for large sends there.
				   * 0: default 512 KiB; DMT_TX_NEVER: never. */
	uint64_t auto_zc_min;	/* AUTO with a zero-copy engine: sends of
				   * fewer bytes use plain send(): page
				   * pinning and a completion cost more than
				   * they save on small sends. 0: default
				   * 16 KiB; DMT_TX_NEVER: never. */
	int connect_timeout_ms;	/* dmt_tx_connect(): give up with
				   * -ETIMEDOUT when the handshake has not
				   * completed within this time; 0 (default):
				   * the kernel's own (SYN retries, ~2 min) */
	size_t :0;
};

/* auto_copy_min / auto_zc_min: never send plainly for that reason. */
#define DMT_TX_NEVER UINT64_MAX

/* One segment: bytes [off, off+len) of the buffer. */
struct dmt_seg {
	uint64_t off;
	uint64_t len;
};

/*
 * Create a TCP socket towards dst, set the engine up and connect.
 * src (may be NULL) is bound before connect. The tx owns the socket.
 * The engine actually used and the reason are in dmt_tx_engine() and
 * dmt_tx_engine_reason(). ctx must outlive tx (it owns the binding);
 * NULL (a kernel without the netdev family): no devmem, a fallback engine.
 */
DMT_API struct dmt_tx *dmt_tx_connect(struct dmt_ctx *ctx, struct dmt_buf *buf,
				      const struct sockaddr *dst,
				      socklen_t dstlen,
				      const struct sockaddr *src,
				      socklen_t srclen,
				      const struct dmt_tx_opts *opts,
				      struct dmt_error *err);
/*
 * Wrap a connected TCP socket (e.g. one returned by accept()). The socket
 * stays the caller's: dmt_tx_free() does not close it.
 */
DMT_API struct dmt_tx *dmt_tx_from_fd(struct dmt_ctx *ctx, struct dmt_buf *buf,
				      int fd, const struct dmt_tx_opts *opts,
				      struct dmt_error *err);
/* Does not wait for completions; see dmt_tx_flush(). */
DMT_API void dmt_tx_free(struct dmt_tx *tx);

DMT_API int dmt_tx_fd(const struct dmt_tx *tx);
DMT_API enum dmt_engine dmt_tx_engine(const struct dmt_tx *tx);
/* One line: why this engine (e.g. "eth0: driver does not support netmem TX").
 * Borrowed for the life of tx. */
DMT_API const char *dmt_tx_engine_reason(const struct dmt_tx *tx);
DMT_API const struct dmt_error *dmt_tx_last_error(const struct dmt_tx *tx);

/*
 * Send nseg segments as one stream, in order. Validated before any syscall
 * (inside the buffer, non-empty, at least one segment). Blocking by default:
 * continues partial sends and retries ENOBUFS (and pinned pages over
 * RLIMIT_MEMLOCK) after reaping completions, so every byte is queued
 * exactly once and in order. Returns bytes queued, the whole count (the
 * total may exceed 2 GiB). When an error follows queued bytes, it returns
 * their count and the next call returns the error (its sentence stays in
 * dmt_tx_last_error()); -errno only when nothing was queued.
 * With opts.nonblock, returns what was queued (possibly short) or -EAGAIN.
 */
DMT_API ssize_t dmt_tx_send(struct dmt_tx *tx, const struct dmt_seg *segs,
			    unsigned int nseg);

/*
 * Make tx send from buf from now on (segments are offsets into buf). Only
 * while no send is outstanding (-EBUSY otherwise: dmt_tx_reap() until
 * dmt_tx_outstanding() is 0). The devmem engine needs buf's dma-buf bound
 * for TX on tx's device: binding_id is that binding (from dmt_ctx_bind_tx(),
 * kept alive by the caller); the other engines take 0. The staged engine
 * answers -EOPNOTSUPP. buf must outlive its use by tx.
 */
DMT_API int dmt_tx_set_buf(struct dmt_tx *tx, struct dmt_buf *buf,
			   uint32_t binding_id);

/* Drain completions without blocking; returns the number of send ids
 * completed by this call. */
DMT_API int dmt_tx_reap(struct dmt_tx *tx);
/* 1 if some byte of [off, off+len) may still be read by the kernel, else 0. */
DMT_API int dmt_tx_region_busy(const struct dmt_tx *tx, uint64_t off,
			       uint64_t len);
/* Wait until [off, off+len) may be rewritten; timeout_ms < 0: forever.
 * -ETIMEDOUT when it ran out. */
DMT_API int dmt_tx_wait_region(struct dmt_tx *tx, uint64_t off, uint64_t len,
			       int timeout_ms);
/* Wait until every send has completed. */
DMT_API int dmt_tx_flush(struct dmt_tx *tx, int timeout_ms);
/* Number of sends whose completion has not arrived. */
DMT_API unsigned int dmt_tx_outstanding(const struct dmt_tx *tx);
/*
 * Waiting in the caller's own poll()/epoll loop (nonblock): watch
 * dmt_tx_fd() for dmt_tx_poll_events() and, when there is one, the
 * completion fd for its events; on any wake-up call dmt_tx_reap(), then
 * send again.
 * dmt_tx_poll_events(): POLLOUT while a send may proceed, 0 while only a
 * completion lets it (max_outstanding reached). Completions that arrive on
 * the socket's error queue (devmem, zerocopy) raise POLLERR on dmt_tx_fd(),
 * which poll() and epoll report without asking.
 * dmt_tx_completion_fd(): a second fd on which completions signal, with
 * the events to watch (uring: the ring, POLLIN); -1 (events 0) when the
 * engine has none besides the socket. It does not change while tx lives.
 */
DMT_API short dmt_tx_poll_events(const struct dmt_tx *tx);
DMT_API int dmt_tx_completion_fd(const struct dmt_tx *tx, short *events);

struct dmt_tx_stats {
	size_t sz;
	uint64_t bytes;		/* bytes queued */
	uint64_t sends;		/* dmt_tx_send() calls */
	uint64_t syscalls;	/* sendmsg/io_uring_enter calls on the data path */
	uint64_t partial;	/* short sends continued */
	uint64_t enobufs;	/* ENOBUFS retries */
	uint64_t zc_ids;	/* completion ids consumed */
	uint64_t zc_notifications; /* error-queue notifications read */
	uint64_t zc_completed;	/* ids completed */
	uint64_t zc_copied;	/* ids completed with the COPIED flag */
	uint64_t copy_sends;	/* AUTO: dmt_tx_send() calls made with plain
				 * send() (dmt_tx_opts.auto_zc_min and
				 * auto_copy_min) */
	size_t :0;
};
/* Fill stats (stats->sz must be set; DMT_OPTS works for it). */
DMT_API int dmt_tx_get_stats(const struct dmt_tx *tx,
			     struct dmt_tx_stats *stats);
/* 1 when every completion so far came back without COPIED (true zero-copy),
 * 0 when some were copied, -ENODATA when none arrived or engine is copy. */
DMT_API int dmt_tx_zerocopy_verdict(const struct dmt_tx *tx);

/* ------------------------------------------------------------------ */
/* Doctor: will devmem TCP work on this host, and if not, why          */
/* ------------------------------------------------------------------ */

/*
 * dmt_doctor_run() looks at the kernel, the caller's privileges, the dma-buf
 * exporters and each interface, and returns a report: a list of checks
 * (status, evidence, fix) and one TX and one RX verdict per interface.
 * It never changes the host: the only kernel requests that are not queries
 * are bind probes whose binding, if one is made, belongs to a private
 * context that is closed at once (releasing it). See dmt_doctor_run(3).
 */
struct dmt_doctor;

enum dmt_doctor_status {
	DMT_DOCTOR_PASS = 0,
	DMT_DOCTOR_WARN,	/* works, but something needs attention */
	DMT_DOCTOR_FAIL,	/* blocks devmem TX and/or RX */
	DMT_DOCTOR_SKIP,	/* not applicable or could not be checked */
};

enum dmt_doctor_group {
	DMT_DOCTOR_KERNEL = 0,
	DMT_DOCTOR_PRIVILEGES,
	DMT_DOCTOR_EXPORTERS,
	DMT_DOCTOR_INTERFACE,
};

/* What to judge: bit mask for dmt_doctor_opts.what. */
#define DMT_DOCTOR_TX 1u
#define DMT_DOCTOR_RX 2u

struct dmt_doctor_opts {
	size_t sz;
	const char *const *ifnames;	/* NULL: every non-loopback interface */
	unsigned int nifnames;
	unsigned int what;		/* DMT_DOCTOR_TX|DMT_DOCTOR_RX, 0: both */
	size_t :0;
};

/*
 * One check. A value record; its layout is ABI. Strings are borrowed for
 * the life of the report and never NULL except ifname.
 *  id        stable machine name, e.g. "kernel.bind_tx", "rx.header_split"
 *  ifname    interface the check is about, NULL for host-wide checks
 *  title     short human description
 *  evidence  what was seen (kernel answers, values)
 *  fix       what to do; "" when status is PASS or SKIP needs nothing
 */
struct dmt_doctor_check {
	const char *id;
	const char *ifname;
	const char *title;
	const char *evidence;
	const char *fix;
	enum dmt_doctor_status status;
	enum dmt_doctor_group group;
	uint32_t __reserved[4];
};

/*
 * The verdicts for one interface. A value record; its layout is ABI.
 * tx_ready / rx_ready: 1 ready, 0 not ready, -1 not asked.
 * tx_reason / rx_reason: the first blocking reason, "" when ready.
 */
struct dmt_doctor_iface {
	const char *ifname;
	const char *driver;		/* "" when unknown */
	const char *driver_version;	/* "" when unknown */
	const char *tx_reason;
	const char *rx_reason;
	int ifindex;
	int tx_ready;
	int rx_ready;
	uint32_t __reserved[5];
};

/*
 * Run every check. Returns NULL + errno on failure: -ENODEV (err names the
 * interface) when a named interface does not exist in the caller's network
 * namespace, -EINVAL for bad options, -ENOMEM. A kernel without devmem is
 * not a failure: it is what the report says.
 */
DMT_API struct dmt_doctor *dmt_doctor_run(const struct dmt_doctor_opts *opts,
					  struct dmt_error *err);
DMT_API void dmt_doctor_free(struct dmt_doctor *doc);
DMT_API unsigned int dmt_doctor_check_count(const struct dmt_doctor *doc);
/* Checks in report order (kernel, privileges, exporters, then each
 * interface); NULL when i is out of range. Borrowed for the life of doc. */
DMT_API const struct dmt_doctor_check *
dmt_doctor_check_at(const struct dmt_doctor *doc, unsigned int i);
DMT_API unsigned int dmt_doctor_iface_count(const struct dmt_doctor *doc);
DMT_API const struct dmt_doctor_iface *
dmt_doctor_iface_at(const struct dmt_doctor *doc, unsigned int i);
/* 1 when every interface is ready for everything asked, else 0 (also when
 * there is no interface to judge). */
DMT_API int dmt_doctor_ready(const struct dmt_doctor *doc);
/* uname release, for information only (never used to decide anything). */
DMT_API const char *dmt_doctor_kernel_release(const struct dmt_doctor *doc);
/* The mask of DMT_DOCTOR_TX/RX that was judged. */
DMT_API unsigned int dmt_doctor_what(const struct dmt_doctor *doc);
/* "pass", "warn", "fail", "skip"; "kernel", "privileges", "exporters",
 * "interface". Never NULL ("?" when out of range). */
DMT_API const char *dmt_doctor_status_name(enum dmt_doctor_status s);
DMT_API const char *dmt_doctor_group_name(enum dmt_doctor_group g);

/* ------------------------------------------------------------------ */
/* RX: receiving into a buffer (devmem fragments, staged, or copied)   */
/* ------------------------------------------------------------------ */

/*
 * Two objects, like a listening and a connected socket:
 *  - a listener (dmt_rx_listen) owns what outlives one connection: the
 *    receive buffer's devmem binding, the NIC setup that steers the flows to
 *    the bound queues (undone when the listener is freed), and optionally
 *    the listening socket. It decides the engine once, with one reason.
 *  - a receiver (struct dmt_rx, from dmt_rx_accept or dmt_rx_from_fd) is one
 *    connection; the fragments it lends lie in a buffer.
 * Engines: DEVMEM (bind-rx + recvmsg MSG_SOCK_DEVMEM: the NIC writes the
 * payload into the dma-buf), STAGED (recv into host bounce buffers, a second
 * thread copies them into memory the CPU cannot map: GPU memory) and COPY
 * (recv into the buffer, through a bounce when it is not host memory). AUTO
 * takes devmem when everything it needs is there, else staged for a buffer
 * without a CPU mapping, else copy.
 *
 * Threads: dmt_rx_accept() and dmt_rx_from_fd() may be called on one
 * listener from several threads at once; each dmt_rx is used by one thread
 * at a time; every dmt_rx of a listener is freed before the listener. The
 * context's log_fn may then be called from those threads.
 */
struct dmt_rx_listener;
struct dmt_rx;

struct dmt_rx_listen_opts {
	size_t sz;
	enum dmt_engine engine;	/* AUTO (default), DEVMEM, STAGED or COPY */
	const char *ifname;	/* devmem: the NIC the flows arrive on (NULL:
				 * no devmem; AUTO then stages or copies) */
	unsigned int nqueues;	/* devmem: RX queues to bind, default 1 */
	unsigned int queue_start; /* first queue, with DMT_NIC_F_QUEUE_START
				 * in nic_flags (default: the last nqueues) */
	unsigned int nic_flags;	/* DMT_NIC_F_QUEUE_START, NO_RSS, NO_RULE,
				 * NO_HDS (the NIC was set up by hand; all
				 * four: bind-rx only) */
	const struct sockaddr *peer; /* the sender's address: 5-tuple flow
				 * rule (NULL: a rule on the local address
				 * and port only) */
	socklen_t peer_len;
	uint16_t port;		/* TCP port of the flows (host order);
				 * default: the port of addr */
	uint16_t peer_port;	/* sender's source port in the rule, 0: any */
	const char *journal_dir; /* NIC setup journal, default "/run/devmemtcp" */
	int backlog;		/* listen() backlog, default 128 */
	int no_socket;		/* addr only names the local end of the flows
				 * (for the rule): no listening socket; the
				 * caller makes the connections (accept or
				 * connect) and passes them to dmt_rx_from_fd */
	size_t :0;
};

/*
 * Create a listener receiving into buf (borrowed: it must outlive the
 * listener). addr (may be NULL) is the local end of the flows: it is bound
 * with SO_REUSEADDR (an IPv6 address accepts IPv4 too) and listened on,
 * unless opts->no_socket; without a listening socket the caller makes the
 * connections and passes them to dmt_rx_from_fd().
 * With AUTO or DEVMEM and opts->ifname, the library sets the NIC up (header
 * split, RSS over the other queues, a flow rule to the bound queues; see
 * dmt_nic_setup_apply) and binds buf's dma-buf to the queues; ctx must then
 * outlive the listener (it owns the binding). ctx may be NULL: no devmem.
 * A forced DEVMEM that cannot run fails naming every blocker at once
 * (err->message: "devmem RX cannot run: A; B; C"); AUTO falls back with the
 * same text as its reason (dmt_rx_listener_engine_reason). Returns NULL +
 * errno, err explaining.
 */
DMT_API struct dmt_rx_listener *
dmt_rx_listen(struct dmt_ctx *ctx, struct dmt_buf *buf,
	      const struct sockaddr *addr, socklen_t addrlen,
	      const struct dmt_rx_listen_opts *opts, struct dmt_error *err);
/* Unbind, undo the NIC setup (each step logged at DMT_LOG_INFO through
 * ctx), close the listening socket. NULL is fine. */
DMT_API void dmt_rx_listener_free(struct dmt_rx_listener *l);
/* The listening socket (owned by l), -1 without one: poll it for POLLIN
 * before dmt_rx_accept() to bound the wait, getsockname() it to learn a
 * port the kernel picked. */
DMT_API int dmt_rx_listener_fd(const struct dmt_rx_listener *l);
/* The engine connections get with engine AUTO, and one line saying why.
 * Borrowed for the life of l. */
DMT_API enum dmt_engine dmt_rx_listener_engine(const struct dmt_rx_listener *l);
DMT_API const char *
dmt_rx_listener_engine_reason(const struct dmt_rx_listener *l);
/* What the NIC setup changed, one line per step, "" if nothing. Borrowed. */
DMT_API const char *dmt_rx_listener_summary(const struct dmt_rx_listener *l);

/*
 * One received fragment, lent to the caller by dmt_rx_recv() until it is
 * given back with dmt_rx_release(). A value record; its layout is ABI
 * (24 bytes, no padding).
 *  off      byte offset in the rx buffer (dmt_buf coordinates), or, with
 *           DMT_FRAG_LINEAR, in the rx's linear area (dmt_rx_linear())
 *  len      bytes
 *  token    devmem token (kernel), synthetic token (copy, staged), 0 linear
 *  binding  devmem binding id that received it, 0 otherwise
 *  flags    DMT_FRAG_*
 * Fragments come in stream order.
 */
struct dmt_frag {
	uint64_t off;
	uint32_t len;
	uint32_t token;
	uint32_t binding;
	uint32_t flags;
};
/* Bytes that landed in host memory, not in the buffer: the packet header
 * was not split off (header split off, hds-thresh > 0) or, with the auto
 * engine, the flow reached a queue without the binding. Valid until the
 * next dmt_rx_recv(). Nothing to release. */
#define DMT_FRAG_LINEAR 0x1u
/* Copy and staged engines: the CPU (or the GPU runtime) copied these bytes
 * into the buffer. */
#define DMT_FRAG_COPIED 0x2u

/* Called with every batch of fragments; they are released when it returns
 * (the "autorelease" mode of dmt_rx_recv()). */
typedef void (*dmt_rx_frag_fn)(struct dmt_rx *rx, const struct dmt_frag *frags,
			       unsigned int n, void *user);
/* Called when max_outstanding fragments are lent and dmt_rx_recv() would
 * otherwise refuse: release some (dmt_rx_release) and return 0 to go on,
 * or return < 0 to make dmt_rx_recv() fail with -ENOBUFS. */
typedef int (*dmt_rx_pressure_fn)(struct dmt_rx *rx, uint64_t outstanding,
				  void *user);

struct dmt_rx_opts {
	size_t sz;
	enum dmt_engine engine;	/* AUTO (default): the listener's engine;
				 * DEVMEM, STAGED or COPY: that one */
	size_t ctrl_size;	/* devmem control buffer, default 81920 bytes */
	size_t linear_size;	/* devmem linear area, default 256 KiB */
	size_t bounce_size;	/* copy engine bounce buffer, default 256 KiB */
	size_t stage_chunk;	/* staged: bytes per bounce half, default 4 MiB,
				 * at most 1 GiB */
	unsigned int max_outstanding; /* fragments lent at once; default 3/4 of
				 * the buffer's pages (the bound pool) */
	dmt_rx_frag_fn frag_fn;	/* NULL: the caller releases explicitly */
	dmt_rx_pressure_fn pressure_fn;
	void *user;		/* passed to both callbacks */
	int nonblock;		/* -EAGAIN instead of waiting */
	int no_linear;		/* linear bytes fail with -DMT_ERR_HEADER_SPLIT */
	size_t :0;
};

/*
 * Accept one connection on the listener's socket (blocking unless it was
 * made non-blocking; -EINTR goes back to the caller) and receive on it; rx
 * owns (closes) the accepted socket. buf: where copy and staged fragments
 * land; NULL: the listener's buffer, which one copy or staged receiver
 * uses at a time (-EBUSY for a second: give each its own buffer). Devmem
 * fragments always lie in the listener's bound buffer, shared by every
 * devmem receiver of the listener (the kernel lends each its own pages).
 */
DMT_API struct dmt_rx *dmt_rx_accept(struct dmt_rx_listener *l,
				     struct dmt_buf *buf,
				     const struct dmt_rx_opts *opts,
				     struct dmt_error *err);
/*
 * Receive on a connected TCP socket; it stays the caller's. l may be NULL
 * (no devmem: AUTO stages or copies into buf, which is then required).
 * Returns NULL + errno, err explaining; a forced engine that cannot run
 * names every blocker.
 */
DMT_API struct dmt_rx *dmt_rx_from_fd(struct dmt_rx_listener *l,
				      struct dmt_buf *buf, int fd,
				      const struct dmt_rx_opts *opts,
				      struct dmt_error *err);
/* Releases every fragment still lent (the kernel frees socket tokens on
 * close anyway) and closes an owned socket. NULL is fine. */
DMT_API void dmt_rx_free(struct dmt_rx *rx);

/* The connected socket (owned by rx after dmt_rx_accept): for
 * getpeername(), socket options such as SO_RCVTIMEO and keepalive, and
 * poll() before dmt_rx_recv() with nonblock. */
DMT_API int dmt_rx_fd(const struct dmt_rx *rx);
DMT_API enum dmt_engine dmt_rx_engine(const struct dmt_rx *rx);
/* One line: why this engine. Borrowed for the life of rx. */
DMT_API const char *dmt_rx_engine_reason(const struct dmt_rx *rx);
DMT_API const struct dmt_error *dmt_rx_last_error(const struct dmt_rx *rx);
/* The linear area DMT_FRAG_LINEAR offsets point into (host memory owned by
 * rx, overwritten by the next dmt_rx_recv()). NULL for copy and staged. */
DMT_API const void *dmt_rx_linear(const struct dmt_rx *rx);
/* Fragments lent and not yet released. */
DMT_API uint64_t dmt_rx_outstanding(const struct dmt_rx *rx);

/*
 * Receive once: up to max fragments into frags (max >= 1), *nfrags set.
 * Returns bytes received (linear + buffer), 0 at end of stream, or -errno:
 *  -EAGAIN (nonblock, or a receive timeout set on the socket), -EINTR,
 *  -ENOBUFS (max_outstanding fragments lent: release some),
 *  -DMT_ERR_FLOW_STEERING (data of another binding, outside the buffer, or
 *  no devmem data at all with the devmem engine), -DMT_ERR_HEADER_SPLIT
 *  (linear bytes with no_linear), -EMSGSIZE (MSG_CTRUNC lost fragments; the
 *  control buffer is grown), ...
 * The per-fragment path does no allocation and no syscall. With frag_fn,
 * the fragments are passed to it and released before returning.
 */
DMT_API ssize_t dmt_rx_recv(struct dmt_rx *rx, struct dmt_frag *frags,
			    unsigned int max, unsigned int *nfrags);
/*
 * Give fragments back: devmem tokens through batched SO_DEVMEM_DONTNEED
 * (contiguous tokens merged into runs, at most 128 runs and 1024 frags per
 * call, each call's count checked), copy and staged space to the ring;
 * linear frags are skipped. Returns fragments released, or -ENOENT when
 * some were not lent by rx (released twice, or from another socket).
 */
DMT_API int dmt_rx_release(struct dmt_rx *rx, const struct dmt_frag *frags,
			   unsigned int n);
/*
 * Copy the bytes of frags[0..n), in order, to dst (dstlen bytes), reading
 * the buffer through dmt_buf_read (sync brackets, GPU runtimes). Returns
 * bytes copied, -ENOSPC (nothing copied) when dstlen is too small.
 * Does not release.
 */
DMT_API ssize_t dmt_rx_gather(struct dmt_rx *rx, const struct dmt_frag *frags,
			      unsigned int n, void *dst, size_t dstlen);
/* The same into another buffer (any provider) at dst_off. */
DMT_API ssize_t dmt_rx_gather_buf(struct dmt_rx *rx,
				  const struct dmt_frag *frags, unsigned int n,
				  struct dmt_buf *dst, uint64_t dst_off);

struct dmt_rx_stats {
	size_t sz;
	uint64_t bytes;		/* all bytes received */
	uint64_t devmem_bytes;	/* landed in the dma-buf */
	uint64_t linear_bytes;	/* landed in host memory (header split missed) */
	uint64_t copied_bytes;	/* copy and staged engines */
	uint64_t frags;		/* fragments lent */
	uint64_t recv_calls;	/* recvmsg/recv syscalls */
	uint64_t tokens_released;
	uint64_t dontneed_calls; /* SO_DEVMEM_DONTNEED syscalls */
	uint64_t outstanding;	/* fragments lent now */
	uint64_t max_outstanding_seen;
	uint64_t pressure;	/* times the max_outstanding bound was hit */
	uint64_t ctrunc;	/* MSG_CTRUNC seen */
	uint64_t etoosmall;	/* errno 525 seen */
	uint64_t stage_chunk;	/* staged: bytes per bounce half */
	uint64_t stage_chunks;	/* staged: chunk copies into the buffer */
	uint64_t stage_copy_ns;	/* staged: time the copy thread copied */
	uint64_t stage_net_wait_ns; /* staged: time receives waited for it */
	uint32_t stage_pinned;	/* staged: 1 when the GPU runtime pinned the
				 * bounce halves */
	uint32_t __reserved;
	size_t :0;
};
/* Fill stats (stats->sz must be set; DMT_OPTS works for it). */
DMT_API int dmt_rx_get_stats(const struct dmt_rx *rx,
			     struct dmt_rx_stats *stats);

/* ------------------------------------------------------------------ */
/* NIC setup for devmem RX: a reversible transaction                   */
/* ------------------------------------------------------------------ */

struct dmt_nic_setup;

#define DMT_NIC_F_QUEUE_START 0x1u /* queue_start is set (else the last
				    * nqueues RX queues) */
#define DMT_NIC_F_DRY_RUN 0x2u	/* plan and report, change nothing */
#define DMT_NIC_F_NO_RSS 0x4u	/* leave RSS alone */
#define DMT_NIC_F_NO_RULE 0x8u	/* no ntuple rule */
#define DMT_NIC_F_NO_BIND 0x10u	/* configure, do not bind */
#define DMT_NIC_F_NO_HDS 0x20u	/* leave header split alone (set by hand) */

struct dmt_nic_setup_opts {
	size_t sz;
	unsigned int flags;	/* DMT_NIC_F_* */
	unsigned int nqueues;	/* RX queues to bind, default 1 */
	unsigned int queue_start; /* with DMT_NIC_F_QUEUE_START */
	const struct sockaddr *server; /* local address of the flow (dst), may
				 * be NULL: rule on the port only */
	socklen_t server_len;
	const struct sockaddr *client; /* peer (src) for the 5-tuple rule */
	socklen_t client_len;
	uint16_t port;		/* TCP port of the flow (host order) */
	uint16_t client_port;	/* source port for the 5-tuple rule, 0: any */
	const char *journal_dir; /* default "/run/devmemtcp" */
	size_t :0;
};

/*
 * Prepare a setup of ifindex: reads and keeps a snapshot of rings (header
 * split, hds-thresh), channels, RSS table, the ntuple feature and rules.
 * Changes nothing. ctx must outlive the setup (ethtool requests and log).
 * Returns NULL + errno, err explaining.
 */
DMT_API struct dmt_nic_setup *dmt_nic_setup_new(struct dmt_ctx *ctx,
						int ifindex,
						const struct dmt_nic_setup_opts *opts,
						struct dmt_error *err);
/*
 * Apply: header split on and hds-thresh 0, RSS over the other queues, the
 * ntuple feature on, a flow rule to the first bound queue (5-tuple, else
 * 3-tuple), then bind-rx of buf's dma-buf (buf may be NULL with
 * DMT_NIC_F_NO_BIND). A journal is written before each change. On any
 * error everything done so far is undone, in reverse order, and the error
 * names the cause and the fix. Returns 0 or -errno.
 */
DMT_API int dmt_nic_setup_apply(struct dmt_nic_setup *s, struct dmt_buf *buf);
/* Undo everything apply did (unbind first), in reverse order; remove the
 * journal. Idempotent. Returns 0 or the first error (it goes on). */
DMT_API int dmt_nic_setup_undo(struct dmt_nic_setup *s);
/* dmt_nic_setup_undo(), then free. NULL is fine. */
DMT_API void dmt_nic_setup_free(struct dmt_nic_setup *s);
/* Free without undoing: the changes stay and so does the journal, for a
 * later dmt_nic_setup_restore() (devmemtcp setup IFACE; setup --restore).
 * A binding made by apply is released (it cannot outlive the setup). */
DMT_API void dmt_nic_setup_detach(struct dmt_nic_setup *s);
DMT_API uint32_t dmt_nic_setup_binding_id(const struct dmt_nic_setup *s);
/* Queues bound (first, count). */
DMT_API int dmt_nic_setup_queues(const struct dmt_nic_setup *s,
				 unsigned int *first, unsigned int *count);
/* What was changed and restored, one line per step, "" if nothing.
 * Borrowed for the life of s. */
DMT_API const char *dmt_nic_setup_summary(const struct dmt_nic_setup *s);
DMT_API const struct dmt_error *
dmt_nic_setup_last_error(const struct dmt_nic_setup *s);
/* Path of the journal for ifname under dir (NULL: default) into out. */
DMT_API int dmt_nic_journal_path(const char *dir, const char *ifname, char *out,
				 size_t outlen);
/*
 * Repair what a crashed run left on ifname, from its journal: delete the
 * rules it created, restore RSS, the ntuple feature and header split, then
 * remove the journal. summary (may be NULL) receives one line per step.
 * Returns 1 when something was restored, 0 when there was no journal,
 * -EBUSY when the process that wrote it is still running, or -errno.
 */
DMT_API int dmt_nic_setup_restore(struct dmt_ctx *ctx, const char *ifname,
				  const char *journal_dir, char *summary,
				  size_t summary_len);

/* Checks of a devmem NIC that need no peer (the kernel selftests' negative
 * cases), each inside a NIC setup that restores what it changed. */
enum dmt_nic_check {
	DMT_NIC_CHECK_EMPTY_QUEUES = 1,	/* bind-rx without queues is refused */
	DMT_NIC_CHECK_HDS_OFF = 2,	/* ... with tcp-data-split auto is refused */
	DMT_NIC_CHECK_BIND = 3,		/* ... of the last queue, split on, works */
	DMT_NIC_CHECK_CHANNEL_SHRINK = 4, /* removing a bound queue is refused */
};
/* Run one check on ifindex with the dma-buf of buf. Returns 0 when the NIC
 * and kernel behaved as they must, 1 when not (detail says what happened),
 * or -errno when the check could not run (dmt_ctx_last_error explains). */
DMT_API int dmt_nic_check(struct dmt_ctx *ctx, int ifindex, struct dmt_buf *buf,
			  enum dmt_nic_check which, const char *journal_dir,
			  char *detail, size_t detail_len);

#ifdef __cplusplus
}
#endif
#endif /* DEVMEMTCP_H */
