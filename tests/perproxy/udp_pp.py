#!/usr/bin/env python3
"""UDP local service and user for the udp proxyProtocolVersion tests (127.0.0.1
only, test code).

  udp_pp.py serve
      UDP service on 127.0.0.1:0; prints "READY port=P". Answers every datagram
      with one JSON object describing it: {"pp": "none"|"v1-unknown"|"v2",
      "family": <v2 family byte>, "src", "sport", "dst", "dport", "payload"}.
  udp_pp.py probe PORT EXPECT(none|v1|v2) DPORT
      User: from one socket sends "first" then "second" to 127.0.0.1:PORT (the frps
      remote port); the first answer must carry the EXPECT header (v2: UDP over
      IPv4, source = this socket's own address, destination = 127.0.0.1:DPORT,
      the local service; v1: "PROXY UNKNOWN"), the second none (frpc puts the
      header in front of the first datagram of a user address only). Resends for
      up to 15 s (UDP may drop). Exit 0, or 1 with a reason.
"""
import json
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def describe(data):
    d = {"pp": "none"}
    if data.startswith(SIG) and len(data) >= 16:
        fam = data[13]
        ln = struct.unpack(">H", data[14:16])[0]
        body = data[16:16 + ln]
        d.update(pp="v2", family=fam)
        if fam in (0x11, 0x12) and ln >= 12:
            d.update(src=socket.inet_ntoa(body[0:4]), dst=socket.inet_ntoa(body[4:8]),
                     sport=struct.unpack(">H", body[8:10])[0],
                     dport=struct.unpack(">H", body[10:12])[0])
        data = data[16 + ln:]
    elif data.startswith(b"PROXY UNKNOWN\r\n"):
        d["pp"] = "v1-unknown"
        data = data[len(b"PROXY UNKNOWN\r\n"):]
    d["payload"] = data.decode("latin-1")
    return d


def serve():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("READY port=%d" % s.getsockname()[1], flush=True)
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(json.dumps(describe(data)).encode(), addr)


def ask(s, port, text, deadline):
    while time.time() < deadline:
        s.sendto(text.encode(), ("127.0.0.1", port))
        s.settimeout(0.5)
        try:
            while True:
                data, _ = s.recvfrom(65535)
                d = json.loads(data)
                if d.get("payload") == text:
                    return d
        except socket.timeout:
            continue
    return None


def probe(port, expect, dport):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    me = s.getsockname()
    deadline = time.time() + 15
    first = ask(s, port, "first", deadline)
    second = ask(s, port, "second", deadline)
    if first is None or second is None:
        return "no answer (first=%r second=%r)" % (first, second)
    want = {"none": "none", "v1": "v1-unknown", "v2": "v2"}[expect]
    if first["pp"] != want:
        return "first datagram: header %s, want %s" % (first["pp"], want)
    if expect == "v2":
        got = (first.get("family"), first.get("src"), first.get("sport"), first.get("dst"),
               first.get("dport"))
        exp = (0x12, me[0], me[1], "127.0.0.1", dport)
        if got != exp:
            return "v2 header %r, want %r" % (got, exp)
    if second["pp"] != "none":
        return "second datagram carried a header too: %r" % second
    return None


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    elif sys.argv[1] == "probe":
        why = probe(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        if why:
            print("FAIL " + why)
            sys.exit(1)
        print("OK")
    else:
        sys.exit(2)
