// SPDX-License-Identifier: MIT
/*
 * tier A: the CLI's ncdevmem pattern generator and validator against an
 * independent oracle (every modulus, random split points, wrap, state kept
 * across calls, mismatch offsets), plus size and address parsing.
 */
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
	T_CHECK(parse_addr("example.com", 1, AF_UNSPEC, &ss, &sl) < 0, "name");
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
	printf("ok\n");
	return T_PASS;
}
