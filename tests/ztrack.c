// SPDX-License-Identifier: MIT
/* tier A: completion tracker: ranges, coalescing, 32-bit wrap, regions. */
#include "helpers.h"
#include "ztrack.h"

static void add(struct dmt_ztrack *z, uint64_t off, uint64_t len, uint32_t want)
{
	struct dmt_seg s = { off, len };
	int64_t id = dmt_ztrack_add(z, &s, 1);

	T_CHECK(id == (int64_t)want, "id %lld, want %u", (long long)id, want);
}

int main(void)
{
	struct dmt_ztrack z;
	struct dmt_seg two[2] = { { 0, 10 }, { 100, 10 } };

	/* in-order, coalesced range */
	T_CHECK(dmt_ztrack_init(&z, 4, 4) == 0, "init");
	for (uint32_t i = 0; i < 10; i++)
		add(&z, i * 4096, 4096, i);
	T_CHECK(dmt_ztrack_outstanding(&z) == 10, "outstanding");
	T_CHECK(dmt_ztrack_busy(&z, 4096 * 3, 1), "region of id 3 busy");
	T_CHECK(!dmt_ztrack_busy(&z, 4096 * 10, 4096), "past end not busy");
	T_CHECK(dmt_ztrack_complete(&z, 0, 4, true) == 5, "[0..4] completes 5");
	T_CHECK(z.copied_run == 5, "run of 5 COPIED");
	T_CHECK(!dmt_ztrack_busy(&z, 0, 4096 * 5), "first five free");
	T_CHECK(dmt_ztrack_busy(&z, 4096 * 5 - 1, 2), "straddling busy");
	/* out of order: [7..9] before [5..6] */
	T_CHECK(dmt_ztrack_complete(&z, 7, 9, false) == 3, "[7..9]");
	T_CHECK(z.copied_run == 0, "a completion without COPIED ends the run");
	T_CHECK(dmt_ztrack_outstanding(&z) == 5, "head waits for 5,6");
	T_CHECK(!dmt_ztrack_busy(&z, 4096 * 7, 4096 * 3), "7..9 free");
	T_CHECK(dmt_ztrack_busy(&z, 4096 * 6, 1), "6 busy");
	T_CHECK(dmt_ztrack_complete(&z, 5, 6, false) == 2, "[5..6]");
	T_CHECK(dmt_ztrack_outstanding(&z) == 0, "all done");
	T_CHECK(z.completed == 10 && z.copied == 5, "copied %llu",
		(unsigned long long)z.copied);
	/* duplicate/stale notification changes nothing */
	T_CHECK(dmt_ztrack_complete(&z, 3, 4, false) == 0, "stale");
	T_CHECK(z.stale == 2, "stale counted %llu", (unsigned long long)z.stale);
	dmt_ztrack_fini(&z);

	/* 32-bit wrap: ids 0xfffffffe, 0xffffffff, 0, 1 */
	T_CHECK(dmt_ztrack_init(&z, 4, 4) == 0, "init");
	z.next_id = 0xfffffffeu;
	add(&z, 0, 1, 0xfffffffeu);
	add(&z, 1, 1, 0xffffffffu);
	add(&z, 2, 1, 0);
	add(&z, 3, 1, 1);
	T_CHECK(dmt_ztrack_complete(&z, 0xffffffffu, 0, false) == 2, "wrap range");
	T_CHECK(dmt_ztrack_outstanding(&z) == 4, "head id still pending");
	T_CHECK(dmt_ztrack_complete(&z, 0xfffffffeu, 1, false) == 2,
		"range across wrap completes the rest");
	T_CHECK(dmt_ztrack_outstanding(&z) == 0, "empty");
	dmt_ztrack_fini(&z);

	/* growth: many sends with multi-segment records */
	T_CHECK(dmt_ztrack_init(&z, 1, 1) == 0, "init");
	for (uint32_t i = 0; i < 5000; i++)
		T_CHECK(dmt_ztrack_add(&z, two, 2) == i, "grow add %u", i);
	T_CHECK(dmt_ztrack_busy(&z, 105, 1), "second segment busy");
	T_CHECK(!dmt_ztrack_busy(&z, 50, 10), "gap not busy");
	T_CHECK(dmt_ztrack_complete(&z, 0, 4998, false) == 4999, "bulk");
	T_CHECK(dmt_ztrack_busy(&z, 0, 1), "last still busy");
	T_CHECK(dmt_ztrack_complete(&z, 4999, 4999, false) == 1, "last");
	T_CHECK(!dmt_ztrack_busy(&z, 0, 1000), "all free");
	dmt_ztrack_fini(&z);
	printf("ztrack: ok\n");
	return T_PASS;
}
