// SPDX-License-Identifier: MIT
/*
 * tier A: `cmake --install` into a scratch prefix, then build the TX
 * example against the installed header and library through pkg-config
 * (shared, and static with --static) and through the CMake package
 * (find_package(devmemtcp), target devmemtcp::devmemtcp, in a small
 * project configured and built by cmake), and run each. Needs
 * DMT_BUILD_DIR, DMT_SRC_DIR, DMT_CC and DMT_LIBDIR (CMAKE_INSTALL_LIBDIR,
 * lib/<multiarch triplet> in a Debian build) from CTest.
 */
#include <unistd.h>

#include "helpers.h"

static char tmp[] = "/tmp/dmt-install-XXXXXX";

/* The scratch prefix goes also when a check fails (T_CHECK exits). */
static pid_t owner;

static void cleanup(void)
{
	char cmd[128];

	if (getpid() != owner) /* a forked child exiting */
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	t_run(cmd, NULL, 0);
}

int main(void)
{
	const char *bd = getenv("DMT_BUILD_DIR"), *sd = getenv("DMT_SRC_DIR");
	const char *cc = getenv("DMT_CC");
	char cmd[4096], out[8192];
	int rc;

	T_SKIP_IF(!bd || !sd || !cc || !getenv("DMT_LIBDIR"),
		  "run through CTest (DMT_BUILD_DIR unset)");
	T_SKIP_IF(getenv("DMT_SANITIZE") && !strcmp(getenv("DMT_SANITIZE"), "ON"),
		  "sanitizer build: an installed ASan library needs the ASan "
		  "runtime in every consumer; the plain build runs this test");
	T_SKIP_IF(t_run("command -v pkg-config", NULL, 0) != 0,
		  "pkg-config not installed");
	T_CHECK(mkdtemp(tmp), "mkdtemp");
	owner = getpid();
	atexit(cleanup);

	snprintf(cmd, sizeof(cmd), "cmake --install '%s' --prefix '%s'", bd, tmp);
	rc = t_run(cmd, out, sizeof(out));
	T_CHECK(rc == 0, "install failed: %s", out);
	snprintf(cmd, sizeof(cmd), "test -f '%s/include/devmemtcp.h' && "
		 "ls '%s'/\"$DMT_LIBDIR\"/libdevmemtcp.so.0 '%s'/\"$DMT_LIBDIR\"/libdevmemtcp.a "
		 "'%s'/\"$DMT_LIBDIR\"/libnccl-net-devmemtcp.so "
		 "'%s'/\"$DMT_LIBDIR\"/pkgconfig/devmemtcp.pc '%s'/bin/devmemtcp "
		 "'%s'/share/man/man3/dmt_tx_send.3 '%s'/share/man/man7/devmemtcp.7 "
		 "'%s'/\"$DMT_LIBDIR\"/cmake/devmemtcp/devmemtcpConfig.cmake "
		 "'%s'/\"$DMT_LIBDIR\"/cmake/devmemtcp/devmemtcpConfigVersion.cmake "
		 "'%s'/\"$DMT_LIBDIR\"/cmake/devmemtcp/devmemtcpTargets.cmake",
		 tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp);
	rc = t_run(cmd, out, sizeof(out));
	T_CHECK(rc == 0, "installed files missing: %s", out);
	/* the private UAPI header must not be installed */
	snprintf(cmd, sizeof(cmd), "! find '%s' -name uapi.h -o -name internal.h "
		 "| grep -q .", tmp);
	T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "private header installed");

	snprintf(cmd, sizeof(cmd), "cd '%s' && export PKG_CONFIG_PATH=$(echo "
		 "'%s'/\"$DMT_LIBDIR\"/pkgconfig) && '%s' -std=c17 -Wall -Wextra -Werror "
		 "-o tx '%s/examples/tx_minimal.c' $(pkg-config --define-variable=prefix=\"$PWD\" --cflags "
		 "--libs devmemtcp) && LD_LIBRARY_PATH=$(echo '%s'/\"$DMT_LIBDIR\") ./tx; test $? -eq 2",
		 tmp, tmp, cc, sd, tmp);
	rc = t_run(cmd, out, sizeof(out));
	T_CHECK(rc == 0, "shared build/run against the install failed: %s", out);
	snprintf(cmd, sizeof(cmd), "cd '%s' && export PKG_CONFIG_PATH=$(echo "
		 "'%s'/\"$DMT_LIBDIR\"/pkgconfig) && '%s' -std=c17 -o txs "
		 "'%s/examples/tx_minimal.c' -Wl,-Bstatic $(pkg-config --define-variable=prefix=\"$PWD\" --static "
		 "--libs-only-L devmemtcp) -ldevmemtcp -Wl,-Bdynamic $(pkg-config "
		 "--static --libs-only-l devmemtcp | sed 's/-ldevmemtcp//') "
		 "$(pkg-config --define-variable=prefix=\"$PWD\" --cflags devmemtcp) && ./txs; test $? -eq 2",
		 tmp, tmp, cc, sd);
	rc = t_run(cmd, out, sizeof(out));
	T_CHECK(rc == 0, "static build/run failed: %s", out);

	/* find_package: a consumer project outside the tree, configured with
	 * only the prefix */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/consumer' && cd '%s/consumer' && "
		 "printf '%%s\\n' 'cmake_minimum_required(VERSION 3.18)' "
		 "'project(consumer LANGUAGES C)' "
		 "'find_package(devmemtcp REQUIRED)' "
		 "'add_executable(tx \"%s/examples/tx_minimal.c\")' "
		 "'target_link_libraries(tx PRIVATE devmemtcp::devmemtcp)' "
		 "> CMakeLists.txt && "
		 "cmake -S . -B b -DCMAKE_C_COMPILER='%s' -DCMAKE_PREFIX_PATH='%s' "
		 "-DCMAKE_C_FLAGS='-std=c17 -Wall -Wextra -Werror' >/dev/null && "
		 "cmake --build b >/dev/null && LD_LIBRARY_PATH=$(echo '%s'/\"$DMT_LIBDIR\") "
		 "./b/tx; test $? -eq 2", tmp, tmp, sd, cc, tmp, tmp);
	rc = t_run(cmd, out, sizeof(out));
	T_CHECK(rc == 0, "find_package(devmemtcp) build/run against the install "
		"failed: %s", out);
	printf("install_check: ok\n");
	return T_PASS;
}
