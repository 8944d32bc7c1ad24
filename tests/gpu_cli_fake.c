// SPDX-License-Identifier: MIT
/*
 * Tier B: `devmemtcp server --buffer cuda` and `client --buffer cuda` over
 * real TCP on loopback, with the FAKE CUDA driver (tests/fake_cuda.c,
 * through DMT_CUDA_LIB). The fake is host memory behind fake device
 * addresses that the CPU cannot dereference, so the CLI has to go through
 * the staging engines and read the data back with dmt_buf_read() to check
 * it, exactly as with a GPU; no GPU and no NVIDIA driver is involved, and
 * nothing here says anything about real CUDA speed.
 *  1. 64 MiB, both ends staged, validation full (checked_bytes = 64 MiB);
 *  2. 256 MiB with --validate sampled: checked_bytes equals what the rule
 *     of docs/gpu.md predicts (computed here from the rule's text);
 *  3. socat sends a pattern file with one wrong byte inside a sampled
 *     window: the server fails (exit 1) with that mismatch offset;
 *  4. the wrong byte outside every window is not seen (exit 0): the
 *     sample is exactly the rule, not more;
 *  5. without --size, a wrong byte in the last 64 MiB is found by the
 *     read-back of the receive ring at the end of the stream;
 *  6. `devmemtcp demo --buffer cuda --size 64M` passes;
 *  7. `devmemtcp bench --buffer cuda` measures auto (staging) and staged.
 */
#include <stdint.h>

#include "cli_util.h"

#define MiB (1ull << 20)
#define V 251

static char dir[64];

static void cleanup(void)	/* also when a check fails (exit) */
{
	if (dir[0])
		cu_rmdir(dir);
	dir[0] = '\0';
}

/* Bytes the rule checks of a T-byte transfer (T a multiple of 1 MiB)
 * when sampled: the first and last 64 MiB, and the first 1 MiB of every
 * other 64 MiB block. */
static uint64_t rule_bytes(uint64_t T)
{
	uint64_t units = T / MiB, n = 0;

	for (uint64_t u = 0; u < units; u++)
		n += u < 64 || u + 64 >= units || u % 64 == 0;
	return n * MiB;
}

/* Start a server with extra arguments; returns its pid, *port set. */
static pid_t server(const char *out, const char *const extra[], int *port)
{
	char *argv[32], lis[128];
	int n = 0;
	pid_t pid;

	argv[n++] = (char *)t_cli(); argv[n++] = "server"; argv[n++] = "-V";
	argv[n++] = "-s"; argv[n++] = "127.0.0.1";
	argv[n++] = "-p"; argv[n++] = "0";
	argv[n++] = "-v"; argv[n++] = "251";
	argv[n++] = "-i"; argv[n++] = "0";
	argv[n++] = "--timeout"; argv[n++] = "20";
	argv[n++] = "--buffer"; argv[n++] = "cuda";
	for (int i = 0; extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	unlink(out);
	pid = cu_spawn(argv, NULL, out, NULL);
	if (cu_wait_kv(out, "listen", pid, lis, sizeof(lis), 10) < 0) {
		char *t = cu_slurp(out, NULL);

		fprintf(stderr, "server did not listen:\n%s\n", t ? t : "");
		free(t);
		cu_wait(pid, 2);
		exit(T_FAIL);
	}
	*port = cu_port_of(lis);
	return pid;
}

/* Wait for the server; its output, exit status in *rc. Caller frees. */
static char *server_end(pid_t pid, const char *out, int *rc)
{
	char *t;

	*rc = cu_wait(pid, 60);
	t = cu_slurp(out, NULL);
	T_CHECK(t, "no server output");
	return t;
}

static uint64_t kv_u64(const char *text, const char *key)
{
	const char *v = cu_kv(text, key);

	T_CHECK(v, "no %s= in:\n%s", key, text);
	return strtoull(v, NULL, 10);
}

static void expect_kv(const char *text, const char *key, const char *want)
{
	const char *v = cu_kv(text, key);

	T_CHECK(v && !strcmp(v, want), "%s=%s, want %s:\n%s", key, v ? v : "?",
		want, text);
}

/* client --buffer cuda of size bytes; returns its exit status. */
static int client(int port, const char *size, const char *out)
{
	char ps[16];
	char *argv[] = { (char *)t_cli(), "client", "-s", "127.0.0.1", "-p", ps,
			 "-v", "251", "--size", (char *)size, "--buffer", "cuda",
			 "-i", "0", "--timeout", "20", "-V", NULL };

	snprintf(ps, sizeof(ps), "%d", port);
	return cu_wait(cu_spawn(argv, NULL, out, NULL), 60);
}

/* socat sends file to port; returns its exit status. */
static int socat(int port, const char *file)
{
	char dst[64];
	char *argv[] = { "socat", "-u", (char *)file, dst, NULL };

	snprintf(dst, sizeof(dst), "TCP:127.0.0.1:%d", port);
	return cu_wait(cu_spawn(argv, NULL, "/dev/null", NULL), 60);
}

static void flip(const char *file, uint64_t off, unsigned char *saved)
{
	FILE *f = fopen(file, "r+b");
	unsigned char c;

	T_CHECK(f, "%s: %s", file, strerror(errno));
	T_CHECK(fseek(f, (long)off, SEEK_SET) == 0 && fread(&c, 1, 1, f) == 1,
		"read %s", file);
	if (saved)
		*saved = c;
	c ^= 0x5a;
	T_CHECK(fseek(f, (long)off, SEEK_SET) == 0 && fwrite(&c, 1, 1, f) == 1,
		"write %s", file);
	T_CHECK(fclose(f) == 0, "close %s", file);
}

int main(void)
{
	const uint64_t big = 256 * MiB, want_sampled = rule_bytes(256 * MiB);
	char so[128], co[128], pat[128], off[32];
	char *st, *ct;
	int port, rs, rc;
	pid_t sp;

	T_SKIP_IF(access(t_cli(), X_OK) != 0, "the devmemtcp CLI (%s) is not "
		  "built", t_cli());
	T_SKIP_IF(!cu_have("socat"), "socat is not installed");
	T_CHECK(setenv("DMT_CUDA_LIB", FAKE_CUDA_LIB, 1) == 0, "setenv");
	unsetenv("DMT_ROCM_LIB");
	cu_tmpdir(dir, sizeof(dir));
	atexit(cleanup);
	snprintf(so, sizeof(so), "%s/server.out", dir);
	snprintf(co, sizeof(co), "%s/client.out", dir);
	snprintf(pat, sizeof(pat), "%s/pattern", dir);

	/* 1: 64 MiB, full validation */
	{
		const char *x[] = { "--size", "64M", NULL };

		sp = server(so, x, &port);
		rc = client(port, "64M", co);
		st = server_end(sp, so, &rs);
		ct = cu_slurp(co, NULL);
		T_CHECK(rc == 0 && rs == 0, "64M: client %d server %d\n%s\n%s", rc,
			rs, ct, st);
		expect_kv(st, "buffer", "cuda");
		expect_kv(st, "engine", "staged");
		T_CHECK(strstr(cu_kv(st, "engine_reason"), "cuda buffer: devmem RX "
			"unavailable (") && strstr(cu_kv(st, "engine_reason"),
			"); staging through host memory"), "reason: %s",
			cu_kv(st, "engine_reason"));
		expect_kv(ct, "engine", "staged");
		T_CHECK(kv_u64(st, "bytes") == 64 * MiB, "bytes");
		expect_kv(st, "validation_mode", "full");
		T_CHECK(kv_u64(st, "checked_bytes") == 64 * MiB, "checked %s",
			cu_kv(st, "checked_bytes"));
		expect_kv(st, "mismatches", "0");
		cu_cp(off, sizeof(off), st, "throughput_GBps");
		printf("1. 64 MiB cuda -> cuda: staged both ends, %llu bytes "
		       "checked (full), %s GB/s (fake driver: host memcpy)\n",
		       (unsigned long long)kv_u64(st, "checked_bytes"), off);
		free(st);
		free(ct);
	}

	/* 2: 256 MiB, --validate sampled: the rule's figure */
	{
		const char *x[] = { "--size", "256M", "--validate", "sampled", NULL };

		sp = server(so, x, &port);
		rc = client(port, "256M", co);
		st = server_end(sp, so, &rs);
		T_CHECK(rc == 0 && rs == 0, "256M: client %d server %d\n%s", rc, rs,
			st);
		T_CHECK(kv_u64(st, "bytes") == big, "bytes");
		expect_kv(st, "validation_mode", "sampled");
		T_CHECK(kv_u64(st, "checked_bytes") == want_sampled, "checked %s, "
			"the rule says %llu", cu_kv(st, "checked_bytes"),
			(unsigned long long)want_sampled);
		T_CHECK(strstr(st, "validation=sampled: "), "summary:\n%s", st);
		printf("2. 256 MiB sampled: %llu bytes checked = the rule's %llu\n",
		       (unsigned long long)kv_u64(st, "checked_bytes"),
		       (unsigned long long)want_sampled);
		free(st);
	}

	/* 3-5: socat sends a pattern file with one wrong byte */
	cu_write_pattern(pat, big, V);
	{
		const uint64_t in_win = 128 * MiB + 4097;	/* window of block 2 */
		const char *x[] = { "--size", "256M", "--validate", "sampled", NULL };
		unsigned char keep;

		flip(pat, in_win, &keep);
		sp = server(so, x, &port);
		rc = socat(port, pat);
		st = server_end(sp, so, &rs);
		snprintf(off, sizeof(off), "%llu", (unsigned long long)in_win);
		T_CHECK(rc == 0 && rs == 1, "in window: socat %d server %d (want "
			"1)\n%s", rc, rs, st);
		expect_kv(st, "mismatches", "1");
		expect_kv(st, "mismatch_offsets", off);
		T_CHECK(kv_u64(st, "checked_bytes") == want_sampled, "checked");
		printf("3. wrong byte at %s (a sampled window): server exit 1, "
		       "mismatch_offsets=%s\n", off, off);
		free(st);
		flip(pat, in_win, NULL);	/* back to the pattern */
	}
	{
		const uint64_t outside = 100 * MiB + 5;	/* no window there */
		const char *x[] = { "--size", "256M", "--validate", "sampled", NULL };

		flip(pat, outside, NULL);
		sp = server(so, x, &port);
		rc = socat(port, pat);
		st = server_end(sp, so, &rs);
		T_CHECK(rc == 0 && rs == 0, "outside: socat %d server %d (want 0: "
			"the byte is not sampled)\n%s", rc, rs, st);
		expect_kv(st, "mismatches", "0");
		printf("4. wrong byte at %llu (outside the sample): not seen, as "
		       "documented (exit 0)\n", (unsigned long long)outside);
		free(st);
		flip(pat, outside, NULL);
	}
	{
		const uint64_t tail = big - 4096 - 3;	/* last 64 MiB */
		const char *x[] = { "--validate", "sampled", NULL };	/* no --size */

		flip(pat, tail, NULL);
		sp = server(so, x, &port);
		rc = socat(port, pat);
		st = server_end(sp, so, &rs);
		snprintf(off, sizeof(off), "%llu", (unsigned long long)tail);
		T_CHECK(rc == 0 && rs == 1, "tail: socat %d server %d (want 1)\n%s",
			rc, rs, st);
		expect_kv(st, "mismatch_offsets", off);
		T_CHECK(kv_u64(st, "bytes") == big, "bytes");
		T_CHECK(kv_u64(st, "checked_bytes") == want_sampled, "checked %s",
			cu_kv(st, "checked_bytes"));
		printf("5. no --size, wrong byte at %s (last 64 MiB): found by the "
		       "end-of-stream read-back, %llu bytes checked\n", off,
		       (unsigned long long)kv_u64(st, "checked_bytes"));
		free(st);
	}
	unlink(pat);

	/* 6: the demo */
	{
		char cmd[512], text[8192];

		snprintf(cmd, sizeof(cmd), "timeout 100 %s demo --buffer cuda "
			 "--size 64M", t_cli());
		rc = t_run(cmd, text, sizeof(text));
		T_CHECK(rc == 0 && strstr(text, "demo: PASS") &&
			strstr(text, "server engine: staged (cuda buffer:") &&
			strstr(text, "engine: staged (cuda buffer:") &&
			strstr(text, " 0 mismatches"), "demo exit %d:\n%s", rc, text);
		printf("6. demo --buffer cuda --size 64M: PASS\n");
	}

	/* 7: bench with GPU memory: auto (which stages) and a staged row */
	{
		char cmd[512], text[8192];

		snprintf(cmd, sizeof(cmd), "timeout 100 %s bench --buffer cuda "
			 "--sizes 1M --reps 1 --bytes 32M --json -q --port %d",
			 t_cli(), 20000 + (int)(getpid() % 20000));
		rc = t_run(cmd, text, sizeof(text));
		T_CHECK(rc == 0 && strstr(text, "\"buffer\": \"cuda\"") &&
			strstr(text, "{\"engine\": \"staged\", \"engine_used\": "
			       "\"staged\"") &&
			strstr(text, "{\"engine\": \"auto\", \"engine_used\": "
			       "\"staged\"") && !strstr(text, "\"ok\": false"),
			"bench exit %d:\n%s", rc, text);
		printf("7. bench --buffer cuda: rows auto (staged) and staged\n");
	}
	cleanup();
	printf("PASS\n");
	return T_PASS;
}
