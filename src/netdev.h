/* SPDX-License-Identifier: MIT */
/* netdev family encoders/decoders (exposed to tests) and helpers. */
#ifndef DMT_NETDEV_H
#define DMT_NETDEV_H

#include "nl.h"

struct nlmsghdr *dmt_netdev_build_bind(char *buf, int family, bool rx,
				       uint32_t ifindex, uint32_t fd,
				       const uint32_t *queues,
				       unsigned int nqueues);
int dmt_netdev_parse_bind(const struct nlmsghdr *nlh, uint32_t *id);
int dmt_netdev_parse_dev(const struct nlmsghdr *nlh, struct dmt_dev_info *d);
int dmt_netdev_parse_queue(const struct nlmsghdr *nlh,
			   struct dmt_queue_info *q);
int dmt_netdev_parse_page_pool(const struct nlmsghdr *nlh,
			       struct dmt_page_pool_info *pp);
/* Turn a failed bind (ret < 0, e holding extack) into a sentence. */
/* When a listed queue is >= rxq (the device's RX queues), replace e's
 * sentence with one naming that queue (the kernel answers EINVAL, or
 * ERANGE on some 6.x kernels). Returns 1 when it did. */
int dmt_bind_rx_queue_range(struct dmt_error *e, int ifindex,
			    const uint32_t *queues, unsigned int n, int rxq);
/* bind-rx as sent, without the library's argument checks (an empty queue
 * list goes to the kernel): for the checks that the kernel refuses it. */
int dmt_bind_rx_raw(struct dmt_ctx *ctx, int ifindex, int dmabuf_fd,
		    const uint32_t *queues, unsigned int nqueues, uint32_t *id);
/* Turn a failed bind (ret < 0, e holding the extack) into a sentence;
 * returns the error to report: -DMT_ERR_NO_NETMEM_TX / _RX where the
 * kernel says the driver lacks devmem, else ret. */
int dmt_explain_bind_err(struct dmt_error *e, const char *op, int ifindex,
			 int ret);
/* Number of RX queues of ifindex: rx + combined from ethtool channels-get;
 * where the driver has no channels knob (EOPNOTSUPP), the RX queues the
 * netdev family's queue-get reports. */
int dmt_dev_rx_queues(struct dmt_ctx *ctx, int ifindex);

#endif
