#!/usr/bin/env python3
"""A raw frp visitor for the visitor end-to-end tests (test code, not product):
speaks NewVisitorConn itself on a plain TCP connection to the server (tcpMux off),
like an old or non-ufrpc visitor would, with no compression.

  raw_visitor.py [--encrypt] SERVER_PORT RUN_ID PROXY_NAME SECRET PAYLOAD_BYTES
      Sends, in ONE write, the v1 frame NewVisitorConn{run_id, proxy_name,
      sign_key = md5(SECRET + decimal timestamp), timestamp} immediately followed by
      PAYLOAD_BYTES of pseudo-random data (bytes the server must keep for the
      spliced stream), then reads NewVisitorConnResp (no half-close: frps and ufrpc
      end the connection at its first EOF). Prints "RESP error=<text>" and, when the
      server accepted, reads as many bytes as the echo has (or until EOF) and prints
      "ECHO ok" if exactly the payload came back (else "ECHO bad ..."). Exit 0 when
      the server answered (accepted with a correct echo, or refused with an error
      text and closed), 1 otherwise.

      --encrypt: use_encryption = true, and the payload (and the echo) go through
      frp's stream encryption written here independently of ufrpc (golib
      io.WithEncryption: key = PBKDF2-HMAC-SHA1(SECRET, "frp", 64, 16), each
      direction a random 16-byte IV first, then AES-128-CFB), with the Python
      "cryptography" package; exit 77 ("SKIP") without it.
"""
import os
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
    encrypt = len(argv) > 1 and argv[1] == "--encrypt"
    if encrypt:
        argv = argv[:1] + argv[2:]
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    port, run_id, name, secret, nbytes = int(argv[1]), argv[2], argv[3], argv[4], int(argv[5])
    enc = dec = None
    if encrypt:
        try:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        except ImportError:
            print("SKIP: python3 cryptography not installed")
            return 77
        key = hashlib.pbkdf2_hmac("sha1", secret.encode(), b"frp", 64, 16)
        iv_out = os.urandom(16)
        enc = Cipher(algorithms.AES(key), modes.CFB(iv_out)).encryptor()
    ts = int(time.time())
    body = json.dumps({
        "run_id": run_id, "proxy_name": name,
        "sign_key": hashlib.md5((secret + str(ts)).encode()).hexdigest(),
        "timestamp": ts, "use_encryption": encrypt, "use_compression": False,
    }, separators=(",", ":")).encode()
    payload = random.Random(5).randbytes(nbytes) if nbytes > 0 else b""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    wire = payload if enc is None else iv_out + enc.update(payload)
    s.sendall(b"v" + struct.pack(">q", len(body)) + body + wire)
    # no half-close: frps and ufrpc end a work connection at its first EOF (io.Join)
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
    want = None if err else len(payload) + (16 if enc is not None else 0)
    try:
        while want is None or len(got) < want:
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
    if enc is not None and got:
        if len(got) < 16:
            print("ECHO bad: %d bytes, shorter than the IV" % len(got))
            return 1
        dec = Cipher(algorithms.AES(key), modes.CFB(got[:16])).decryptor()
        got = dec.update(got[16:])
    if got == payload:
        print("ECHO ok bytes=%d" % len(got))
        return 0
    print("ECHO bad: sent %d bytes, got %d%s" % (len(payload), len(got),
                                                  "" if len(got) != len(payload) else " (different)"))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
