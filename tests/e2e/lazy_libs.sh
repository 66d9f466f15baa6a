#!/usr/bin/env bash
# lazy_libs.sh QUIC_DLOPEN AEAD_DLOPEN: the libraries ufrpc loads at first use
# (net/quic_lib.h, proto/aead.c; CMake's UFRPC_QUIC_LINK / UFRPC_AEAD_LINK = dlopen,
# passed here as 1) are not in the process while the configuration does not need
# them, and are once it does. Read from /proc/PID/maps of a ufrpc with a registered
# proxy:
#   plain tcp: no GnuTLS, ngtcp2 or libcrypto mapped, also after data went through;
#   TLS (tcpMux): idle, none of them (the control's records run on Mbed TLS's AEAD);
#     once data went through (records of 16 KiB), libcrypto, still no GnuTLS/ngtcp2;
#   transport.protocol = "quic": ngtcp2 and GnuTLS mapped, and data goes through.
source "$(dirname "$0")/lib.sh"
E2E_NAME="lazy_libs"
QUIC_DLOPEN=${1:-0}
AEAD_DLOPEN=${2:-0}
TOKEN="lazy-$RANDOM"
if [ "$QUIC_DLOPEN" != 1 ] && [ "$AEAD_DLOPEN" != 1 ]; then
    log "nothing is loaded at first use in this build"
    pass
    exit 0
fi

maps_has() { grep -q -E "/$1[^/]*\$" "/proc/$UFRPC_PID/maps"; }
# run_mode NAME TLS QUIC: ufrpc with one tcp proxy; returns once it is registered
run_mode() {
    local name=$1 tls=$2 quic=$3 port qport extra=""
    port=$(freeport)
    qport=$(freeport)
    local args=(--bind "127.0.0.1:$port" --token "$TOKEN" --mux=true)
    [ "$tls" = true ] && args+=(--tls=force) || args+=(--tls=off)
    [ "$quic" = true ] && args+=(--quic-bind-port "$qport")
    start_peer "peer_$name" "${args[@]}"
    if [ "$quic" = true ]; then
        port=$qport
        extra='transport.protocol = "quic"'
    fi
    REMOTE=$(freeport)
    write_config "$WORK/$name.toml" "$port" "$TOKEN" true "$tls" true echo "$ECHO_PORT" "$REMOTE" "$extra"
    start_ufrpc "$name" "$WORK/$name.toml"
    wait_line "$WORK/peer_$name.log" "^EVENT proxy-new .*name=echo" 20 || fail "$name: proxy not registered"
}
load() { out=$("$TOOL" load "$REMOTE" 262144 2 30) || fail "$1: load: $out"; }

start_echo echo

run_mode plain false false
load plain
if [ "$QUIC_DLOPEN" = 1 ]; then
    maps_has libgnutls.so && fail "plain: GnuTLS is loaded"
    maps_has libngtcp2 && fail "plain: ngtcp2 is loaded"
fi
[ "$AEAD_DLOPEN" = 1 ] && maps_has libcrypto.so && fail "plain: libcrypto is loaded"
log "plain: no GnuTLS, ngtcp2 or libcrypto in the process"
stop_ufrpc

run_mode tls true false
[ "$AEAD_DLOPEN" = 1 ] && maps_has libcrypto.so && fail "tls, idle: libcrypto is loaded"
load tls
[ "$AEAD_DLOPEN" = 1 ] && ! maps_has libcrypto.so && fail "tls, after data: libcrypto is not loaded"
if [ "$QUIC_DLOPEN" = 1 ]; then
    maps_has libgnutls.so && fail "tls: GnuTLS is loaded"
    maps_has libngtcp2 && fail "tls: ngtcp2 is loaded"
fi
log "tls: libcrypto loaded once data went through, not before; no GnuTLS or ngtcp2"
stop_ufrpc

if [ "$QUIC_DLOPEN" = 1 ]; then
    run_mode quic false true
    load quic
    maps_has libngtcp2_crypto_gnutls.so || fail "quic: libngtcp2_crypto_gnutls is not loaded"
    maps_has libgnutls.so || fail "quic: GnuTLS is not loaded"
    log "quic: ngtcp2 and GnuTLS loaded, data went through"
    stop_ufrpc
fi
pass
