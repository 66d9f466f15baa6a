#!/usr/bin/env bash
# visitors_timeout.sh MUX(true|false)
#
# The server never answers a visitor (test frps fault UFRPC_PEER_VISITOR_SILENT,
# peer_visitor.c) for alice.slow (stcp) and alice.uslow (sudp); alice.sec answers as
# usual. ufrpc "vis" (user bob) must give up after frpc's 10 s NewVisitorConnResp
# deadline with a clear log line, close the user connection with no data and its
# stream to the server (the peer sees each silent stream end), keep serving the other
# visitor meanwhile, and open a new stream for the next sudp datagram. A user
# connection closed by its user during the handshake is cleaned up as well (ASan
# build: no leak at exit). Waits once for the 10 s deadline (all cases in parallel).
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:-true}
E2E_NAME="visitors-timeout-mux_$MUX"
TOKEN="e2e-$RANDOM-vtimeout"
K="secret-$RANDOM"
NET_TOOL="$(dirname "$0")/net_tool.py"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"

export UFRPC_PEER_VISITOR_SILENT=alice.slow,alice.uslow
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=off --mux=$MUX
unset UFRPC_PEER_VISITOR_SILENT
start_echo echo
python3 "$NET_TOOL" echo </dev/null >"$WORK/udpecho.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/udpecho.log" '^READY ' 10 || fail "UDP echo did not start"
UDP_ECHO_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/udpecho.log" | head -n 1)

common() { # USER
    common_config "$PEER_PORT" "$TOKEN" "$MUX" false debug
    printf 'user = "%s"\n' "$1"
}
proxy() { # NAME TYPE LOCAL_PORT
    printf '\n[[proxies]]\nname = "%s"\ntype = "%s"\nsecretKey = "%s"\nallowUsers = ["bob"]\nlocalIP = "127.0.0.1"\nlocalPort = %s\n' \
        "$1" "$2" "$K" "$3"
}
visitor() { # NAME TYPE SERVER_NAME BIND_PORT
    printf '\n[[visitors]]\nname = "%s"\ntype = "%s"\nserverUser = "alice"\nserverName = "%s"\nsecretKey = "%s"\nbindAddr = "127.0.0.1"\nbindPort = %s\n' \
        "$1" "$2" "$3" "$K" "$4"
}
{
    common alice
    proxy slow stcp "$ECHO_PORT"
    proxy sec stcp "$ECHO_PORT"
    proxy uslow sudp "$UDP_ECHO_PORT"
} >"$WORK/prov.toml"
P_SLOW=$(freeport)
P_SEC=$(freeport)
P_USLOW=$(freeport)
{
    common bob
    visitor slow_v stcp slow "$P_SLOW"
    visitor sec_v stcp sec "$P_SEC"
    visitor uslow_v sudp uslow "$P_USLOW"
} >"$WORK/vis.toml"

start_ufrpc prov "$WORK/prov.toml"
PROV_PID=$UFRPC_PID
for n in slow sec uslow; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=alice\.$n " 20 || fail "proxy alice.$n not registered"
done
start_ufrpc vis "$WORK/vis.toml"
VIS_PID=$UFRPC_PID
for n in slow_v sec_v uslow_v; do
    wait_line "$WORK/vis.log" "\[$n\] start visitor success" 20 || fail "visitor $n did not start"
done

# 1. a user that gives up at once; 2. a user that waits; 3. a datagram
python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.close()' "$P_SLOW" ||
    fail "could not connect to slow_v"
wait_line "$WORK/peer.log" '^EVENT visitor-silent proxy=alice\.slow' 5 || fail "the peer did not hold the first slow_v stream"
"$TOOL" expect-close "$P_SLOW" 20 >"$WORK/expect-close.out" 2>&1 &
EC_PID=$!
python3 "$NET_TOOL" silence "$P_USLOW" 2 >"$WORK/silence.out" 2>&1 || fail "sudp: an answer from a silent server?"
wait_line "$WORK/peer.log" '^EVENT visitor-silent proxy=alice\.slow' 5 2 || fail "the peer did not hold the second slow_v stream"
wait_line "$WORK/peer.log" '^EVENT visitor-silent proxy=alice\.uslow' 5 || fail "the peer did not hold the uslow_v stream"
# meanwhile the other visitor works
out=$("$TOOL" load "$P_SEC" 524288 3 10) || fail "sec_v while another visitor waits: $out"

wait "$EC_PID" || fail "slow_v did not close the waiting user connection: $(cat "$WORK/expect-close.out")"
wait_line "$WORK/vis.log" '\[slow_v\] read NewVisitorConnResp: no answer within 10000 ms' 5 2 ||
    fail "slow_v: no clear timeout message for both connections"
wait_line "$WORK/vis.log" '\[uslow_v\] read NewVisitorConnResp: no answer within 10000 ms' 10 ||
    fail "uslow_v: no clear timeout message"
# no stream ended before the deadline: each timeout comes 10 s after its connection
# (timestamps from the visitor's log, so a loaded machine cannot fake or break it)
for n in 1 2; do
    t0=$(line_time "$WORK/vis.log" '\[slow_v\] new stcp user connection' "$n") || fail "no slow_v connection $n"
    t1=$(line_time "$WORK/vis.log" '\[slow_v\] read NewVisitorConnResp: no answer' "$n") || fail "no slow_v timeout $n"
    at_least_apart "$t0" "$t1" 9.99 || fail "slow_v connection $n timed out after $t0 -> $t1, before 10 s"
done
wait_line "$WORK/peer.log" '^EVENT visitor-silent-done proxy=alice\.slow ' 5 2 ||
    fail "ufrpc did not close its two slow_v streams to the server"
wait_line "$WORK/peer.log" '^EVENT visitor-silent-done proxy=alice\.uslow ' 5 ||
    fail "ufrpc did not close its uslow_v stream to the server"
log "10 s NewVisitorConnResp deadline: user connections and server streams closed, clear messages"

# the next datagram opens a new sudp stream
python3 "$NET_TOOL" silence "$P_USLOW" 1 >/dev/null || fail "sudp: an answer from a silent server?"
wait_line "$WORK/peer.log" '^EVENT visitor-silent proxy=alice\.uslow' 5 2 || fail "uslow_v did not open a new stream"
[ "$(count_lines "$WORK/peer.log" '^EVENT login ')" = 2 ] || fail "a client logged in again"
out=$("$TOOL" load "$P_SEC" 65536 2 10) || fail "sec_v at the end: $out"

UFRPC_PID=$VIS_PID
stop_ufrpc
UFRPC_PID=$PROV_PID
stop_ufrpc
pass
