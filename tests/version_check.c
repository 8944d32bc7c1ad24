// SPDX-License-Identifier: MIT
/*
 * tier A: one version everywhere. `devmemtcp --version`, the JSON start
 * object's version, the generated devmemtcp.pc and the CMake package's
 * version file all say project(VERSION), and the library's
 * dmt_version_major/minor() agree with it. Needs DMT_VERSION and
 * DMT_BUILD_DIR from CTest.
 */
#include <devmemtcp.h>

#include "helpers.h"

int main(void)
{
	const char *ver = getenv("DMT_VERSION"), *bd = getenv("DMT_BUILD_DIR");
	char cmd[4096], out[4096], want[128];
	int maj, min;

	T_SKIP_IF(!ver || !bd, "run through CTest (DMT_VERSION unset)");
	T_CHECK(sscanf(ver, "%d.%d", &maj, &min) == 2, "DMT_VERSION '%s'", ver);
	T_CHECK(dmt_version_major() == maj && dmt_version_minor() == min,
		"library says %d.%d, project(VERSION) %s", dmt_version_major(),
		dmt_version_minor(), ver);

	snprintf(want, sizeof(want), "devmemtcp %s\n", ver);
	snprintf(cmd, sizeof(cmd), "'%s' --version", t_cli());
	T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "%s: %s", cmd, out);
	T_CHECK(!strcmp(out, want), "--version printed '%s', want '%s'", out, want);

	if (t_run("command -v pkg-config", NULL, 0) == 0) {
		snprintf(cmd, sizeof(cmd), "PKG_CONFIG_PATH='%s' pkg-config "
			 "--modversion devmemtcp", bd);
		T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "%s: %s", cmd, out);
		snprintf(want, sizeof(want), "%s\n", ver);
		T_CHECK(!strcmp(out, want), "devmemtcp.pc says '%s', want %s",
			out, ver);
	} else {
		printf("pkg-config not installed: the .pc check is left out\n");
	}

	snprintf(cmd, sizeof(cmd), "grep -q 'PACKAGE_VERSION \"%s\"' "
		 "'%s/devmemtcpConfigVersion.cmake'", ver, bd);
	T_CHECK(t_run(cmd, out, sizeof(out)) == 0,
		"devmemtcpConfigVersion.cmake lacks version %s", ver);

	/* the JSON documents' start.version (a usage error still prints one) */
	snprintf(cmd, sizeof(cmd), "'%s' client --json --no-such-option", t_cli());
	t_run(cmd, out, sizeof(out));
	snprintf(want, sizeof(want), "\"devmemtcp %s\"", ver);
	T_CHECK(strstr(out, want), "JSON start lacks %s: %s", want, out);

	printf("version_check: %s everywhere\n", ver);
	return T_PASS;
}
