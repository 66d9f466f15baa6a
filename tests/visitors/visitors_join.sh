#!/usr/bin/env bash
# visitors_join.sh MUX(true|false)
#
# frpc joins a stcp visitor's user connection and its stream to the server with
# golib's io.Join, which closes both at the first EOF from either side; so must
# ufrpc (no half-close passes through a visitor). The test frps admits the two
# visitors' streams but keeps its own end open (peer_visitor.c faults
# UFRPC_PEER_VISITOR_HOLD / _FIN), so what is seen is the visitor's own doing:
#   held_v: the user sends "hello" and half-closes: the user connection must be
#           ended (a visitor that only passed the FIN on would leave it open), and
#           the server stream gets the EOF;
#   fin_v:  the server writes "bye" and half-closes: the user reads "bye" and EOF
#           and keeps its own side open: the visitor must end the server stream
#           anyway (the peer sees its EOF).
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:-true}
E2E_NAME="visitors-join-mux_$MUX"
TOKEN="e2e-$RANDOM-vjoin"
K="secret-$RANDOM"
NET_TOOL="$(dirname "$0")/net_tool.py"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"

export UFRPC_PEER_VISITOR_HOLD=alice.held UFRPC_PEER_VISITOR_FIN=alice.fin
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=off --mux=$MUX
unset UFRPC_PEER_VISITOR_HOLD UFRPC_PEER_VISITOR_FIN
start_echo echo

common() { # USER
    common_config "$PEER_PORT" "$TOKEN" "$MUX" false debug
    printf 'user = "%s"\n' "$1"
}
{
    common alice
    for n in held fin; do
        printf '\n[[proxies]]\nname = "%s"\ntype = "stcp"\nsecretKey = "%s"\nallowUsers = ["bob"]\nlocalIP = "127.0.0.1"\nlocalPort = %s\n' \
            "$n" "$K" "$ECHO_PORT"
    done
} >"$WORK/prov.toml"
P_HELD=$(freeport)
P_FIN=$(freeport)
{
    common bob
    printf '\n[[visitors]]\nname = "held_v"\ntype = "stcp"\nserverUser = "alice"\nserverName = "held"\nsecretKey = "%s"\nbindAddr = "127.0.0.1"\nbindPort = %s\n' "$K" "$P_HELD"
    printf '\n[[visitors]]\nname = "fin_v"\ntype = "stcp"\nserverUser = "alice"\nserverName = "fin"\nsecretKey = "%s"\nbindAddr = "127.0.0.1"\nbindPort = %s\n' "$K" "$P_FIN"
} >"$WORK/vis.toml"

start_ufrpc prov "$WORK/prov.toml"
PROV_PID=$UFRPC_PID
for n in held fin; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=alice\.$n " 20 || fail "proxy alice.$n not registered"
done
start_ufrpc vis "$WORK/vis.toml"
VIS_PID=$UFRPC_PID
for n in held_v fin_v; do
    wait_line "$WORK/vis.log" "\[$n\] start visitor success" 20 || fail "visitor $n did not start"
done

# 1. the user half-closes
out=$(python3 "$NET_TOOL" halfclose "$P_HELD" 20) || fail "held_v after the user's half-close: $out"
wait_line "$WORK/peer.log" '^EVENT visitor-hold-eof proxy=alice\.held' 10 ||
    fail "held_v: the server stream got no EOF"
log "user half-close: the visitor ended the user connection and its server stream"

# 2. the server half-closes; the user keeps its side open
python3 "$NET_TOOL" readeof "$P_FIN" 20 >"$WORK/readeof.out" 2>&1 &
RE_PID=$!
E2E_PIDS+=("$RE_PID")
wait_line "$WORK/readeof.out" '^EOF$' 20 || fail "fin_v: the user did not get bye and EOF: $(cat "$WORK/readeof.out")"
wait_line "$WORK/peer.log" '^EVENT visitor-hold-eof proxy=alice\.fin' 10 ||
    fail "fin_v: the server stream stayed open while the user kept its side open"
kill "$RE_PID" 2>/dev/null || true
wait "$RE_PID" 2>/dev/null || true
log "server half-close: the visitor ended the server stream and the user connection"

UFRPC_PID=$VIS_PID
stop_ufrpc
UFRPC_PID=$PROV_PID
stop_ufrpc
pass
