// SPDX-License-Identifier: MIT
/* Tier C: a real NVIDIA GPU (see gpu_real.h). Skips without libcuda.so.1. */
#include "gpu_real.h"

int main(void)
{
	return run_real(DMT_BUF_CUDA, "libcuda.so.1", "DMT_CUDA_LIB");
}
