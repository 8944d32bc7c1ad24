// SPDX-License-Identifier: MIT
/* libFuzzer: the CLI's value parsers (tools/devmemtcp/common.c): sizes,
 * bounded integers, seconds, --validate, --buffer and addresses. Byte 0
 * picks the parser, the rest is the argument as the shell would pass it
 * (cut at the first NUL). */
#include <dlfcn.h>
#include <math.h>
#include <netdb.h>
#include <sys/socket.h>

#include "common.h"
#include "session.h"
#include "fuzz_util.h"

/* parse_addr() resolves what is not a literal as a host name: the fuzzer
 * must never send a DNS query for its inputs. This definition takes the
 * place of libc's for the whole program: literals (AI_NUMERICHOST) go to
 * libc's, a name lookup is answered "no such name" without asking anyone. */
int getaddrinfo(const char *node, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	static int (*real)(const char *, const char *,
			   const struct addrinfo *, struct addrinfo **);

	if (!hints || !(hints->ai_flags & AI_NUMERICHOST))
		return EAI_NONAME;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (!real)
		abort();
	return real(node, service, hints, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct buf_choice b;
	enum val_mode vm;
	socklen_t sl = 0;
	uint64_t v = 0;
	double d = -1;
	char *s;

	if (!size)
		return 0;
	if (data[0] >= 0xfe) {	/* the protocol lines a peer sends */
		char err[300];

		if (data[0] == 0xfe) {
			struct sess_hello h = { 0 };

			if (sess_hello_parse((const char *)data + 1, size - 1, &h,
					     err, sizeof(err)) == 0)
				FZ_ASSERT(h.streams >= 1 && h.stream < h.streams &&
					  h.streams <= SESS_MAX_STREAMS &&
					  h.v >= 2 && h.v <= PAT_MAX_V);
		} else {
			json_t *o = sess_result_parse((const char *)data + 1,
						      size - 1, err, sizeof(err));

			FZ_ASSERT(!o || json_is_object(o));
			json_decref(o);
		}
		return 0;
	}
	s = fz_str(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		if (parse_size(s, &v) == 0)
			FZ_ASSERT(strlen(s) > 0);
		break;
	case 1:
		if (parse_uint(s, 1, 65535, &v) == 0)
			FZ_ASSERT(v >= 1 && v <= 65535);
		break;
	case 2:
		if (parse_seconds(s, &d) == 0)
			FZ_ASSERT(d >= 0 && !isnan(d));
		break;
	case 3:
		if (parse_validate(s, &vm) == 0)
			FZ_ASSERT(val_mode_name(vm) != NULL);
		break;
	case 4:
		if (parse_buffer(s, &b) == 0)
			FZ_ASSERT(b.device >= 0);
		break;
	case 5:
		if (parse_addr(s, 5201, data[0] & 8 ? AF_INET6 : AF_UNSPEC, &ss,
			       &sl) == 0)
			FZ_ASSERT(sl > 0 && sl <= sizeof(ss));
		break;
	}
	free(s);
	return 0;
}
