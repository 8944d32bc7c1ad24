// SPDX-License-Identifier: MIT
/* devmemtcp bench (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp bench: not implemented yet\n");
	return 2;
}
