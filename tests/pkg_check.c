// SPDX-License-Identifier: MIT
/*
 * tier A: the packaging files agree with the tree.
 *  - debian/libdevmemtcp0.symbols lists exactly the version nodes and the
 *    global symbols of src/libdevmemtcp.map, each at the node that map
 *    puts it in (dpkg-gensymbols checks the same against the built
 *    library at level 4 in debian/rules; this says it without a build);
 *  - debian/changelog's newest version is project(VERSION);
 *  - the bash completion parses and offers every command the CLI lists.
 * Needs DMT_SRC_DIR, DMT_VERSION and DMT_CLI from CTest.
 */
#include "helpers.h"

int main(void)
{
	const char *sd = getenv("DMT_SRC_DIR"), *ver = getenv("DMT_VERSION");
	char cmd[8192], out[16384], out2[16384];

	T_SKIP_IF(!sd || !ver, "run through CTest (DMT_SRC_DIR unset)");

	/* the map, as "SYMBOL@NODE" lines, and the symbols file the same way */
	snprintf(cmd, sizeof(cmd), "awk '/^DEVMEMTCP_[0-9.]+ *\\{/ { v = $1; "
		 "print v \"@\" v } /^[ \\t]*local:/ { l = 1 } /^}/ { l = 0 } "
		 "/^[ \\t]+dmt_[a-z0-9_]+;/ && !l { s = $1; sub(/;/, \"\", s); "
		 "print s \"@\" v }' '%s/src/libdevmemtcp.map' | LC_ALL=C sort",
		 sd);
	T_CHECK(t_run(cmd, out, sizeof(out)) == 0 && out[0], "map: %s", out);
	snprintf(cmd, sizeof(cmd), "sed -n 's/^ \\([^ ]*\\) .*/\\1/p' "
		 "'%s/debian/libdevmemtcp0.symbols' | LC_ALL=C sort", sd);
	T_CHECK(t_run(cmd, out2, sizeof(out2)) == 0, "symbols: %s", out2);
	if (strcmp(out, out2)) {
		setenv("A", out, 1);
		setenv("B", out2, 1);
		t_run("bash -c 'diff <(printf %s \"$A\") <(printf %s \"$B\")'",
		      out, sizeof(out));
		T_CHECK(0, "debian/libdevmemtcp0.symbols differs from "
			"src/libdevmemtcp.map (< map, > symbols):\n%s", out);
	}

	snprintf(cmd, sizeof(cmd), "dpkg-parsechangelog -l '%s/debian/changelog' "
		 "-S Version 2>/dev/null || sed -n '1s/^[^(]*(\\([^)]*\\)).*/\\1/p' "
		 "'%s/debian/changelog'", sd, sd);
	T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "changelog: %s", out);
	out[strcspn(out, "\n")] = '\0';
	T_CHECK(!strncmp(out, ver, strlen(ver)) &&
		(out[strlen(ver)] == '\0' || out[strlen(ver)] == '-'),
		"debian/changelog is at '%s', project(VERSION) at %s", out, ver);

	/* every command in `devmemtcp --help` is completed */
	snprintf(cmd, sizeof(cmd), "bash -c 'source \"%s/tools/devmemtcp/"
		 "devmemtcp.bash-completion\" && COMP_WORDS=(\"%s\" \"\") && "
		 "COMP_CWORD=1 && _devmemtcp && printf \"%%s\\n\" \"${COMPREPLY[@]}\"'",
		 sd, t_cli());
	out[0] = '\n';
	T_CHECK(t_run(cmd, out + 1, sizeof(out) - 1) == 0, "completion: %s", out);
	snprintf(cmd, sizeof(cmd), "'%s' --help | sed -n 's/^  \\([a-z]*\\) .*/\\1/p'",
		 t_cli());
	T_CHECK(t_run(cmd, out2, sizeof(out2)) == 0 && out2[0], "help: %s", out2);
	for (char *c = strtok(out2, "\n"); c; c = strtok(NULL, "\n")) {
		char want[64];

		snprintf(want, sizeof(want), "\n%s\n", c);
		T_CHECK(strstr(out, want), "the bash completion lacks command '%s'",
			c);
	}
	printf("pkg_check: symbols = map, changelog at %s, completion ok\n", ver);
	return T_PASS;
}
