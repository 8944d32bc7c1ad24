// SPDX-License-Identifier: MIT
/* libFuzzer: zero-copy completions. The input is control data for
 * dmt_zc_parse (IP_RECVERR / IPV6_RECVERR), then a script of sends and
 * completion ranges applied to the tracker (dmt_ztrack_*): byte 0 says
 * how many control bytes follow; each later 9-byte step is an op byte
 * (even: a send of op/2 % 8 segments; odd: a completion range lo, hi
 * relative to the oldest outstanding id). Invariants: nothing completes
 * twice, completed ids never exceed sent ids, busy() agrees. */
#include <sys/socket.h>

#include "fuzz_util.h"
#include "ztrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmt_ztrack z;
	struct msghdr m = { 0 };
	uint32_t lo = 0, hi = 0;
	uint64_t sent = 0;
	size_t clen;
	bool copied = false;
	void *ctrl;
	int r;

	if (!size)
		return 0;
	clen = data[0] < size - 1 ? data[0] : size - 1;
	ctrl = fz_dup(data + 1, clen);
	m.msg_control = clen ? ctrl : NULL;
	m.msg_controllen = clen;
	r = dmt_zc_parse(&m, &lo, &hi, &copied);
	FZ_ASSERT(r <= 1 && r >= -4095);
	free(ctrl);
	data += 1 + clen;
	size -= 1 + clen;

	if (dmt_ztrack_init(&z, 4, 4))
		return 0;
	if (r == 1)
		dmt_ztrack_complete(&z, lo, hi, copied);
	while (size >= 9) {
		uint8_t op = data[0];
		uint32_t a, b;

		memcpy(&a, data + 1, 4);
		memcpy(&b, data + 5, 4);
		data += 9;
		size -= 9;
		if (!(op & 1)) {
			struct dmt_seg s[8];
			unsigned int n = (op >> 1) % 8;

			if (dmt_ztrack_outstanding(&z) > 4096)
				continue;
			for (unsigned int i = 0; i < n; i++) {
				s[i].off = (uint64_t)(a & 0xffff) * (i + 1);
				s[i].len = (b & 0xfff) + 1;
			}
			if (dmt_ztrack_add(&z, s, n) < 0)
				break;
			sent++;
			if (n)
				FZ_ASSERT(dmt_ztrack_busy(&z, s[0].off, s[0].len));
		} else {
			uint32_t base = dmt_ztrack_outstanding(&z) ?
				z.rec[z.rhead & z.rmask].id : z.next_id;
			unsigned int before = dmt_ztrack_outstanding(&z);
			unsigned int newly;

			if (op & 2) {	/* near the head: the interesting case */
				a = base + (a & 63) - 8;
				b = a + (b & 63);
			}
			newly = dmt_ztrack_complete(&z, a, b, op & 4);
			FZ_ASSERT(newly <= before);
			FZ_ASSERT(dmt_ztrack_outstanding(&z) <= before);
		}
		FZ_ASSERT(z.completed <= sent);
		FZ_ASSERT(dmt_ztrack_outstanding(&z) <= sent);
		FZ_ASSERT(z.copied <= z.completed);
	}
	dmt_ztrack_fini(&z);
	return 0;
}
