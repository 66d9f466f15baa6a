#!/usr/bin/env bash
# xtcp.sh: xtcp P2P over kcp and quic through the test frps's nathole controller
# (tests/peer/peer_nathole.c), two ufrpc processes, the loopback STUN server: the
# visitor's PreCheck and NatHoleVisitor, the sid on a work connection, NatHoleClient,
# both NatHoleResp, the punching, NatHoleReport success; then a sha256-checked load
# over the tunnel (the test frps relays nothing for xtcp), the same with the visitor
# at protocol quic (the ufrpc proxy serves QUIC on its punched socket), a wrong
# secretKey refused
# by the controller with its text, and both processes stopping cleanly.
source "$(dirname "$0")/lib.sh"
TOKEN="xtcp-$RANDOM"
K="p2p-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=false --mux=true
start_stun
start_echo echo
P_V=$(freeport) P_BAD=$(freeport) P_Q=$(freeport)
visitor() { # NAME BIND_PORT SECRET [PROTOCOL]
    printf '\n[[visitors]]\nname = "%s"\ntype = "xtcp"\nserverUser = "alice"\nserverName = "up"\nsecretKey = "%s"\nbindAddr = "127.0.0.1"\nbindPort = %s\nprotocol = "%s"\n' \
        "$1" "$3" "$2" "${4:-kcp}"
}
{
    common_config "$PEER_PORT" "$TOKEN" true false debug
    printf 'user = "alice"\nnatHoleStunServer = "127.0.0.1:%s"\n' "$STUN_EASY"
    printf '\n[[proxies]]\nname = "up"\ntype = "xtcp"\nsecretKey = "%s"\nallowUsers = ["bob"]\nlocalIP = "127.0.0.1"\nlocalPort = %s\n' "$K" "$ECHO_PORT"
} >"$WORK/prox.toml"
{
    common_config "$PEER_PORT" "$TOKEN" true false debug
    printf 'user = "bob"\nnatHoleStunServer = "127.0.0.1:%s"\n' "$STUN_EASY"
    visitor v "$P_V" "$K"
    visitor bad_v "$P_BAD" "wrong-$K"
    printf 'fallbackTo = "nope_v"\nfallbackTimeoutMs = 3000\n'
    visitor q_v "$P_Q" "$K" quic
} >"$WORK/vis.toml"

start_ufrpc prox "$WORK/prox.toml"
PROX_PID=$UFRPC_PID
wait_line "$WORK/prox.log" '\[up\] start proxy success' 20 || fail "the xtcp proxy did not start"
start_ufrpc vis "$WORK/vis.toml"
wait_line "$WORK/vis.log" '\[v\] start visitor success' 20 || fail "the xtcp visitor did not start"

out=$("$TOOL" load "$P_V" $((1024 * 1024)) 3 60) || fail "load over the P2P tunnel: $out"
wait_line "$WORK/peer.log" '^EVENT nathole-visitor .*name=alice\.up pre_check=1' 1 || fail "no PreCheck"
wait_line "$WORK/peer.log" '^EVENT nathole-sid .*rc=0' 1 || fail "no NatHoleSid on a work connection"
wait_line "$WORK/peer.log" '^EVENT nathole-report .*success=1' 10 || fail "no successful NatHoleReport"
wait_line "$WORK/prox.log" '\[up\] establishing nat hole connection successful' 1 || fail "proxy: no hole"
wait_line "$WORK/vis.log" '\[v\] establishing nat hole connection successful' 1 || fail "visitor: no hole"
# no user connection of the test frps carried these bytes
[ "$(count_lines "$WORK/peer.log" '^EVENT user-conn ')" = 0 ] || fail "the test frps relayed user bytes"
log "P2P load: $out"

# protocol quic: the proxy listens with QUIC on the punched socket, the visitor dials
n0=$(count_lines "$WORK/peer.log" '^EVENT nathole-report .*success=1')
out=$("$TOOL" load "$P_Q" $((1024 * 1024)) 3 60) || fail "load over the P2P QUIC tunnel: $out"
wait_line "$WORK/peer.log" '^EVENT nathole-report .*success=1' 10 $((n0 + 1)) ||
    fail "quic: no successful NatHoleReport"
wait_line "$WORK/vis.log" '\[q_v\] establishing nat hole connection successful' 1 || fail "quic: visitor: no hole"
wait_line "$WORK/prox.log" 'get natHoleRespMsg, sid \[[^]]*\], protocol \[quic\]' 1 ||
    fail "quic: the proxy did not see protocol quic"
grep -q 'is not supported by ufrpc' "$WORK/prox.log" && fail "quic: the proxy refused the tunnel"
[ "$(count_lines "$WORK/peer.log" '^EVENT user-conn ')" = 0 ] || fail "the test frps relayed user bytes"
log "P2P load over quic: $out"

# a wrong secretKey: the controller refuses with its text; after fallbackTimeoutMs the
# connection goes to fallbackTo, which names no visitor: closed with frpc's line
"$TOOL" expect-close "$P_BAD" 20 >/dev/null &
EC=$!
wait_line "$WORK/vis.log" '\[bad_v\] nathole exchange info error: natHoleRespMsg get error info: xtcp connection of \[alice\.up\] auth failed' 20 ||
    fail "the wrong key was not refused with the controller's text"
wait "$EC" || fail "the refused user connection was not closed"
wait_line "$WORK/vis.log" '\[bad_v\] transfer connection to visitor nope_v error' 5 ||
    fail "no line for the missing fallback visitor"

stop_ufrpc
UFRPC_PID=$PROX_PID
stop_ufrpc
pass
