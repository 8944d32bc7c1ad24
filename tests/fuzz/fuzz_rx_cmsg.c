// SPDX-License-Identifier: MIT
/* libFuzzer: the devmem RX control-message parser (dmt_rx_parse). The
 * first 16 bytes pick the receiver's binding, buffer window and recvmsg
 * result; the rest is the control data as the kernel would hand it. */
#include <sys/socket.h>

#include "fuzz_util.h"
#include "rx_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmt_rx_parse_cfg cfg = { 0 };
	struct dmt_rx_parse_res res;
	struct dmt_frag f[8];
	struct dmt_error e;
	struct msghdr m = { 0 };
	uint8_t head[16] = { 0 };
	void *ctrl;
	size_t ret;
	int r;

	memcpy(head, data, size < sizeof(head) ? size : sizeof(head));
	data += size < sizeof(head) ? size : sizeof(head);
	size -= size < sizeof(head) ? size : sizeof(head);
	cfg.binding = head[0] & 7;
	cfg.base = (uint64_t)head[1] << 12;
	cfg.size = ((uint64_t)head[2] + 1) << 16;
	cfg.linear_off = head[3];
	cfg.devmem_expected = head[4] & 1;
	memcpy(&ret, head + 8, sizeof(ret));
	ret &= 0xffffff;
	ctrl = fz_dup(data, size);
	m.msg_control = size ? ctrl : NULL;
	m.msg_controllen = size;
	m.msg_flags = head[5] & 1 ? MSG_CTRUNC : 0;
	dmt_err_clear(&e);
	r = dmt_rx_parse(&m, ret, &cfg, f, (unsigned int)(head[6] % 9), &res, &e);
	FZ_ASSERT(r <= 0);
	FZ_ASSERT(res.nfrags <= head[6] % 9);
	FZ_ASSERT(res.nfrags <= res.ndmabuf + res.nlinear);
	for (unsigned int i = 0; i < res.nfrags && !r; i++)
		FZ_ASSERT((f[i].flags & DMT_FRAG_LINEAR) ||
			  (f[i].off <= cfg.size && f[i].len <= cfg.size - f[i].off));
	free(ctrl);
	return 0;
}
