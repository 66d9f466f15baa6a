#!/usr/bin/env bash
# tunnel.sh TLS(true|false) MUX(true|false): one tunnel through a ufrpc built for another
# CPU (run by tests/cross/run.sh; UFRPC is then a wrapper that starts it under qemu-user)
# or a static build, to the native test frps. With TLS the peer serves the certificate
# it generates as frps does (empty issuer and subject), so a static Mbed TLS build
# proves that its --wrap'ed certificate parser is in place.
# Checks: login, the proxy registered, 4 MiB and 20 concurrent connections of 64 KiB
# through the tunnel verified byte for byte (e2e-tool), and a clean exit on SIGTERM.
# Environment as tests/e2e/lib.sh (UFRPC, PEER, TOOL).
source "$(dirname "$0")/../e2e/lib.sh"
TLS=$1
MUX=$2
E2E_NAME="cross_tunnel_tls-${TLS}_mux-${MUX}"
TOKEN="cross-$RANDOM-token"

peer_tls=off
[ "$TLS" = true ] && peer_tls=force
# emulated TLS handshakes are slow: both sides get a minute instead of frp's 10 s
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls="$peer_tls" --mux="$MUX" \
    --user-conn-timeout-ms 60000
start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" "$TLS" true echo "$ECHO_PORT" "$REMOTE" \
    "transport.dialServerTimeout = 60"
start_ufrpc ufrpc "$WORK/frpc.toml"

wait_line "$WORK/ufrpc.log" 'login to server success' 60 || fail "no login"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo .*remote_port=$REMOTE" 60 ||
    fail "the proxy was not registered"
wait_line "$WORK/ufrpc.log" '\[echo\] start proxy success' 60 || fail "no 'start proxy success'"
if [ "$TLS" = true ]; then
    grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS handshake at the peer"
fi

"$TOOL" load "$REMOTE" $((4 * 1024 * 1024)) 1 120 >"$WORK/load4.out" 2>&1 ||
    { cat "$WORK/load4.out"; fail "4 MiB transfer failed"; }
cat "$WORK/load4.out"
"$TOOL" load "$REMOTE" $((64 * 1024)) 20 120 >"$WORK/load20.out" 2>&1 ||
    { cat "$WORK/load20.out"; fail "concurrent transfers failed"; }
cat "$WORK/load20.out"

stop_ufrpc
pass
