// SPDX-License-Identifier: MIT
/*
 * devmemtcp client: options, their validation, the configuration for
 * client_run().
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <devmemtcp.h>

#include "cli.h"
#include "client.h"
#include "common.h"
#include "json_out.h"
#include "session.h"
#include "stream.h"
#include <getopt.h>
#include <net/if.h>

static void client_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp client -s SERVER [-p PORT] [-c CLIENT] [--cport PORT]\n"
"                        [-v MOD] [-z CHUNK] [-f IFNAME] [--engine E]\n"
"                        [--size N | -t SEC] [-P N] [-R | --bidir]\n"
"                        [--buffer B] [--buffer-size N] [--msg-size N]\n"
"                        [-i SEC] [--format F] [-V] [--json]\n"
"  -s ADDR          server address or host name (IPv4 or IPv6, fe80::1%%eth0)\n"
"  -p PORT          server port (default %u)\n"
"  -c ADDR          client (source) address to bind; the source port is\n"
"                   -p's too (as ncdevmem: the server's -c flow rule)\n"
"  --cport PORT     source port to bind (0: any; -P N: PORT..PORT+N-1)\n"
"  -v MOD           validation pattern modulus 2..256 (with --size or -t;\n"
"                   default 256)\n"
"  -z N             split each send into iovecs of at most N bytes\n"
"  -f IFNAME        egress interface for devmem (default: route lookup)\n"
"  --engine E       auto|devmem|uring|zerocopy|copy|staged (default auto)\n"
"  --size N         send N bytes of the pattern (K/M/G suffixes); else stdin\n"
"  -t SEC           send the pattern for SEC seconds (instead of --size)\n"
"  -P N             N parallel streams (connections), each verified, 1..%d\n"
"  -R               reverse: the server sends, this client receives and\n"
"                   validates the pattern\n"
"  --bidir          both directions at once on each connection\n"
"  --buffer B       auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N] (default auto)\n"
"  --buffer-size N  send buffer size (default 8M)\n"
"  --msg-size N     bytes per send call (default 256K)\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --format F       units: a (auto, default), k|m|g (Kbits|Mbits|Gbits/sec),\n"
"                   K|M|G (KBytes|MBytes|GBytes/sec)\n"
"  -V, --verbose    also the configuration as key=value lines\n"
"  --timeout SEC    bound on every wait: connect, a send making no progress,\n"
"                   completions and the server's result at the end\n"
"                   (default 30)\n"
"  --json           one JSON document on stdout\n"
"  --json-stream    JSON lines: start, each interval, end\n", CLI_DEFAULT_PORT,
	SESS_MAX_STREAMS);
}

enum { O_ENGINE = 256, O_SIZE, O_BUFFER, O_BUFSIZE, O_MSGSIZE, O_JSON,
       O_TIMEOUT, O_JSON_STREAM, O_BIDIR, O_FORMAT, O_CPORT };

static const struct option client_opts[] = {
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "buffer-size", required_argument, NULL, O_BUFSIZE },
	{ "msg-size", required_argument, NULL, O_MSGSIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "json-stream", no_argument, NULL, O_JSON_STREAM },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "interval", required_argument, NULL, 'i' },
	{ "time", required_argument, NULL, 't' },
	{ "parallel", required_argument, NULL, 'P' },
	{ "reverse", no_argument, NULL, 'R' },
	{ "bidir", no_argument, NULL, O_BIDIR },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "verbose", no_argument, NULL, 'V' },
	{ "cport", required_argument, NULL, O_CPORT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_client(int argc, char **argv)
{
	struct client_cfg c = {
		.port = CLI_DEFAULT_PORT, .engine = DMT_ENGINE_AUTO,
		.buf_size = CLI_DEFAULT_BUF, .msg_size = CLI_DEFAULT_MSG,
		.interval = 1, .timeout_s = 30,
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t u;
	int opt, ret;
	bool json_stream = false;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:c:p:v:z:f:i:t:P:RVh", client_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 's':
			c.server = optarg;
			break;
		case 'c':
			c.client = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, 65535, &u))
				return usage_error("client", "bad port '%s' (-p): "
						   "give 1..65535", optarg);
			c.port = (unsigned int)u;
			break;
		case 'v':
			if (parse_uint(optarg, 2, PAT_MAX_V, &u))
				return usage_error("client", "bad validation modulus "
						   "'%s' (-v): give 2..256", optarg);
			c.v = (unsigned int)u;
			break;
		case 'z':
			if (parse_size(optarg, &c.chunk) || c.chunk == 0)
				return usage_error("client", "bad chunk size '%s' "
						   "(-z): give a size > 0, e.g. 4096 "
						   "or 64K", optarg);
			break;
		case 'f':
			c.ifname = optarg;
			break;
		case 'i':
			if ((ret = opt_interval("client", optarg, &c.interval)))
				return ret;
			break;
		case 't':
			if (parse_seconds(optarg, &c.time_s) || c.time_s <= 0)
				return usage_error("client", "bad time '%s' (-t): "
						   "give seconds > 0, e.g. 10 or "
						   "0.5", optarg);
			break;
		case 'P':
			if (parse_uint(optarg, 1, SESS_MAX_STREAMS, &u))
				return usage_error("client", "bad stream count '%s' "
						   "(-P): give 1..%d", optarg,
						   SESS_MAX_STREAMS);
			c.streams = (unsigned int)u;
			break;
		case 'R':
			if (c.dir == SESS_BIDIR)
				return usage_error("client", "-R and --bidir both "
						   "given: give one");
			c.dir = SESS_REV;
			break;
		case O_BIDIR:
			if (c.dir == SESS_REV)
				return usage_error("client", "-R and --bidir both "
						   "given: give one");
			c.dir = SESS_BIDIR;
			break;
		case 'V':
			out_set_verbose(true);
			break;
		case O_FORMAT:
			if (out_set_format(optarg))
				return usage_error("client", "bad format '%s' "
						   "(--format): give a, k, m, g, K, M "
						   "or G", optarg);
			break;
		case O_CPORT:
			if (parse_uint(optarg, 0, 65535, &u))
				return usage_error("client", "bad source port '%s' "
						   "(--cport): give 0..65535", optarg);
			c.cport = (unsigned int)u;
			c.have_cport = true;
			break;
		case O_ENGINE:
			if ((ret = opt_tx_engine("client", optarg, true, &c.engine)))
				return ret;
			break;
		case O_SIZE:
			if (parse_size(optarg, &c.size) || c.size == 0)
				return usage_error("client", "bad size '%s' (--size):"
						   " give bytes > 0 with an optional "
						   "K/M/G suffix", optarg);
			c.have_size = true;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("client", optarg, &c.buf)))
				return ret;
			break;
		case O_BUFSIZE:
			if ((ret = opt_buffer_size("client", optarg, &c.buf_size)))
				return ret;
			break;
		case O_MSGSIZE:
			if (parse_size(optarg, &c.msg_size) || c.msg_size == 0 ||
			    c.msg_size > (1ull << 30))
				return usage_error("client", "bad message size '%s' "
						   "(--msg-size): give 1..1G", optarg);
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_JSON_STREAM:
			c.json = json_stream = true;
			break;
		case O_TIMEOUT:
			if ((ret = opt_timeout("client", optarg, &c.timeout_s)))
				return ret;
			break;
		case 'h':
			return help_out("client", client_usage);
		default:
			return getopt_error("client", opt, argv);
		}
	}
	jout_set(c.json, json_stream);
	if (optind < argc)
		return extra_args_error("client", argc, argv);
	if (!c.server || !c.server[0])
		return usage_error("client", "no server address: give -s ADDR");
	if (c.have_size && c.time_s > 0)
		return usage_error("client", "--size and -t both given: give one, "
				   "a byte count or a duration");
	if (!c.have_size && !(c.time_s > 0) && (c.streams > 1 || c.dir))
		return usage_error("client", "%s sends the pattern: give --size N "
				   "or -t SEC (stdin is one forward stream)",
				   c.streams > 1 ? "-P" : c.dir == SESS_REV ? "-R" :
				   "--bidir");
	if (c.dir == SESS_REV && (c.engine != DMT_ENGINE_AUTO ||
				  (c.buf.kind && c.buf.kind != DMT_BUF_HOST)))
		return usage_error("client", "-R receives into host memory (the "
				   "server sends): --engine and --buffer choose "
				   "how to send; leave them out, or use --bidir");
	if (c.have_cport && c.cport && c.cport + (c.streams ? c.streams : 1) - 1 >
	    65535)
		return usage_error("client", "--cport %u with -P %u runs past port "
				   "65535: give a lower --cport", c.cport,
				   c.streams);
	if (parse_addr(c.server, c.port, AF_UNSPEC, &ss, &sl))
		return usage_error("client", "bad server address '%s' (-s): give "
				   "an IPv4 or IPv6 address or a host name that "
				   "resolves", c.server);
	if (c.client) {
		struct sockaddr_storage cs;
		socklen_t cl;

		if (parse_addr(c.client, 0, AF_UNSPEC, &cs, &cl))
			return usage_error("client", "bad client address '%s' "
					   "(-c): give an IPv4 or IPv6 address",
					   c.client);
		if (cs.ss_family != ss.ss_family)
			return usage_error("client", "client address '%s' and "
					   "server address '%s' are of different "
					   "families: use both IPv4 or both IPv6",
					   c.client, c.server);
	}
	if (c.ifname && !if_nametoindex(c.ifname))
		return usage_error("client", "no interface '%s' (-f): see 'ip "
				   "link' for the names", c.ifname);
	if (c.chunk && (c.msg_size + c.chunk - 1) / c.chunk > SND_MAX_SEGS)
		return usage_error("client", "chunk size %" PRIu64 " (-z) splits "
				   "a %" PRIu64 "-byte send into more than %d "
				   "iovecs: raise -z or lower --msg-size",
				   c.chunk, c.msg_size, SND_MAX_SEGS);
	if (!buf_choice_gpu(&c.buf) &&
	    (ret = check_buffer_fits("client", c.buf_size)))
		return ret;
	signal(SIGPIPE, SIG_IGN);	/* a closed peer is an error, not a kill */
	cli_catch_stop();	/* SIGINT/SIGTERM: stop, report, exit 1 */
	return client_run(&c);
}
