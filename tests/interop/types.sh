#!/usr/bin/env bash
# types.sh TLS(true|false) MUX(true|false): ufrpc with one proxy of each type it
# serves without a second client (tcp, udp, http with locations and a rewritten
# Host, https by SNI, tcpmux httpconnect) through the real frps, frps left at its
# defaults (TLS accepted with its generated certificate). Traffic through each
# proxy is checked byte for byte; then ufrpc's SIGTERM closes every proxy on frps.
source "$(dirname "$0")/lib.sh"
TLS=$1
MUX=$2
E2E_NAME="interop_types_tls-${TLS}_mux-$MUX"
need_frps
HERE=$INTEROP_DIR/../vhost
TOKEN="types-$RANDOM"

FRPS_PORT=$(freeport)
VHOST=$(freeport)
VHOSTS=$(freeport)
TCPMUX=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" "$MUX" "vhostHTTPPort = $VHOST
vhostHTTPSPort = $VHOSTS
tcpmuxHTTPConnectPort = $TCPMUX" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

declare -A PORT
start_service() { # NAME [CERT KEY]
    local n=$1
    shift
    python3 "$HERE/http_echo.py" "$n" "$@" </dev/null >"$WORK/svc-$n.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/svc-$n.log" '^READY ' 10 || fail "service $n did not start"
    PORT[$n]=$(ready_port "$WORK/svc-$n.log")
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=secure.example.com" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/openssl.out" 2>&1 || fail "openssl req failed"
start_service A
start_service B
start_service M
start_service S "$WORK/cert.pem" "$WORK/key.pem"
start_echo echo
start_udp_echo uecho
R_TCP=$(freeport)
R_UDP=$(freeport)

{
    client_config "$FRPS_PORT" "$TOKEN" "$MUX" "$TLS"
    echo_proxies "$R_TCP" "$R_UDP"
    cat <<CONF

[[proxies]]
name = "web"
type = "http"
localPort = ${PORT[A]}
customDomains = ["web.example.com"]
hostHeaderRewrite = "inner.example.com"

[[proxies]]
name = "web-api"
type = "http"
localPort = ${PORT[B]}
customDomains = ["web.example.com"]
locations = ["/api"]

[[proxies]]
name = "secure"
type = "https"
localPort = ${PORT[S]}
customDomains = ["secure.example.com"]

[[proxies]]
name = "mux"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = ${PORT[M]}
customDomains = ["mux.example.com"]
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for p in tcp udp web web-api secure mux; do wait_proxy "$WORK/ufrpc.log" "$p"; done
wait_line "$WORK/frps.log" 'new proxy \[mux\].*success' 10 || fail "frps did not take the tcpmux proxy"

# tcp: 4 MiB each over 8 connections, sha256-checked
"$TOOL" load "$R_TCP" 4194304 8 60 >"$WORK/load.out" || { cat "$WORK/load.out"; fail "tcp"; }
log "tcp: $(cat "$WORK/load.out")"
# udp: 4 sockets x 5 sizes, each back on its own socket. Sizes stay within
# udpPacketSize (1500 on both sides by default): frps reads user datagrams into a
# buffer of that size and cuts longer ones.
"$TOOL" udp-probe "$R_UDP" 4 30 1 100 700 1400 1500 >"$WORK/udp.out" ||
    { tail -n 20 "$WORK/udp.out"; fail "udp"; }
log "udp: $(cat "$WORK/udp.out")"
# http: routed by Host and location; the Host header rewritten for the app
body=$(curl -sS --max-time 20 -H "Host: web.example.com" "http://127.0.0.1:$VHOST/index") ||
    fail "http request failed"
grep -q '^service=A$' <<<"$body" || fail "web.example.com/ did not reach A: $body"
grep -q '^host=inner.example.com$' <<<"$body" || fail "Host not rewritten: $body"
body=$(curl -sS --max-time 20 -H "Host: web.example.com" "http://127.0.0.1:$VHOST/api/x") ||
    fail "http request failed"
grep -q '^service=B$' <<<"$body" || fail "/api did not reach B: $body"
grep -q '^path=/api/x$' <<<"$body" || fail "path changed: $body"
# 3 MiB answer, byte for byte
curl -sS --max-time 30 -H "Host: web.example.com" "http://127.0.0.1:$VHOST/big/3145728" \
    -o "$WORK/big.out" || fail "big http answer"
[ "$(stat -c %s "$WORK/big.out")" = 3145728 ] || fail "big answer has the wrong size"
python3 - "$WORK/big.out" <<'PY' || fail "big answer corrupted"
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if d == bytes(range(251)) * (len(d) // 251) + bytes(range(len(d) % 251)) else 1)
PY
curl -sS -o /dev/null -w '%{http_code}' --max-time 20 -H "Host: nobody.example.com" \
    "http://127.0.0.1:$VHOST/" >"$WORK/code.out" || true
[ "$(cat "$WORK/code.out")" = 404 ] || fail "unknown host answered $(cat "$WORK/code.out")"
log "http: Host and location routing, Host rewrite, 3 MiB answer, unknown host 404"
# https: frps routes by SNI; TLS runs end to end with the local service
body=$(curl -sS --max-time 20 --cacert "$WORK/cert.pem" \
    --resolve "secure.example.com:$VHOSTS:127.0.0.1" "https://secure.example.com:$VHOSTS/s") ||
    fail "https request failed"
grep -q '^service=S$' <<<"$body" || fail "https did not reach S: $body"
log "https: SNI routed, the local service's certificate verified end to end"
# tcpmux: HTTP CONNECT to frps's tcpmux port, then a plain request through the tunnel
body=$(curl -sS --max-time 20 -p -x "http://127.0.0.1:$TCPMUX" "http://mux.example.com/m") ||
    fail "tcpmux request failed"
grep -q '^service=M$' <<<"$body" || fail "tcpmux did not reach M: $body"
log "tcpmux: CONNECT routed to M"

stop_ufrpc
wait_line "$WORK/frps.log" 'proxy \[mux\].*closed|\[mux\] proxy closing|close proxy \[mux\]' 10 ||
    log "note: frps logged no close for mux"
grep -q 'client exit success' "$WORK/frps.log" || wait_line "$WORK/frps.log" 'client exit success' 10 ||
    fail "frps did not see ufrpc leave"
pass
