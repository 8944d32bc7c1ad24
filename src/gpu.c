// SPDX-License-Identifier: MIT
/*
 * Loading a GPU runtime (gpu.h): the dlopen and the environment override
 * shared by the CUDA and ROCm providers. Kept apart from buffer.c so that
 * the providers depend on the buffer object and never the other way round.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "gpu.h"

/* The override loads code, so a process whose environment its invoker
 * controls but whose privileges it does not share (AT_SECURE: setuid,
 * setgid, file capabilities such as a setcap'd cap_net_admin) ignores
 * it: secure_getenv() returns NULL there. */
const char *dmt_gpu_lib_name(const char *env, const char *deflib)
{
	const char *s = secure_getenv(env);

	return s && s[0] ? s : deflib;
}

int dmt_gpu_dlopen(void **h, const char *kind, const char *env,
		   const char *deflib, const char *absent, struct dmt_error *e)
{
	const char *lib = dmt_gpu_lib_name(env, deflib);

	*h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (*h)
		return 0;
	if (strcmp(lib, deflib))
		return dmt_err_set(e, -DMT_ERR_GPU, "%s: %s not found: "
				   "%s (%s=%s: %s)", kind, deflib, absent, env,
				   lib, dlerror());
	return dmt_err_set(e, -DMT_ERR_GPU, "%s: %s not found: %s",
			   kind, deflib, absent);
}
