// SPDX-License-Identifier: MIT
/*
 * tier V: the CLI on kernels without devmem TX (scripts/vm-test.sh 6.12 and
 * 6.1); skips on a kernel with bind-tx. Every command must fall back and
 * say why, naming the kernel first:
 *  - 6.1 (no netdev family): demo --loopback and client/bench pass with a
 *    fallback engine whose reason names the missing netdev family (before
 *    the fix the client stopped at "cannot open the netdev netlink
 *    context"); doctor's verdicts say the kernel is too old.
 *  - 6.12 (no bind-tx): demo --buffer udmabuf passes with the copy engine,
 *    the reason names the kernel ("has no devmem TX") and the unpinnable
 *    memory, and no driver is blamed (before: "the lo driver has no devmem
 *    TX support" and an EFAULT failure).
 */
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "uapi.h"

static char out[1 << 16];

static void run(const char *args, int want_rc)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s", t_cli(), args);
	rc = t_run(cmd, out, sizeof(out));
	printf("$ devmemtcp %s  -> %d\n%s", args, rc, out);
	T_CHECK(want_rc < 0 ? rc > 0 : rc == want_rc, "exit status %d, want %d",
		rc, want_rc);
}

static const char *line_of(const char *key)
{
	static char l[1024];
	const char *p = strstr(out, key);

	T_CHECK(p, "no \"%s\" line", key);
	snprintf(l, sizeof(l), "%.*s", (int)strcspn(p, "\n"), p);
	return l;
}

int main(void)
{
	struct dmt_error err;
	struct dmt_ctx *ctx;
	const char *l;

	t_require_root();
	ctx = dmt_ctx_new(NULL, &err);
	if (ctx) {
		bool tx = dmt_ctx_has_op(ctx, DMT_NETDEV_CMD_BIND_TX);
		dmt_ctx_free(ctx);
		T_SKIP_IF(tx, "this kernel has devmem TX (bind-tx): the tier V CLI "
			  "checks are for 6.1 and 6.12 (scripts/vm-test.sh)");
		T_SKIP_IF(access("/dev/udmabuf", R_OK | W_OK) != 0,
			  "no /dev/udmabuf on this kernel without bind-tx");
		/* 6.12 */
		run("demo --loopback --buffer udmabuf --size 32M", 0);
		T_CHECK(strstr(out, "demo: PASS"), "demo did not pass");
		l = line_of("engine: ");
		T_CHECK(strstr(l, "engine: copy") && strstr(l, "has no devmem TX") &&
			strstr(l, "cannot be pinned") && !strstr(l, "driver"),
			"engine line: %s", l);
		T_CHECK(!strstr(out, "driver) has no devmem TX") &&
			!strstr(out, "lo driver has no devmem TX"),
			"a driver is blamed on a kernel without bind-tx");
		T_CHECK(strstr(out, "devmem TX needs Linux 6.16"), "no kernel reason");
		run("demo --loopback --buffer udmabuf --engine zerocopy --size 1M", -1);
		T_CHECK(strstr(out, "cannot be pinned") || strstr(out, "copy engine"),
			"explicit zerocopy on udmabuf: no cause given");
	} else {
		T_CHECK(err.err == -DMT_ERR_NO_FAMILY, "context: %s", err.message);
		/* 6.1 */
		run("demo --loopback --size 16M", 0);
		T_CHECK(strstr(out, "demo: PASS"), "demo did not pass");
		l = line_of("engine: ");
		T_CHECK(strstr(l, "no netdev netlink family") &&
			!strstr(l, "engine: - "), "engine line: %s", l);
		run("doctor eth0", 1);
		T_CHECK(strstr(out, "TX: not ready: the kernel has no netdev netlink "
			       "family") && strstr(out, "RX: not ready: the kernel "
			       "has no netdev netlink family"), "doctor verdicts");
		T_CHECK(strstr(out, "devmem RX: 6.12+, TX: 6.16+"),
			"doctor does not say which kernel is needed");
		run("bench --engines copy,auto --sizes 64K --reps 1 --bytes 4M", 0);
	}
	printf("PASS\n");
	return T_PASS;
}
