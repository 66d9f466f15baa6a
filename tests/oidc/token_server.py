#!/usr/bin/env python3
"""token_server.py MODE [CERT KEY]: a test OAuth 2.0 token endpoint on 127.0.0.1
(free port; prints "READY port=N"), over HTTPS with CERT KEY. Test code.

Every request is printed as one JSON line {"n", "method", "path", "auth", "ctype",
"body"}. POST /token answers by MODE:
  basic    credentials must come as Authorization: Basic (client%21 : s3cr%3At,
           form-escaped as x/oauth2 sends them), else 401
  body     a Basic header is refused (401); credentials must be in the body
  noexpiry as basic, but the answer has no expires_in
  deny     always 401 {"error":"invalid_client"}
  garbage  200 with a body that is not JSON
The token is "tok-N" (N = request number), expires_in 3600 unless noexpiry."""
import base64
import http.server
import json
import socketserver
import ssl
import sys
import urllib.parse

MODE = sys.argv[1]
N = [0]
GOOD = base64.b64encode(b"client%21:s3cr%3At").decode()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, obj=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        N[0] += 1
        n = N[0]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        auth = self.headers.get("Authorization", "")
        print(json.dumps({"n": n, "method": "POST", "path": self.path, "auth": auth,
                          "ctype": self.headers.get("Content-Type", ""), "body": body}),
              flush=True)
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        basic_ok = auth == "Basic " + GOOD
        body_ok = form.get("client_id") == ["client!"] and form.get("client_secret") == ["s3cr:t"]
        if MODE == "deny" or (MODE in ("basic", "noexpiry") and not basic_ok) or \
                (MODE == "body" and (auth or not body_ok)):
            self.answer(401, {"error": "invalid_client"})
            return
        if MODE == "garbage":
            self.answer(200, raw=b"<html>not json</html>")
            return
        tok = {"access_token": "tok-%d" % n, "token_type": "bearer"}
        if MODE != "noexpiry":
            tok["expires_in"] = 3600
        self.answer(200, tok)


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("READY port=%d" % srv.server_address[1], flush=True)
srv.serve_forever()
