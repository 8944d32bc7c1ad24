/* SPDX-License-Identifier: MIT */
/*
 * The CLI's reading of the library's messages. The library states cause
 * and fix in its own terms (option fields such as dmt_tx_opts.engine,
 * flags such as DMT_NIC_F_NO_RSS, buffer kinds, calls such as
 * dmt_nic_setup_restore(eth0)); a user of this tool needs its flags and
 * commands instead. One table, in advice.c.
 */
#ifndef DMT_CLI_ADVICE_H
#define DMT_CLI_ADVICE_H

#include <stddef.h>

/*
 * Write msg to out (outlen bytes, always terminated) with every library
 * term this tool has a flag or command for replaced by that flag or
 * command. Returns out. msg NULL gives "".
 */
const char *cli_advice(const char *msg, char *out, size_t outlen);

#endif
