/* SPDX-License-Identifier: MIT */
/* devmemtcp CLI: one entry point per subcommand. Each returns the process
 * exit status: 0 success, 1 failure (incomplete or unverified transfer,
 * host not ready), 2 usage error. */
#ifndef DMT_CLI_H
#define DMT_CLI_H

int cmd_client(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_selftest(int argc, char **argv);

#endif
