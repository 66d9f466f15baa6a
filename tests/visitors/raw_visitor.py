#!/usr/bin/env python3
"""A raw frp visitor for the visitor end-to-end tests (test code, not product):
speaks NewVisitorConn itself on a plain TCP connection to the server (tcpMux off),
like an old or non-ufrpc visitor would, with no encryption or compression.

  raw_visitor.py SERVER_PORT RUN_ID PROXY_NAME SECRET PAYLOAD_BYTES
      Sends, in ONE write, the v1 frame NewVisitorConn{run_id, proxy_name,
      sign_key = md5(SECRET + decimal timestamp), timestamp} immediately followed by
      PAYLOAD_BYTES of pseudo-random data (bytes the server must keep for the
      spliced stream), half-closes, then reads NewVisitorConnResp. Prints
      "RESP error=<text>" and, when the server accepted, reads until EOF and prints
      "ECHO ok" if exactly the payload came back (else "ECHO bad ..."). Exit 0 when
      the server answered (accepted with a correct echo, or refused with an error
      text and closed), 1 otherwise.
"""
import hashlib
import json
import random
import socket
import struct
import sys
import time


def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += c
    return b


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    port, run_id, name, secret, nbytes = int(argv[1]), argv[2], argv[3], argv[4], int(argv[5])
    ts = int(time.time())
    body = json.dumps({
        "run_id": run_id, "proxy_name": name,
        "sign_key": hashlib.md5((secret + str(ts)).encode()).hexdigest(),
        "timestamp": ts, "use_encryption": False, "use_compression": False,
    }, separators=(",", ":")).encode()
    payload = random.Random(5).randbytes(nbytes) if nbytes > 0 else b""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"v" + struct.pack(">q", len(body)) + body + payload)
    s.shutdown(socket.SHUT_WR)
    try:
        hdr = read_exact(s, 9)
        if hdr[0:1] != b"3":
            print("RESP bad type %r" % hdr[0:1])
            return 1
        (n,) = struct.unpack(">q", hdr[1:])
        resp = json.loads(read_exact(s, n))
    except (EOFError, OSError, ValueError) as e:
        print("RESP none (%s)" % e)
        return 1
    err = resp.get("error", "")
    print("RESP error=%s" % err, flush=True)
    got = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
    except OSError as e:
        print("read error after the answer: %s" % e)
        return 1
    if err:
        if got:
            print("refused, but %d bytes followed" % len(got))
            return 1
        return 0
    if got == payload:
        print("ECHO ok bytes=%d" % len(got))
        return 0
    print("ECHO bad: sent %d bytes, got %d%s" % (len(payload), len(got),
                                                  "" if len(got) != len(payload) else " (different)"))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
