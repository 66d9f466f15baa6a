#!/usr/bin/env python3
"""vh_client.py: raw socket clients for the vhost end-to-end tests.

  vh_client.py connect PORT HOST[:PORT] USER PASS PAYLOAD [early]
      sends "CONNECT HOST HTTP/1.1" (Proxy-Authorization when USER is not "-"), prints
      the first response head's status line as "STATUS <line>", then, on 200, sends
      PAYLOAD and prints everything that comes back within 3 s (or until EOF, or
      until as many bytes as PAYLOAD arrived) as "DATA <repr>". With "early", PAYLOAD
      goes in the same write as the CONNECT head instead, and what follows a non-200
      head is printed too.
  vh_client.py upgrade PORT HOST EARLY LATER [PATH]
      sends "GET /up" (or PATH) with "Connection: Upgrade", "Upgrade: echo" and, in the same
      write, EARLY; prints the status line ("STATUS ..."), then reads everything up
      to EARLY's echo, sends LATER, reads up to its echo and prints all that came
      after the response head as "DATA <repr>".
  vh_client.py raw PORT TEXT
      sends TEXT (Python escapes such as \\r\\n are decoded), then prints everything
      that comes back until EOF (5 s at most) as "DATA <repr>".
  vh_client.py rawhalf PORT TEXT
      the same, but half-closes (FIN) right after sending."""
import base64
import socket
import sys
import time


def read_until(s, pred, timeout):
    s.settimeout(0.2)
    data = b""
    end = time.time() + timeout
    while time.time() < end and not pred(data):
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if cmd == "connect":
        host, user, pwd, payload = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].encode()
        head = "CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (host, host)
        if user != "-":
            tok = base64.b64encode(("%s:%s" % (user, pwd)).encode()).decode()
            head += "Proxy-Authorization: Basic %s\r\n" % tok
        early = len(sys.argv) > 7 and sys.argv[7] == "early"
        s.sendall((head + "\r\n").encode() + (payload if early else b""))
        data = read_until(s, lambda d: b"\r\n\r\n" in d, 5)
        status, _, rest = data.partition(b"\r\n\r\n")
        print("STATUS " + status.split(b"\r\n")[0].decode(errors="replace"))
        if b" 200 " in status.split(b"\r\n")[0] + b" ":
            try:
                if not early:
                    s.sendall(payload)
            except OSError:
                pass
            rest += read_until(s, lambda d: len(rest) + len(d) >= len(payload), 3)
            print("DATA " + repr(rest))
        elif early:  # not a 200: print what followed the head (e.g. an echo)
            rest += read_until(s, lambda d: (rest + d).endswith(payload), 3)
            print("DATA " + repr(rest))
    elif cmd == "upgrade":
        host, early, later = sys.argv[3], sys.argv[4].encode(), sys.argv[5].encode()
        path = sys.argv[6] if len(sys.argv) > 6 else "/up"
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
                   "Upgrade: echo\r\n\r\n" % (path, host)).encode() + early)
        data = read_until(s, lambda d: b"\r\n\r\n" in d and d.endswith(early), 5)
        status, _, rest = data.partition(b"\r\n\r\n")
        print("STATUS " + status.split(b"\r\n")[0].decode(errors="replace"))
        s.sendall(later)
        rest += read_until(s, lambda d: (rest + d).endswith(later), 5)
        print("DATA " + repr(rest))
    else:
        s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
        if cmd == "rawhalf":
            s.shutdown(socket.SHUT_WR)
        print("DATA " + repr(read_until(s, lambda d: False, 5)))
    s.close()


main()
