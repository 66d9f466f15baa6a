#!/usr/bin/env bash
# faults.sh KIND (drop | corrupt | stall | kill) MUX(true|false)
# The peer injects a fault into the live control session:
#   drop     closes the control (TCP connection / yamux stream),
#   corrupt  sends a frame with an unknown type byte on the encrypted control,
#   stall    stops reading and writing (ufrpc must notice through its heartbeat
#            timeout: heartbeatInterval 1 s, heartbeatTimeout 3 s; with tcpMux the
#            whole session stalls and tcpMuxKeepaliveInterval is 1 s as well),
#   kill     closes the whole transport connection.
# ufrpc must log in again (previous run id) and carry traffic again.
source "$(dirname "$0")/lib.sh"
KIND=$1
MUX=$2
E2E_NAME="fault_${KIND}_mux-$MUX"
TOKEN="fault-$RANDOM"
EXTRA=""
if [ "$KIND" = stall ]; then
    EXTRA=$'transport.heartbeatInterval = 1\ntransport.heartbeatTimeout = 3\ntransport.tcpMuxKeepaliveInterval = 1'
fi
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX" --commands
start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true echo "$ECHO_PORT" "$REMOTE" "$EXTRA"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered"
RUN_ID=$(sed -n 's/^EVENT login run_id=\([0-9a-f]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
"$TOOL" load "$REMOTE" 262144 2 30 || fail "traffic before the fault"

log "injecting: $KIND"
peer_cmd peer "$KIND"
wait_line "$WORK/peer.log" "^EVENT fault .*kind=$KIND" 5 || fail "the peer did not inject the fault"
wait_line "$WORK/peer.log" "^EVENT login run_id=$RUN_ID " 30 2 || fail "ufrpc did not log in again"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo" 20 2 || fail "proxy not registered again"
"$TOOL" load "$REMOTE" 262144 2 30 || fail "traffic after the fault"
stop_ufrpc
pass
