#!/usr/bin/env python3
"""oidc_provider.py: a minimal OpenID provider for the interop test (127.0.0.1,
free port; prints "READY port=N"; test code). Serves the discovery document
(/.well-known/openid-configuration, issuer http://127.0.0.1:N), its JWKS (/jwks, one
RSA key) and a client-credentials token endpoint (/token, Basic auth client%21 /
s3cr%3At or the same in the body) that answers an RS256-signed JWT with iss,
aud = the form's "audience", sub, iat and exp (+3600), expires_in 3600. Every
token request is printed as a line "TOKEN <sub> <aud>". Needs python3-cryptography."""
import base64
import http.server
import json
import socketserver
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUB = KEY.public_key().public_numbers()
GOOD = "Basic " + base64.b64encode(b"client%21:s3cr%3At").decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def issuer(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def do_GET(self):
        if self.path == "/.well-known/openid-configuration":
            iss = self.issuer()
            self.send_json(200, {"issuer": iss, "jwks_uri": iss + "/jwks",
                                 "token_endpoint": iss + "/token",
                                 "authorization_endpoint": iss + "/auth",
                                 "response_types_supported": ["code"],
                                 "subject_types_supported": ["public"],
                                 "id_token_signing_alg_values_supported": ["RS256"]})
        elif self.path == "/jwks":
            self.send_json(200, {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                                           "n": uint(PUB.n), "e": uint(PUB.e)}]})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        ok = self.headers.get("Authorization", "") == GOOD or (
            form.get("client_id") == ["client!"] and form.get("client_secret") == ["s3cr:t"])
        if self.path != "/token" or not ok:
            self.send_json(401, {"error": "invalid_client"})
            return
        now = int(time.time())
        aud = form.get("audience", [""])[0]
        claims = {"iss": self.issuer(), "aud": aud, "sub": "client!", "iat": now, "exp": now + 3600}
        head = b64u(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        pay = b64u(json.dumps(claims).encode())
        sig = KEY.sign((head + "." + pay).encode(), padding.PKCS1v15(), hashes.SHA256())
        print("TOKEN %s %s" % (claims["sub"], aud), flush=True)
        self.send_json(200, {"access_token": head + "." + pay + "." + b64u(sig),
                             "token_type": "Bearer", "expires_in": 3600})


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
print("READY port=%d" % srv.server_address[1], flush=True)
srv.serve_forever()
