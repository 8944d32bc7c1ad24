// SPDX-License-Identifier: MIT
/* devmemtcp server (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_server(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp server: not implemented yet\n");
	return 2;
}
