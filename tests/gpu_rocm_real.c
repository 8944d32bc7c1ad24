// SPDX-License-Identifier: MIT
/* Tier C: a real AMD GPU (see gpu_real.h). Skips without the HSA runtime. */
#include "gpu_real.h"

int main(void)
{
	return run_real(DMT_BUF_ROCM, "libhsa-runtime64.so.1", "DMT_ROCM_LIB");
}
