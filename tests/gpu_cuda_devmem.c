// SPDX-License-Identifier: MIT
/* Tier C: CUDA memory bound for devmem RX and TX (gpu_devmem_hw.h). */
#include "gpu_devmem_hw.h"

int main(void)
{
	return gpu_devmem(DMT_BUF_CUDA, "libcuda.so.1", "DMT_CUDA_LIB");
}
