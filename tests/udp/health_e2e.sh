#!/usr/bin/env bash
# health_e2e.sh MUX: proxy health checks (docs/PROTOCOL.md §12.2-ish; frpc's healthCheck).
#   hc-tcp   tcp proxy to an e2e-tool echo, healthCheck.type = "tcp"
#   hc-http  tcp proxy to python3 -m http.server, healthCheck.type = "http",
#            path = "/ok.txt" (the check needs a 2xx answer, not just a connection)
# both with intervalSeconds = 1, maxFailed = 1, timeoutSeconds = 1, and the admin API
# on webServer.port. Checks:
#  1. both proxies registered (EVENT proxy-new) and carry traffic;
#  2. echo service killed → the test frps gets CloseProxy for hc-tcp only, ufrpc logs
#     the failed check and /api/status shows hc-tcp "check failed"; hc-http keeps
#     working;
#  3. echo started again on the same port → NewProxy for hc-tcp a second time, status
#     "running", 256 KiB sha256-verified echo through it;
#  4. /ok.txt removed (the HTTP server stays up and answers 404) → CloseProxy for
#     hc-http, "check failed"; file back → NewProxy again and curl gets the file.
#  hc-redir checks path "/dir", a directory the HTTP server redirects (301) to
#  "/dir/": frpc's check (Go's http.Client) follows the redirect to the 200 listing,
#  so the proxy must be registered and stay up.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:?MUX}
E2E_NAME="health_mux_$MUX"
TOKEN="e2e-$RANDOM-health"

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX"
E_PORT=$(freeport)
start_echo echo "$E_PORT"
mkdir -p "$WORK/www/dir"
echo "healthy" >"$WORK/www/ok.txt"
H_PORT=$(freeport)
python3 -m http.server "$H_PORT" --bind 127.0.0.1 --directory "$WORK/www" </dev/null \
    >"$WORK/http.log" 2>&1 &
E2E_PIDS+=("$!")
up=0
for _ in $(seq 300); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$H_PORT/ok.txt" && { up=1; break; }
    sleep 0.1
done
[ "$up" = 1 ] || fail "http.server did not answer within 30 s"
R_TCP=$(freeport)
R_HTTP=$(freeport)
R_REDIR=$(freeport)
ADMIN=$(freeport)
{
    common_config "$PEER_PORT" "$TOKEN" "$MUX" "$MUX"
    cat <<CONF
webServer.addr = "127.0.0.1"
webServer.port = $ADMIN

[[proxies]]
name = "hc-tcp"
type = "tcp"
localIP = "127.0.0.1"
localPort = $E_PORT
remotePort = $R_TCP
healthCheck.type = "tcp"
healthCheck.intervalSeconds = 1
healthCheck.timeoutSeconds = 1
healthCheck.maxFailed = 1

[[proxies]]
name = "hc-http"
type = "tcp"
localIP = "127.0.0.1"
localPort = $H_PORT
remotePort = $R_HTTP
healthCheck.type = "http"
healthCheck.path = "/ok.txt"
healthCheck.intervalSeconds = 1
healthCheck.timeoutSeconds = 1
healthCheck.maxFailed = 1

[[proxies]]
name = "hc-redir"
type = "tcp"
localIP = "127.0.0.1"
localPort = $H_PORT
remotePort = $R_REDIR
healthCheck.type = "http"
healthCheck.path = "/dir"
healthCheck.intervalSeconds = 1
healthCheck.timeoutSeconds = 1
healthCheck.maxFailed = 1
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in hc-tcp hc-http hc-redir; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$n " 20 || fail "proxy $n not registered"
done

# status_of NAME: the "status" of that proxy in /api/status
status_of() {
    curl -s --max-time 5 "http://127.0.0.1:$ADMIN/api/status" |
        python3 -c 'import json,sys
d=json.load(sys.stdin)
print(next((p["status"] for ps in d.values() for p in ps if p["name"]==sys.argv[1]),"absent"))' "$1"
}
# wait_status NAME STATUS TIMEOUT_S (at least E2E_MIN_WAIT, as wait_line)
wait_status() {
    local t=$3 s=
    [ "$t" -ge "$E2E_MIN_WAIT" ] || t=$E2E_MIN_WAIT
    local deadline=$((SECONDS + t))
    while [ "$SECONDS" -lt "$deadline" ]; do
        s=$(status_of "$1" 2>/dev/null || true)
        [ "$s" = "$2" ] && return 0
        sleep 0.2
    done
    echo "status of $1: '$s'"
    return 1
}
get() { curl -s --max-time 5 "http://127.0.0.1:$R_HTTP/ok.txt" 2>&1 || true; }

# 1. traffic through both
wait_status hc-tcp running 10 || fail "hc-tcp not running"
out=$("$TOOL" load "$R_TCP" 262144 1 20) || fail "hc-tcp echo: $out"
[ "$(get)" = healthy ] || fail "hc-http: got '$(get)'"
log "both proxies up"

# 2. local tcp service down → CloseProxy, check failed
kill -9 "$ECHO_PID"
wait "$ECHO_PID" 2>/dev/null || true
wait_line "$WORK/peer.log" '^EVENT close-proxy .*name=hc-tcp' 10 || fail "no CloseProxy after the echo went down"
wait_status hc-tcp "check failed" 5 || fail "hc-tcp is not 'check failed' in /api/status"
grep -q -E '\[hc-tcp\] health check status change to failed' "$WORK/ufrpc.log" ||
    fail "ufrpc did not log the failed check"
# each failed check in frpc's words (its health monitor logs every one)
grep -q -E '\[hc-tcp\] do one health check failed: dial tcp 127\.0\.0\.1:[0-9]+: connect: connection refused' \
    "$WORK/ufrpc.log" || fail "no frpc-worded 'do one health check failed' line"
grep -q -E '^EVENT close-proxy .*name=hc-http' "$WORK/peer.log" && fail "hc-http was closed too"
[ "$(get)" = healthy ] || fail "hc-http after hc-tcp went down: got '$(get)'"
log "hc-tcp closed on a failed check"

# 3. back up → NewProxy again, traffic again
start_echo echo2 "$E_PORT"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=hc-tcp ' 10 2 || fail "no second NewProxy for hc-tcp"
wait_status hc-tcp running 5 || fail "hc-tcp not running again"
out=$("$TOOL" load "$R_TCP" 262144 1 20) || fail "hc-tcp echo after recovery: $out"
log "hc-tcp back: $out"

# 4. http check: a 404 is a failure, the file back is a success
mv "$WORK/www/ok.txt" "$WORK/ok.txt.away"
wait_line "$WORK/peer.log" '^EVENT close-proxy .*name=hc-http' 10 || fail "no CloseProxy after /ok.txt went 404"
wait_status hc-http "check failed" 5 || fail "hc-http is not 'check failed' in /api/status"
mv "$WORK/ok.txt.away" "$WORK/www/ok.txt"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=hc-http ' 10 2 || fail "no second NewProxy for hc-http"
wait_status hc-http running 5 || fail "hc-http not running again"
[ "$(get)" = healthy ] || fail "hc-http after recovery: got '$(get)'"
log "hc-http closed on 404 and back"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" && fail "the control session was closed"
grep -q -E '^EVENT close-proxy .*name=hc-redir' "$WORK/peer.log" && fail "hc-redir (301 to a 200) went down"
[ "$(status_of hc-redir)" = running ] || fail "hc-redir is not running"
grep -q -F '"GET /dir HTTP/1.1" 301' "$WORK/http.log" || fail "the HTTP server did not redirect /dir"
grep -q -F '"GET /dir/ HTTP/1.1" 200' "$WORK/http.log" || fail "the redirect to /dir/ was not followed"
stop_ufrpc
pass
