#!/usr/bin/env python3
"""UDP and TCP helpers for the visitor end-to-end tests (test code, not product).

  net_tool.py echo
      UDP echo server on 127.0.0.1, any free port; prints "READY port=N", then
      sends every datagram back to its sender until killed.

  net_tool.py roundtrip PORT COUNT TIMEOUT_S [SEED]
      Sends COUNT datagrams of pseudo-random bytes (sizes 1 .. 1500, a fixed
      sequence; the bytes depend on SEED, so that concurrent clients send different
      data) to 127.0.0.1:PORT from one socket, one at a time, and waits up to
      TIMEOUT_S for each echo, which must be byte-for-byte the datagram sent. Prints
      "RESULT ok=K of=COUNT" and exits 0 only if every echo matched.

  net_tool.py silence PORT WAIT_S
      Sends one datagram and succeeds (exit 0, "SILENT") if nothing comes back
      within WAIT_S.

  net_tool.py banner
      TCP server-first service on 127.0.0.1, any free port; prints "READY port=N";
      writes "BANNER <n>\r\n" (n counts connections) as soon as a connection is
      accepted, then echoes until EOF.

  net_tool.py expect-banner PORT TIMEOUT_S
      TCP: connects, sends nothing, and succeeds (exit 0, prints the line) if a
      "BANNER <n>\r\n" line arrives within TIMEOUT_S; then sends "ping" and expects
      it echoed.

  net_tool.py hold PORT TIMEOUT_S
      TCP: connects to 127.0.0.1:PORT, sends "hello", reads the 5-byte echo, prints
      "HELD" and keeps the connection open; succeeds (exit 0, "CLOSED") when the
      other side closes it (EOF or reset, no more data) within TIMEOUT_S.

  net_tool.py halfclose PORT TIMEOUT_S
      TCP: connects, sends "hello" and half-closes (shutdown SHUT_WR); succeeds
      (exit 0, "CLOSED") when the other side ends the connection (EOF or reset, no
      data) within TIMEOUT_S, as frpc's io.Join does at a user's EOF.

  net_tool.py readeof PORT TIMEOUT_S
      TCP: connects, sends nothing, reads until EOF, which must come within
      TIMEOUT_S after exactly "bye"; prints "EOF" and then keeps its own side open
      (no shutdown, no close) until killed (at most 300 s), so that the test sees
      whether the other side ends the connection on its own.
"""
import random
import socket
import sys
import time


def echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print("READY port=%d" % s.getsockname()[1], flush=True)
    while True:
        data, addr = s.recvfrom(65536)
        s.sendto(data, addr)


def roundtrip(port, count, timeout, seed):
    rng = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    ok = 0
    sizes = [1, 1400, 512, 33, 1500, 7, 1300, 200]
    for i in range(count):
        n = sizes[i % len(sizes)]
        payload = bytes(rng.getrandbits(8) for _ in range(n))
        s.sendto(payload, ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(65536)
        except socket.timeout:
            print("datagram %d (%d bytes): no echo within %gs" % (i, n, timeout))
            break
        if data != payload:
            print("datagram %d: %d bytes sent, %d different bytes back" % (i, n, len(data)))
            break
        ok += 1
    print("RESULT ok=%d of=%d" % (ok, count), flush=True)
    return 0 if ok == count else 1


def silence(port, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(wait)
    s.sendto(b"anyone there?", ("127.0.0.1", port))
    try:
        data, _ = s.recvfrom(65536)
    except (socket.timeout, ConnectionRefusedError):
        print("SILENT", flush=True)
        return 0
    print("unexpected answer of %d bytes" % len(data))
    return 1


def banner():
    import threading
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print("READY port=%d" % ls.getsockname()[1], flush=True)
    n = 0

    def serve(c, n):
        try:
            c.sendall(b"BANNER %d\r\n" % n)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


def expect_banner(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        while not got.endswith(b"\r\n"):
            c = s.recv(256)
            if not c:
                print("closed before the banner (%r)" % got)
                return 1
            got += c
    except socket.timeout:
        print("no banner within %gs (%r)" % (timeout, got))
        return 1
    if not got.startswith(b"BANNER "):
        print("bad banner %r" % got)
        return 1
    s.sendall(b"ping")
    echo = b""
    while len(echo) < 4:
        c = s.recv(4 - len(echo))
        if not c:
            break
        echo += c
    if echo != b"ping":
        print("bad echo after the banner %r" % echo)
        return 1
    print(got.decode().strip(), flush=True)
    return 0


def hold(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"hello")
    got = b""
    while len(got) < 5:
        c = s.recv(5 - len(got))
        if not c:
            print("closed before the echo")
            return 1
        got += c
    if got != b"hello":
        print("bad echo %r" % got)
        return 1
    print("HELD", flush=True)
    return expect_closed(s, "still open after %gs" % timeout)


def halfclose(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"hello")
    s.shutdown(socket.SHUT_WR)
    return expect_closed(s, "still open %gs after the half-close" % timeout)


def expect_closed(s, timeout_msg):
    """0 (printing CLOSED) once the peer closes s (EOF or reset) with no data first;
    1 on data or on s's timeout (printing timeout_msg)."""
    try:
        c = s.recv(1)
    except socket.timeout:
        print(timeout_msg)
        return 1
    except ConnectionResetError:
        c = b""
    if c:
        print("unexpected data")
        return 1
    print("CLOSED", flush=True)
    return 0


def readeof(port, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        while True:
            c = s.recv(64)
            if not c:
                break
            got += c
    except socket.timeout:
        print("no EOF within %gs (got %r)" % (timeout, got))
        return 1
    if got != b"bye":
        print("got %r before EOF, not 'bye'" % got)
        return 1
    print("EOF", flush=True)
    time.sleep(300)
    s.close()
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "echo":
        echo()
        return 0
    if len(argv) >= 5 and argv[1] == "roundtrip":
        seed = int(argv[5]) if len(argv) >= 6 else 20261206
        return roundtrip(int(argv[2]), int(argv[3]), float(argv[4]), seed)
    if len(argv) >= 4 and argv[1] == "silence":
        return silence(int(argv[2]), float(argv[3]))
    if len(argv) >= 2 and argv[1] == "banner":
        banner()
        return 0
    if len(argv) >= 4 and argv[1] == "expect-banner":
        return expect_banner(int(argv[2]), float(argv[3]))
    if len(argv) >= 4 and argv[1] == "hold":
        return hold(int(argv[2]), float(argv[3]))
    if len(argv) >= 4 and argv[1] == "halfclose":
        return halfclose(int(argv[2]), float(argv[3]))
    if len(argv) >= 4 and argv[1] == "readeof":
        return readeof(int(argv[2]), float(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
