#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora in tests/fuzz/corpus/<target>/ (committed; run
# again only to change them): well-formed inputs for each parser, built
# from the kernel layouts in src/uapi.h, plus a few malformed ones.
import os
import zlib
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def align4(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def cmsg(level, typ, data):
    # struct cmsghdr on x86-64: size_t len, int level, int type; 8-aligned
    hdr = struct.pack("=Qii", 16 + len(data), level, typ)
    pad = (8 - len(data) % 8) % 8
    return hdr + data + b"\0" * pad


def dmabuf(off, size, token, binding):
    return struct.pack("=QIIII", off, size, token, binding, 0)


# ---- rx_cmsg: 16-byte head (binding, base, size, linear, flags, slots,
# recvmsg result), then the control data
SOL_SOCKET, LIN, DMA = 1, 78, 79
head = bytes([1, 2, 15, 0, 1, 0, 8, 0]) + struct.pack("=Q", 9000)
put("rx_cmsg", "dmabuf3", head + b"".join(
    cmsg(SOL_SOCKET, DMA, dmabuf(8192 + i * 4096, 3000, i + 1, 1)) for i in range(3)))
put("rx_cmsg", "linear_mix", head + cmsg(SOL_SOCKET, LIN, dmabuf(0, 66, 0, 0)) +
    cmsg(SOL_SOCKET, DMA, dmabuf(8192, 1000, 7, 1)) +
    cmsg(SOL_SOCKET, LIN, dmabuf(0, 34, 0, 0)))
put("rx_cmsg", "foreign_binding", head + cmsg(SOL_SOCKET, DMA, dmabuf(8192, 100, 1, 9)))
put("rx_cmsg", "outside", head + cmsg(SOL_SOCKET, DMA, dmabuf(1 << 40, 100, 1, 1)))
put("rx_cmsg", "short_cmsg", head + struct.pack("=Qii", 20, SOL_SOCKET, DMA) + b"\0" * 8)
put("rx_cmsg", "cut_past_end", head + struct.pack("=Qii", 40, SOL_SOCKET, DMA))
put("rx_cmsg", "no_cmsg_plain", head)

# ---- zc_completion: [clen][control][ops...]
def ee(errno_, origin, code, info, data):
    return struct.pack("=IBBBBII", errno_, origin, 0, code, 0, info, data)

SOL_IP, IP_RECVERR, SOL_IPV6, IPV6_RECVERR, ZC = 0, 11, 41, 25, 5
def zc(ctrl, ops=b""):
    return bytes([len(ctrl)]) + ctrl + ops

def op_send(n, a=0x100, b=0x200):
    return bytes([n * 2]) + struct.pack("=II", a, b)

def op_done(lo, hi, near=True, copied=False):
    return bytes([1 | (2 if near else 0) | (4 if copied else 0)]) + \
        struct.pack("=II", lo, hi)

put("zc_completion", "v4_range", zc(cmsg(SOL_IP, IP_RECVERR, ee(0, ZC, 0, 0, 3))))
put("zc_completion", "v6_copied", zc(cmsg(SOL_IPV6, IPV6_RECVERR, ee(0, ZC, 1, 5, 9))))
put("zc_completion", "socket_error", zc(cmsg(SOL_IP, IP_RECVERR, ee(104, 2, 0, 0, 0))))
put("zc_completion", "script", zc(b"", op_send(1) + op_send(2) + op_send(3) +
    op_done(8, 9) + op_done(9, 12, copied=True) + op_send(1) + op_done(0, 40)))
put("zc_completion", "wrap", zc(b"", op_send(1) * 6 + op_done(0xfffffff0, 5, near=False) +
    op_done(3, 1, near=False)))

# ---- netlink helpers
def nla(typ, payload):
    return align4(struct.pack("=HH", 4 + len(payload), typ) + payload)

def nlmsg(typ, payload, flags=0, seq=1):
    return align4(struct.pack("=IHHII", 16 + len(payload), typ, flags, seq, 0) + payload)

def genl(fam, cmd, attrs):
    return nlmsg(fam, struct.pack("=BBH", cmd, 1, 0) + attrs)

def u32(t, v):
    return nla(t, struct.pack("=I", v))

def u64(t, v):
    return nla(t, struct.pack("=Q", v))

def nest(t, inner):
    return nla(t | 0x8000, inner)

NLMSG_ERROR, NLMSG_DONE = 2, 3
def nlerr(err, text=b"", echo_len=None, capped=False, offs=None):
    flags = 0x200 | (0x100 if capped else 0)   # NLM_F_ACK_TLVS, NLM_F_CAPPED
    echo = struct.pack("=IHHII", echo_len if echo_len is not None else 24, 0x20, 5, 1, 0)
    body = struct.pack("=i", err) + echo
    if not capped:
        body += b"\0" * 8
    if text:
        body += nla(1, text + b"\0")
    if offs is not None:
        body += u32(2, offs)
    return nlmsg(NLMSG_ERROR, body, flags)

FAM = 0x20
put("netdev_reply", "bind_id", genl(FAM, 13, u32(4, 7)))
put("netdev_reply", "dev", genl(FAM, 1, u32(1, 2) + u64(3, 0x7f) + u32(4, 0) + u64(6, 3)))
put("netdev_reply", "queues", genl(FAM, 10, u32(1, 0) + u32(2, 2) + u32(3, 0) + u32(4, 8193) +
                                   u32(5, 7)) + genl(FAM, 10, u32(1, 0) + u32(2, 2) + u32(3, 1)) +
    nlmsg(NLMSG_DONE, struct.pack("=i", 0)))
put("netdev_reply", "page_pool", genl(FAM, 5, u32(1, 3) + u32(2, 2) + u32(3, 8193) +
                                      u64(4, 10) + u64(5, 40960) + u32(7, 7)))
put("netdev_reply", "error_extack", nlerr(-95, b"Driver does not support netmem TX", offs=28))
put("netdev_reply", "error_capped", nlerr(-22, b"bad attribute", capped=True))
put("netdev_reply", "error_short_echo", nlerr(-22, b"x", echo_len=8))

EFAM = 0x21
hdr = nest(1, u32(1, 2) + nla(2, b"eth0\0"))
put("ethtool_reply", "rings", genl(EFAM, 16, hdr + u32(2, 4096) + u32(5, 4096) +
                                   u32(6, 1024) + u32(9, 1024) + nla(11, b"\x02") +
                                   u32(17, 0) + u32(18, 4096)))
put("ethtool_reply", "rings_no_hds", genl(EFAM, 16, hdr + u32(2, 256) + u32(6, 256)))
put("ethtool_reply", "channels", genl(EFAM, 18, hdr + u32(2, 8) + u32(3, 8) + u32(5, 8) +
                                      u32(6, 2) + u32(7, 2) + u32(9, 4)))
put("ethtool_reply", "error", nlerr(-95, b"setting TCP data split is not supported"))
put("ethtool_reply", "truncated_attr", genl(EFAM, 16, hdr + struct.pack("=HH", 8, 2) + b"\1"))

# ---- journal (text, format 2: each record ends in " *" and its CRC-32)
def jrec(*recs):
    return b"".join(r + b" *%08x\n" % zlib.crc32(r) for r in recs)


J = jrec(b"devmemtcp-journal 2", b"ifname fz0", b"ifindex 1", b"pid 999999 1")
put("journal", "full", J + jrec(b"feature rx-gro-hw 0", b"hds 0 1 256", b"rss 4 0 1 2 3",
                                b"feature rx-ntuple-filter 0", b"rule 1023", b"rule 1022",
                                b"bind 7"))
put("journal", "feature_only", J + jrec(b"feature rx-ntuple-filter 0"))
put("journal", "rss_short", J + jrec(b"rss 8 0 1"))
put("journal", "truncated", J + jrec(b"rule 10")[:-6])
put("journal", "bad_crc", J + jrec(b"rule 10").replace(b"rule 10", b"rule 11"))
put("journal", "foreign_iface", jrec(b"devmemtcp-journal 2", b"ifname eth7", b"ifindex 9",
                                     b"pid 1 1", b"rule 3"))
put("journal", "format1", b"devmemtcp-journal 1\nifname fz0\nifindex 1\npid 999999 1\nrule 3\n")
put("journal", "empty", b"")

# ---- cli_values: [parser byte][argument]
for i, (p, s) in enumerate([(0, b"64M"), (0, b"2GiB"), (0, b"18446744073709551615"),
                            (0, b"1.5G"), (1, b"5201"), (1, b"70000"), (2, b"0.25"),
                            (2, b"1e400"), (3, b"full"), (3, b"sample"), (4, b"cuda:1"),
                            (4, b"host"), (4, b"rocm:-1"), (5, b"198.18.0.1"),
                            (5 | 8, b"::ffff:198.18.0.2"), (5, b"fe80::1%lo"), (5, b"")]):
    put("cli_values", "seed%02d" % i, bytes([p]) + s)
