#!/usr/bin/env bash
# router.sh: ufrpc's path router (`routes` on an http proxy, a ufrpc extension)
# behind the real frps's vhostHTTPPort: frps is told the union of the route
# locations (NewProxy locations) and routes by them, ufrpc picks the route per
# request. Checks per-route answers, stripPrefix with X-Forwarded-Prefix, segment
# boundaries (/apiary goes to "/" although frps matched it as "/api"), keep-alive
# with mixed routes on one user connection and on one work connection (frps's Go
# transport reuses a work connection per frps location: "/api/..." and "/apiary"
# share one), the response head rewrite, an Upgrade routed then spliced, 502 for a
# service that is down, frps's 404 outside the locations; SIGTERM closes cleanly.
source "$(dirname "$0")/lib.sh"
E2E_NAME="interop_router"
need_frps
HERE=$INTEROP_DIR/../vhost
TOKEN="router-$RANDOM"
command -v curl >/dev/null || skip "curl missing"
command -v python3 >/dev/null || skip "python3 missing"

FRPS_PORT=$(freeport)
VHOST=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true "vhostHTTPPort = $VHOST" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

declare -A PORT
start_service() { # NAME
    python3 "$HERE/http_echo.py" "$1" </dev/null >"$WORK/svc-$1.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/svc-$1.log" '^READY ' 10 || fail "service $1 did not start"
    PORT[$1]=$(ready_port "$WORK/svc-$1.log")
}
for n in API ADMIN ROOT; do start_service "$n"; done
DOWN_PORT=$(freeport)

{
    client_config "$FRPS_PORT" "$TOKEN" true true
    cat <<CONF

[[proxies]]
name = "apps"
type = "http"
customDomains = ["apps.example.com"]
routes = [
  { location = "/api",   localPort = ${PORT[API]}, stripPrefix = true },
  { location = "/admin", localPort = ${PORT[ADMIN]} },
  { location = "/down",  localPort = $DOWN_PORT },
  { location = "/",      localPort = ${PORT[ROOT]} },
]

[[proxies]]
name = "narrow"
type = "http"
customDomains = ["narrow.example.com"]
routes = [{ location = "/only", localPort = ${PORT[API]}, stripPrefix = true }]
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in apps narrow; do
    wait_line "$WORK/frps.log" "new proxy \\[$n\\] type \\[http\\] success" 30 || fail "frps did not take $n"
done

OUT=$WORK/out
HDR=$WORK/hdr
RES=(--resolve "apps.example.com:$VHOST:127.0.0.1" --resolve "narrow.example.com:$VHOST:127.0.0.1")
get() { # URL [curl args...]
    local url=$1
    shift
    curl -s --max-time 10 "${RES[@]}" -D "$HDR" -o "$OUT" -w '%{http_code}' "$@" "$url" || true
}
want_line() { grep -q -x -F -- "$1" "$OUT" || { echo "body:"; cat "$OUT"; fail "missing line '$1'"; }; }
want_hdr() { tr -d '\r' <"$HDR" | grep -q -i -x -F -- "$1" || { cat "$HDR"; fail "missing header '$1'"; }; }
A="http://apps.example.com:$VHOST"

code=$(get "$A/api/users?id=1")
[ "$code" = 200 ] || fail "/api/users: status $code"
want_line "service=API"
want_line "path=/users?id=1"
want_line "h:x-forwarded-prefix=/api"
code=$(get "$A/api")
want_line "service=API"
want_line "path=/"
code=$(get "$A/admin/x")
want_line "service=ADMIN"
want_line "path=/admin/x"
code=$(get "$A/apiary")
[ "$code" = 200 ] || fail "/apiary: status $code"
want_line "service=ROOT"
want_line "path=/apiary"
log "routes ok"

# outside every location frps answers itself; inside, the router refuses /onlyx
code=$(get "http://narrow.example.com:$VHOST/elsewhere")
[ "$code" = 404 ] || fail "narrow /elsewhere: status $code"
grep -q "powered by" "$OUT" || fail "/elsewhere: not frps's 404 page"
code=$(get "http://narrow.example.com:$VHOST/onlyx")
[ "$code" = 404 ] || fail "narrow /onlyx: status $code"
grep -q "no route for this path" "$OUT" || fail "/onlyx: not the router's 404"

# keep-alive: one user connection, mixed routes; "/api/..." and "/apiary" are one frps
# location, so frps's transport sends them over one work connection
WC='\[apps\] get a new work connection'
before=$(count_lines "$WORK/frps.log" "$WC")
curl -s -v --max-time 10 "${RES[@]}" "$A/api/k1" -o "$WORK/k1" "$A/apiary" -o "$WORK/k2" \
    "$A/api/k3" -o "$WORK/k3" "$A/admin/k4" -o "$WORK/k4" 2>"$WORK/curl-ka.err" ||
    fail "keep-alive curl failed"
grep -q -i "Re-using existing connection" "$WORK/curl-ka.err" || fail "curl did not reuse the connection"
grep -q -x "path=/k1" "$WORK/k1" && grep -q -x "service=API" "$WORK/k1" || fail "k1: $(cat "$WORK/k1")"
grep -q -x "path=/apiary" "$WORK/k2" && grep -q -x "service=ROOT" "$WORK/k2" || fail "k2: $(cat "$WORK/k2")"
grep -q -x "path=/k3" "$WORK/k3" && grep -q -x "service=API" "$WORK/k3" || fail "k3: $(cat "$WORK/k3")"
grep -q -x "path=/admin/k4" "$WORK/k4" && grep -q -x "service=ADMIN" "$WORK/k4" || fail "k4"
after=$(count_lines "$WORK/frps.log" "$WC")
log "4 requests over $((after - before)) work connection(s)"
[ $((after - before)) -lt 4 ] || fail "frps opened a work connection per request: no mixed routes on one"
log "keep-alive ok"

code=$(get "$A/api/redirect")
[ "$code" = 302 ] || fail "/api/redirect: status $code"
want_hdr "Location: /api/login"
want_hdr "Set-Cookie: sid=API; Path=/api; HttpOnly"
code=$(get "$A/down/x")
[ "$code" = 502 ] || fail "/down: status $code"
code=$(get "$A/api/again")
[ "$code" = 200 ] || fail "after 502: status $code"

# (no bytes sent with the request head: frps's Go reverse proxy does not pass those on)
out=$(python3 "$HERE/vh_client.py" upgrade "$VHOST" apps.example.com "" "later|" /api/ws)
echo "$out" | grep -q "^STATUS HTTP/1.1 101 Switching Protocols" || fail "upgrade: $out"
echo "$out" | grep -q -F "DATA b'hello-from-API\\nlater|'" || fail "upgrade: $out"
log "upgrade ok"

stop_ufrpc
pass
