#!/usr/bin/env bash
# local_down.sh MUX(true|false): the proxy's local service is not running. A user connection must be
# closed (ufrpc cannot reach localIP:localPort) while the tunnel stays up; once the
# service starts, the same proxy carries traffic.
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="local_down_mux-$MUX"
TOKEN="down-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX"
LOCAL=$(freeport)
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true echo "$LOCAL" "$REMOTE"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered"
wait_line "$WORK/peer.log" '^EVENT work-conn ' 10 || fail "no work connection"

for i in 1 2 3; do
    "$TOOL" expect-close "$REMOTE" 15 || fail "user connection $i was not closed"
done
# frpc's line, word for word (Go's dial error)
wait_line "$WORK/ufrpc.log" "\\[echo\\] connect to local service \\[127.0.0.1:$LOCAL\\] error: dial tcp 127.0.0.1:$LOCAL: connect: connection refused" 10 ||
    fail "no frpc-worded 'connect to local service' line"
sleep 0.5
grep -q '^EVENT control-closed' "$WORK/peer.log" && fail "the control was closed"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc died"
n=$(count_lines "$WORK/peer.log" '^EVENT login ')
[ "$n" = 1 ] || fail "$n logins: the tunnel was re-established instead of staying up"

start_echo echo "$LOCAL"
"$TOOL" load "$REMOTE" 262144 2 30 || fail "no traffic once the local service is up"
stop_ufrpc
pass
