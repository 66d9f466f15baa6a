#!/usr/bin/env bash
# kcp_e2e.sh TLS(true|false) MUX(true|false) [FAMILY(ipv4|ipv6)]
# ufrpc with transport.protocol = "kcp" logs into the test frps over its KCP port
# (UDP) and serves a tcp proxy to a local echo service: 4 MiB and 10 concurrent
# connections of 256 KiB go through it, sha256-checked by e2e-tool. The peer must
# see KCP sessions, and TLS inside them when TLS is on (no 0x17 first byte:
# frpc's default disableCustomTLSFirstByte = true). ipv6: the peer's KCP port is on
# ::1 and serverAddr = "::1" (the proxies' ports stay on 127.0.0.1).
source "$(dirname "$0")/../e2e/lib.sh"
TLS=$1
MUX=$2
FAMILY=${3:-ipv4}
E2E_NAME="kcp_tls-${TLS}_mux-${MUX}_$FAMILY"
TOKEN="kcp-$RANDOM-token"

peer_tls=auto
[ "$TLS" = true ] && peer_tls=force
BIND=127.0.0.1
[ "$FAMILY" = ipv6 ] && BIND=::1
start_peer peer --bind "$BIND:0" --proxy-bind 127.0.0.1 --kcp-bind-port 0 --token "$TOKEN" \
    --tls="$peer_tls" --mux="$MUX" --user-conn-timeout-ms 60000 --mux-keepalive-ms 1000
wait_line "$WORK/peer.log" '^EVENT kcp-listen port=' 10 || fail "the peer serves no kcp"
KCP_PORT=$(sed -n 's/^EVENT kcp-listen port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | head -n 1)

start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$KCP_PORT" "$TOKEN" "$MUX" "$TLS" true echo "$ECHO_PORT" \
    "$REMOTE" 'transport.protocol = "kcp"'
[ "$FAMILY" = ipv6 ] && sed -i 's/^serverAddr = .*/serverAddr = "::1"/' "$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"

wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo .*remote_port=$REMOTE" 30 ||
    fail "the proxy was not registered"
wait_line "$WORK/peer.log" '^EVENT work-conn ' 10 || fail "no work connection in the pool"
grep -q '^EVENT accept-kcp' "$WORK/peer.log" || fail "the peer saw no KCP session"
grep -q '^EVENT accept ' "$WORK/peer.log" && fail "a TCP connection reached the peer"
if [ "$TLS" = true ]; then
    grep -q '^EVENT accept-tls first_byte_0x17=0' "$WORK/peer.log" || fail "no TLS inside KCP"
    grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS handshake inside KCP"
else
    grep -q '^EVENT accept-tls' "$WORK/peer.log" && fail "TLS seen with TLS off"
fi

"$TOOL" load "$REMOTE" $((4 * 1024 * 1024)) 1 60 >"$WORK/load4.out" 2>&1 ||
    { cat "$WORK/load4.out"; fail "4 MiB through kcp"; }
log "$(cat "$WORK/load4.out")"
"$TOOL" load "$REMOTE" $((256 * 1024)) 10 60 >"$WORK/load10.out" 2>&1 ||
    { cat "$WORK/load10.out"; fail "concurrent transfers through kcp"; }
log "$(cat "$WORK/load10.out")"
mbps=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' "$WORK/load4.out")
log "METRIC mode=kcp/tls-$TLS/mux-$MUX throughput_4MiB_MBps=$mbps"
grep -E "\[E\]" "$WORK/ufrpc.log" && fail "ufrpc logged errors"
stop_ufrpc
pass
