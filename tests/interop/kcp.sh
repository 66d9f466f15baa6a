#!/usr/bin/env bash
# kcp.sh CLIENT(ufrpc|frpc) TLS(true|false) MUX(true|false) [EXTRA]
# transport.protocol = "kcp" through the real frps, which serves KCP on its
# kcpBindPort (UDP): serverPort names that port. A tcp proxy (8 connections x
# 1 MiB and one of 8 MiB, sha256-checked by e2e-tool) and a udp proxy (datagrams
# of 5 sizes on 4 sockets, each checked). TLS, when on, runs inside KCP as over
# TCP (no 0x17 first byte: frpc's default). frpc: the real frpc instead of ufrpc
# (a reference for the figures).
source "$(dirname "$0")/lib.sh"
CLIENT=$1
TLS=$2
MUX=$3
EXTRA=${4:-}
E2E_NAME="interop_kcp_${CLIENT}_tls-${TLS}_mux-$MUX${EXTRA:+_extra}"
need_frps
[ "$CLIENT" = frpc ] && need_frpc
TOKEN="kcp-$RANDOM"

FRPS_PORT=$(freeport)
KCP_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" "$MUX" "kcpBindPort = $KCP_PORT" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
grep -q "kcp listen on udp" "$WORK/frps.log" || fail "frps does not serve kcp"

start_echo echo
start_udp_echo uecho
R_TCP=$(freeport)
R_UDP=$(freeport)
{
    client_config "$KCP_PORT" "$TOKEN" "$MUX" "$TLS" "transport.protocol = \"kcp\"
$EXTRA"
    echo_proxies "$R_TCP" "$R_UDP"
} >"$WORK/frpc.toml"
start_client "$CLIENT" "$WORK/frpc.toml"
wait_proxy "$CLOG" tcp 60
wait_proxy "$CLOG" udp 60

"$TOOL" load "$R_TCP" $((1024 * 1024)) 8 90 >"$WORK/load.out" ||
    { cat "$WORK/load.out"; fail "tcp through kcp"; }
log "tcp: $(cat "$WORK/load.out")"
"$TOOL" load "$R_TCP" $((8 * 1024 * 1024)) 1 90 >"$WORK/load8.out" ||
    { cat "$WORK/load8.out"; fail "8 MiB through kcp"; }
log "tcp 8 MiB: $(cat "$WORK/load8.out")"
"$TOOL" udp-probe "$R_UDP" 4 30 1 100 700 1400 1500 >"$WORK/udp.out" ||
    { tail -n 20 "$WORK/udp.out"; fail "udp through kcp"; }
log "udp: $(cat "$WORK/udp.out")"
mbps=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' "$WORK/load8.out")
log "METRIC client=$CLIENT mode=kcp/tls-$TLS/mux-$MUX throughput_8MiB_MBps=$mbps"

grep -q -i -E "panic|fatal" "$WORK/frps.log" && fail "frps reported a panic"
grep -E "\[E\]" "$CLOG" | grep -v "pool is full" && fail "the client logged errors"
pass
