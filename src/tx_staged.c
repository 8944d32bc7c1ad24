// SPDX-License-Identifier: MIT
/*
 * The staged TX engine: for buffers the CPU cannot map (GPU memory) when
 * devmem is unavailable. Each sendv copies its ranges out of the device
 * into host bounce buffers and sends them, double-buffered (stage.c): the
 * device copy of chunk k+1 overlaps the send of chunk k.
 *
 * The bytes are in host memory before sendv returns, so the buffer may be
 * rewritten as soon as dmt_tx_send() returns: the engine tracks no
 * completions. iov_base carries buffer offsets (tx.c sets iov_base_addr to
 * 0 for this engine).
 */
#include <stdio.h>

#include "stage.h"
#include "tx.h"

static int staged_setup(struct dmt_tx *tx)
{
	struct dmt_error e = { 0 };
	struct dmt_stage *s = dmt_stage_new(tx->buf, 0, &e);

	if (!s) {
		snprintf(tx->reason, sizeof(tx->reason), "%.*s",
			 (int)sizeof(tx->reason) - 1, e.message);
		return e.err ? e.err : -ENOMEM;
	}
	tx->eng_priv = s;
	return 0;
}

static ssize_t staged_sendv(struct dmt_tx *tx, const struct iovec *iov,
			    unsigned int n, bool dontwait)
{
	struct dmt_stage *s = tx->eng_priv;
	ssize_t r = dmt_stage_sendv(s, tx->fd, iov, n, dontwait, &tx->st.syscalls);

	if (r < 0 && r != -EAGAIN && r != -EINTR)
		dmt_err_copy(&tx->err, dmt_stage_last_error(s));
	return r;
}

static int staged_reap(struct dmt_tx *tx, int timeout_ms)
{
	(void)tx;
	(void)timeout_ms;
	return 0;
}

static void staged_destroy(struct dmt_tx *tx)
{
	dmt_stage_free(tx->eng_priv);
	tx->eng_priv = NULL;
}

const struct dmt_tx_engine dmt_engine_staged = {
	.id = DMT_ENGINE_STAGED,
	.tracks = false,
	.setup = staged_setup,
	.sendv = staged_sendv,
	.reap = staged_reap,
	.destroy = staged_destroy,
};
