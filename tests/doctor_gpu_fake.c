// SPDX-License-Identifier: MIT
/*
 * tier A: the doctor's GPU exporter probes against the FAKE CUDA and HSA
 * libraries of the GPU tests (NOT the vendor runtimes), selected with
 * DMT_CUDA_LIB / DMT_ROCM_LIB as for the GPU buffers: a device with
 * DMA_BUF_SUPPORTED, one without, cuInit failing, no library at all, ROCm
 * with and without the dma-buf export entry point. When the kernel has
 * bind-tx (no privilege needed), also the "real bind" path: with a usable
 * exporter the doctor binds a throwaway buffer instead of probing with a
 * memfd; lo's driver refuses it first, which the report must say.
 */
#include <net/if.h>
#include <stdlib.h>

#include "doctor.h"
#include "helpers.h"

static struct dmt_doc_host host(void)
{
	struct dmt_doc_host h;

	dmt_doctor_gather_host(&h);
	return h;
}

int main(void)
{
	struct dmt_doc_host h;
	struct dmt_doc_if f;
	struct dmt_doctor *d;
	struct dmt_ctx *ctx;
	const struct dmt_doctor_iface *v;

	unsetenv("FAKE_CUDA_DEVICES");
	unsetenv("FAKE_CUDA_DMABUF");
	setenv("DMT_CUDA_LIB", FAKE_CUDA_LIB, 1);
	setenv("DMT_ROCM_LIB", "/nonexistent/libhsa-runtime64.so.1", 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_CUDA].state == DMT_DOC_EXP_OK &&
		h.exp[DMT_DOC_CUDA].count == 1, "fake CUDA: state %d count %d (%s)",
		h.exp[DMT_DOC_CUDA].state, h.exp[DMT_DOC_CUDA].count,
		h.exp[DMT_DOC_CUDA].detail);
	T_CHECK(strstr(h.exp[DMT_DOC_CUDA].detail, "1 with DMA_BUF_SUPPORTED") &&
		strstr(h.exp[DMT_DOC_CUDA].detail, "1 exported a 2 MiB dma-buf"),
		"%s", h.exp[DMT_DOC_CUDA].detail);
	T_CHECK(h.exp[DMT_DOC_ROCM].state == DMT_DOC_EXP_ABSENT, "no ROCm");
	printf("CUDA ok: %s\n", h.exp[DMT_DOC_CUDA].detail);

	setenv("FAKE_CUDA_DEVICES", "3", 1);
	setenv("FAKE_CUDA_DMABUF", "0", 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_CUDA].state == DMT_DOC_EXP_UNUSABLE &&
		strstr(h.exp[DMT_DOC_CUDA].detail, "3 device(s), 0 with"),
		"no dma-buf: %s", h.exp[DMT_DOC_CUDA].detail);
	d = dmt_doctor_evaluate(&h, NULL, 0, 0);
	T_CHECK(d, "evaluate");
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(d, i);

		if (!strcmp(c->id, "exp.cuda"))
			T_CHECK(c->status == DMT_DOCTOR_WARN && c->fix[0],
				"exp.cuda %s", dmt_doctor_status_name(c->status));
	}
	dmt_doctor_free(d);
	unsetenv("FAKE_CUDA_DMABUF");

	setenv("FAKE_CUDA_DEVICES", "0", 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_CUDA].state == DMT_DOC_EXP_UNUSABLE &&
		strstr(h.exp[DMT_DOC_CUDA].detail, "no CUDA device") &&
		strstr(h.exp[DMT_DOC_CUDA].detail, "cuInit"),
		"cuInit: %s", h.exp[DMT_DOC_CUDA].detail);
	unsetenv("FAKE_CUDA_DEVICES");

	setenv("DMT_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_CUDA].state == DMT_DOC_EXP_ABSENT, "absent CUDA");

	setenv("DMT_ROCM_LIB", FAKE_HSA_LIB, 1);
	setenv("FAKE_HSA_GPUS", "2", 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_ROCM].state == DMT_DOC_EXP_OK &&
		h.exp[DMT_DOC_ROCM].count == 2, "fake ROCm: %d %s",
		h.exp[DMT_DOC_ROCM].state, h.exp[DMT_DOC_ROCM].detail);
	setenv("DMT_ROCM_LIB", FAKE_HSA_OLD_LIB, 1);
	h = host();
	T_CHECK(h.exp[DMT_DOC_ROCM].state == DMT_DOC_EXP_UNUSABLE &&
		strstr(h.exp[DMT_DOC_ROCM].detail, "too old for dma-buf export"),
		"old ROCm: %s", h.exp[DMT_DOC_ROCM].detail);
	setenv("DMT_ROCM_LIB", "/nonexistent/libhsa-runtime64.so.1", 1);

	/* the real-bind path with the fake CUDA exporter */
	setenv("DMT_CUDA_LIB", FAKE_CUDA_LIB, 1);
	h = host();
	T_SKIP_IF(h.netdev_ret < 0 || !(h.ops & (1ull << 15)),
		  "exporter probes ok; kernel has no bind-tx for the bind part");
	T_CHECK(h.exp[DMT_DOC_CUDA].state == DMT_DOC_EXP_OK, "cuda again");
	ctx = dmt_ctx_new(NULL, NULL);
	T_CHECK(ctx, "ctx");
	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "lo");
	f.ifindex = (int)if_nametoindex("lo");
	dmt_doctor_gather_if(&h, ctx, &f, DMT_DOCTOR_TX);
	dmt_ctx_free(ctx);
	T_CHECK(f.tx_real && !strcmp(f.tx_exporter, "cuda"),
		"with an exporter the doctor must bind for real (real %d, %s)",
		f.tx_real, f.tx_exporter);
	/* lo has no netmem TX: the driver check answers before the fd */
	T_CHECK(f.tx_ret == -EOPNOTSUPP && strstr(f.tx_extack, "netmem TX"),
		"real bind on lo: %d '%s'", f.tx_ret, f.tx_extack);
	d = dmt_doctor_evaluate(&h, &f, 1, DMT_DOCTOR_TX);
	T_CHECK(d, "evaluate");
	v = dmt_doctor_iface_at(d, 0);
	T_CHECK(v->tx_ready == 0 && strstr(v->tx_reason, "netmem TX") &&
		v->rx_ready == -1, "verdict: %d '%s'", v->tx_ready, v->tx_reason);
	for (unsigned int i = 0; i < dmt_doctor_check_count(d); i++) {
		const struct dmt_doctor_check *c = dmt_doctor_check_at(d, i);

		if (!strcmp(c->id, "tx.bind"))
			T_CHECK(strstr(c->title, "real") &&
				strstr(c->evidence, "throwaway cuda"), "%s: %s",
				c->title, c->evidence);
		if (!strcmp(c->id, "exp.any"))
			T_CHECK(c->status == DMT_DOCTOR_PASS, "exp.any");
	}
	printf("lo with the fake CUDA exporter: TX not ready: %s\n", v->tx_reason);
	dmt_doctor_free(d);
	printf("doctor_gpu_fake: ok\n");
	return T_PASS;
}
