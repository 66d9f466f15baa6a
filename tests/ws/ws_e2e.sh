#!/usr/bin/env bash
# ws_e2e.sh PROTO(websocket|wss) TLS(true|false) MUX(true|false) [VIA(none|http|socks5)]
# ufrpc with transport.protocol = PROTO logs into the test frps (which serves
# websocket on its bind port, as frps does) and serves a tcp proxy to a local echo
# service: 16 MiB and 20 concurrent connections of 256 KiB go through it, sha256
# checked by e2e-tool. websocket: TLS (if on) runs inside the websocket, with
# the 0x17 first byte when MUX is false (disableCustomTLSFirstByte = false) and
# without it otherwise; the peer must see the upgrade, then the TLS it expects.
# wss: a socat TLS terminator sits in front of the peer (a stock frps does not
# terminate TLS for wss either); wss runs TLS whatever TLS says (as frpc), and
# never a second TLS inside.
# VIA: transport.proxyURL through tests/ws/connect_proxy.py (HTTP CONNECT or SOCKS5).
source "$(dirname "$0")/../e2e/lib.sh"
PROTO=$1
TLS=$2
MUX=$3
VIA=${4:-none}
E2E_NAME="ws_${PROTO}_tls-${TLS}_mux-${MUX}_via-${VIA}"
TOKEN="ws-$RANDOM-token"
HERE=$(cd "$(dirname "$0")" && pwd)

first_byte=true # disableCustomTLSFirstByte
[ "$MUX" = false ] && first_byte=false

if [ "$PROTO" = websocket ]; then
    peer_tls=auto
    [ "$TLS" = true ] && peer_tls=force
    start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls="$peer_tls" --mux="$MUX" \
        --user-conn-timeout-ms 60000 --mux-keepalive-ms 1000
    SERVER_PORT=$PEER_PORT
else
    command -v socat >/dev/null || { echo "socat not installed: skipped"; exit 77; }
    command -v openssl >/dev/null || { echo "openssl not installed: skipped"; exit 77; }
    # plaintext inside the terminated TLS: the peer must not insist on TLS
    start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX" \
        --user-conn-timeout-ms 60000 --mux-keepalive-ms 1000
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=localhost" -keyout "$WORK/term.key" -out "$WORK/term.crt" \
        >"$WORK/openssl.log" 2>&1 || fail "openssl could not make a certificate"
    SERVER_PORT=$(freeport)
    # -t: after one side ends, wait for the other (half-close) instead of 0.5 s
    socat -d -t 30 OPENSSL-LISTEN:"$SERVER_PORT",bind=127.0.0.1,cert="$WORK/term.crt",key="$WORK/term.key",verify=0,fork,reuseaddr \
        TCP:127.0.0.1:"$PEER_PORT" >"$WORK/socat.log" 2>&1 &
    E2E_PIDS+=("$!")
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT") 2>/dev/null && break
        sleep 0.1
    done
fi

extra="transport.protocol = \"$PROTO\"
transport.dialServerTimeout = 60
transport.tls.disableCustomTLSFirstByte = $first_byte"
if [ "$VIA" != none ]; then
    python3 "$HERE/connect_proxy.py" >"$WORK/fwdproxy.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/fwdproxy.log" '^READY ' 10 || fail "the forward proxy did not start"
    PPORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/fwdproxy.log" | head -n 1)
    extra="$extra
transport.proxyURL = \"$VIA://127.0.0.1:$PPORT\""
fi
[ "$PROTO" = wss ] && extra="$extra
transport.tls.serverName = \"localhost\""

start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$SERVER_PORT" "$TOKEN" "$MUX" "$TLS" true echo "$ECHO_PORT" \
    "$REMOTE" "$extra"
start_ufrpc ufrpc "$WORK/frpc.toml"

wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo .*remote_port=$REMOTE" 20 ||
    fail "the proxy was not registered"
wait_line "$WORK/peer.log" '^EVENT work-conn ' 10 || fail "no work connection in the pool"
grep -q '^EVENT accept-ws' "$WORK/peer.log" || fail "the peer saw no websocket"
grep -q '^EVENT ws ok=1' "$WORK/peer.log" || fail "no websocket upgrade at the peer"
if [ "$PROTO" = websocket ] && [ "$TLS" = true ]; then
    want=0
    [ "$first_byte" = false ] && want=1
    grep -q "^EVENT accept-tls first_byte_0x17=$want" "$WORK/peer.log" ||
        fail "no TLS inside the websocket with first_byte_0x17=$want"
    grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS handshake inside the websocket"
fi
if [ "$PROTO" = websocket ] && [ "$TLS" = false ]; then
    grep -q '^EVENT accept-tls' "$WORK/peer.log" && fail "TLS seen with TLS off"
fi
if [ "$PROTO" = wss ]; then
    grep -q '^EVENT accept-tls' "$WORK/peer.log" && fail "wss: TLS inside the terminated TLS"
fi
if [ "$VIA" != none ]; then
    grep -q "^TUNNEL $VIA 127.0.0.1:$SERVER_PORT" "$WORK/fwdproxy.log" ||
        fail "ufrpc did not go through the $VIA proxy"
fi

log "16 MiB through the tunnel ($PROTO tls=$TLS mux=$MUX via=$VIA)"
"$TOOL" load "$REMOTE" $((16 * 1024 * 1024)) 1 120 >"$WORK/load16.out" 2>&1 ||
    { cat "$WORK/load16.out"; fail "16 MiB transfer failed"; }
cat "$WORK/load16.out"
mbps=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' "$WORK/load16.out")

log "20 concurrent connections x 256 KiB"
"$TOOL" load "$REMOTE" $((256 * 1024)) 20 120 >"$WORK/load20.out" 2>&1 ||
    { cat "$WORK/load20.out"; fail "concurrent transfers failed"; }
cat "$WORK/load20.out"
log "METRIC mode=$PROTO/tls-$TLS/mux-$MUX/via-$VIA throughput_16MiB_MBps=$mbps ufrpc_vmhwm_kb=$(vmhwm_kb "$UFRPC_PID")"

# (the load tool is done once the echo is back; the peer logs the end just after)
wait_line "$WORK/peer.log" '^EVENT user-conn-done .*status=UFRPC_OK' 30 21 ||
    fail "only $(count_lines "$WORK/peer.log" '^EVENT user-conn-done .*status=UFRPC_OK') user connections ended cleanly at the peer"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" &&
    fail "the control or the session was closed during the test"
stop_ufrpc
pass
