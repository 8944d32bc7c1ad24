// SPDX-License-Identifier: MIT
/* CUDA buffers: the driver API is opened with dlopen at run time. */
#include <dlfcn.h>

#include "buffer.h"

int dmt_cuda_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

	(void)b;
	(void)o;
	if (!h)
		return dmt_err_set(e, -DMT_ERR_GPU, "--buffer cuda: libcuda.so.1 "
				   "not found: no NVIDIA driver on this host");
	dlclose(h);
	return dmt_err_set(e, -ENOSYS, "cuda buffers are not implemented yet");
}
