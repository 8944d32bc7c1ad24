// SPDX-License-Identifier: MIT
/*
 * tier B: the receiver reads 1 MiB, then resets the connection
 * (close with SO_LINGER 0). Two cases: the fault
 * comes while the client is still sending (--size 1G), and after the client
 * queued its last byte (--size 3M, which the socket buffers hold). Either
 * way the client must exit 1 with a clear error within its --timeout and
 * print its report; what the receiver read must be the pattern from byte
 * 0, each byte once and in order. The second case used to exit 0: the
 * bytes sat in socket buffers when the receiver went away, unread.
 */
#include "cli_fault.h"

int main(void)
{
	return cf_peer_dies(CF_RST, "cli_fault_rst");
}
