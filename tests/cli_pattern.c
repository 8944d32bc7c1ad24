// SPDX-License-Identifier: MIT
/*
 * tier A: the CLI's ncdevmem pattern generator and validator against an
 * independent oracle (every modulus, random split points, wrap, state kept
 * across calls, mismatch offsets), plus size and address parsing, and the
 * sampled-validation rule (struct sampler) against its own statement.
 */
#include <net/if.h>
#include <arpa/inet.h>
#include <stdint.h>

#include "cli_util.h"
#include "common.h"

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Generate n bytes in random pieces; compare with the oracle. */
static void check_fill(unsigned int v, size_t n)
{
	unsigned char *b = malloc(n);
	struct pat p;
	size_t done = 0;

	T_CHECK(b && pat_init(&p, v) == 0, "init v=%u", v);
	while (done < n) {
		size_t k = 1 + rnd() % (n / 7 + 1);

		if (k > n - done)
			k = n - done;
		pat_fill(&p, b + done, k);
		done += k;
	}
	for (size_t i = 0; i < n; i++)
		T_CHECK(b[i] == oracle_byte(i, v), "v=%u byte %zu: 0x%02x != 0x%02x",
			v, i, b[i], oracle_byte(i, v));
	T_CHECK(p.pos == n, "pos %llu", (unsigned long long)p.pos);
	pat_free(&p);

	/* the validator accepts it in other random pieces */
	T_CHECK(pat_init(&p, v) == 0, "init");
	for (done = 0; done < n;) {
		size_t k = 1 + rnd() % 70000;

		if (k > n - done)
			k = n - done;
		T_CHECK(pat_check(&p, b + done, k) == 0, "v=%u: clean data flagged at "
			"%zu", v, done);
		done += k;
	}
	T_CHECK(p.mismatches == 0 && p.nbad == 0, "v=%u mismatches", v);
	pat_free(&p);
	free(b);
}

static void check_mismatch(void)
{
	const unsigned int v = 251;
	const size_t n = 300000;
	const size_t bad[] = { 0, 250, 251, 65535, 65536, 131073, 299999 };
	unsigned char *b = malloc(n);
	struct pat p;

	T_CHECK(b, "oom");
	for (size_t i = 0; i < n; i++)
		b[i] = oracle_byte(i, v);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		b[bad[i]] ^= 0x40;
	T_CHECK(pat_init(&p, v) == 0, "init");
	/* split so that a mismatch sits right at a call boundary */
	T_CHECK(pat_check(&p, b, 251) == 2, "first call finds offsets 0, 250");
	T_CHECK(pat_check(&p, b + 251, 65536 - 251) == 2, "251 and 65535");
	T_CHECK(pat_check(&p, b + 65536, n - 65536) == 3, "rest");
	T_CHECK(p.mismatches == 7, "total %llu", (unsigned long long)p.mismatches);
	T_CHECK(p.nbad == 7, "recorded %u", p.nbad);
	for (unsigned int i = 0; i < p.nbad; i++) {
		T_CHECK(p.bad[i].off == bad[i], "offset %u: %llu != %zu", i,
			(unsigned long long)p.bad[i].off, bad[i]);
		T_CHECK(p.bad[i].want == oracle_byte(bad[i], v) &&
			p.bad[i].got == (oracle_byte(bad[i], v) ^ 0x40),
			"got/want at %zu", bad[i]);
	}
	pat_free(&p);

	/* a stream shifted by one byte is all wrong, and only the first
	 * PAT_MAX_BAD offsets are kept */
	T_CHECK(pat_init(&p, v) == 0, "init");
	T_CHECK(pat_check(&p, b + 1, 1000) == 1000, "shifted stream");
	T_CHECK(p.nbad == PAT_MAX_BAD, "kept %u", p.nbad);
	pat_free(&p);
	free(b);
}

static void check_parse(void)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t u;
	char a[80];

	T_CHECK(parse_size("4096", &u) == 0 && u == 4096, "4096");
	T_CHECK(parse_size("64M", &u) == 0 && u == 64ull << 20, "64M");
	T_CHECK(parse_size("1g", &u) == 0 && u == 1ull << 30, "1g");
	T_CHECK(parse_size("2GiB", &u) == 0 && u == 2ull << 30, "2GiB");
	T_CHECK(parse_size("512k", &u) == 0 && u == 512ull << 10, "512k");
	T_CHECK(parse_size("garbage", &u) < 0, "garbage");
	T_CHECK(parse_size("12Q", &u) < 0, "12Q");
	T_CHECK(parse_size("-5", &u) < 0, "-5");
	T_CHECK(parse_size("", &u) < 0, "empty");
	T_CHECK(parse_size("99999999999999999999", &u) < 0, "overflow");
	T_CHECK(parse_size("20000000T", &u) < 0, "shift overflow");
	T_CHECK(parse_uint("70000", 1, 65535, &u) < 0, "port range");
	T_CHECK(parse_uint("80", 1, 65535, &u) == 0 && u == 80, "80");

	T_CHECK(parse_addr("127.0.0.1", 5201, AF_UNSPEC, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET && sl == sizeof(struct sockaddr_in),
		"IPv4");
	T_CHECK(!strcmp(addr_str((struct sockaddr *)&ss, a, sizeof(a)),
			"127.0.0.1:5201"), "%s", a);
	T_CHECK(parse_addr("::ffff:198.18.0.2", 1, AF_UNSPEC, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET, "v4-mapped becomes IPv4");
	T_CHECK(!strcmp(addr_str((struct sockaddr *)&ss, a, sizeof(a)),
			"198.18.0.2:1"), "%s", a);
	T_CHECK(parse_addr("fe80::1", 7, AF_UNSPEC, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET6, "IPv6");
	T_CHECK(!strcmp(addr_str((struct sockaddr *)&ss, a, sizeof(a)),
			"[fe80::1]:7"), "%s", a);
	T_CHECK(parse_addr(NULL, 9, AF_UNSPEC, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET6, "wildcard");
	T_CHECK(parse_addr("999.1.1.1", 1, AF_UNSPEC, &ss, &sl) < 0, "bad v4");
	T_CHECK(parse_addr("bad name!", 1, AF_UNSPEC, &ss, &sl) < 0, "name");
	T_CHECK(parse_addr("", 1, AF_UNSPEC, &ss, &sl) < 0, "empty");
	T_CHECK(parse_addr("localhost", 3, AF_INET, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET, "host name");
	T_CHECK(!strcmp(addr_str((struct sockaddr *)&ss, a, sizeof(a)),
			"127.0.0.1:3"), "%s", a);
	T_CHECK(parse_addr("fe80::1%lo", 7, AF_UNSPEC, &ss, &sl) == 0 &&
		ss.ss_family == AF_INET6 &&
		((struct sockaddr_in6 *)&ss)->sin6_scope_id == if_nametoindex("lo"),
		"scoped IPv6");
	T_CHECK(!strcmp(addr_str((struct sockaddr *)&ss, a, sizeof(a)),
			"[fe80::1%lo]:7"), "%s", a);
	T_CHECK(parse_addr("1.2.3.4", 70000, AF_UNSPEC, &ss, &sl) < 0, "port");

	{
		struct buf_choice c;

		T_CHECK(parse_buffer("host", &c) == 0 && c.kind == DMT_BUF_HOST, "host");
		T_CHECK(parse_buffer("cuda:3", &c) == 0 && c.kind == DMT_BUF_CUDA &&
			c.device == 3, "cuda:3");
		T_CHECK(parse_buffer("auto", &c) == 0 && c.kind == 0, "auto");
		T_CHECK(parse_buffer("host:1", &c) < 0, "host:1");
		T_CHECK(parse_buffer("cuda:x", &c) < 0, "cuda:x");
		T_CHECK(parse_buffer("floppy", &c) < 0, "floppy");
	}
}

/*
 * The sampled-validation rule of docs/gpu.md, written out independently:
 * byte x of a T-byte transfer is checked when x < 64 MiB, x >= T - 64 MiB,
 * or x lies in the first 1 MiB of a 64 MiB block. tail: whether the end is
 * known (T - 64 MiB applies).
 */
static bool rule(uint64_t x, uint64_t T, bool tail)
{
	const uint64_t M = 1ull << 20;

	return x < 64 * M || (tail && x + 64 * M >= T) || x % (64 * M) < M;
}

/* Compare the sampler with the rule every 4 KiB of [0, T); returns the
 * bytes the sampler checks (summed over its own runs). */
static uint64_t check_sampler_vs_rule(const struct sampler *sm, uint64_t T,
				      uint64_t full_to, bool tail)
{
	uint64_t sum = 0, end;

	for (uint64_t x = 0; x < T; x += 4096) {
		bool want = x < full_to || rule(x, T, tail);
		bool got = sampler_at(sm, x, &end);

		T_CHECK(got == want, "T=%llu x=%llu: sampler says %d, rule %d",
			(unsigned long long)T, (unsigned long long)x, got, want);
		T_CHECK(end > x, "end %llu not after %llu", (unsigned long long)end,
			(unsigned long long)x);
	}
	for (uint64_t x = 0; x < T; x = end) {
		bool c = sampler_at(sm, x, &end);

		if (end > T)
			end = T;
		sum += c ? end - x : 0;
	}
	return sum;
}

static void check_sampler(void)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	struct sampler sm;
	uint64_t end, n;
	struct pat p;
	unsigned char b[4096];

	/* auto, known size up to 1 GiB: everything */
	sampler_init(&sm, VAL_AUTO, true, G);
	T_CHECK(sampler_at(&sm, 0, &end) && end == UINT64_MAX, "auto 1G: full");
	/* full: everything, whatever the size */
	sampler_init(&sm, VAL_FULL, true, 5 * G);
	T_CHECK(sampler_at(&sm, 3 * G, &end) && end == UINT64_MAX, "full");
	/* auto above 1 GiB, an odd size: first/last 64 MiB + windows */
	sampler_init(&sm, VAL_AUTO, true, 3 * G + 12288);
	n = check_sampler_vs_rule(&sm, 3 * G + 12288, 0, true);
	/* 3 GiB + 12 KiB: 64 MiB at each end; the windows of blocks 1..46
	 * lie before T - 64 MiB = 3008 MiB + 12 KiB, and block 47's window
	 * starts at 3008 MiB, so only its first 12 KiB are extra */
	T_CHECK(n == 128 * M + 46 * M + 12288, "auto 3G+12K: %llu bytes "
		"checked", (unsigned long long)n);
	/* sampled, 256 MiB: 64 + 64 + windows at 64 and 128 MiB */
	sampler_init(&sm, VAL_SAMPLED, true, 256 * M);
	n = check_sampler_vs_rule(&sm, 256 * M, 0, true);
	T_CHECK(n == 130 * M, "sampled 256M: %llu", (unsigned long long)n);
	/* sampled, 100 MiB: the edges cover everything */
	sampler_init(&sm, VAL_SAMPLED, true, 100 * M);
	T_CHECK(check_sampler_vs_rule(&sm, 100 * M, 0, true) == 100 * M,
		"sampled 100M");
	/* auto, size unknown: the first 1 GiB, then windows (the tail is the
	 * receiver's job at the end of the stream) */
	sampler_init(&sm, VAL_AUTO, false, 0);
	n = check_sampler_vs_rule(&sm, 3 * G, G, false);
	T_CHECK(n == G + 32 * M, "auto unknown 3G: %llu", (unsigned long long)n);

	/* pat_seek: checking out of order sees the right bytes */
	T_CHECK(pat_init(&p, 251) == 0, "init");
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = oracle_byte(777777 + i, 251);
	pat_seek(&p, 777777);
	T_CHECK(pat_check(&p, b, sizeof(b)) == 0, "seek: clean");
	b[100] ^= 0xff;
	pat_seek(&p, 777777);
	T_CHECK(pat_check(&p, b, sizeof(b)) == 1 && p.bad[0].off == 777877,
		"seek: one mismatch at 777877");
	pat_free(&p);
	printf("sampler: rule checked at 4 KiB steps (3 GiB + 12 KiB auto: "
	       "174 MiB + 12 KiB checked; 256 MiB sampled: 130 MiB)\n");
}

int main(void)
{
	struct pat p;

	T_CHECK(pat_init(&p, 1) < 0, "v=1 refused");
	T_CHECK(pat_init(&p, 257) < 0, "v=257 refused");
	T_CHECK(pat_init(&p, 0) == 0 && pat_check(&p, "xyz", 3) == 0 &&
		p.pos == 3, "v=0 counts only");
	pat_free(&p);

	/* the first bytes, spelled out: 1, 2, '\n', 1, ... for v = 3 */
	{
		unsigned char b[7];

		T_CHECK(pat_init(&p, 3) == 0, "init");
		pat_fill(&p, b, 4);
		pat_fill(&p, b + 4, 3);
		T_CHECK(!memcmp(b, "\x01\x02\n\x01\x02\n\x01", 7), "v=3 sequence");
		pat_free(&p);
	}
	for (unsigned int v = 2; v <= 256; v++)
		check_fill(v, v < 20 ? 1000 + v * 37 : 3 * 65536 + 777);
	check_fill(251, 4u << 20);
	check_fill(256, 1u << 20);
	check_mismatch();
	check_parse();
	check_sampler();
	printf("ok\n");
	return T_PASS;
}
