/* SPDX-License-Identifier: MIT */
/*
 * Kernel UAPI definitions that Debian 12's 6.1 headers lack (devmem TCP,
 * the netdev generic-netlink family, newer ethtool attributes, io_uring
 * SEND_ZC usage reporting). Values are ABI facts of Linux 6.12..6.18 for
 * x86_64 / asm-generic; each is guarded so newer system headers win.
 * Included by library sources only; never installed.
 */
#ifndef DMT_UAPI_H
#define DMT_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <sys/socket.h>

/* ---- socket level (asm-generic values) ---- */
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif
#ifndef SO_DEVMEM_LINEAR
#define SO_DEVMEM_LINEAR 78
#endif
#ifndef SCM_DEVMEM_LINEAR
#define SCM_DEVMEM_LINEAR SO_DEVMEM_LINEAR
#endif
#ifndef SO_DEVMEM_DMABUF
#define SO_DEVMEM_DMABUF 79
#endif
#ifndef SCM_DEVMEM_DMABUF
#define SCM_DEVMEM_DMABUF SO_DEVMEM_DMABUF
#endif
#ifndef SO_DEVMEM_DONTNEED
#define SO_DEVMEM_DONTNEED 80
#endif
#ifndef MSG_SOCK_DEVMEM
#define MSG_SOCK_DEVMEM 0x2000000
#endif
/* recvmsg(MSG_SOCK_DEVMEM) errno when the control buffer cannot hold the
 * next cmsg; kernel-internal, no libc name. */
#define DMT_ETOOSMALL 525
/* SO_DEVMEM_DONTNEED limits (net/core/sock.c) */
#define DMT_DONTNEED_MAX_TOKENS 128
#define DMT_DONTNEED_MAX_FRAGS 1024
/* UIO_MAXIOV */
#define DMT_MAX_IOV 1024

/* include/uapi/linux/uio.h (6.12+) */
struct dmt_uapi_dmabuf_cmsg {
	__u64 frag_offset;
	__u32 frag_size;
	__u32 frag_token;
	__u32 dmabuf_id;
	__u32 flags;
};
struct dmt_uapi_dmabuf_token {
	__u32 token_start;
	__u32 token_count;
};
_Static_assert(sizeof(struct dmt_uapi_dmabuf_cmsg) == 24, "dmabuf_cmsg ABI");
_Static_assert(sizeof(struct dmt_uapi_dmabuf_token) == 8, "dmabuf_token ABI");

/* ---- generic netlink ---- */
#ifndef NLA_F_NESTED
#define NLA_F_NESTED (1 << 15)
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* ---- netdev family (include/uapi/linux/netdev.h) ---- */
#define DMT_NETDEV_FAMILY_NAME "netdev"
#define DMT_NETDEV_FAMILY_VERSION 1
enum {
	DMT_NETDEV_CMD_DEV_GET = 1,
	DMT_NETDEV_CMD_PAGE_POOL_GET = 5,
	DMT_NETDEV_CMD_PAGE_POOL_STATS_GET = 9,
	DMT_NETDEV_CMD_QUEUE_GET = 10,
	DMT_NETDEV_CMD_NAPI_GET = 11,
	DMT_NETDEV_CMD_QSTATS_GET = 12,
	DMT_NETDEV_CMD_BIND_RX = 13,
	DMT_NETDEV_CMD_NAPI_SET = 14,
	DMT_NETDEV_CMD_BIND_TX = 15,
	DMT_NETDEV_CMD_QUEUE_CREATE = 16,
};
enum {
	DMT_NETDEV_A_DEV_IFINDEX = 1,
	DMT_NETDEV_A_DEV_PAD = 2,
	DMT_NETDEV_A_DEV_XDP_FEATURES = 3,
	DMT_NETDEV_A_DEV_XDP_ZC_MAX_SEGS = 4,
	DMT_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES = 5,
	DMT_NETDEV_A_DEV_XSK_FEATURES = 6,
};
enum {
	DMT_NETDEV_A_PAGE_POOL_ID = 1,
	DMT_NETDEV_A_PAGE_POOL_IFINDEX = 2,
	DMT_NETDEV_A_PAGE_POOL_NAPI_ID = 3,
	DMT_NETDEV_A_PAGE_POOL_INFLIGHT = 4,
	DMT_NETDEV_A_PAGE_POOL_INFLIGHT_MEM = 5,
	DMT_NETDEV_A_PAGE_POOL_DETACH_TIME = 6,
	DMT_NETDEV_A_PAGE_POOL_DMABUF = 7,
	DMT_NETDEV_A_PAGE_POOL_IO_URING = 8,
};
enum {
	DMT_NETDEV_A_QUEUE_ID = 1,
	DMT_NETDEV_A_QUEUE_IFINDEX = 2,
	DMT_NETDEV_A_QUEUE_TYPE = 3,
	DMT_NETDEV_A_QUEUE_NAPI_ID = 4,
	DMT_NETDEV_A_QUEUE_DMABUF = 5,
	DMT_NETDEV_A_QUEUE_IO_URING = 6,
	DMT_NETDEV_A_QUEUE_XSK = 7,
	DMT_NETDEV_A_QUEUE_LEASE = 8,
};
enum {
	DMT_NETDEV_QUEUE_TYPE_RX = 0,
	DMT_NETDEV_QUEUE_TYPE_TX = 1,
};
enum {
	DMT_NETDEV_A_DMABUF_IFINDEX = 1,
	DMT_NETDEV_A_DMABUF_QUEUES = 2,
	DMT_NETDEV_A_DMABUF_FD = 3,
	DMT_NETDEV_A_DMABUF_ID = 4,
	DMT_NETDEV_A_DMABUF_RX_PAGE_SIZE = 5,
};

/* ---- ethtool netlink (include/uapi/linux/ethtool_netlink.h) ---- */
#define DMT_ETHTOOL_GENL_NAME "ethtool"
#define DMT_ETHTOOL_GENL_VERSION 1
enum {
	DMT_ETHTOOL_MSG_FEATURES_GET = 11,
	DMT_ETHTOOL_MSG_FEATURES_SET = 12,
	DMT_ETHTOOL_MSG_RINGS_GET = 15,
	DMT_ETHTOOL_MSG_RINGS_SET = 16,
	DMT_ETHTOOL_MSG_CHANNELS_GET = 17,
	DMT_ETHTOOL_MSG_CHANNELS_SET = 18,
	DMT_ETHTOOL_MSG_RSS_GET = 38,
};
enum {
	DMT_ETHTOOL_A_HEADER_DEV_INDEX = 1,
	DMT_ETHTOOL_A_HEADER_DEV_NAME = 2,
	DMT_ETHTOOL_A_HEADER_FLAGS = 3,
};
enum {
	DMT_ETHTOOL_A_RINGS_HEADER = 1,
	DMT_ETHTOOL_A_RINGS_RX_MAX = 2,
	DMT_ETHTOOL_A_RINGS_RX_MINI_MAX = 3,
	DMT_ETHTOOL_A_RINGS_RX_JUMBO_MAX = 4,
	DMT_ETHTOOL_A_RINGS_TX_MAX = 5,
	DMT_ETHTOOL_A_RINGS_RX = 6,
	DMT_ETHTOOL_A_RINGS_RX_MINI = 7,
	DMT_ETHTOOL_A_RINGS_RX_JUMBO = 8,
	DMT_ETHTOOL_A_RINGS_TX = 9,
	DMT_ETHTOOL_A_RINGS_RX_BUF_LEN = 10,
	DMT_ETHTOOL_A_RINGS_TCP_DATA_SPLIT = 11,
	DMT_ETHTOOL_A_RINGS_CQE_SIZE = 12,
	DMT_ETHTOOL_A_RINGS_TX_PUSH = 13,
	DMT_ETHTOOL_A_RINGS_RX_PUSH = 14,
	DMT_ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN = 15,
	DMT_ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN_MAX = 16,
	DMT_ETHTOOL_A_RINGS_HDS_THRESH = 17,
	DMT_ETHTOOL_A_RINGS_HDS_THRESH_MAX = 18,
};
enum {
	DMT_ETHTOOL_TCP_DATA_SPLIT_UNKNOWN = 0,
	DMT_ETHTOOL_TCP_DATA_SPLIT_DISABLED = 1,
	DMT_ETHTOOL_TCP_DATA_SPLIT_ENABLED = 2,
};
enum {
	DMT_ETHTOOL_A_CHANNELS_HEADER = 1,
	DMT_ETHTOOL_A_CHANNELS_RX_MAX = 2,
	DMT_ETHTOOL_A_CHANNELS_TX_MAX = 3,
	DMT_ETHTOOL_A_CHANNELS_OTHER_MAX = 4,
	DMT_ETHTOOL_A_CHANNELS_COMBINED_MAX = 5,
	DMT_ETHTOOL_A_CHANNELS_RX_COUNT = 6,
	DMT_ETHTOOL_A_CHANNELS_TX_COUNT = 7,
	DMT_ETHTOOL_A_CHANNELS_OTHER_COUNT = 8,
	DMT_ETHTOOL_A_CHANNELS_COMBINED_COUNT = 9,
};
enum {
	DMT_ETHTOOL_A_RSS_HEADER = 1,
	DMT_ETHTOOL_A_RSS_CONTEXT = 2,
	DMT_ETHTOOL_A_RSS_HFUNC = 3,
	DMT_ETHTOOL_A_RSS_INDIR = 4,
	DMT_ETHTOOL_A_RSS_HKEY = 5,
	DMT_ETHTOOL_A_RSS_INPUT_XFRM = 6,
	DMT_ETHTOOL_A_RSS_START_CONTEXT = 7,
};
/* ethtool ioctls beyond 6.1 are not needed; RX_CLS_LOC_ANY etc. come from
 * <linux/ethtool.h> (present in 6.1). */
#ifndef RX_CLS_LOC_ANY
#define RX_CLS_LOC_ANY 0xffffffff
#endif
#ifndef RX_CLS_LOC_SPECIAL
#define RX_CLS_LOC_SPECIAL 0x80000000
#endif
#ifndef ETH_RXFH_CONTEXT_ALLOC
#define ETH_RXFH_CONTEXT_ALLOC 0xffffffff
#endif

/* ---- udmabuf / dma-heap / dma-buf (present in 6.1, guarded anyway) ---- */
#define DMT_UDMABUF_FLAGS_CLOEXEC 0x01
struct dmt_uapi_udmabuf_create {
	__u32 memfd;
	__u32 flags;
	__u64 offset;
	__u64 size;
};
#define DMT_UDMABUF_CREATE _IOW('u', 0x42, struct dmt_uapi_udmabuf_create)
struct dmt_uapi_dma_heap_allocation_data {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
	__u64 heap_flags;
};
#define DMT_DMA_HEAP_IOCTL_ALLOC                                               \
	_IOWR('H', 0x0, struct dmt_uapi_dma_heap_allocation_data)
struct dmt_uapi_dma_buf_sync {
	__u64 flags;
};
#define DMT_DMA_BUF_SYNC_READ (1 << 0)
#define DMT_DMA_BUF_SYNC_WRITE (2 << 0)
#define DMT_DMA_BUF_SYNC_START (0 << 2)
#define DMT_DMA_BUF_SYNC_END (1 << 2)
#define DMT_DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct dmt_uapi_dma_buf_sync)

/* ---- io_uring additions beyond liburing 2.3's header ---- */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

#endif /* DMT_UAPI_H */
