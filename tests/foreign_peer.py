#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A foreign peer for the devmemtcp client, written without its code.

  foreign_peer.py recv ADDR PORT N V
      accept N connections at once; on each, skip a devmemtcp hello (a NUL
      byte, a line) if one comes first, then count and check the ncdevmem
      pattern of modulus V until EOF. Sends nothing back. Prints one line
      per connection: "conn I hello H bytes B bad K".
  foreign_peer.py send ADDR PORT V [CORRUPT_AT]
      accept one connection, read its hello, send the pattern of modulus V
      for the hello's "size" bytes (or "time" seconds), with the byte at
      CORRUPT_AT changed when given, then close. Prints "sent B".

Bounded: every socket waits at most 30 s.
"""
import json
import socket
import sys
import threading
import time


def block(v):
    return bytes(((i + 1) % v) or 10 for i in range(v))


def expected(v, blk, off, n):
    s = off % v
    reps = (s + n) // v + 1
    return (blk * reps)[s:s + n]


def listener(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)
    ls.settimeout(30)
    print("listening", flush=True)
    return ls


def read_hello(c):
    """The hello line if the stream starts with a NUL byte, else b''."""
    first = c.recv(1, socket.MSG_PEEK)
    if first != b"\0":
        return b""
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            break
        line += b
    return line


def do_recv(addr, port, n, v):
    ls = listener(addr, port)
    blk = block(v)
    res = [None] * n

    def one(i, c):
        c.settimeout(30)
        hello = read_hello(c)
        off = bad = 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            if d != expected(v, blk, off, len(d)):
                e = expected(v, blk, off, len(d))
                bad += sum(1 for a, b in zip(d, e) if a != b)
            off += len(d)
        c.close()
        res[i] = (1 if hello else 0, off, bad)

    ths = []
    for i in range(n):
        c, _ = ls.accept()
        t = threading.Thread(target=one, args=(i, c))
        t.start()
        ths.append(t)
    for t in ths:
        t.join(60)
    for i, r in enumerate(res):
        if r is None:
            print("conn %d unfinished" % i)
        else:
            print("conn %d hello %d bytes %d bad %d" % (i, r[0], r[1], r[2]))


def do_send(addr, port, v, corrupt):
    ls = listener(addr, port)
    c, _ = ls.accept()
    c.settimeout(30)
    hello = read_hello(c)
    if not hello.startswith(b"\0DMT-HELLO 1 "):
        print("no hello: %r" % hello[:40])
        return
    h = json.loads(hello[len(b"\0DMT-HELLO 1 "):])
    size, secs = int(h.get("size", 0)), float(h.get("time", 0))
    blk = block(v)
    sent, end = 0, time.monotonic() + secs
    while (sent < size) if size else (time.monotonic() < end):
        n = min(1 << 20, size - sent) if size else 1 << 20
        d = bytearray(expected(v, blk, sent, n))
        if corrupt is not None and sent <= corrupt < sent + n:
            d[corrupt - sent] ^= 0x55
        c.sendall(d)
        sent += n
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
    print("sent %d" % sent)


def main():
    a = sys.argv
    if a[1] == "recv":
        do_recv(a[2], int(a[3]), int(a[4]), int(a[5]))
    elif a[1] == "send":
        do_send(a[2], int(a[3]), int(a[4]), int(a[5]) if len(a) > 5 else None)
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
