// SPDX-License-Identifier: MIT
/* The ncdevmem validation pattern and which received bytes are checked
 * (sampled validation); declared in common.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "json_out.h"
#include "measure.h"

/* ------------------------------------------------------------------ */
/* pattern                                                             */
/* ------------------------------------------------------------------ */

#define PAT_BLOCK (64u << 10)

int pat_init(struct pat *p, unsigned int v)
{
	memset(p, 0, sizeof(*p));
	if (v == 0)
		return 0;
	if (v < 2 || v > PAT_MAX_V)
		return -EINVAL;
	p->v = v;
	p->seed = 1;
	p->block = PAT_BLOCK;
	p->table = malloc(v + p->block);
	if (!p->table)
		return -ENOMEM;
	for (size_t i = 0; i < v + p->block; i++)
		p->table[i] = pat_byte((unsigned int)(i % v));
	return 0;
}

void pat_free(struct pat *p)
{
	free(p->table);
	p->table = NULL;
}

void pat_fill(struct pat *p, void *dst, size_t len)
{
	unsigned char *d = dst;

	if (!p->v) {
		memset(dst, 0, len);
		p->pos += len;
		return;
	}
	while (len) {
		size_t n = len < p->block ? len : p->block;

		memcpy(d, p->table + p->seed, n);
		p->seed = (unsigned int)((p->seed + n) % p->v);
		p->pos += n;
		d += n;
		len -= n;
	}
}

static void pat_scan(struct pat *p, const unsigned char *s, size_t n)
{
	unsigned int seed = p->seed;

	for (size_t i = 0; i < n; i++) {
		unsigned char want = pat_byte(seed);

		if (s[i] != want) {
			if (p->nbad < PAT_MAX_BAD) {
				p->bad[p->nbad].off = p->pos + i;
				p->bad[p->nbad].got = s[i];
				p->bad[p->nbad].want = want;
				p->nbad++;
			}
			p->mismatches++;
		}
		if (++seed == p->v)
			seed = 0;
	}
}

uint64_t pat_check(struct pat *p, const void *src, size_t len)
{
	const unsigned char *s = src;
	uint64_t before = p->mismatches;

	if (!p->v) {
		p->pos += len;
		return 0;
	}
	while (len) {
		size_t n = len < p->block ? len : p->block;

		if (memcmp(s, p->table + p->seed, n))
			pat_scan(p, s, n);
		p->seed = (unsigned int)((p->seed + n) % p->v);
		p->pos += n;
		s += n;
		len -= n;
	}
	return p->mismatches - before;
}

void pat_seek(struct pat *p, uint64_t pos)
{
	p->pos = pos;
	p->seed = p->v ? (unsigned int)((1 + pos) % p->v) : 0;
}

/* ------------------------------------------------------------------ */
/* sampled validation                                                  */
/* ------------------------------------------------------------------ */

void sampler_init(struct sampler *sm, enum val_mode m, bool have_size,
		  uint64_t size)
{
	sm->full_to = UINT64_MAX;
	sm->tail_from = UINT64_MAX;
	if (m == VAL_AUTO && have_size && size <= VAL_FULL_MAX)
		return;				/* full */
	if (m == VAL_AUTO && !have_size) {
		sm->full_to = VAL_FULL_MAX;	/* tail: at end of stream */
		return;
	}
	if (m == VAL_AUTO || m == VAL_SAMPLED) {
		sm->full_to = VAL_EDGE;
		if (have_size)
			sm->tail_from = size > VAL_EDGE ? size - VAL_EDGE : 0;
	}
}

bool sampler_at(const struct sampler *sm, uint64_t x, uint64_t *end)
{
	uint64_t w;

	if (x >= sm->tail_from) {
		*end = UINT64_MAX;
		return true;
	}
	if (x < sm->full_to) {
		*end = sm->full_to < sm->tail_from ? sm->full_to : sm->tail_from;
		return true;
	}
	w = x - x % VAL_PERIOD;
	if (x < w + VAL_WINDOW) {
		*end = w + VAL_WINDOW;
	} else {
		*end = w + VAL_PERIOD;
		if (*end < w)	/* overflow near UINT64_MAX */
			*end = UINT64_MAX;
	}
	if (*end > sm->tail_from)
		*end = sm->tail_from;
	return x < w + VAL_WINDOW;
}

int parse_validate(const char *s, enum val_mode *m)
{
	static const char *const names[] = { "auto", "full", "sampled", "off" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*m = (enum val_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *val_mode_name(enum val_mode m)
{
	switch (m) {
	case VAL_FULL: return "full";
	case VAL_SAMPLED: return "sampled";
	case VAL_OFF: return "off";
	default: return "auto";
	}
}
