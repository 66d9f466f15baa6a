#!/usr/bin/env python3
"""webhook_sink.py OUT FAIL_FIRST: a small HTTP server on 127.0.0.1 (any port) for the
alerts test. Prints "READY port=N"; appends the body of every POST to OUT, one per
line, and answers 500 to the first FAIL_FIRST requests (to exercise retries), then 204."""
import http.server
import sys

out, fail_first = sys.argv[1], int(sys.argv[2])
seen = 0


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        seen += 1
        ok = seen > fail_first
        with open(out, "a") as f:
            f.write(("" if ok else "REFUSED ") + body.replace("\n", " ") + "\n")
        self.send_response(204 if ok else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("READY port=%d" % s.server_address[1], flush=True)
s.serve_forever()
