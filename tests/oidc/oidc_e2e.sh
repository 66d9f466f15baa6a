#!/usr/bin/env bash
# oidc_e2e.sh: auth.method = "oidc" through the test frps (--oidc-token: Login's
# privilege_key must be the token) with a test token endpoint (token_server.py):
#  1. http endpoint, credentials in a Basic header (escaped as x/oauth2 does), the
#     form body as Go writes it; ufrpc logs in with the token and tunnels; the
#     secret appears in no log line; a new login within expires_in reuses it;
#  2. an endpoint that refuses the header: retried with the credentials in the
#     body (x/oauth2's auto-detection);
#  3. https with trustedCaFile; a wrong CA is refused with the TLS reason;
#  4. a refusing endpoint and a non-JSON answer: exit 1 with frpc's wording.
source "$(dirname "$0")/../e2e/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
TOKEN=unused

start_tokens() { # NAME MODE [CERT KEY]
    local n=$1
    shift
    python3 "$HERE/token_server.py" "$@" </dev/null >"$WORK/$n.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/$n.log" '^READY ' 10 || fail "token server $n did not start"
    TPORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/$n.log" | head -n 1)
}

oidc_config() { # FILE PEER_PORT URL [EXTRA]
    {
        common_config "$2" "" true false | grep -v '^auth\.'
        cat <<CONF
auth.method = "oidc"
auth.oidc.clientID = "client!"
auth.oidc.clientSecret = "s3cr:t"
auth.oidc.audience = "frps"
auth.oidc.scope = "tunnel read"
auth.oidc.tokenEndpointURL = "$3"
auth.oidc.additionalEndpointParams.resource = "https://frps.example/"
${4:-}

[[proxies]]
name = "echo"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $REMOTE
CONF
    } >"$1"
}

start_echo echo
REMOTE=$(freeport)

# 1. header style
start_tokens t1 basic
start_peer peer1 --bind 127.0.0.1:0 --token "" --oidc-token tok-1 --commands
oidc_config "$WORK/c1.toml" "$PEER_PORT" "http://127.0.0.1:$TPORT/oauth2/token?tenant=a"
start_ufrpc u1 "$WORK/c1.toml"
wait_line "$WORK/peer1.log" "^EVENT proxy-new .*name=echo" 30 || fail "no login with the OIDC token"
"$TOOL" load "$REMOTE" 65536 2 30 >/dev/null || fail "traffic"
python3 - "$WORK/t1.log" <<'PY' || fail "request not as x/oauth2 sends it"
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][0])
assert r["path"] == "/oauth2/token?tenant=a", r
assert r["auth"] == "Basic Y2xpZW50JTIxOnMzY3IlM0F0", r
assert r["ctype"] == "application/x-www-form-urlencoded", r
assert r["body"] == "audience=frps&grant_type=client_credentials&resource=https%3A%2F%2Ffrps.example%2F&scope=tunnel+read", r
PY
grep -q "s3cr" "$WORK/u1.log" && fail "the client secret is in the log"
# a new login (the server drops the session) reuses the cached token
peer_cmd peer1 drop
wait_line "$WORK/peer1.log" "^EVENT login " 30 2 || fail "no second login"
[ "$(grep -c '^{' "$WORK/t1.log")" = 1 ] || fail "the token was fetched again within expires_in"
stop_ufrpc
log "header credentials, Go's form body, cached token on re-login"

# 2. the server refuses the header: credentials in the body
start_tokens t2 body
start_peer peer2 --bind 127.0.0.1:0 --token "" --oidc-token tok-2
oidc_config "$WORK/c2.toml" "$PEER_PORT" "http://127.0.0.1:$TPORT/token"
start_ufrpc u2 "$WORK/c2.toml"
wait_line "$WORK/peer2.log" "^EVENT proxy-new .*name=echo" 30 || fail "no login after the body retry"
grep -q '"body": "audience=frps&client_id=client%21&client_secret=s3cr%3At&grant_type' "$WORK/t2.log" ||
    fail "no retry with the credentials in the body"
stop_ufrpc
log "header refused: retried with the credentials in the body"

# 3. https
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=other" -keyout "$WORK/okey.pem" -out "$WORK/other.pem" >/dev/null 2>&1 || fail "openssl"
start_tokens t3 basic "$WORK/cert.pem" "$WORK/key.pem"
start_peer peer3 --bind 127.0.0.1:0 --token "" --oidc-token tok-1
oidc_config "$WORK/c3.toml" "$PEER_PORT" "https://localhost:$TPORT/token" \
    "auth.oidc.trustedCaFile = \"$WORK/cert.pem\""
start_ufrpc u3 "$WORK/c3.toml"
wait_line "$WORK/peer3.log" "^EVENT proxy-new .*name=echo" 30 || fail "no login over https"
stop_ufrpc
oidc_config "$WORK/c4.toml" "$PEER_PORT" "https://localhost:$TPORT/token" \
    "auth.oidc.trustedCaFile = \"$WORK/other.pem\""
rc=0
timeout 60 "$UFRPC" -c "$WORK/c4.toml" </dev/null >"$WORK/u4.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit $rc with an untrusted token endpoint"
grep -q "couldn't generate OIDC token for login: oauth2: cannot fetch token: tls: certificate verification failed" \
    "$WORK/u4.log" || fail "no TLS reason for the untrusted endpoint"
log "https: trusted CA works, another CA refused with the reason"

# 4. refusals
start_tokens t5 deny
oidc_config "$WORK/c5.toml" "$PEER_PORT" "http://127.0.0.1:$TPORT/token"
rc=0
timeout 60 "$UFRPC" -c "$WORK/c5.toml" </dev/null >"$WORK/u5.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit $rc with a refusing endpoint"
grep -q "login to the server failed: couldn't generate OIDC token for login: oauth2: cannot fetch token: 401 Unauthorized" \
    "$WORK/u5.log" || fail "no 401 reason"
start_tokens t6 garbage
oidc_config "$WORK/c6.toml" "$PEER_PORT" "http://127.0.0.1:$TPORT/token"
rc=0
timeout 60 "$UFRPC" -c "$WORK/c6.toml" </dev/null >"$WORK/u6.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit $rc with a non-JSON answer"
grep -q "couldn't generate OIDC token for login: oauth2: cannot parse json" "$WORK/u6.log" ||
    fail "no reason for the non-JSON answer"
log "refusal and garbage: exit 1 with frpc's wording"
pass
