#!/usr/bin/env python3
"""tls_frag_client.py PORT SNI PATH: an HTTPS GET whose ClientHello reaches the server
in awkward pieces, to check that the https vhost port reads it partial-input safe:
the ClientHello handshake message is split over two TLS records, and those bytes are
sent in TCP writes of 1, 4, 10 bytes then 100-byte pieces, 30 ms apart (TCP_NODELAY).
No certificate verification. Prints the whole HTTP response (headers and body)."""
import socket
import ssl
import struct
import sys
import time

port, sni, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname=sni)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
first = [True]


def split_first_record(data):
    ctype, ver, ln = data[0], data[1:3], struct.unpack(">H", data[3:5])[0]
    body, rest = data[5:5 + ln], data[5 + ln:]
    k = len(body) // 2
    return (bytes([ctype]) + ver + struct.pack(">H", k) + body[:k] +
            bytes([ctype]) + ver + struct.pack(">H", ln - k) + body[k:] + rest)


def flush():
    data = out.read()
    if not data:
        return
    if first[0]:
        first[0] = False
        data = split_first_record(data)
        sizes = [1, 4, 10]
        while data:
            n = sizes.pop(0) if sizes else 100
            s.sendall(data[:n])
            data = data[n:]
            time.sleep(0.03)
    else:
        s.sendall(data)


def recv_into_bio():
    d = s.recv(65536)
    if not d:
        return False
    inc.write(d)
    return True


while True:
    try:
        tls.do_handshake()
        flush()
        break
    except ssl.SSLWantReadError:
        flush()
        if not recv_into_bio():
            sys.exit("EOF during the handshake")
tls.write(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, sni)).encode())
flush()
resp = b""
while True:
    try:
        resp += tls.read(65536)
    except ssl.SSLWantReadError:
        if not recv_into_bio():
            break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
sys.stdout.write(resp.decode(errors="replace"))
