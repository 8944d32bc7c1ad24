// SPDX-License-Identifier: MIT
/* devmemtcp client (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_client(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp client: not implemented yet\n");
	return 2;
}
