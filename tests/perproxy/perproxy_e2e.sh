#!/usr/bin/env bash
# perproxy_e2e.sh MUX: per-proxy options of tcp proxies end to end (issue 5, "Per
# proxy"): the real ufrpc against the test frps (tests/peer), 127.0.0.1 only, with
# tcpMux (and TLS) = MUX. The local service and the users are pp_service.py (python3).
#
#  1. transport.proxyProtocolVersion "v1" and "v2": ufrpc writes a PROXY header to the
#     local service built from StartWorkConn's src/dst, which the test frps fills with
#     the user connection's addresses as frps does. The user connects through the frps
#     remote port and reads its own getsockname(); the service parses the header (v1
#     text line / v2 signature + binary IPv4 block) and sends back what it carried: the
#     source must be exactly the user's address and port, the destination
#     127.0.0.1:<remote port>, and the user's first line must follow the header
#     intact; then an echo. The same proxy without proxyProtocolVersion: no header, the
#     first bytes the service reads are the user's.
#  2. transport.bandwidthLimit = "256KB" (256 KiB/s; one bucket per proxy for both
#     directions, starting full with a 256 KiB burst, as frpc's rate.Limiter):
#     bandwidthLimitMode = "client": 1 MiB up (user -> service) and then 1 MiB down
#     each take >= 2.5 s (theory: >= 3 s up, ~4 s down; a lower bound only: the limit
#     is under test, not speed). The same transfers through an unlimited proxy in the
#     same run take less than half as long, and so do those through a proxy with
#     bandwidthLimitMode = "server": that mode limits on frps only (the test frps does
#     not), ufrpc must not pace it. The NewProxy of each (the peer's EVENT proxy-new)
#     carries bandwidth_limit=256KB, and bandwidth_limit_mode=server for the server one,
#     empty for "client" (frpc leaves the default out of the message), nothing for the
#     unlimited one.
#  3. loadBalancer.group / groupKey: two tcp proxies with the same group and groupKey;
#     the NewProxy of both carries group= and group_key=. The test frps does not
#     load-balance (no shared remote port: each proxy keeps its own port here); only
#     what ufrpc sends is checked, plus traffic through both.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:?MUX}
E2E_NAME="perproxy_mux_$MUX"
TOKEN="e2e-$RANDOM-perproxy"
PPS="$(dirname "$0")/pp_service.py"
pp() { python3 "$PPS" "$@"; }
MIB=$((1024 * 1024))

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX"
# python3 itself in the background (not the pp function: its subshell would be killed, not python)
python3 "$PPS" serve </dev/null >"$WORK/service.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/service.log" '^READY ' 10 || fail "pp_service did not start"
SVC_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/service.log" | head -n 1)

common_config "$PEER_PORT" "$TOKEN" "$MUX" "$MUX" >"$WORK/frpc.toml"
declare -A REMOTE
add_proxy() { # NAME EXTRA_LINES...
    local name=$1
    shift
    REMOTE[$name]=$(freeport)
    {
        printf '\n[[proxies]]\nname = "%s"\ntype = "tcp"\nlocalIP = "127.0.0.1"\n' "$name"
        printf 'localPort = %s\nremotePort = %s\n' "$SVC_PORT" "${REMOTE[$name]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >>"$WORK/frpc.toml"
}
add_proxy ppv1 'transport.proxyProtocolVersion = "v1"'
add_proxy ppv2 'transport.proxyProtocolVersion = "v2"'
add_proxy ppnone
add_proxy bwclient 'transport.bandwidthLimit = "256KB"' 'transport.bandwidthLimitMode = "client"'
add_proxy bwserver 'transport.bandwidthLimit = "256KB"' 'transport.bandwidthLimitMode = "server"'
add_proxy unlimited
add_proxy lb1 'loadBalancer.group = "web"' 'loadBalancer.groupKey = "gk-5f3a"'
add_proxy lb2 'loadBalancer.group = "web"' 'loadBalancer.groupKey = "gk-5f3a"'
start_ufrpc ufrpc "$WORK/frpc.toml"

# ---- NewProxy contents (the peer's EVENT proxy-new) ----------------------------------
event_has() { # NAME FIELDS: the proxy-new line of NAME contains FIELDS (space-separated)
    grep -E "^EVENT proxy-new .*name=$1 " "$WORK/peer.log" | grep -q -E -- "(^| )$2( |$)"
}
for name in ppv1 ppv2 ppnone bwclient bwserver unlimited lb1 lb2; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$name " 20 || fail "proxy $name not registered"
done
event_has bwclient "bandwidth_limit=256KB bandwidth_limit_mode= group= group_key=" ||
    fail "bwclient: NewProxy is not bandwidth_limit=256KB with the default mode left out"
event_has bwserver "bandwidth_limit=256KB bandwidth_limit_mode=server group= group_key=" ||
    fail "bwserver: NewProxy is not bandwidth_limit=256KB bandwidth_limit_mode=server"
event_has unlimited "bandwidth_limit= bandwidth_limit_mode= group= group_key=" ||
    fail "unlimited: NewProxy carries a bandwidth limit or a group"
for name in lb1 lb2; do
    event_has $name "bandwidth_limit= bandwidth_limit_mode= group=web group_key=gk-5f3a" ||
        fail "$name: NewProxy does not carry group=web group_key=gk-5f3a"
done
log "NewProxy fields as configured (bandwidth_limit, bandwidth_limit_mode, group, group_key)"

# ---- PROXY protocol --------------------------------------------------------------------
for spec in ppv1:v1 ppv2:v2 ppnone:none lb1:none lb2:none bwclient:none; do
    IFS=: read -r name want <<<"$spec"
    for _ in 1 2; do
        out=$(pp probe "${REMOTE[$name]}" "$want" "${REMOTE[$name]}") || fail "$name: $out"
    done
    log "$name: ${out#probe: }"
done

# ---- bandwidth limit -------------------------------------------------------------------
declare -A T
for name in bwclient unlimited bwserver; do
    for way in up down; do
        out=$(pp xfer "${REMOTE[$name]}" "$way" "$MIB") || fail "$name $way: $out"
        T[$name.$way]=${out#elapsed=}
        log "$name: 1 MiB $way in ${T[$name.$way]} s"
    done
done
ge() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$1" "$2"; }
lt_half() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) / 2 else 1)" "$1" "$2"; }
for way in up down; do
    ge "${T[bwclient.$way]}" 2.5 ||
        fail "bandwidthLimit 256KB (client): 1 MiB $way took ${T[bwclient.$way]} s < 2.5 s"
    lt_half "${T[unlimited.$way]}" "${T[bwclient.$way]}" ||
        fail "unlimited 1 MiB $way (${T[unlimited.$way]} s) not clearly faster than limited (${T[bwclient.$way]} s)"
    lt_half "${T[bwserver.$way]}" "${T[bwclient.$way]}" ||
        fail "bandwidthLimitMode server was paced by ufrpc: 1 MiB $way ${T[bwserver.$way]} s vs limited ${T[bwclient.$way]} s"
done
echo "METRIC perproxy_mux_$MUX limited_up_s=${T[bwclient.up]} limited_down_s=${T[bwclient.down]}" \
    "unlimited_up_s=${T[unlimited.up]} unlimited_down_s=${T[unlimited.down]}" \
    "server_mode_up_s=${T[bwserver.up]} server_mode_down_s=${T[bwserver.down]}"

grep -q -E '^EVENT (control-closed|session-end|work-wrap-failed)' "$WORK/peer.log" &&
    fail "the control session was closed or a work stream could not be wrapped"
stop_ufrpc
pass
