#!/usr/bin/env bash
# reload.sh MUX(true|false): SIGHUP makes ufrpc re-read its config.
#  1. Only proxies changed: applied live on the session, as frpc's reload — a proxy
#     added to the file is registered and carries traffic, a removed one is closed,
#     and the unchanged one keeps running: a connection opened through it before the
#     SIGHUP still echoes afterwards, and the peer sees no second login.
#  2. serverPort and auth.token changed: ufrpc logs in again, to the other server, and
#     the proxies work there.
# The process keeps running throughout.
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="reload_mux-$MUX"
TOKEN="reload-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX"
PEER1_PORT=$PEER_PORT
start_echo echo
R0=$(freeport)
R1=$(freeport)
R2=$(freeport)
R3=$(freeport)

# write_reload_config SERVER_PORT TOKEN NAME REMOTE_PORT KEEP_REMOTE_PORT
write_reload_config() {
    write_config "$WORK/frpc.toml" "$1" "$2" "$MUX" false true "$3" "$ECHO_PORT" "$4"
    cat >>"$WORK/frpc.toml" <<EOT

[[proxies]]
name = "keep"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $5
EOT
}

write_reload_config "$PEER1_PORT" "$TOKEN" one "$R1" "$R0"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=one " 20 || fail "proxy one not registered"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=keep " 20 || fail "proxy keep not registered"
"$TOOL" load "$R1" 65536 2 30 || fail "traffic through proxy one"

# a long-lived user connection through the proxy that stays unchanged
exec {KFD}<>"/dev/tcp/127.0.0.1/$R0" || fail "cannot connect to proxy keep"
printf 'before-reload\n' >&"$KFD"
line=""
read -r -t 10 -u "$KFD" line || true
[ "$line" = before-reload ] || fail "no echo through proxy keep before the reload (got '$line')"

write_reload_config "$PEER1_PORT" "$TOKEN" two "$R2" "$R0"
log "config now has proxy two instead of one, keep unchanged; SIGHUP"
kill -HUP "$UFRPC_PID"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=two " 30 || fail "proxy two not registered after SIGHUP"
"$TOOL" load "$R2" 65536 2 30 || fail "traffic through proxy two"
wait_line "$WORK/peer.log" "^EVENT proxy-closed name=one" 10 || fail "proxy one still registered"
"$TOOL" load "$R1" 1024 1 5 >/dev/null 2>&1 && fail "proxy one still carries traffic"
wait_line "$WORK/ufrpc.log" "reload: 1 proxies added, 1 removed, 0 changed, 1 unchanged" 5 ||
    fail "no live-reload summary in ufrpc's log"
# and frpc's own lines, which scripts watch
grep -q "proxy removed: \[one\]" "$WORK/ufrpc.log" || fail "no 'proxy removed: [one]'"
grep -q "proxy added: \[two\]" "$WORK/ufrpc.log" || fail "no 'proxy added: [two]'"
grep -q "success reload conf" "$WORK/ufrpc.log" || fail "no 'success reload conf'"
grep -q "proxy added: \[one keep\]" "$WORK/ufrpc.log" || fail "no 'proxy added' at login"

printf 'after-reload\n' >&"$KFD"
line=""
read -r -t 10 -u "$KFD" line || true
[ "$line" = after-reload ] || fail "the connection through proxy keep did not survive the reload (got '$line')"
"$TOOL" load "$R0" 65536 2 30 || fail "new connections through proxy keep"
n=$(count_lines "$WORK/peer.log" "^EVENT login ")
[ "$n" = 1 ] || fail "the peer saw $n logins, want 1 (the reload must not log in again)"
n=$(count_lines "$WORK/peer.log" "^EVENT proxy-closed name=keep")
[ "$n" = 0 ] || fail "proxy keep was closed by the reload"
exec {KFD}>&-

# the server settings change: a second server with another token and port
TOKEN2="reload2-$RANDOM"
start_peer peer2 --bind 127.0.0.1:0 --token "$TOKEN2" --mux="$MUX"
PEER2_PORT=$PEER_PORT
# new remote ports for both proxies: the first peer may still hold its listeners until
# it sees the old session end, which can come after the login to the second peer
R4=$(freeport)
write_reload_config "$PEER2_PORT" "$TOKEN2" two "$R4" "$R3"
log "serverPort and auth.token changed; SIGHUP"
kill -HUP "$UFRPC_PID"
wait_line "$WORK/ufrpc.log" "reload: server settings changed, reconnecting" 10 ||
    fail "no re-login message in ufrpc's log"
wait_line "$WORK/peer2.log" "^EVENT login " 30 || fail "no login to the second server"
wait_line "$WORK/peer2.log" "^EVENT proxy-new .*name=keep " 30 || fail "proxy keep not on the second server"
wait_line "$WORK/peer2.log" "^EVENT proxy-new .*name=two " 30 || fail "proxy two not on the second server"
"$TOOL" load "$R3" 65536 2 30 || fail "traffic through proxy keep on the second server"
"$TOOL" load "$R4" 65536 2 30 || fail "traffic through proxy two on the second server"
wait_line "$WORK/peer.log" "^EVENT (control-closed|session-end)" 10 || fail "the first session did not end"
n=$(count_lines "$WORK/peer.log" "^EVENT login ")
[ "$n" = 1 ] || fail "the first peer saw $n logins, want 1"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc died on SIGHUP"
stop_ufrpc
pass
