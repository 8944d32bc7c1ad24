// SPDX-License-Identifier: MIT
/* devmemtcp server: its options, their validation (usage errors, exit 2)
 * and its help text. The run is server_run() (server.c). */
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <devmemtcp.h>

#include "cli.h"
#include "common.h"
#include "json_out.h"

static void server_usage(FILE *f)
{
	fprintf(f,
"usage: devmemtcp server [-l] [-s ADDR] [-p PORT] [-v MOD] [--size N]\n"
"                        [--engine E] [--buffer B] [--buffer-size N]\n"
"                        [--validate M] [-1|--once|-K] [-i SEC] [--timeout SEC]\n"
"                        [--format F] [-V] [--json]\n"
"  -l               listen (accepted for ncdevmem compatibility)\n"
"  -s ADDR          address or host name to listen on (default: all, IPv6\n"
"                   and IPv4; fe80::1%%eth0 for a scoped address)\n"
"  -p PORT          port (default %u; 0 picks one, printed as listen=)\n"
"  -v MOD           validate the ncdevmem pattern of modulus 2..256 (0: off)\n"
"  --size N         expected bytes; fewer or more is a failure\n"
"  --engine E       receive engine: auto|devmem|staged|copy (default auto:\n"
"                   devmem with -f when the NIC allows it, else copy, or\n"
"                   staged for GPU memory)\n"
"  --buffer B       receive into auto|host|udmabuf|dmaheap|cuda[:N]|rocm[:N]\n"
"                   (default: host memory of the engine's own)\n"
"  --buffer-size N  receive buffer size (default 64M)\n"
"  --validate M     auto|full|sampled|off (default auto: data read back from\n"
"                   GPU memory is sampled above 1 GiB, the rest in full)\n"
"  -f IFNAME        devmem RX on this NIC (set up, bound, restored on exit)\n"
"  -q N             RX queues to bind (default 1)\n"
"  -t Q             first RX queue to bind (default: the last N)\n"
"  -c ADDR          client address: 5-tuple flow rule (peer binds -p too)\n"
"  --no-setup       NIC configured by hand: only bind-rx\n"
"  -1, --once       serve one connection, then exit (the default)\n"
"  -K, --keep-serving  serve one client after another until SIGINT/SIGTERM\n"
"                   (iperf3 -s); a report per client\n"
"                   (a client's -P streams, -R and --bidir: see devmemtcp(1))\n"
"  -i SEC           interval report period, 0 off (default 1)\n"
"  --format F       units: a (auto, default), k|m|g (Kbits|Mbits|Gbits/sec),\n"
"                   K|M|G (KBytes|MBytes|GBytes/sec)\n"
"  -V, --verbose    also the configuration as key=value lines\n"
"  --timeout SEC    give up after SEC without a connection or data (default:\n"
"                   wait for a connection; a vanished peer is noticed by\n"
"                   TCP keepalive in about 25 s)\n"
"  --json           one JSON document on stdout\n"
"  --json-stream    JSON lines: start, each interval, end\n", CLI_DEFAULT_PORT);
}

enum { O_ENGINE = 256, O_SIZE, O_JSON, O_ONCE, O_TIMEOUT, O_NO_SETUP,
       O_BUFFER, O_BUFSIZE, O_VALIDATE, O_JSON_STREAM, O_FORMAT };

static const struct option server_opts[] = {
	{ "engine", required_argument, NULL, O_ENGINE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "json-stream", no_argument, NULL, O_JSON_STREAM },
	{ "once", no_argument, NULL, O_ONCE },
	{ "keep-serving", no_argument, NULL, 'K' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "no-setup", no_argument, NULL, O_NO_SETUP },
	{ "buffer", required_argument, NULL, O_BUFFER },
	{ "buffer-size", required_argument, NULL, O_BUFSIZE },
	{ "validate", required_argument, NULL, O_VALIDATE },
	{ "interval", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "verbose", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *optarg_kind(const struct buf_choice *b)
{
	return b->kind == DMT_BUF_CUDA ? "cuda" : "rocm";
}

int cmd_server(int argc, char **argv)
{
	struct server_cfg c = {
		.port = CLI_DEFAULT_PORT, .interval = 1, .ready_fd = -1,
		.buf_size = CLI_DEFAULT_RX_BUF,
	};
	bool have_val = false, json_stream = false;
	const char *nic_opt = NULL;	/* an option that only -f uses */
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t u;
	int opt, ret;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":ls:p:v:i:hf:q:t:c:1KV", server_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			break;
		case '1':
		case O_ONCE:
			c.keep = false;
			break;
		case 'K':
			c.keep = true;
			break;
		case 'V':
			out_set_verbose(true);
			break;
		case O_FORMAT:
			if (out_set_format(optarg))
				return usage_error("server", "bad format '%s' "
						   "(--format): give a, k, m, g, K, M "
						   "or G", optarg);
			break;
		case 's':
			c.addr = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0, 65535, &u))
				return usage_error("server", "bad port '%s' (-p): "
						   "give 0..65535", optarg);
			c.port = (unsigned int)u;
			break;
		case 'v':
			if (parse_uint(optarg, 0, PAT_MAX_V, &u) || u == 1)
				return usage_error("server", "bad validation modulus "
						   "'%s' (-v): give 2..256, or 0 for "
						   "none", optarg);
			c.v = (unsigned int)u;
			break;
		case 'i':
			if ((ret = opt_interval("server", optarg, &c.interval)))
				return ret;
			break;
		case 'f':
			c.ifname = optarg;
			break;
		case 'q':
		case 't':
			if (parse_uint(optarg, opt == 'q' ? 1 : 0, 1023, &u))
				return usage_error("server", "bad queue %s '%s' "
						   "(-%c): give %s", opt == 'q' ?
						   "count" : "index", optarg, opt,
						   opt == 'q' ? "1..1023" : "0..1023");
			nic_opt = opt == 'q' ? "-q" : "-t";
			if (opt == 'q')
				c.nq = (unsigned int)u;
			else
				c.qstart = (unsigned int)u;
			c.have_qstart |= opt == 't';
			break;
		case 'c':
			if (parse_addr(optarg, 0, AF_UNSPEC, &ss, &sl))
				return usage_error("server", "bad client address "
						   "'%s' (-c): give an IPv4 or IPv6 "
						   "address", optarg);
			c.client = optarg;
			nic_opt = "-c";
			break;
		case O_NO_SETUP:
			c.no_setup = true;
			nic_opt = "--no-setup";
			break;
		case O_ENGINE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "devmem") &&
			    strcmp(optarg, "staged") && strcmp(optarg, "copy"))
				return usage_error("server", "unknown receive engine "
						   "'%s' (--engine): use auto, devmem, "
						   "staged or copy", optarg);
			c.engine = optarg;
			break;
		case O_BUFFER:
			if ((ret = opt_buffer("server", optarg, &c.buf)))
				return ret;
			c.have_buf = true;
			break;
		case O_BUFSIZE:
			if ((ret = opt_buffer_size("server", optarg, &c.buf_size)))
				return ret;
			break;
		case O_VALIDATE:
			if (parse_validate(optarg, &c.val))
				return usage_error("server", "unknown validation '%s'"
						   " (--validate): use auto, full, "
						   "sampled or off", optarg);
			have_val = true;
			break;
		case O_SIZE:
			if (parse_size(optarg, &c.size))
				return usage_error("server", "bad size '%s' (--size):"
						   " give bytes with an optional K/M/G "
						   "suffix", optarg);
			c.have_size = true;
			break;
		case O_JSON:
			c.json = true;
			break;
		case O_JSON_STREAM:
			c.json = json_stream = true;
			break;
		case O_TIMEOUT:
			if ((ret = opt_timeout("server", optarg, &c.timeout_s)))
				return ret;
			break;
		case 'h':
			return help_out("server", server_usage);
		default:
			return getopt_error("server", opt, argv);
		}
	}
	jout_set(c.json, json_stream);
	if (optind < argc)
		return extra_args_error("server", argc, argv);
	if (c.engine && !strcmp(c.engine, "copy") && c.have_buf &&
	    buf_choice_gpu(&c.buf))
		return usage_error("server", "--engine copy receives into host "
				   "memory, and --buffer %s has no CPU mapping: use "
				   "--engine staged or auto", optarg_kind(&c.buf));
	if (have_val && c.val != VAL_OFF && !c.v)
		return usage_error("server", "--validate %s needs the pattern to "
				   "check: add -v MOD", val_mode_name(c.val));
	if (c.ifname && !if_nametoindex(c.ifname))
		return usage_error("server", "no interface '%s' (-f): see 'ip "
				   "link' for the names", c.ifname);
	if (nic_opt && !c.ifname)
		return usage_error("server", "%s configures devmem RX on a NIC and "
				   "means nothing without one: add -f IFNAME, or "
				   "leave %s out", nic_opt, nic_opt);
	if (c.engine && !strcmp(c.engine, "devmem") && !c.ifname)
		return usage_error("server", "--engine devmem needs the NIC: add "
				   "-f IFNAME");
	if (c.ifname && !c.no_setup && !c.port)
		return usage_error("server", "devmem RX with -f needs a fixed port "
				   "for the flow rule: give -p PORT");
	if (c.addr && !c.addr[0])
		return usage_error("server", "empty listen address (-s ''): give "
				   "an address, or leave -s out to listen on all");
	if (c.addr && parse_addr(c.addr, c.port, AF_UNSPEC, &ss, &sl))
		return usage_error("server", "bad listen address '%s' (-s): give "
				   "an IPv4 or IPv6 address of this host or a host "
				   "name that resolves", c.addr);
	if (c.have_buf && !buf_choice_gpu(&c.buf) &&
	    (ret = check_buffer_fits("server", c.buf_size)))
		return ret;
	cli_catch_stop();	/* SIGINT/SIGTERM: stop, report, restore, exit 1 */
	return server_run(&c);
}

