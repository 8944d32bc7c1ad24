/* SPDX-License-Identifier: MIT */
/*
 * The devmem hardware checks (the kernel's devmem.py / ncdevmem cases and
 * the peer-less negative checks), in one place for `devmemtcp selftest`
 * and the tier C tests. Public library API only.
 *
 * The peer: with ssh ("USER@HOST"), each check starts socat there, as
 * devmem.py does (sender bound to the check's port for RX, a listener
 * whose output is compared for TX). Without ssh, the peer runs an echo
 * service on echo_port, e.g. `socat TCP-LISTEN:5201,fork,reuseaddr
 * EXEC:cat`: RX sends the pattern there with plain TCP and receives the
 * echo through devmem; TX sends through devmem and compares the echo.
 * Every check uses its own fresh port, every wait is bounded by
 * timeout_s, and every NIC change is restored (journalled).
 */
#ifndef DMT_HWCHECK_H
#define DMT_HWCHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <devmemtcp.h>

enum hw_check {
	HW_BIND_EMPTY,		/* bind-rx with no queue is refused */
	HW_BIND_HDS_OFF,	/* bind-rx with header split off is refused */
	HW_BIND,		/* bind-rx with header split on works */
	HW_CHANNEL_SHRINK,	/* removing a bound queue is refused */
	HW_RX,			/* check_rx: 1 MiB of the -v 7 pattern, validated */
	HW_RX_HDS,		/* check_rx_hds: 1..8192-byte messages, no linear */
	HW_TX,			/* check_tx: the peer receives what was sent */
	HW_TX_CHUNKS,		/* check_tx_chunks: 3-byte iovecs (ncdevmem -z 3) */
	HW_NCCL_DEVMEM,		/* the NCCL plugin: dma-buf TX, GPU RX gather
				 * (needs TX and RX, CUDA and --ssh) */
	HW_NCHECKS
};

enum hw_result { HW_PASS, HW_FAIL, HW_NOT_RUN };

struct hw_cfg {
	const char *ifname;
	const char *addr;	/* this host's IPv4 on ifname; NULL: looked up */
	const char *peer;	/* the peer's IPv4 address */
	const char *ssh;	/* "USER@HOST" or NULL (echo peer) */
	int echo_port;		/* without ssh: the peer's echo port */
	enum dmt_buf_kind kind;	/* udmabuf, dmaheap, cuda, rocm; 0: udmabuf,
				 * else the system DMA heap */
	int device;		/* cuda/rocm device index */
	int base_port;		/* fresh ports are taken from here up */
	int timeout_s;		/* bound on every wait of a check */
	const char *journal_dir;	/* NULL: /run/devmemtcp */
	const char *nccl_plugin;	/* nccl-devmem: the plugin's path; NULL:
					 * $DMT_NCCL_PLUGIN, else
					 * libnccl-net-devmemtcp.so from the
					 * library search path */
};

struct hw_row {
	enum hw_check id;
	enum hw_result res;
	double secs;
	char reason[512];
};

/* Stable name ("bind-empty-queues", "rx", ...) and what it shows. */
const char *hw_check_name(enum hw_check c);
const char *hw_check_title(enum hw_check c);
const char *hw_result_name(enum hw_result r);
/* RX checks need RX readiness, TX checks TX readiness. */
bool hw_check_is_rx(enum hw_check c);

/* Set (from a signal handler) to stop the running check early: it then
 * fails with "interrupted" after restoring the NIC. */
extern volatile sig_atomic_t hw_stop;

/* Run one check; fills row (never leaves it unset). */
void hw_run(const struct hw_cfg *cfg, enum hw_check c, struct hw_row *row);
/* Mark a check not run with a reason. */
void hw_not_run(struct hw_row *row, enum hw_check c, const char *why);

/*
 * The verdict of a table: 0 when every check passed, 3 when none ran (the
 * host cannot run them), else 1 (one failed or could not run).
 */
int hw_verdict(const struct hw_row *rows, unsigned int n);

/* The next port to use (base_port, base_port+1, ...; wraps in 20000-60000). */
int hw_next_port(const struct hw_cfg *cfg);
/* The peer command line for ssh (argv in out, up to max entries, NULL
 * terminated); for the tests. Returns the count. */
int hw_ssh_argv(const struct hw_cfg *cfg, const char *cmd, const char **out,
		int max);

#endif
