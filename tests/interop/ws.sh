#!/usr/bin/env bash
# ws.sh PROTO(websocket|wss|frpc-websocket|frpc-wss) TLS(true|false) MUX(true|false) [EXTRA]
# ufrpc with transport.protocol = PROTO through the real frps (websocket is served
# on its bindPort): a tcp proxy (8 connections x 2 MiB, sha256-checked by e2e-tool)
# and a udp proxy (datagrams of 5 sizes on 4 sockets, each checked). websocket:
# TLS (if on) runs inside the websocket; with tcpMux off the 0x17 first byte is
# sent (disableCustomTLSFirstByte = false), with it on not. wss: a stock frps
# does not terminate TLS for wss, so a socat TLS terminator sits in front of its
# bindPort (TLS then runs once, in socat; TLS says nothing for wss).
# frpc-*: the same with the real frpc instead of ufrpc (a reference). EXTRA: more
# top-level client lines (e.g. transport.wireProtocol = "v2").
source "$(dirname "$0")/lib.sh"
PROTO=$1
TLS=$2
MUX=$3
EXTRA=${4:-}
E2E_NAME="interop_ws_${PROTO}_tls-${TLS}_mux-$MUX${EXTRA:+_extra}"
need_frps
CLIENT=ufrpc
if [ "${PROTO#frpc-}" != "$PROTO" ]; then
    need_frpc
    CLIENT=frpc
    PROTO=${PROTO#frpc-}
fi
TOKEN="ws-$RANDOM"

FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" "$MUX" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
SERVER_PORT=$FRPS_PORT
if [ "$PROTO" = wss ]; then
    command -v socat >/dev/null || skip "socat not installed"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=localhost" -keyout "$WORK/term.key" -out "$WORK/term.crt" \
        >"$WORK/openssl.log" 2>&1 || fail "openssl could not make a certificate"
    SERVER_PORT=$(freeport)
    socat -d -t 30 OPENSSL-LISTEN:"$SERVER_PORT",bind=127.0.0.1,cert="$WORK/term.crt",key="$WORK/term.key",verify=0,fork,reuseaddr \
        TCP:127.0.0.1:"$FRPS_PORT" >"$WORK/socat.log" 2>&1 &
    E2E_PIDS+=("$!")
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT") 2>/dev/null && break
        sleep 0.1
    done
fi

start_echo echo
start_udp_echo uecho
R_TCP=$(freeport)
R_UDP=$(freeport)
first_byte=true
[ "$MUX" = false ] && first_byte=false
{
    client_config "$SERVER_PORT" "$TOKEN" "$MUX" "$TLS" "transport.protocol = \"$PROTO\"
transport.tls.disableCustomTLSFirstByte = $first_byte
$EXTRA"
    [ "$PROTO" = wss ] && echo 'transport.tls.serverName = "localhost"'
    echo_proxies "$R_TCP" "$R_UDP"
} >"$WORK/frpc.toml"
start_client "$CLIENT" "$WORK/frpc.toml"
wait_proxy "$CLOG" tcp
wait_proxy "$CLOG" udp

"$TOOL" load "$R_TCP" $((2 * 1024 * 1024)) 8 60 >"$WORK/load.out" ||
    { cat "$WORK/load.out"; fail "tcp through $PROTO"; }
log "tcp: $(cat "$WORK/load.out")"
"$TOOL" load "$R_TCP" $((32 * 1024 * 1024)) 1 120 >"$WORK/load32.out" ||
    { cat "$WORK/load32.out"; fail "32 MiB through $PROTO"; }
log "tcp 32 MiB: $(cat "$WORK/load32.out")"
"$TOOL" udp-probe "$R_UDP" 4 30 1 100 700 1400 1500 >"$WORK/udp.out" ||
    { tail -n 20 "$WORK/udp.out"; fail "udp through $PROTO"; }
log "udp: $(cat "$WORK/udp.out")"
mbps=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' "$WORK/load32.out")
log "METRIC client=$CLIENT mode=$PROTO/tls-$TLS/mux-$MUX throughput_32MiB_MBps=$mbps"

# frps saw websocket connections, and nothing went wrong on either side
grep -q -i -E "panic|fatal" "$WORK/frps.log" && fail "frps reported a panic"
grep -E "\[E\]" "$CLOG" | grep -v "pool is full" && fail "the client logged errors"
if [ "$CLIENT" = ufrpc ]; then
    stop_ufrpc
    wait_line "$WORK/frps.log" 'client exit success|control is closed|\[tcp\] .*close' 20 ||
        log "NOTE: frps did not log the client's exit within 20 s"
fi
pass
