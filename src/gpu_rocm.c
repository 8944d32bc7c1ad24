// SPDX-License-Identifier: MIT
/* ROCm buffers: the HSA runtime is opened with dlopen at run time. */
#include <dlfcn.h>

#include "buffer.h"

int dmt_rocm_buf_init(struct dmt_buf *b, const struct dmt_buf_opts *o,
		      struct dmt_error *e)
{
	void *h = dlopen("libhsa-runtime64.so.1", RTLD_NOW | RTLD_LOCAL);

	(void)b;
	(void)o;
	if (!h)
		return dmt_err_set(e, -DMT_ERR_GPU, "--buffer rocm: "
				   "libhsa-runtime64.so.1 not found: no ROCm "
				   "runtime on this host");
	dlclose(h);
	return dmt_err_set(e, -ENOSYS, "rocm buffers are not implemented yet");
}
