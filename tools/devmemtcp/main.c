// SPDX-License-Identifier: MIT
/* devmemtcp: command-line tool over libdevmemtcp. */
#include <stdio.h>
#include <string.h>

#include <devmemtcp.h>

#include "cli.h"
#include "dmt_config.h"
#include "json_out.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "client", cmd_client, "send a stream (stdin or a pattern) to a server" },
	{ "server", cmd_server, "receive a stream, validate it, report" },
	{ "demo", cmd_demo, "run server and client on a private veth pair" },
	{ "doctor", cmd_doctor, "explain whether devmem TCP works here" },
	{ "bench", cmd_bench, "measure every engine side by side" },
	{ "setup", cmd_setup, "NIC setup for devmem RX; --restore repairs" },
	{ "selftest", cmd_selftest, "run every devmem hardware check with a peer" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: devmemtcp COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'devmemtcp COMMAND --help' shows a command's options; "
		   "man devmemtcp(1) has the details.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("devmemtcp %s\n", DMT_VERSION_STRING);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* --json: every run ends in exactly one document, an error
		 * document when the command printed none (usage errors) */
		jout_scan_argv(argc - 1, argv + 1, !strcmp(cmds[i].name, "doctor") ||
			       !strcmp(cmds[i].name, "setup") ||
			       !strcmp(cmds[i].name, "selftest"));
		return jout_end(cmds[i].name, cmds[i].fn(argc - 1, argv + 1));
	}
	fprintf(stderr, "devmemtcp: unknown command '%s': try 'devmemtcp --help'\n",
		argv[1]);
	return 2;
}
