#!/usr/bin/env bash
# xform_e2e.sh MUX: per-proxy transport.useEncryption / useCompression on tcp proxies
# (FRP-WIRE §5.3). Three tcp proxies to one local echo service: "enc" (encryption),
# "comp" (compression), "both", plus "plain" as the control. Through each remote port
# e2e-tool load sends 4 MiB on each of 2 connections and checks length and SHA-256 of
# the echo.
#
# Why this proves ufrpc's bytes are what frps expects: the test frps (tests/peer,
# peer_get_work) wraps each work stream per the use_encryption/use_compression flags
# of that proxy's NewProxy, as frps does: AES-128-CFB keyed with PBKDF2(token) (its IV
# read from the first 16 bytes ufrpc sends) and, inside it, the snappy framed format
# whose first chunk must be the 0xff stream identifier. The test asserts from the
# peer's proxy-new event that ufrpc announced exactly the flags of its config. If
# ufrpc announced encryption and did not encrypt (or used another key or IV), the
# peer would decrypt the user's bytes into noise and the SHA-256 check fails; if it
# announced compression and sent raw bytes, the peer's snappy reader rejects the first
# chunk and the connection closes (the load fails); a wrong order (encrypt then
# compress) fails the same way. The "plain" proxy must not be wrapped (flags 0), so a
# peer that wrapped everything would fail it. What this cannot catch alone: a bug
# shared by ufrpc and the peer (both use net/xform and proto/cfb + proto/snappy);
# those are checked against Go's implementations by tests/oracle_xform and
# oracle_snappy.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:?MUX}
E2E_NAME="xform_tcp_mux_$MUX"
TOKEN="e2e-$RANDOM-xform"
BYTES=$((4 * 1024 * 1024 + 12345))

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX"
start_echo echo
declare -A REMOTE
cat >"$WORK/frpc.toml" <<CONF
serverAddr = "127.0.0.1"
serverPort = $PEER_PORT
loginFailExit = true
auth.method = "token"
auth.token = "$TOKEN"
transport.tcpMux = $MUX
transport.tls.enable = $MUX
log.to = "console"
log.level = "info"
CONF
for spec in plain:false:false enc:true:false comp:false:true both:true:true; do
    IFS=: read -r name enc comp <<<"$spec"
    REMOTE[$name]=$(freeport)
    cat >>"$WORK/frpc.toml" <<CONF

[[proxies]]
name = "$name"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = ${REMOTE[$name]}
transport.useEncryption = $enc
transport.useCompression = $comp
CONF
done
start_ufrpc ufrpc "$WORK/frpc.toml"
for spec in plain:0:0 enc:1:0 comp:0:1 both:1:1; do
    IFS=: read -r name e c <<<"$spec"
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$name " 20 || fail "proxy $name not registered"
    grep -E "^EVENT proxy-new .*name=$name " "$WORK/peer.log" |
        grep -q -- "encryption=$e compression=$c" || fail "proxy $name: NewProxy flags are not encryption=$e compression=$c"
done
for name in plain enc comp both; do
    out=$("$TOOL" load "${REMOTE[$name]}" "$BYTES" 2 60) || fail "$name: $out"
    log "$name: $out"
done
# every user connection ended cleanly with the full byte count both ways
n=$(grep -c -E "^EVENT user-conn-done .* to_client=$BYTES from_client=$BYTES " "$WORK/peer.log" || true)
[ "$n" = 8 ] || fail "expected 8 complete user connections at the peer, saw $n"
grep -q -E '^EVENT work-wrap-failed' "$WORK/peer.log" && fail "the peer could not wrap a work stream"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" && fail "the control session was closed"
stop_ufrpc
pass
