#!/usr/bin/env python3
"""Load helpers for tests/soak/soak.sh (run by hand, see README.md).

  slow-sink PORT          a local service that reads 4 KiB every 10 ms (~400 KB/s)
  flood PORT MB SECS PID  one connection writes up to MB MiB for at most SECS s as fast
                          as the tunnel takes them; samples PID's VmRSS meanwhile
  hold PORT N PID         opens N connections, each echoes one byte, holds them all,
                          prints PID's VmRSS, then closes them
"""
import asyncio
import os
import socket
import sys
import time


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def slow_sink(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print("READY port=%d" % port, flush=True)
    while True:
        c, _ = srv.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        try:
            while c.recv(4096):
                time.sleep(0.01)
        except OSError:
            pass
        c.close()


def flood(port, mb, secs, pid):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    chunk = b"\x5a" * 65536
    total, limit = 0, mb * 1024 * 1024
    t0 = time.time()
    rss_max = 0
    last = 0.0
    while total < limit and time.time() - t0 < secs:
        try:
            total += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.005)
        now = time.time()
        if now - last > 0.05:
            rss_max = max(rss_max, status(pid, "VmRSS"))
            last = now
    rss_max = max(rss_max, status(pid, "VmRSS"))
    s.close()
    print("sent %.1f MiB in %.1f s into a slow service: client rss max %d kB, hwm %d kB"
          % (total / 1048576, time.time() - t0, rss_max, status(pid, "VmHWM")), flush=True)


async def hold(port, n, pid):
    sem = asyncio.Semaphore(256)
    conns = []
    ok = 0

    async def one():
        nonlocal ok
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
                w.write(b"x")
                await w.drain()
                if await asyncio.wait_for(r.readexactly(1), 60) == b"x":
                    ok += 1
                conns.append(w)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                print("conn failed: %r" % (e,), file=sys.stderr)

    t0 = time.time()
    await asyncio.gather(*(one() for _ in range(n)))
    print("HELD conns=%d ok=%d seconds=%.1f rss_kb=%d fds=%d"
          % (n, ok, time.time() - t0, status(pid, "VmRSS"), fds(pid)), flush=True)
    for w in conns:
        w.close()
    await asyncio.sleep(0.5)
    return 0 if ok >= n * 0.99 else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "slow-sink":
        slow_sink(int(args[0]))
    elif cmd == "flood":
        flood(int(args[0]), int(args[1]), float(args[2]), int(args[3]))
    elif cmd == "hold":
        sys.exit(asyncio.run(hold(int(args[0]), int(args[1]), int(args[2]))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
