#!/usr/bin/env bash
# alerts.sh MUX(true|false): [alerts] downSeconds = 1 with a webhook. The frps goes
# away: the proxy's "down" alert fires (warn line with the tunnel and the value,
# ufrpc_alert_active 1, a webhook POST retried after the receiver's first 500); frps
# comes back: the alert resolves (info line, metric 0, a second POST).
source "$(dirname "$0")/../e2e/lib.sh"
: "${PROMCHECK:?PROMCHECK must name the promcheck tool}"
command -v python3 >/dev/null || { echo "python3 not installed: skipped"; exit 77; }
MUX=$1
E2E_NAME="alerts_mux-$MUX"
TOKEN="a-$RANDOM"
PORT=$(freeport)
start_peer peer1 --bind "127.0.0.1:$PORT" --token "$TOKEN" --mux="$MUX"
start_echo echo
REMOTE=$(freeport)
ADMIN=$(freeport)
python3 "$(dirname "$0")/webhook_sink.py" "$WORK/hook.txt" 1 >"$WORK/sink.log" 2>&1 &
E2E_PIDS+=($!)
wait_line "$WORK/sink.log" '^READY ' 10 || fail "webhook sink did not start"
HOOK=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/sink.log")
write_config "$WORK/frpc.toml" "$PORT" "$TOKEN" "$MUX" false false echo "$ECHO_PORT" "$REMOTE" \
    "webServer.port = $ADMIN
[alerts]
downSeconds = 1
maxConnections = 1000
webhookURL = \"http://127.0.0.1:$HOOK/hook\""
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/ufrpc.log" "\\[echo\\] start proxy success" 20 || fail "proxy not started"

metric() {
    curl -sS --max-time 10 -o "$WORK/m.txt" "http://127.0.0.1:$ADMIN/metrics" || fail "/metrics"
    "$PROMCHECK" "$WORK/m.txt" || fail "/metrics is not valid exposition"
    "$PROMCHECK" "$WORK/m.txt" "$1"
}
[ "$(metric 'ufrpc_alert_active{alert="down",name="echo"}')" = 0 ] || fail "down alert active at start"
[ "$(metric 'ufrpc_alert_active{alert="connections",name="echo"}')" = 0 ] || fail "no connections alert series"

kill -9 "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
wait_line "$WORK/ufrpc.log" '\[echo\] alert down firing: [0-9.]+ s \(threshold 1 s\)' 20 ||
    fail "no 'alert down firing' line"
grep -E '\[echo\] alert down firing' "$WORK/ufrpc.log" | grep -q '\[W\]' || fail "the firing line is not a warning"
[ "$(metric 'ufrpc_alert_active{alert="down",name="echo"}')" = 1 ] || fail "ufrpc_alert_active not 1"
# the first POST is refused (500): the same alert arrives again after a second
wait_line "$WORK/hook.txt" '^\{.*"status":"firing"' 20 || fail "webhook did not receive the firing alert"
grep -q '^REFUSED .*"status":"firing"' "$WORK/hook.txt" || fail "the first attempt was not the refused one"
grep -E '^\{' "$WORK/hook.txt" | head -n 1 | python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
assert m["alert"] == "down" and m["name"] == "echo" and m["status"] == "firing", m
assert m["value"] >= 1 and m["threshold"] == 1 and m["unit"] == "s", m
' || fail "webhook body: $(cat "$WORK/hook.txt")"

start_peer peer2 --bind "127.0.0.1:$PORT" --token "$TOKEN" --mux="$MUX"
wait_line "$WORK/ufrpc.log" '\[echo\] alert down resolved' 40 || fail "no 'alert down resolved' line"
[ "$(metric 'ufrpc_alert_active{alert="down",name="echo"}')" = 0 ] || fail "ufrpc_alert_active not back to 0"
wait_line "$WORK/hook.txt" '^\{.*"status":"resolved"' 20 || fail "webhook did not receive the resolved alert"
[ "$(grep -c '"status":"firing"' "$WORK/hook.txt")" = 2 ] || fail "firing posted other than twice (refused + retry)"
[ "$(grep -c '"status":"resolved"' "$WORK/hook.txt")" = 1 ] || fail "resolved posted other than once"
"$TOOL" load "$REMOTE" 65536 2 30 >/dev/null || fail "no traffic after the alert resolved"
stop_ufrpc
pass
