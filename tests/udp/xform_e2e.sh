#!/usr/bin/env bash
# xform_e2e.sh MUX: per-proxy transport.useEncryption / useCompression on tcp proxies
# (docs/PROTOCOL.md §5.3). Three tcp proxies to one local echo service: "enc" (encryption),
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
#
# The wire tap (MUX=false, where TLS is off too): ufrpc reaches the peer through
# `e2e-tool tap`, a relay that reports every occurrence of a marker in the bytes
# either way. A user sends lines holding MARKER through each tcp proxy (and the echo
# must return them): through "plain" the tap must see MARKER both ways (the positive
# control: the tap sees plaintext when there is some), through "enc" and "both" never,
# through "comp" at most a few times (snappy compresses the repeated lines).
# Two udp proxies, "uplain" and "uboth" (encryption + compression), carry datagrams:
# the UDPPacket JSON ('"r":{"IP":"127.0.0.1"') must be on the wire for uplain and
# never for uboth. So ufrpc's bytes are not plaintext when encryption is on, and
# not only because the peer could read them.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:?MUX}
E2E_NAME="xform_tcp_mux_$MUX"
TOKEN="e2e-$RANDOM-xform"
BYTES=$((4 * 1024 * 1024 + 12345))

MARKER="ufrpc-tap-marker-5c1e"
UMARKER='"r":{"IP":"127.0.0.1"'
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX"
start_echo echo
"$TOOL" udp-echo 0 </dev/null >"$WORK/uecho.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/uecho.log" '^READY ' 10 || fail "udp echo did not start"
UECHO_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/uecho.log" | head -n 1)
SERVER_PORT=$PEER_PORT
TAP=false
if [ "$MUX" = false ]; then
    "$TOOL" tap 0 "$PEER_PORT" "$MARKER" "$UMARKER" </dev/null >"$WORK/tap.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/tap.log" '^READY ' 10 || fail "tap did not start"
    SERVER_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/tap.log" | head -n 1)
    TAP=true
fi
declare -A REMOTE
common_config "$SERVER_PORT" "$TOKEN" "$MUX" "$MUX" >"$WORK/frpc.toml"
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
cat >>"$WORK/frpc.toml" <<CONF

[[proxies]]
name = "uplain"
type = "udp"
localIP = "127.0.0.1"
localPort = $UECHO_PORT
remotePort = 0

[[proxies]]
name = "uboth"
type = "udp"
localIP = "127.0.0.1"
localPort = $UECHO_PORT
remotePort = 0
transport.useEncryption = true
transport.useCompression = true
CONF
start_ufrpc ufrpc "$WORK/frpc.toml"
for spec in plain:0:0 enc:1:0 comp:0:1 both:1:1 uplain:0:0 uboth:1:1; do
    IFS=: read -r name e c <<<"$spec"
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$name " 20 || fail "proxy $name not registered"
    grep -E "^EVENT proxy-new .*name=$name " "$WORK/peer.log" |
        grep -q -- "encryption=$e compression=$c" || fail "proxy $name: NewProxy flags are not encryption=$e compression=$c"
done
# marked lines through each tcp proxy, echoed back unchanged
send_marked() { # PORT
    python3 - "$1" "$MARKER" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
data = b"".join(b"%s line %d\n" % (sys.argv[2].encode(), i) for i in range(100))
s.sendall(data)
got = b""  # no half-close: ufrpc, as frpc, ends a work connection at frps's EOF
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.exit(0 if got == data else 1)
PY
}
found() { count_lines "$WORK/tap.log" "^FOUND dir=$1 marker=$2 "; }
for name in plain enc comp both; do
    up0=0 down0=0
    if [ "$TAP" = true ]; then up0=$(found up 0) down0=$(found down 0); fi
    send_marked "${REMOTE[$name]}" || fail "$name: marked lines did not come back unchanged"
    [ "$TAP" = true ] || continue
    up=$(($(found up 0) - up0)) down=$(($(found down 0) - down0))
    log "$name: marker on the wire up=$up down=$down"
    case $name in
    plain) [ "$up" -ge 100 ] && [ "$down" -ge 100 ] ||
        fail "the tap did not see the plaintext of the plain proxy (up=$up down=$down)" ;;
    # snappy: 100 similar lines compress, so the marker shows (at most) in the first
    # literal: ufrpc compresses, it does not only frame
    comp) [ "$up" -lt 10 ] || fail "comp: the marked lines went up uncompressed (up=$up)" ;;
    enc | both) [ "$up" = 0 ] && [ "$down" = 0 ] ||
        fail "$name: plaintext on the wire with encryption on (up=$up down=$down)" ;;
    esac
done
for name in uplain uboth; do
    wait_line "$WORK/peer.log" "^EVENT udp-channel proxy=$name n=1 " 10 || fail "no channel for $name"
    port=$(sed -n "s/^EVENT udp-listen proxy=$name port=\([0-9]*\).*/\1/p" "$WORK/peer.log" | head -n 1)
    up0=0 down0=0
    if [ "$TAP" = true ]; then up0=$(found up 1) down0=$(found down 1); fi
    out=$("$TOOL" udp-probe "$port" 2 15 1 300 1400) || fail "$name: $out"
    [ "$TAP" = true ] || continue
    up=$(($(found up 1) - up0)) down=$(($(found down 1) - down0))
    log "$name: UDPPacket JSON on the wire up=$up down=$down"
    if [ "$name" = uplain ]; then
        [ "$up" -ge 6 ] && [ "$down" -ge 6 ] || fail "the tap did not see uplain's UDPPacket JSON (up=$up down=$down)"
    else
        [ "$up" = 0 ] && [ "$down" = 0 ] || fail "uboth: UDPPacket JSON in the clear (up=$up down=$down)"
    fi
done
for name in plain enc comp both; do
    out=$("$TOOL" load "${REMOTE[$name]}" "$BYTES" 2 60) || fail "$name: $out"
    log "$name: $out"
done
# every user connection ended cleanly with the full byte count both ways
# (the peer prints user-conn-done when its pump ends, which can be just after the
# load client has its echo)
wait_line "$WORK/peer.log" "^EVENT user-conn-done .* to_client=$BYTES from_client=$BYTES " 10 8 ||
    fail "expected 8 complete user connections at the peer, saw $(count_lines "$WORK/peer.log" "^EVENT user-conn-done .* to_client=$BYTES from_client=$BYTES ")"
grep -q -E '^EVENT work-wrap-failed' "$WORK/peer.log" && fail "the peer could not wrap a work stream"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" && fail "the control session was closed"
stop_ufrpc
pass
