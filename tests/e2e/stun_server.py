#!/usr/bin/env python3
"""A tiny STUN server for the nathole tests, one process for four server behaviours,
each on its own pair of UDP ports (primary, alternate). Usage:
stun_server.py [PRIMARY_IP ALTERNATE_IP] (both 127.0.0.1 by default; tests/nat gives
two addresses of its "public" namespace, so a NAT sees two destination hosts):

  easy     XOR-MAPPED-ADDRESS is the request's source; the primary's answer names
           the alternate in OTHER-ADDRESS (a NAT that keeps its mapping)
  hard     the same, but the alternate reports the port plus 3 (a NAT that maps
           each destination to another port)
  classic  RFC 3489's MAPPED-ADDRESS and CHANGED-ADDRESS instead
  one      no other address (a server that cannot tell the NAT's behaviour)

Answers Binding Requests (RFC 5389) only. Prints "READY easy=P hard=P classic=P
one=P" (the primary ports) once all listen; runs until killed.
"""
import select
import socket
import struct
import sys

MAGIC = 0x2112A442
MODES = {"easy": (False, True, 0), "hard": (False, True, 3),
         "classic": (True, True, 0), "one": (False, False, 0)}  # classic, other, shift


def addr_attr(kind, ip, port, xor):
    ip_n = struct.unpack("!I", socket.inet_aton(ip))[0]
    if xor:
        port ^= MAGIC >> 16
        ip_n ^= MAGIC
    value = struct.pack("!BBHI", 0, 1, port, ip_n)
    return struct.pack("!HH", kind, len(value)) + value


def main():
    prim_ip, alt_ip = (sys.argv[1], sys.argv[2]) if len(sys.argv) == 3 else ("127.0.0.1",) * 2
    socks = {}  # socket -> (mode, is_alternate, alternate port)
    ready = []
    for mode in MODES:
        prim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        alt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        prim.bind((prim_ip, 0))
        alt.bind((alt_ip, 0))
        alt_port = alt.getsockname()[1]
        socks[prim] = (mode, False, alt_port)
        socks[alt] = (mode, True, alt_port)
        ready.append("%s=%d" % (mode, prim.getsockname()[1]))
    print("READY " + " ".join(ready), flush=True)
    while True:
        for s in select.select(list(socks), [], [])[0]:
            data, (ip, port) = s.recvfrom(2048)
            if len(data) < 20:
                continue
            mtype, _, cookie = struct.unpack("!HHI", data[:8])
            if mtype != 0x0001 or cookie != MAGIC:
                continue
            mode, is_alt, alt_port = socks[s]
            classic, other, shift = MODES[mode]
            seen = port + (shift if is_alt else 0)
            attrs = addr_attr(0x0001 if classic else 0x0020, ip, seen, not classic)
            if other and not is_alt:
                attrs += addr_attr(0x0005 if classic else 0x802C, alt_ip, alt_port, False)
            s.sendto(struct.pack("!HHI", 0x0101, len(attrs), MAGIC) + data[8:20] + attrs, (ip, port))


if __name__ == "__main__":
    main()
