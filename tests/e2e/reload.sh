#!/usr/bin/env bash
# reload.sh MUX(true|false): SIGHUP makes ufrpc re-read its config and reconnect with
# it: a proxy added to the file is registered and carries traffic, a removed one is
# gone, and the process keeps running.
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="reload_mux-$MUX"
TOKEN="reload-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX"
start_echo echo
R1=$(freeport)
R2=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true one "$ECHO_PORT" "$R1"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=one " 20 || fail "proxy one not registered"
"$TOOL" load "$R1" 65536 2 30 || fail "traffic through proxy one"

write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true two "$ECHO_PORT" "$R2"
log "config now has proxy two instead of one; SIGHUP"
kill -HUP "$UFRPC_PID"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=two " 30 || fail "proxy two not registered after SIGHUP"
"$TOOL" load "$R2" 65536 2 30 || fail "traffic through proxy two"
wait_line "$WORK/peer.log" "^EVENT proxy-closed name=one" 10 || fail "proxy one still registered"
"$TOOL" load "$R1" 1024 1 5 >/dev/null 2>&1 && fail "proxy one still carries traffic"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc died on SIGHUP"
stop_ufrpc
pass
