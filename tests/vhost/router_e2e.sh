#!/usr/bin/env bash
# router_e2e.sh: ufrpc's path router (`routes` on an http proxy) through the test
# frps's http vhost port (tests/peer/peer_vhost*.c), driven with curl and
# vh_client.py; local services: http_echo.py (answers with its name, the path and
# every header it got).
#
# Proves: frps is told the union of the route locations (paths outside them get
# frps's 404); each request reaches the longest matching route's service on path
# segment boundaries (/apiary is not /api); stripPrefix (/api/users?id=1 → /users?id=1,
# /api → /) with X-Forwarded-Prefix; no strip keeps the path; keep-alive with mixed
# routes on one user connection (curl reuses it); the response head rewritten
# (Location, Content-Location, Set-Cookie Path); a hostile target (dot segments)
# answered 400; a route whose service is down answered 502; an Upgrade routed to its
# route, then spliced; route conflicts refused by `ufrpc verify` and at start with
# their file:line; SIGTERM closes cleanly.
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME="router"
HERE=$(cd "$(dirname "$0")" && pwd)
TOKEN="e2e-$RANDOM-router"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

H=$(freeport)
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --vhost-http-port "$H"
wait_line "$WORK/peer.log" "^EVENT vhost-listen kind=http " 5 || fail "no http vhost listener"

declare -A PORT
start_service() { # NAME
    python3 "$HERE/http_echo.py" "$1" </dev/null >"$WORK/svc-$1.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/svc-$1.log" '^READY ' 10 || fail "service $1 did not start"
    PORT[$1]=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/svc-$1.log" | head -n 1)
}
for n in API ADMIN ROOT; do start_service "$n"; done
DOWN_PORT=$(freeport) # nothing listens there
WPORT=$(freeport)      # admin API: /metrics carries the per-route counters

{
    common_config "$PEER_PORT" "$TOKEN" true false
    cat <<CONF
webServer.port = $WPORT

[[proxies]]
name = "apps"
type = "http"
customDomains = ["apps.example.com"]
routes = [
  { location = "/api",   localPort = ${PORT[API]}, stripPrefix = true },
  { location = "/admin", localIP = "127.0.0.1", localPort = ${PORT[ADMIN]} },
  { location = "/down",  localPort = $DOWN_PORT },
  { location = "/",      localPort = ${PORT[ROOT]} },
]

[[proxies]]
name = "narrow"
type = "http"
customDomains = ["narrow.example.com"]
[[proxies.routes]]
location = "/only"
localPort = ${PORT[API]}
stripPrefix = true
CONF
} >"$WORK/frpc.toml"
"$UFRPC" verify -c "$WORK/frpc.toml" >"$WORK/verify-ok.out" 2>&1 || {
    cat "$WORK/verify-ok.out"
    fail "verify refused the router config"
}
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in apps narrow; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$n " 20 || fail "proxy $n not registered"
done

OUT=$WORK/out
HDR=$WORK/hdr
get() { # URL [curl args...]: body into $OUT, headers into $HDR, status printed
    local url=$1
    shift
    curl -s --max-time 10 --resolve "apps.example.com:$H:127.0.0.1" \
        --resolve "narrow.example.com:$H:127.0.0.1" -D "$HDR" -o "$OUT" -w '%{http_code}' "$@" "$url" || true
}
want_line() { grep -q -x -F -- "$1" "$OUT" || { echo "body:"; cat "$OUT"; fail "missing line '$1'"; }; }
no_line() { if grep -q -F -- "$1" "$OUT"; then cat "$OUT"; fail "unexpected '$1'"; fi; }
want_hdr() { tr -d '\r' <"$HDR" | grep -q -i -x -F -- "$1" || { cat "$HDR"; fail "missing header '$1'"; }; }
A="http://apps.example.com:$H"

# ---- per-route answers, strip, segment boundaries
code=$(get "$A/api/users?id=1")
[ "$code" = 200 ] || fail "/api/users: status $code"
want_line "service=API"
want_line "path=/users?id=1"
want_line "h:x-forwarded-prefix=/api"
want_line "host=apps.example.com:$H"
code=$(get "$A/api")
[ "$code" = 200 ] || fail "/api: status $code"
want_line "service=API"
want_line "path=/"
code=$(get "$A/admin/settings")
[ "$code" = 200 ] || fail "/admin: status $code"
want_line "service=ADMIN"
want_line "path=/admin/settings"
no_line "x-forwarded-prefix"
code=$(get "$A/apiary")
[ "$code" = 200 ] || fail "/apiary: status $code"
want_line "service=ROOT"
want_line "path=/apiary"
code=$(get "$A/")
want_line "service=ROOT"
log "routes ok"

# ---- frps got the union of the locations: outside them, frps answers 404
code=$(get "http://narrow.example.com:$H/elsewhere")
[ "$code" = 404 ] || fail "narrow /elsewhere: status $code"
wait_line "$WORK/peer.log" "^EVENT vhost-404 kind=http host=narrow.example.com path=/elsewhere" 5 ||
    fail "frps routed a path outside the route locations"
code=$(get "http://narrow.example.com:$H/only/x")
[ "$code" = 200 ] || fail "narrow /only/x: status $code"
want_line "path=/x"
# frps matches "/only" as a plain prefix: the router refuses /onlyx itself
code=$(get "http://narrow.example.com:$H/onlyx")
[ "$code" = 404 ] || fail "narrow /onlyx: status $code"
grep -q "no route for this path" "$OUT" || fail "/onlyx: not the router's 404"

# ---- keep-alive: mixed routes on one user connection
curl -s -v --max-time 10 --resolve "apps.example.com:$H:127.0.0.1" \
    "$A/api/k1" -o "$WORK/k1" "$A/admin/k2" -o "$WORK/k2" "$A/k3" -o "$WORK/k3" \
    "$A/api/k4" -o "$WORK/k4" 2>"$WORK/curl-ka.err" || fail "keep-alive curl failed"
grep -q -i "Re-using existing connection" "$WORK/curl-ka.err" || fail "curl did not reuse the connection"
grep -q -x "service=API" "$WORK/k1" && grep -q -x "path=/k1" "$WORK/k1" || fail "k1: $(cat "$WORK/k1")"
grep -q -x "service=ADMIN" "$WORK/k2" && grep -q -x "path=/admin/k2" "$WORK/k2" || fail "k2"
grep -q -x "service=ROOT" "$WORK/k3" && grep -q -x "path=/k3" "$WORK/k3" || fail "k3"
grep -q -x "service=API" "$WORK/k4" && grep -q -x "path=/k4" "$WORK/k4" || fail "k4"
# per-route metrics: the requests just made are counted under their route
metric() { # SERIES: its value in /metrics (0 when absent)
    curl -s --max-time 10 "http://127.0.0.1:$WPORT/metrics" >"$WORK/metrics.txt"
    awk -v k="$1" 'index($0, k " ") == 1 { print $2; found = 1 } END { if (!found) print 0 }' \
        "$WORK/metrics.txt"
}
n=$(metric 'ufrpc_route_requests_total{name="apps",location="/api",class="2xx"}')
[ "${n%.*}" -ge 2 ] || fail "route /api 2xx count $n, want >= 2"
n=$(metric 'ufrpc_route_requests_total{name="apps",location="/admin",class="2xx"}')
[ "${n%.*}" -ge 1 ] || fail "route /admin 2xx count $n, want >= 1"
grep -q '^ufrpc_route_latency_seconds_count{name="apps",location="/api"} ' "$WORK/metrics.txt" ||
    fail "no latency histogram for /api"
log "route metrics ok"
# a POST body through a stripped route, chunked
head -c 100000 /dev/urandom >"$WORK/body.bin"
sum=$(sha256sum "$WORK/body.bin" | cut -d' ' -f1)
code=$(get "$A/api/upload" -H "Transfer-Encoding: chunked" --data-binary "@$WORK/body.bin")
[ "$code" = 200 ] || fail "chunked POST: status $code"
want_line "path=/upload"
want_line "body_sha256=$sum"
log "keep-alive ok"

# ---- the response head points back into the prefix
code=$(get "$A/api/redirect")
[ "$code" = 302 ] || fail "/api/redirect: status $code"
want_hdr "Location: /api/login"
want_hdr "Content-Location: http://apps.example.com:$H/api/doc"
want_hdr "Set-Cookie: sid=API; Path=/api; HttpOnly"
code=$(get "$A/admin/redirect") # no strip: unchanged
want_hdr "Location: /login"
want_hdr "Set-Cookie: sid=ADMIN; Path=/; HttpOnly"
log "rewrite ok"

# ---- hostile target, local service down
out=$(python3 "$HERE/vh_client.py" raw "$H" 'GET /api/%2e%2e/admin/x HTTP/1.1\r\nHost: apps.example.com\r\nConnection: close\r\n\r\n')
echo "$out" | grep -q "400 Bad Request" || fail "dot segments: $out"
code=$(get "$A/down/x")
[ "$code" = 502 ] || fail "/down: status $code"
grep -q "cannot connect to 127.0.0.1:$DOWN_PORT" "$OUT" || fail "502 body: $(cat "$OUT")"
code=$(get "$A/api/after-502")
[ "$code" = 200 ] || fail "after 502: status $code"

# ---- Upgrade: routed by path, then spliced
out=$(python3 "$HERE/vh_client.py" upgrade "$H" apps.example.com "early|" "later|" /api/ws)
[ "$out" = "STATUS HTTP/1.1 101 Switching Protocols
DATA b'hello-from-API\\nearly|later|'" ] || fail "upgrade /api/ws: $out"
out=$(python3 "$HERE/vh_client.py" upgrade "$H" apps.example.com "e|" "l|" /admin/ws)
echo "$out" | grep -q "hello-from-ADMIN" || fail "upgrade /admin/ws: $out"
log "upgrade ok"

# ---- conflicts refused with their lines
cat >"$WORK/bad.toml" <<CONF
serverAddr = "127.0.0.1"
serverPort = $PEER_PORT

[[proxies]]
name = "apps"
type = "http"
customDomains = ["apps.example.com"]
routes = [
  { location = "/api", localPort = 9001 },
  { location = "/api/", localPort = 9002 },
]

[[proxies]]
name = "v2"
type = "http"
localPort = 9003
customDomains = ["apps.example.com"]
locations = ["/api/v2"]
CONF
rc=0
"$UFRPC" verify -c "$WORK/bad.toml" >"$WORK/verify-bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "verify of conflicting routes: exit $rc"
grep -q "bad.toml:10: proxy \[apps\]: routes\[1\]: location \"/api/\" is already routed by routes\[0\] (line 9)" \
    "$WORK/verify-bad.out" || { cat "$WORK/verify-bad.out"; fail "duplicate not reported"; }
grep -q "bad.toml:13: http proxies \[apps\] and \[v2\] conflict on domain \"apps.example.com\": location \"/api/v2\"" \
    "$WORK/verify-bad.out" || { cat "$WORK/verify-bad.out"; fail "prefix conflict not reported"; }
rc=0
"$UFRPC" -c "$WORK/bad.toml" >"$WORK/start-bad.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "ufrpc started with conflicting routes"
grep -q "bad.toml:13:" "$WORK/start-bad.log" || { cat "$WORK/start-bad.log"; fail "start: no file:line"; }

# the control stayed up; SIGTERM closes
grep -q "login to server success" "$WORK/ufrpc.log" || fail "no login"
stop_ufrpc
pass
