// SPDX-License-Identifier: MIT
/*
 * tier A: the parts of `devmemtcp selftest` and the tier C tests that need
 * no hardware (tools/common/hwcheck.c): the verdict of a table (0 all
 * passed, 1 one failed or did not run, 3 none ran), fresh ports for every
 * case, the ssh command line of the peer, the check list and its RX/TX
 * split (which doctor blocker applies to which check).
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "hwcheck.h"

static void fill(struct hw_row *r, unsigned int n, enum hw_result v)
{
	for (unsigned int i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].id = (enum hw_check)i;
		r[i].res = v;
	}
}

int main(void)
{
	struct hw_row r[HW_NCHECKS];
	struct hw_cfg cfg = { .ssh = "tester@peer", .base_port = 30000 };
	const char *argv[12];
	int n, p1, p2, p3;

	fill(r, HW_NCHECKS, HW_PASS);
	T_CHECK(hw_verdict(r, HW_NCHECKS) == 0, "all pass");
	r[HW_TX].res = HW_FAIL;
	T_CHECK(hw_verdict(r, HW_NCHECKS) == 1, "one fails");
	fill(r, HW_NCHECKS, HW_NOT_RUN);
	T_CHECK(hw_verdict(r, HW_NCHECKS) == 3, "none ran: cannot run");
	r[HW_RX].res = HW_PASS;
	T_CHECK(hw_verdict(r, HW_NCHECKS) == 1, "some not run: not a pass");
	T_CHECK(hw_verdict(r, 0) == 3, "empty table");

	hw_not_run(&r[0], HW_BIND, "doctor: no header split");
	T_CHECK(r[0].id == HW_BIND && r[0].res == HW_NOT_RUN &&
		!strcmp(r[0].reason, "doctor: no header split"), "not run row");

	p1 = hw_next_port(&cfg);
	p2 = hw_next_port(&cfg);
	p3 = hw_next_port(&cfg);
	T_CHECK(p1 == 30000 && p2 == 30001 && p3 == 30002,
		"fresh ports: %d %d %d", p1, p2, p3);

	n = hw_ssh_argv(&cfg, "socat -u - TCP4:1.2.3.4:5", argv, 12);
	T_CHECK(n == 8 && !strcmp(argv[0], "ssh") &&
		!strcmp(argv[2], "BatchMode=yes") &&
		!strcmp(argv[4], "ConnectTimeout=10") &&
		!strcmp(argv[5], "tester@peer") && !strcmp(argv[6], "--") &&
		!strcmp(argv[7], "socat -u - TCP4:1.2.3.4:5") && !argv[8],
		"ssh argv (%d)", n);
	T_CHECK(hw_ssh_argv(&cfg, "x", argv, 4) == 3 && !argv[3], "bounded");

	for (int i = 0; i < HW_NCHECKS; i++) {
		for (int j = 0; j < i; j++)
			T_CHECK(strcmp(hw_check_name(i), hw_check_name(j)),
				"duplicate name %s", hw_check_name(i));
		T_CHECK(hw_check_title(i)[0] && strcmp(hw_check_name(i), "?"),
			"check %d", i);
		T_CHECK(hw_check_is_rx(i) == (i < HW_TX), "%s direction",
			hw_check_name(i));
	}
	T_CHECK(!strcmp(hw_check_name(HW_TX_CHUNKS), "tx-chunks") &&
		!strcmp(hw_check_name(HW_CHANNEL_SHRINK), "channel-shrink"),
		"names");
	T_CHECK(!strcmp(hw_result_name(HW_NOT_RUN), "not run"), "result name");
	printf("hwcheck_parts: ok\n");
	return T_PASS;
}
