#!/usr/bin/env bash
# metrics.sh MUX(true|false): 3 connections of known size through a tcp proxy, one
# kept open (its bytes show before it ends), one refused by a stopped local service; /metrics (valid exposition, promtool when
# installed), /api/metrics and `ufrpc status --metrics` report exactly those bytes,
# connections and errors; both need the webServer's basic auth.
source "$(dirname "$0")/../e2e/lib.sh"
: "${PROMCHECK:?PROMCHECK must name the promcheck tool}"
MUX=$1
E2E_NAME="metrics_mux-$MUX"
TOKEN="m-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX"
start_echo echo
LOCAL=$ECHO_PORT
REMOTE=$(freeport)
ADMIN=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true echo "$LOCAL" "$REMOTE" \
    "webServer.addr = \"127.0.0.1\"
webServer.port = $ADMIN
webServer.user = \"admin\"
webServer.password = \"pw-$TOKEN\""
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered"
wait_line "$WORK/ufrpc.log" "\\[echo\\] start proxy success" 20 || fail "proxy not started"

BYTES=100000
"$TOOL" load "$REMOTE" "$BYTES" 3 30 >"$WORK/load.out" || fail "load failed: $(cat "$WORK/load.out")"

get() { curl -sS --max-time 10 -u "admin:pw-$TOKEN" -o "$2" -w '%{http_code}' "http://127.0.0.1:$ADMIN$1"; }
series() { "$PROMCHECK" "$WORK/m.txt" "$1"; }
A='{name="echo",type="tcp"}'

# the pumps end just after the users' connections: wait for the counters to settle
deadline=$((SECONDS + 30))
while :; do
    [ "$(get /metrics "$WORK/m.txt")" = 200 ] || fail "/metrics did not answer 200"
    [ "$(series "ufrpc_proxy_connections_total$A")" = 3 ] &&
        [ "$(series "ufrpc_proxy_connections_active$A")" = 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "connections did not settle: $(grep connections "$WORK/m.txt")"
    sleep 0.2
done
"$PROMCHECK" "$WORK/m.txt" || fail "/metrics is not valid exposition"
ct=$(curl -sS -u "admin:pw-$TOKEN" -o /dev/null -w '%{content_type}' "http://127.0.0.1:$ADMIN/metrics")
[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "content type $ct"
want() { # SERIES VALUE
    local v
    v=$(series "$1") || fail "no $1"
    [ "$v" = "$2" ] || fail "$1 = $v, want $2"
}
want "ufrpc_proxy_bytes_in_total$A" $((3 * BYTES))
want "ufrpc_proxy_bytes_out_total$A" $((3 * BYTES))
want "ufrpc_proxy_connections_failed_total$A" 0
want "ufrpc_proxy_up$A" 1
want "ufrpc_proxy_local_dial_seconds_count$A" 3
want 'ufrpc_proxy_state{name="echo",type="tcp",state="running"}' 1
want "ufrpc_session_up" 1
want "ufrpc_session_logins_total" 1
want "ufrpc_session_login_seconds_count" 1
if [ "$MUX" = false ]; then
    # heartbeats on (frpc's default without tcpMux): the first Ping goes out at login
    [ "$(series ufrpc_session_ping_rtt_seconds_count)" -ge 1 ] || fail "no Ping round trip counted"
fi
[ "$(series ufrpc_process_resident_memory_bytes)" != 0 ] || fail "no RSS"
if [ "$MUX" = true ]; then
    # the control stream at least
    [ "$(series ufrpc_session_yamux_streams)" -ge 1 ] || fail "no yamux streams counted"
fi
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$WORK/m.txt" || fail "promtool refused /metrics"
else
    log "promtool not installed: checked by promcheck only"
fi

# a connection still open shows its traffic (counted live at each scrape)
exec 7<>"/dev/tcp/127.0.0.1/$REMOTE"
head -c 5000 /dev/zero >&7
head -c 5000 <&7 >/dev/null || fail "no echo on the long connection"
deadline=$((SECONDS + 30)) # a write's completion may be reported a loop turn later
while :; do
    get /metrics "$WORK/m.txt" >/dev/null
    [ "$(series "ufrpc_proxy_bytes_out_total$A")" = $((3 * BYTES + 5000)) ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "live bytes: $(grep bytes_out "$WORK/m.txt")"
    sleep 0.2
done
want "ufrpc_proxy_connections_active$A" 1
want "ufrpc_proxy_bytes_in_total$A" $((3 * BYTES + 5000))
exec 7>&-
deadline=$((SECONDS + 30))
while :; do
    get /metrics "$WORK/m.txt" >/dev/null
    [ "$(series "ufrpc_proxy_connections_active$A")" = 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "the long connection did not end"
    sleep 0.2
done
want "ufrpc_proxy_bytes_in_total$A" $((3 * BYTES + 5000)) # not counted twice
want "ufrpc_proxy_bytes_out_total$A" $((3 * BYTES + 5000))

# a refused local connection: failed connection and a local_dial error
kill "$ECHO_PID"
"$TOOL" expect-close "$REMOTE" 15 || fail "the user connection was not closed"
deadline=$((SECONDS + 30))
while :; do
    get /metrics "$WORK/m.txt" >/dev/null
    [ "$(series "ufrpc_proxy_connections_failed_total$A")" = 1 ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "the failed connection was not counted"
    sleep 0.2
done
want 'ufrpc_proxy_errors_total{name="echo",type="tcp",kind="local_dial"}' 1
"$PROMCHECK" "$WORK/m.txt" || fail "/metrics is not valid exposition"

# the same through /api/metrics
[ "$(get /api/metrics "$WORK/m.json")" = 200 ] || fail "/api/metrics did not answer 200"
python3 - "$WORK/m.json" $((3 * BYTES + 5000)) <<'PY' || fail "/api/metrics: $(cat "$WORK/m.json")"
import json, sys
m = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
p = [x for x in m["proxies"] if x["name"] == "echo"][0]
assert p["type"] == "tcp" and p["status"] == "running", p
assert p["bytes_in"] == want and p["bytes_out"] == want, p
assert p["conns_total"] == 4 and p["conns_active"] == 0 and p["conns_failed"] == 1, p
assert p["errors_by_kind"]["local_dial"] == 1 and p["errors"] == 1, p
assert p["dial_count"] == 4 and p["dial_p50_ms"] > 0, p
assert m["session"]["up"] is True and m["session"]["logins"] == 1, m["session"]
assert m["process"]["rss_bytes"] > 0 and m["process"]["open_fds"] > 0, m["process"]
PY

# basic auth as for the API
for path in /metrics /api/metrics; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN$path")
    [ "$code" = 401 ] || fail "$path without credentials answered $code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:wrong "http://127.0.0.1:$ADMIN$path")
    [ "$code" = 401 ] || fail "$path with a wrong password answered $code"
done

# the terminal
"$UFRPC" status -c "$WORK/frpc.toml" --metrics >"$WORK/status.txt" || fail "status --metrics failed"
"$PROMCHECK" "$WORK/status.txt" "ufrpc_proxy_bytes_in_total$A" | grep -qx $((3 * BYTES + 5000)) ||
    fail "status --metrics: $(head -5 "$WORK/status.txt")"
"$UFRPC" status -c "$WORK/frpc.toml" --metrics=json >"$WORK/status.json" || fail "status --metrics=json failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))["proxies"]' "$WORK/status.json" ||
    fail "status --metrics=json is not JSON"
stop_ufrpc
pass
