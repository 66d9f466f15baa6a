#!/usr/bin/env bash
# visitors_cli.sh: frpc's quick command-line forms, four ufrpc processes without a
# config file: `ufrpc stcp` (--sk, --allow-users with a comma list, --ue --uc) and
# `ufrpc sudp` as user alice; `ufrpc stcp visitor` and `ufrpc sudp visitor`
# (--server-name, --server-user, --bind-port) as user bob. Traffic: sha256-verified
# TCP load through the stcp visitor (encrypted + compressed on both hops, as the
# peer's events must show) and byte-exact UDP round trips through the sudp visitor;
# SIGTERM: every ufrpc exits 0.
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME=visitors-cli
TOKEN="e2e-$RANDOM-vcli"
NET_TOOL="$(dirname "$0")/net_tool.py"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=off --mux=true
start_echo echo
python3 "$NET_TOOL" echo </dev/null >"$WORK/udpecho.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/udpecho.log" '^READY ' 10 || fail "UDP echo did not start"
UDP_ECHO_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/udpecho.log" | head -n 1)
P_STCP=$(freeport)
P_SUDP=$(freeport)
COMMON=(-s 127.0.0.1 -P "$PEER_PORT" -t "$TOKEN" --tls-enable=false --log-level debug)
PIDS=()
run() { # NAME ARGS...
    local name=$1
    shift
    "$UFRPC" "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    E2E_PIDS+=("$!")
    PIDS+=("$!")
}
run p_stcp stcp "${COMMON[@]}" -u alice -n sec --sk K1 --allow-users carol,bob -l "$ECHO_PORT" --ue --uc
run p_sudp sudp "${COMMON[@]}" -u alice -n usec --sk K2 --allow-users bob -l "$UDP_ECHO_PORT"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.sec type=stcp .*encryption=1 compression=1' 10 ||
    fail "ufrpc stcp: alice.sec not registered with encryption and compression"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.usec type=sudp .*encryption=0 compression=0' 10 ||
    fail "ufrpc sudp: alice.usec not registered"
run v_stcp stcp visitor "${COMMON[@]}" -u bob -n sec_v --server-name sec --server-user alice --sk K1 \
    --bind-port "$P_STCP" --ue --uc
run v_sudp sudp visitor "${COMMON[@]}" -u bob -n usec_v --server-name usec --server-user alice --sk K2 \
    --bind-port "$P_SUDP"
wait_line "$WORK/v_stcp.log" '\[sec_v\] start visitor success' 10 || fail "ufrpc stcp visitor did not start"
wait_line "$WORK/v_sudp.log" '\[usec_v\] start visitor success' 10 || fail "ufrpc sudp visitor did not start"
out=$("$TOOL" load "$P_STCP" 524288 3 10) || fail "stcp through the CLI visitor: $out"
[ "$(count_lines "$WORK/peer.log" '^EVENT visitor-conn proxy=alice\.sec type=stcp user=bob encryption=1 compression=1 ')" = 3 ] ||
    fail "expected 3 encrypted+compressed visitor connections of bob to alice.sec"
out=$(python3 "$NET_TOOL" roundtrip "$P_SUDP" 8 5) || fail "sudp through the CLI visitor: $out"
[ "$(count_lines "$WORK/peer.log" '^EVENT visitor-conn proxy=alice\.usec type=sudp user=bob encryption=0 compression=0 ')" = 1 ] ||
    fail "expected one sudp visitor stream"
log "CLI stcp/sudp proxies and visitors: $out"
for p in "${PIDS[@]}"; do
    UFRPC_PID=$p
    stop_ufrpc
done
pass
