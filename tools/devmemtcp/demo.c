// SPDX-License-Identifier: MIT
/* devmemtcp demo (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp demo: not implemented yet\n");
	return 2;
}
