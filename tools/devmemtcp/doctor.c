// SPDX-License-Identifier: MIT
/* devmemtcp doctor (placeholder until implemented). */
#include <stdio.h>

#include "cli.h"

int cmd_doctor(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "devmemtcp doctor: not implemented yet\n");
	return 2;
}
