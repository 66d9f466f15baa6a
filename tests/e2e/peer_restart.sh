#!/usr/bin/env bash
# peer_restart.sh MUX(true|false)
# The peer is killed (SIGKILL) while ufrpc is connected and restarted on the same port
# after a second: ufrpc must log in again (with its previous run id, as frpc does),
# register the proxy again and carry traffic again, within frpc's re-login backoff
# bound (at once, then about 2, 4, 8, 16, 20 s; we allow 30 s).
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="peer_restart_mux-$MUX"
TOKEN="restart-$RANDOM"

PORT=$(freeport) # not an ephemeral port: it must still be free for the restart
start_peer peer1 --bind "127.0.0.1:$PORT" --token "$TOKEN" --mux="$MUX"
start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$PORT" "$TOKEN" "$MUX" false true echo "$ECHO_PORT" "$REMOTE"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer1.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered"
RUN_ID=$(sed -n 's/^EVENT login run_id=\([0-9a-f]*\).*/\1/p' "$WORK/peer1.log" | head -n 1)
"$TOOL" load "$REMOTE" 1048576 4 30 || fail "traffic before the restart"

log "killing the peer (run id $RUN_ID)"
kill -9 "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true # gone, and its listener with it
t0=$SECONDS
start_peer peer2 --bind "127.0.0.1:$PORT" --token "$TOKEN" --mux="$MUX"
wait_line "$WORK/peer2.log" "^EVENT proxy-new .*name=echo" 30 ||
    fail "ufrpc did not register the proxy again within 30 s"
log "proxy back after $((SECONDS - t0)) s"
grep -q "^EVENT login run_id=$RUN_ID " "$WORK/peer2.log" ||
    fail "the re-login did not carry the previous run id $RUN_ID"
wait_line "$WORK/peer2.log" '^EVENT work-conn ' 10 || fail "no work connection after re-login"
"$TOOL" load "$REMOTE" 1048576 4 30 || fail "traffic after the restart"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc died"
stop_ufrpc
pass
