#!/usr/bin/env python3
"""A tiny STUN server for the nathole tests (127.0.0.1 only).

Answers Binding Requests (RFC 5389) on two UDP ports, the primary and an alternate:
XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS with --classic) is the request's source; the
primary's answer also names the alternate in OTHER-ADDRESS (CHANGED-ADDRESS with
--classic), unless --no-other. --shift N adds N to the port the alternate reports,
as a NAT that maps each destination to another port would. Prints
"READY port=P alt=A" once both listen; runs until killed.
"""
import argparse
import select
import socket
import struct

MAGIC = 0x2112A442


def addr_attr(kind, ip, port, xor):
    if xor:
        port ^= MAGIC >> 16
        ip_n = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    else:
        ip_n = struct.unpack("!I", socket.inet_aton(ip))[0]
    value = struct.pack("!BBHI", 0, 1, port, ip_n)
    return struct.pack("!HH", kind, len(value)) + value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-other", action="store_true")
    ap.add_argument("--classic", action="store_true")
    ap.add_argument("--shift", type=int, default=0)
    a = ap.parse_args()
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    prim, alt = socks
    alt_port = alt.getsockname()[1]
    print("READY port=%d alt=%d" % (prim.getsockname()[1], alt_port), flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, (ip, port) = s.recvfrom(2048)
            if len(data) < 20:
                continue
            mtype, _, cookie = struct.unpack("!HHI", data[:8])
            if mtype != 0x0001 or cookie != MAGIC:
                continue
            tid = data[8:20]
            if s is alt:
                port += a.shift
            attrs = addr_attr(0x0001 if a.classic else 0x0020, ip, port, not a.classic)
            if s is prim and not a.no_other:
                attrs += addr_attr(0x0005 if a.classic else 0x802C, "127.0.0.1", alt_port, False)
            s.sendto(struct.pack("!HHI", 0x0101, len(attrs), MAGIC) + tid + attrs, (ip, port - (a.shift if s is alt else 0)))


if __name__ == "__main__":
    main()
