// SPDX-License-Identifier: MIT
/* tier B: SO_DEVMEM_DONTNEED's argument rules on this kernel, on a real
 * TCP connection over loopback (host-facts §3): 0 freed for unknown
 * tokens, EINVAL for 129 entries or an optlen that is not a multiple of 8,
 * EBADF on UDP; and the library's batcher within those rules: every batch
 * it sends (128 entries, 1024 frags) is accepted, the shortfall of
 * unknown tokens is reported, errors carry a sentence. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"
#include "rx.h"

static int tcp_pair(int *cfd, int *afd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int port = 0, lfd = t_listen("127.0.0.1", &port);

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_CHECK(*cfd >= 0 && connect(*cfd, (struct sockaddr *)&a, sizeof(a)) == 0,
		"connect");
	*afd = accept(lfd, NULL, NULL);
	T_CHECK(*afd >= 0, "accept");
	return lfd;
}

static int raw(int fd, const void *p, socklen_t len)
{
	int r = setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, p, len);

	return r < 0 ? -errno : r;
}

int main(void)
{
	static struct dmt_uapi_dmabuf_token tok[200];
	static struct dmt_frag fr[3000];
	struct dmt_tok_result res;
	int cfd, afd, lfd, ufd, ret;

	t_require_root();
	lfd = tcp_pair(&cfd, &afd);
	for (int i = 0; i < 200; i++)
		tok[i] = (struct dmt_uapi_dmabuf_token){ 1000 + 2 * i, 1 };

	/* the kernel's rules, asked directly */
	T_CHECK(raw(afd, tok, 8) == 0, "unknown token: 0 freed");
	tok[0].token_count = 1000;
	T_CHECK(raw(afd, tok, 8) == 0, "unknown run of 1000: 0 freed");
	tok[0].token_count = 1;
	T_CHECK(raw(afd, tok, 128 * 8) == 0, "128 entries accepted");
	ret = raw(afd, tok, 129 * 8);
	T_CHECK(ret == -EINVAL, "129 entries: %d", ret);
	ret = raw(afd, tok, 12);
	T_CHECK(ret == -EINVAL, "optlen 12: %d", ret);
	ret = raw(afd, tok, 0);
	T_CHECK(ret == -EINVAL, "optlen 0: %d", ret);
	ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ret = raw(ufd, tok, 8);
	T_CHECK(ret == -EBADF, "UDP: %d", ret);

	/* the batcher against the real kernel: 3000 non-contiguous tokens
	 * make ceil(3000/128) = 24 calls, all accepted, 0 freed */
	for (int i = 0; i < 3000; i++)
		fr[i] = (struct dmt_frag){ .len = 4096, .token = 5 + 3 * (uint32_t)i,
					   .binding = 1 };
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(afd, fr, 3000, dmt_dontneed_sys, NULL, &res);
	T_CHECK(ret == -ENOENT, "unknown tokens reported: %d", ret);
	T_CHECK(res.calls == 24 && res.requested == 3000 && res.freed == 0 &&
		res.max_entries == 128, "calls %u requested %llu freed %llu",
		res.calls, (unsigned long long)res.requested,
		(unsigned long long)res.freed);
	printf("  3000 scattered tokens: %u SO_DEVMEM_DONTNEED calls, all "
	       "accepted\n", res.calls);
	/* 3000 contiguous: runs cut at 1024 frags: 3 calls */
	for (int i = 0; i < 3000; i++)
		fr[i].token = 7 + (uint32_t)i;
	memset(&res, 0, sizeof(res));
	ret = dmt_tokens_release(afd, fr, 3000, dmt_dontneed_sys, NULL, &res);
	T_CHECK(ret == -ENOENT && res.calls == 3 && res.max_frags == 1024,
		"contiguous: %d calls %u", ret, res.calls);
	printf("  3000 contiguous tokens: %u calls\n", res.calls);

	/* through dmt_rx: the sentence, the stats */
	{
		DMT_OPTS(dmt_rx_stats, st);
		struct dmt_buf *buf;
		struct dmt_error e;
		struct dmt_rx *rx;

		buf = dmt_buf_new(DMT_BUF_HOST, 1 << 20, NULL, &e);
		T_CHECK(buf, "%s", e.message);
		rx = dmt_rx_from_fd(NULL, buf, afd, NULL, &e);
		T_CHECK(rx && dmt_rx_test_force_devmem(rx, 1, false) == 0, "rx");
		ret = dmt_rx_release(rx, fr, 10);
		T_CHECK(ret == -ENOENT, "%d", ret);
		T_CHECK(strstr(dmt_rx_last_error(rx)->message, "freed 0 of 10"),
			"%s", dmt_rx_last_error(rx)->message);
		printf("  %s\n", dmt_rx_last_error(rx)->message);
		dmt_rx_get_stats(rx, &st);
		T_CHECK(st.dontneed_calls == 1 && st.tokens_released == 0, "stats");
		dmt_rx_free(rx);
		rx = dmt_rx_from_fd(NULL, buf, ufd, NULL, &e);
		T_CHECK(rx && dmt_rx_test_force_devmem(rx, 1, false) == 0, "rx");
		ret = dmt_rx_release(rx, fr, 10);
		T_CHECK(ret == -EBADF && strstr(dmt_rx_last_error(rx)->message,
						"SO_DEVMEM_DONTNEED failed"),
			"UDP: %d %s", ret, dmt_rx_last_error(rx)->message);
		dmt_rx_free(rx);
		dmt_buf_free(buf);
	}
	close(ufd);
	close(cfd);
	close(afd);
	close(lfd);
	printf("rx_dontneed: ok\n");
	return T_PASS;
}
