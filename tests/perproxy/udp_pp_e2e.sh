#!/usr/bin/env bash
# udp_pp_e2e.sh SERVER(peer|frps): udp proxies with transport.proxyProtocolVersion.
# frpc puts a PROXY protocol header in front of the first datagram it sends to the
# local service for each new user address (v2: UDP over IPv4, the user's address
# and the local service's; v1 has no UDP form: "PROXY UNKNOWN"), and none before
# later datagrams. Through the test frps (peer) or the real frps (frps, interop:
# skipped without UFRPC_REAL_FRPS).
SERVER=${1:?SERVER}
if [ "$SERVER" = frps ]; then
    source "$(dirname "$0")/../interop/lib.sh"
    need_frps
else
    source "$(dirname "$0")/../e2e/lib.sh"
fi
E2E_NAME="udp_pp_$SERVER"
TOKEN="udp-pp-$RANDOM"
UPP="$(dirname "$0")/udp_pp.py"
if [ "$SERVER" = frps ]; then
    SERVER_PORT=$(freeport)
    frps_config "$SERVER_PORT" "$TOKEN" true >"$WORK/frps.toml"
    start_frps frps "$WORK/frps.toml"
else
    start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux=true
    SERVER_PORT=$PEER_PORT
fi
python3 "$UPP" serve </dev/null >"$WORK/service.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/service.log" '^READY ' 10 || fail "udp_pp service did not start"
SVC=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/service.log" | head -n 1)
common_config "$SERVER_PORT" "$TOKEN" true true >"$WORK/frpc.toml"
declare -A R
for v in v1 v2 none; do
    R[$v]=$(freeport)
    {
        printf '\n[[proxies]]\nname = "u%s"\ntype = "udp"\nlocalIP = "127.0.0.1"\n' "$v"
        printf 'localPort = %s\nremotePort = %s\n' "$SVC" "${R[$v]}"
        [ "$v" = none ] || printf 'transport.proxyProtocolVersion = "%s"\n' "$v"
    } >>"$WORK/frpc.toml"
done
start_ufrpc ufrpc "$WORK/frpc.toml"
for v in v1 v2 none; do
    wait_line "$WORK/ufrpc.log" "\\[u$v\\] start proxy success" 30 || fail "proxy u$v did not start"
done
for v in v2 v1 none; do
    out=$(python3 "$UPP" probe "${R[$v]}" "$v" "$SVC") || fail "u$v: $out"
    log "u$v: $out"
done
stop_ufrpc
pass
