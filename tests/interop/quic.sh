#!/usr/bin/env bash
# quic.sh TLS(true|false): transport.protocol = "quic" against the real frps's
# quicBindPort (QUIC, ALPN "frp", frps's generated certificate, no verification,
# as frpc). A tcp proxy carries 16 MiB and 16 concurrent connections of 256 KiB,
# sha256 checked; a udp proxy echoes datagrams; SIGTERM ends ufrpc with status 0.
# transport.tls.enable only matters for certificates with QUIC (TLS is QUIC's own).
source "$(dirname "$0")/lib.sh"
TLS=$1
E2E_NAME="interop_quic_tls-$TLS"
need_frps
FRPS_PORT=$(freeport)
QPORT=$(freeport)
frps_config "$FRPS_PORT" tok true "quicBindPort = $QPORT" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
start_udp_echo uecho
RPORT=$(freeport)
URPORT=$(freeport)
{
    client_config "$QPORT" tok true "$TLS" 'transport.protocol = "quic"'
    printf '[[proxies]]\nname = "echo"\ntype = "tcp"\nlocalPort = %s\nremotePort = %s\n' \
        "$ECHO_PORT" "$RPORT"
    printf '[[proxies]]\nname = "uecho"\ntype = "udp"\nlocalPort = %s\nremotePort = %s\n' \
        "$UECHO_PORT" "$URPORT"
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" echo
wait_proxy "$WORK/ufrpc.log" uecho
export E2E_LOAD_NO_HALF_CLOSE=1
"$TOOL" load "$RPORT" 16777216 1 120 >"$WORK/load1.log" || fail "16 MiB over QUIC"
"$TOOL" load "$RPORT" 262144 16 120 >"$WORK/load16.log" || fail "16 connections over QUIC"
log "1 conn: $(cat "$WORK/load1.log")"
log "16 conns: $(cat "$WORK/load16.log")"
"$TOOL" udp-probe "$URPORT" 4 30 1 100 1000 1400 >"$WORK/udp.log" || fail "udp over QUIC"
log "udp: $(cat "$WORK/udp.log")"
stop_ufrpc
# QUIC aimed at frps's TCP bindPort: nothing answers there; a clear error, exit 1
sed "s/^serverPort = .*/serverPort = $FRPS_PORT/" "$WORK/frpc.toml" >"$WORK/bad.toml"
rc=0
timeout 60 "$UFRPC" -c "$WORK/bad.toml" </dev/null >"$WORK/bad.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "QUIC to a TCP port: exit $rc, want 1"
grep -q "login to the server failed: quic: .*hint: .*quicBindPort" "$WORK/bad.log" ||
    fail "no clear message for QUIC to a port without QUIC"
pass
