// SPDX-License-Identifier: MIT
/* SIGINT/SIGTERM end a run and keep its report (cli_stop); declared in
 * common.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "json_out.h"
#include "measure.h"

/* ------------------------------------------------------------------ */
/* SIGINT / SIGTERM                                                    */
/* ------------------------------------------------------------------ */

volatile sig_atomic_t cli_stop;

static void on_stop(int sig)
{
	cli_stop = sig;
}

void cli_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: blocking calls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void cli_release_stop(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

const char *cli_stop_name(void)
{
	return cli_stop == SIGINT ? "SIGINT" : cli_stop == SIGTERM ? "SIGTERM" :
	       "a signal";
}
