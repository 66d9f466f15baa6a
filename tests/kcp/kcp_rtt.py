#!/usr/bin/env python3
"""Helpers for kcp_rate.sh (test code).

kcp_rtt.py firehose
    Serves 127.0.0.1:any (prints "READY port=N"): every connection gets zeros as
    fast as it takes them; the service never stops on its own, ignores what it reads
    and an EOF from its peer, and prints "CLOSED n=K" each time a connection ends.
kcp_rtt.py stall PORT CONNS
    Opens CONNS connections to PORT, reads 64 KiB from each, half-closes them and
    then holds them open without reading (a user who went away without closing):
    prints "STALLED conns=K" and sleeps until killed.
kcp_rtt.py rtt PORT DEADLINE_S WANT
    One kept-alive connection to PORT (an echo): sends a 100-byte request and waits
    for its echo, again and again, until WANT round trips are done or DEADLINE_S
    passes. Prints "RESULT rtts=K seconds=S" (K counted, not timed) and exits 0 if
    K == WANT.
"""
import socket, sys, threading, time

def firehose():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(256)
    print("READY port=%d" % srv.getsockname()[1], flush=True)
    zeros = b"\0" * 65536
    lock = threading.Lock()
    closed = [0]

    def reader(c):
        try:
            while c.recv(65536):
                pass
            while True:  # EOF: keep sending regardless
                time.sleep(3600)
        except OSError:
            pass

    def serve(c):
        threading.Thread(target=reader, args=(c,), daemon=True).start()
        try:
            while True:
                c.sendall(zeros)
        except OSError:
            pass
        with lock:
            closed[0] += 1
            print("CLOSED n=%d" % closed[0], flush=True)
        c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def stall(port, conns):
    held = []
    for _ in range(conns):
        c = socket.create_connection(("127.0.0.1", port), timeout=30)
        got = 0
        while got < 65536:
            d = c.recv(65536 - got)
            if not d:
                raise SystemExit("stall: EOF before 64 KiB")
            got += len(d)
        c.shutdown(socket.SHUT_WR)
        held.append(c)
    print("STALLED conns=%d" % len(held), flush=True)
    while True:
        time.sleep(3600)

def rtt(port, deadline_s, want):
    start = time.monotonic()
    end = start + deadline_s
    c = socket.create_connection(("127.0.0.1", port), timeout=deadline_s)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n = 0
    try:
        while n < want and time.monotonic() < end:
            req = (b"GET /%06d HTTP/1.1\r\nHost: kcp\r\n" % n).ljust(98, b"x") + b"\r\n"
            c.sendall(req)
            got = b""
            while len(got) < len(req):
                c.settimeout(max(0.01, end - time.monotonic()))
                d = c.recv(len(req) - len(got))
                if not d:
                    raise OSError("EOF")
                got += d
            if got != req:
                raise SystemExit("rtt: echo differs")
            n += 1
    except OSError:
        pass
    print("RESULT rtts=%d seconds=%.2f" % (n, time.monotonic() - start), flush=True)
    sys.exit(0 if n == want else 1)

if __name__ == "__main__":
    if sys.argv[1] == "firehose":
        firehose()
    elif sys.argv[1] == "stall":
        stall(int(sys.argv[2]), int(sys.argv[3]))
    else:
        rtt(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
