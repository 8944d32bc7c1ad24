/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): copies of the
 * input in a buffer of exactly its size, so ASan sees a read one byte past
 * what the parser was given, and an invariant check that crashes (the
 * fuzzer then keeps the input).
 */
#ifndef DMT_FUZZ_UTIL_H
#define DMT_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd copy of data[0..size) (never NULL for size 0). */
static inline void *fz_dup(const uint8_t *data, size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

/* A NUL-terminated copy of data[0..size). */
static inline char *fz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FZ_ASSERT(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "invariant broken at %s:%d: %s\n",    \
				__FILE__, __LINE__, #cond);                   \
			abort();                                              \
		}                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
