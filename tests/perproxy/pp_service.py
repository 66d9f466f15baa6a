#!/usr/bin/env python3
"""Local service and user client for tests/perproxy (127.0.0.1 only, test code).

  pp_service.py serve
      Threaded TCP service on 127.0.0.1:0; prints "READY port=P". Per connection it
      first reads a PROXY protocol header if one is there (v1 text line "PROXY ...\\r\\n"
      or v2 binary: the 12-byte signature, ver/cmd, family, length, addresses), then
      one command line from the user:
        PROBE <text>  -> one JSON line {"pp": "none"|"v1"|"v2", "src", "sport", "dst",
                         "dport", "line": <the command line as received>}, then echo
        UP <n>        -> reads n bytes, answers "OK <n>\\n"
        DOWN <n>      -> sends n bytes, then closes
      Without a header, the first bytes of the connection are the command line itself,
      so "line" shows what arrived first.
  pp_service.py probe PORT EXPECT(none|v1|v2) DPORT
      User: connects to PORT (the frps remote port), sends PROBE, checks that the header
      version is EXPECT, that its source is this connection's own getsockname() and its
      destination 127.0.0.1:DPORT (none: no header, the command line arrived first,
      intact), then that an echo comes back. Exit 0 / 1 with a reason.
  pp_service.py xfer PORT up|down BYTES
      User: moves BYTES through PORT one way (UP or DOWN above), verifies the count,
      prints "elapsed=S" (seconds from connect to the last byte / the OK).
"""
import json
import os
import socket
import socketserver
import sys
import time

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PAD = b" " + b"." * 16  # after UP/DOWN's count: the service reads 16 bytes before parsing


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("eof after %d bytes" % len(self.buf))
            self.buf += b

    def take(self, n):
        self.fill(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self, limit=4096):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("no newline")
            b = self.sock.recv(65536)
            if not b:
                raise EOFError("eof in a line")
            self.buf += b
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out


def read_header(c):
    """Returns a dict describing the PROXY header (pp = none when there is none)."""
    c.fill(16)  # every command line is at least 16 bytes long (padded, see PAD)
    if c.buf.startswith(b"PROXY "):
        ln = c.line(107).decode("ascii")
        if not ln.endswith("\r\n"):
            raise ValueError("v1 header not CRLF-terminated: %r" % ln)
        parts = ln[:-2].split(" ")
        if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
            raise ValueError("bad v1 header %r" % ln)
        return {"pp": "v1", "family": parts[1], "src": parts[2], "dst": parts[3],
                "sport": int(parts[4]), "dport": int(parts[5])}
    if c.buf.startswith(V2_SIG):
        hdr = c.take(16)
        ver_cmd, fam = hdr[12], hdr[13]
        ln = int.from_bytes(hdr[14:16], "big")
        body = c.take(ln)
        d = {"pp": "v2", "ver_cmd": ver_cmd, "fam": fam, "len": ln}
        if ver_cmd != 0x21:
            raise ValueError("v2 ver/cmd 0x%02x, want 0x21 (v2 PROXY)" % ver_cmd)
        if fam == 0x11 and ln >= 12:
            d.update(src=socket.inet_ntop(socket.AF_INET, body[0:4]),
                     dst=socket.inet_ntop(socket.AF_INET, body[4:8]),
                     sport=int.from_bytes(body[8:10], "big"),
                     dport=int.from_bytes(body[10:12], "big"))
        elif fam == 0x21 and ln >= 36:
            d.update(src=socket.inet_ntop(socket.AF_INET6, body[0:16]),
                     dst=socket.inet_ntop(socket.AF_INET6, body[16:32]),
                     sport=int.from_bytes(body[32:34], "big"),
                     dport=int.from_bytes(body[34:36], "big"))
        else:
            raise ValueError("v2 family 0x%02x length %d" % (fam, ln))
        return d
    return {"pp": "none"}


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        c = Conn(s)
        try:
            info = read_header(c)
            cmd = c.line()
            word, arg = (cmd.decode("ascii", "replace").split() + ["", ""])[:2]
            if word == "PROBE":
                info["line"] = cmd.decode("ascii", "replace")
                s.sendall(json.dumps(info).encode() + b"\n")
                if c.buf:
                    s.sendall(c.buf)
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    s.sendall(b)
            elif word == "UP":
                n = int(arg)
                got = len(c.buf)
                while got < n:
                    b = s.recv(65536)
                    if not b:
                        break
                    got += len(b)
                s.sendall(b"OK %d\n" % got)
            elif word == "DOWN":
                n = int(arg)
                chunk = b"d" * 65536
                while n > 0:
                    k = min(n, len(chunk))
                    s.sendall(chunk[:k])
                    n -= k
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            else:
                s.sendall(b"ERR unknown command %r\n" % cmd)
        except (OSError, EOFError, ValueError) as e:
            try:
                s.sendall(json.dumps({"error": str(e)}).encode() + b"\n")
            except OSError:
                pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve():
    srv = Server(("127.0.0.1", 0), Handler)
    print("READY port=%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def probe(port, expect, dport):
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    me_ip, me_port = s.getsockname()[:2]
    text = "PROBE user-first-bytes-%d-%s\n" % (os.getpid(), "x" * 16)
    s.sendall(text.encode())
    c = Conn(s)
    reply = json.loads(c.line(65536))
    print("probe: me=%s:%d header=%s" % (me_ip, me_port, json.dumps(reply)))
    if "error" in reply:
        return "service error: %s" % reply["error"]
    if reply["pp"] != expect:
        return "header %s, want %s" % (reply["pp"], expect)
    if reply["line"] != text:
        return "the first bytes after the header are %r, not the user's %r" % (reply["line"], text)
    if expect != "none":
        if (reply["src"], reply["sport"]) != (me_ip, me_port):
            return "header source %s:%d is not the user's own address %s:%d" % (
                reply["src"], reply["sport"], me_ip, me_port)
        if (reply["dst"], reply["dport"]) != ("127.0.0.1", dport):
            return "header destination %s:%d is not 127.0.0.1:%d" % (
                reply["dst"], reply["dport"], dport)
        if expect == "v1" and reply["family"] != "TCP4":
            return "v1 family %s, want TCP4" % reply["family"]
        if expect == "v2" and (reply["fam"] != 0x11 or reply["len"] != 12):
            return "v2 family 0x%02x length %d, want 0x11 (TCP over IPv4) and 12" % (
                reply["fam"], reply["len"])
    data = b"echo-after-header-" * 100
    s.sendall(data)
    got = c.take(len(data))
    if got != data:
        return "echo differs"
    s.close()
    return None


def xfer(port, way, n):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    if way == "up":
        s.sendall(b"UP %d%s\n" % (n, PAD))
        chunk = b"u" * 65536
        left = n
        while left > 0:
            k = min(left, len(chunk))
            s.sendall(chunk[:k])
            left -= k
        ans = Conn(s).line()
        if ans != b"OK %d\n" % n:
            return "service answered %r" % ans
    else:
        s.sendall(b"DOWN %d%s\n" % (n, PAD))
        got = 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
        if got != n:
            return "received %d bytes, want %d" % (got, n)
    el = time.monotonic() - t0
    s.close()
    print("elapsed=%.3f" % el)
    return None


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve()
        return 0
    try:
        if cmd == "probe":
            err = probe(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        elif cmd == "xfer":
            err = xfer(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        else:
            err = "unknown command %s" % cmd
    except (OSError, EOFError, ValueError) as e:
        err = "%s: %s" % (type(e).__name__, e)
    if err:
        print("FAIL: %s" % err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
