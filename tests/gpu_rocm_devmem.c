// SPDX-License-Identifier: MIT
/* Tier C: ROCm memory bound for devmem RX and TX (gpu_devmem_hw.h). */
#include "gpu_devmem_hw.h"

int main(void)
{
	return gpu_devmem(DMT_BUF_ROCM, "libhsa-runtime64.so.1", "DMT_ROCM_LIB");
}
