#!/usr/bin/env bash
# ipv6.sh PROTO(tcp|websocket) TLS MUX: the real frps listens on [::1] only (proxy
# ports on 127.0.0.1); ufrpc with serverAddr = "::1" logs in with the given transport
# and carries 4 MiB and 8 concurrent connections through a tcp proxy, sha256 checked.
source "$(dirname "$0")/lib.sh"
PROTO=$1
TLS=$2
MUX=$3
E2E_NAME="interop_ipv6_${PROTO}_tls-${TLS}_mux-${MUX}"
need_frps
if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    skip "no IPv6 loopback"
fi
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" tok "$MUX" 'proxyBindAddr = "127.0.0.1"' |
    sed 's/^bindAddr = .*/bindAddr = "::1"/' >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
RPORT=$(freeport)
{
    client_config "$FRPS_PORT" tok "$MUX" "$TLS" "transport.protocol = \"$PROTO\"" |
        sed 's/^serverAddr = .*/serverAddr = "::1"/'
    printf '[[proxies]]\nname = "echo"\ntype = "tcp"\nlocalPort = %s\nremotePort = %s\n' \
        "$ECHO_PORT" "$RPORT"
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" echo
export E2E_LOAD_NO_HALF_CLOSE=1
"$TOOL" load "$RPORT" 4194304 1 60 >"$WORK/load1.log" || fail "4 MiB over IPv6"
"$TOOL" load "$RPORT" 262144 8 60 >"$WORK/load8.log" || fail "8 connections over IPv6"
log "$(cat "$WORK/load1.log")"
stop_ufrpc
pass
