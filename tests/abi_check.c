// SPDX-License-Identifier: MIT
/*
 * tier A: the shared library exports exactly the symbols of the version
 * map, every DMT_API declaration of the public header is exported, and the
 * header compiles on its own in C (and C++ when a compiler exists), and
 * every exported function has a man page, and every offset into a buffer
 * in the header is a uint64_t (never a size_t: one type on every ABI), and
 * the calls pruned from the 0.x API stay out.
 * Paths come from CTest: DMT_LIB, DMT_MAP, DMT_HEADER_DIR, DMT_CC,
 * DMT_MAN_DIR.
 */
#include <unistd.h>

#include "helpers.h"

#define MAXSYM 512

static int load(const char *cmd, char names[][64], int max)
{
	char line[256];
	FILE *f = popen(cmd, "r");
	int n = 0;

	T_CHECK(f, "popen %s", cmd);
	while (fgets(line, sizeof(line), f) && n < max) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(names[n++], 64, "%.63s", line);
	}
	pclose(f);
	return n;
}

static int has(char names[][64], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return 1;
	return 0;
}

int main(void)
{
	static char exp_[MAXSYM][64], map[MAXSYM][64], hdr[MAXSYM][64];
	const char *lib = getenv("DMT_LIB"), *mapf = getenv("DMT_MAP");
	const char *inc = getenv("DMT_HEADER_DIR"), *cc = getenv("DMT_CC");
	char cmd[1024], out[4096];
	int ne, nm, nh;

	T_SKIP_IF(!lib || !mapf || !inc, "run through CTest (DMT_LIB etc. unset)");
	T_SKIP_IF(t_run("command -v nm", NULL, 0) != 0, "nm (binutils) missing");
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s' | awk '$2 ~ /[TDBR]/ "
		 "{print $3}' | sed 's/@.*//' | grep -v '^DEVMEMTCP_' | sort -u", lib);
	ne = load(cmd, exp_, MAXSYM);
	snprintf(cmd, sizeof(cmd), "grep -oE '^[[:space:]]+dmt_[a-z0-9_]+;' '%s' | "
		 "tr -d ' \t;' | sort -u", mapf);
	nm = load(cmd, map, MAXSYM);
	snprintf(cmd, sizeof(cmd), "tr '\\n' ' ' < '%s/devmemtcp.h' | grep -oE "
		 "'DMT_API [^;]*' | grep -oE 'dmt_[a-z0-9_]+\\(' | tr -d '(' | sort -u",
		 inc);
	nh = load(cmd, hdr, MAXSYM);
	printf("exported %d, map %d, header %d\n", ne, nm, nh);
	T_CHECK(ne > 20 && nm > 20 && nh > 20, "could not read the symbol lists");
	for (int i = 0; i < ne; i++)
		T_CHECK(has(map, nm, exp_[i]), "exported %s is not in the map", exp_[i]);
	for (int i = 0; i < nm; i++)
		T_CHECK(has(exp_, ne, map[i]), "map names %s but it is not exported "
			"(missing DMT_EXPORT or definition)", map[i]);
	for (int i = 0; i < nh; i++)
		T_CHECK(has(exp_, ne, hdr[i]), "header declares %s but it is not "
			"exported", hdr[i]);
	for (int i = 0; i < ne; i++)
		T_CHECK(has(hdr, nh, exp_[i]), "%s exported but not declared with "
			"DMT_API in devmemtcp.h", exp_[i]);

	/* Calls pruned from the 0.x API stay out (no caller had a use). */
	static const char *const gone[] = { "dmt_ctx_fd", "dmt_tx_binding_id",
		"dmt_rx_binding_id", "dmt_rx_listener_last_error",
		"dmt_stage_send", "dmt_stage_recv", "dmt_bind_tx", "dmt_bind_rx" };
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		T_CHECK(!has(exp_, ne, gone[i]) && !has(hdr, nh, gone[i]),
			"%s was removed from the API and is back", gone[i]);

	if (getenv("DMT_MAN_DIR")) {
		for (int i = 0; i < ne; i++) {
			snprintf(cmd, sizeof(cmd), "%s/%s.3", getenv("DMT_MAN_DIR"),
				 exp_[i]);
			T_CHECK(access(cmd, R_OK) == 0, "%s has no man page (%s)",
				exp_[i], cmd);
		}
	}

	/* Offsets (off, dst_off, offset, ...) are uint64_t, lengths size_t. */
	snprintf(cmd, sizeof(cmd), "grep -nE '(^|[^s])size_t +[a-z_]*off(set)?"
		 "[,;)]' '%s/devmemtcp.h'", inc);
	T_CHECK(t_run(cmd, out, sizeof(out)) != 0, "a size_t offset in the "
		"public header (offsets are uint64_t): %s", out);

	/* The header alone, strict, in C17 and in C++. */
	if (cc && *cc) {
		snprintf(cmd, sizeof(cmd), "printf '#include <devmemtcp.h>\\nint "
			 "main(void){return dmt_version_major();}\\n' | '%s' -std=c17 "
			 "-Wall -Wextra -Werror -pedantic -fsyntax-only -I'%s' -x c -",
			 cc, inc);
		T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "header alone in C: %s", out);
	}
	if (t_run("command -v g++", NULL, 0) == 0) {
		snprintf(cmd, sizeof(cmd), "printf '#include <devmemtcp.h>\\nint "
			 "main(){return dmt_version_major();}\\n' | g++ -Wall -Wextra "
			 "-Werror -fsyntax-only -I'%s' -x c++ -", inc);
		T_CHECK(t_run(cmd, out, sizeof(out)) == 0, "header in C++: %s", out);
	} else {
		printf("g++ not installed: C++ check not run\n");
	}
	printf("abi_check: ok\n");
	return T_PASS;
}
