// SPDX-License-Identifier: MIT
/* devmemtcp setup (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_setup(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp setup: not implemented yet\n");
	return 2;
}
