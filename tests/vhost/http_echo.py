#!/usr/bin/env python3
"""http_echo.py NAME [CERT KEY]: a local HTTP (or, with CERT KEY, HTTPS) service for
the vhost end-to-end tests. Listens on 127.0.0.1 (free port), prints "READY port=N".

Every request is answered 200 with a text body describing what arrived:
  service=NAME / method= / path= / host= / body_len= / body_sha256= / h:<name>=<value>
(one header per line, names lower-cased), and the response header X-Backend: NAME.
Special paths: /malformed answers bytes that are not HTTP and closes; /eof answers a
response without Content-Length (delimited by closing the connection); /big/N answers
N bytes (bytes 0..250 repeated) with Content-Length, /eofbig/N the same delimited by
EOF; /slow waits 3 s before answering; a path ending in /redirect answers 302 with Location: /login,
Content-Location: http://HOST/doc and Set-Cookie: sid=NAME; Path=/ (the router's
rewrite puts its prefix back). A request with "Upgrade: echo" is answered
101 (Upgrade: echo) followed at once by "hello-from-NAME\n", then every byte received
is echoed until EOF."""
import hashlib
import http.server
import socketserver
import ssl
import sys
import time

NAME = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/malformed"):
            self.wfile.write(b"THIS IS NOT HTTP AT ALL\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/big/") or self.path.startswith("/eofbig/"):
            n = int(self.path.rsplit("/", 1)[1])
            data = (bytes(range(251)) * (n // 251 + 1))[:n]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if self.path.startswith("/big/"):
                self.send_header("Content-Length", str(n))
            else:
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            return
        if self.headers.get("Upgrade", "").lower() == "echo":
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                             b"Connection: Upgrade\r\n\r\nhello-from-" + NAME.encode() + b"\n")
            self.wfile.flush()
            # bytes the user sent early may already sit in rfile's buffer
            while True:
                chunk = self.rfile.read1(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
            self.close_connection = True
            return
        if self.path.split("?")[0].endswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/login")
            self.send_header("Content-Location", "http://%s/doc" % self.headers.get("Host", ""))
            self.send_header("Set-Cookie", "sid=%s; Path=/; HttpOnly" % NAME)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            time.sleep(3)
        lines = [
            "service=" + NAME,
            "method=" + self.command,
            "path=" + self.path,
            "host=" + self.headers.get("Host", ""),
            "body_len=%d" % len(body),
            "body_sha256=" + hashlib.sha256(body).hexdigest(),
        ]
        for k, v in self.headers.items():
            lines.append("h:%s=%s" % (k.lower(), v))
        out = ("\n".join(lines) + "\n").encode()
        if self.path.startswith("/eof"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"X-Backend: " + NAME.encode() + b"\r\n\r\n" + out)
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Backend", NAME)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (NAME, fmt % args))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("READY port=%d" % srv.server_address[1], flush=True)
srv.serve_forever()
