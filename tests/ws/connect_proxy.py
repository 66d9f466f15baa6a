#!/usr/bin/env python3
"""A small forward proxy for the websocket e2e tests: HTTP CONNECT and SOCKS5
(no auth) on one loopback port. Prints "READY port=N", then "TUNNEL kind host:port"
for each tunnel it opens. Test code: threads, no limits, loopback only."""
import socket
import struct
import sys
import threading


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise OSError("eof")
        out += d
    return out


def handle(c):
    try:
        first = recv_exact(c, 1)
        if first == b"\x05":
            n = recv_exact(c, 1)[0]
            recv_exact(c, n)
            c.sendall(b"\x05\x00")
            ver, cmd, _, atyp = recv_exact(c, 4)
            if atyp == 1:
                host = socket.inet_ntoa(recv_exact(c, 4))
            elif atyp == 3:
                host = recv_exact(c, recv_exact(c, 1)[0]).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
            port = struct.unpack(">H", recv_exact(c, 2))[0]
            kind = "socks5"
        else:
            head = first
            while b"\r\n\r\n" not in head:
                head += recv_exact(c, 1)
            line = head.split(b"\r\n")[0].decode()
            method, target, _ = line.split(" ")
            if method != "CONNECT":
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                c.close()
                return
            host, port = target.rsplit(":", 1)
            port = int(port)
            kind = "http"
        u = socket.create_connection((host.strip("[]"), port))
        if kind == "socks5":
            c.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
        else:
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        print("TUNNEL %s %s:%d" % (kind, host, port), flush=True)
        t = threading.Thread(target=pipe, args=(u, c), daemon=True)
        t.start()
        pipe(c, u)
        t.join()
    except OSError:
        pass
    finally:
        c.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    s.listen(128)
    print("READY port=%d" % s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


main()
