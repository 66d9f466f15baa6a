#!/usr/bin/env bash
# ws_bad_upgrade.sh: the websocket upgrade fails, and ufrpc says so with the step:
#  1. serverPort is a plain HTTP server (python3 -m http.server): it answers 404;
#  2. wss straight at the test frps, with no TLS terminator in front: frps (and the
#     peer) run TLS on the bind port but then read frp, not HTTP, and hang up.
# With loginFailExit = true ufrpc must exit non-zero after logging the cause.
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME=ws_bad_upgrade
TOKEN="ws-$RANDOM-token"

HPORT=$(freeport)
(cd "$WORK" && exec python3 -m http.server --bind 127.0.0.1 "$HPORT") >"$WORK/http.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/http.log" "Serving HTTP" 10 || fail "python http.server did not start"

write_config "$WORK/frpc.toml" "$HPORT" "$TOKEN" true false true echo 1 2 \
    'transport.protocol = "websocket"'
rc=0
timeout 60 "$UFRPC" -c "$WORK/frpc.toml" </dev/null >"$WORK/ufrpc404.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "ufrpc did not exit with an error (status $rc)"
grep -E "websocket: upgrade failed: server answered 404 File not found instead of 101 Switching Protocols \(127\.0\.0\.1:$HPORT\); hint: is serverPort frps's bindPort" \
    "$WORK/ufrpc404.log" >/dev/null || fail "no clear message for the 404 answer"
log "404: $(grep -m1 -o 'websocket: upgrade failed: [^(]*' "$WORK/ufrpc404.log")"

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux=true
write_config "$WORK/frpc2.toml" "$PEER_PORT" "$TOKEN" true false true echo 1 2 \
    'transport.protocol = "wss"'
rc=0
timeout 60 "$UFRPC" -c "$WORK/frpc2.toml" </dev/null >"$WORK/ufrpcwss.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "ufrpc did not exit with an error (status $rc)"
grep -E "websocket: upgrade inside TLS \(wss\) failed: (connection closed before the upgrade answer|the answer is not an HTTP/1.1 response head) \(127\.0\.0\.1:$PEER_PORT\); hint: frps does not serve wss by itself" \
    "$WORK/ufrpcwss.log" >/dev/null || fail "no clear message for wss without a terminator"
grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "wss did not start with TLS"
pass
