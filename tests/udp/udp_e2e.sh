#!/usr/bin/env bash
# udp_e2e.sh MUX XFORM [MODE]: a udp proxy through the test frps (tests/peer/peer_udp.c, which
# does what frps's udp proxy does: a UDP socket on the remote port, one work stream as
# the UDPPacket message channel, docs/PROTOCOL.md §8) to a local UDP echo service (e2e-tool
# udp-echo).
#   MUX   true|false   transport.tcpMux (true also turns TLS on)
#   XFORM plain|both|enc|comp   transport.useEncryption / useCompression: off, both
#                      on, only encryption, only compression
#   MODE  full (default): checks 1-5 below; replace: checks 1 and 6 only; ipv6: checks
#         1-5 with the peer's remote ports on ::1 (--proxy-bind ::1) and the users on
#         ::1, so the UDPPacket addresses both ways are IPv6 (ufrpc's local service
#         stays on 127.0.0.1); skipped (77) without IPv6 loopback; localhost: check 1
#         with localIP = "localhost" and ufrpc run in a mount namespace (unshare -rm)
#         whose /etc/hosts lists ::1 before 127.0.0.1, as Debian's does: ufrpc must
#         send to 127.0.0.1 as frpc (Go's ResolveUDPAddr) does, and a tcp proxy with a
#         tcp health check to "localhost" must work; skipped (77) without
#         unprivileged user namespaces
# Checks:
#  1. UDP round trip: two user sockets (two source ports) each send datagrams of 0, 1, 64,
#     512, 1400, 4000 and 7000 bytes to the frps remote port; each socket gets its own
#     replies back byte for byte (e2e-tool udp-probe fails on any datagram that
#     does not match what that socket sent). The echo service sees two source ports
#     (ufrpc opened one local socket per user address) and the peer two users.
#  2. Oversized reply: udpPacketSize is raised to 10000 so ufrpc reads a 9000-byte
#     reply of the local service whole ("BIG 9000" asks the echo for one); its
#     UDPPacket would need ~12 KB of JSON, over the 10240 bytes of a v1 frame, so ufrpc
#     must drop it with a logged reason, never send it (the peer would see a bad frame
#     and drop the channel: asserted not to happen), and the tunnel keeps working.
#  3. Many user addresses at once: 100 sockets × 2 datagrams, every reply verified.
#  3b. A second udp proxy (never wrapped) to a second echo service: its own
#     channel; that service killed → no reply, nothing else breaks; restarted on the
#     same port → replies again, through both proxies.
#  3c. SIGHUP with the second proxy renamed: the old one closed at the peer, the new
#     one registered with its own channel and carrying datagrams, the first proxy
#     still working (ufrpc logs in again on SIGHUP today; if it kept the session,
#     the first proxy must be left alone).
#  4. The peer drops the control: ufrpc logs in again, registers the udp proxy again
#     (a new remote port), the new proxy gets a channel and carries datagrams.
#  5. SIGTERM: CloseProxy for the udp proxy, exit 0.
#  6. (MODE=replace) The peer's read deadline is cut to 1.5 s
#     (UFRPC_PEER_UDP_READ_TIMEOUT_MS): a silent channel is dropped by the peer, which
#     takes another work connection for the proxy, as frps does after its 60 s; ufrpc
#     must notice the old channel's end, start a channel on the new StartWorkConn
#     and carry datagrams on it, twice in a row.
# With XFORM=both the peer unwraps the work stream per the NewProxy flags (asserted
# encryption=1 compression=1 in its proxy-new event): AES-128-CFB keyed with the token,
# snappy framing inside. Had ufrpc announced both but sent the frames as they are,
# the peer's snappy reader would fail on the first chunk (it must be the 0xff stream
# identifier, after CFB decryption of bytes that were never encrypted) and no datagram
# would come back, so check 1 proves ufrpc's channel bytes are what frps expects.
# (xform_e2e.sh also taps the wire: no UDPPacket JSON in the clear with encryption.)
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:?MUX}
XFORM=${2:-plain}
MODE=${3:-full}
E2E_NAME="udp_${XFORM}_mux_${MUX}_$MODE"
TOKEN="e2e-$RANDOM-udp"
TLS=$MUX
case $XFORM in
plain) ENC=false COMP=false EV="encryption=0 compression=0" ;;
both) ENC=true COMP=true EV="encryption=1 compression=1" ;;
enc) ENC=true COMP=false EV="encryption=1 compression=0" ;;
comp) ENC=false COMP=true EV="encryption=0 compression=1" ;;
*) fail "unknown XFORM $XFORM" ;;
esac

LEVEL=info
PEER_EXTRA=()
USER_IP=127.0.0.1
if [ "$MODE" = ipv6 ]; then
    if ! python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' \
        2>/dev/null; then
        echo "no IPv6 loopback: skipped"
        E2E_FAILED=0
        exit 77
    fi
    PEER_EXTRA=(--proxy-bind ::1)
    USER_IP=::1
    export E2E_UDP_HOST=::1
fi
LOCAL_HOST=127.0.0.1
if [ "$MODE" = localhost ]; then
    # ufrpc in a private mount namespace whose /etc/hosts lists ::1 and 127.0.0.1 for
    # localhost (Debian's default; glibc then returns ::1 first)
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$WORK/hosts"
    cat >"$WORK/ufrpc-ns.sh" <<'SH'
#!/bin/sh
mount --bind "$UDP_E2E_HOSTS" /etc/hosts || exit 3
exec "$UDP_E2E_UFRPC" "$@"
SH
    chmod +x "$WORK/ufrpc-ns.sh"
    export UDP_E2E_HOSTS="$WORK/hosts" UDP_E2E_UFRPC="$UFRPC"
    if ! unshare -rm "$WORK/ufrpc-ns.sh" -v >/dev/null 2>&1 ||
        ! unshare -rm sh -c 'mount --bind "$UDP_E2E_HOSTS" /etc/hosts && getent ahosts localhost' |
        head -n 1 | grep -q '^::1'; then
        echo "no unprivileged mount namespace (or glibc does not list ::1 first): skipped"
        E2E_FAILED=0
        exit 77
    fi
    cat >"$WORK/ufrpc-wrap.sh" <<SH
#!/bin/sh
exec unshare -rm "$WORK/ufrpc-ns.sh" "\$@"
SH
    chmod +x "$WORK/ufrpc-wrap.sh"
    UFRPC="$WORK/ufrpc-wrap.sh"
    LOCAL_HOST=localhost
fi
if [ "$MODE" = replace ]; then
    export UFRPC_PEER_UDP_READ_TIMEOUT_MS=1500
    LEVEL=debug
fi
# datagrams up to 7000 bytes: frps (and the peer, like it) reads user datagrams
# into udpPacketSize bytes, 1500 by default, so the server side raises it as a
# deployment carrying such datagrams would (frps.toml udpPacketSize)
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX" --commands \
    --udp-packet-size 10000 "${PEER_EXTRA[@]}"
unset UFRPC_PEER_UDP_READ_TIMEOUT_MS
"$TOOL" udp-echo 0 </dev/null >"$WORK/echo.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/echo.log" '^READY ' 10 || fail "udp echo did not start"
ECHO_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/echo.log" | head -n 1)
# a second udp proxy "ntp" (never wrapped) to its own echo service
"$TOOL" udp-echo 0 </dev/null >"$WORK/echo2.log" 2>&1 &
ECHO2_PID=$!
E2E_PIDS+=("$ECHO2_PID")
wait_line "$WORK/echo2.log" '^READY ' 10 || fail "udp echo 2 did not start"
ECHO2_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/echo2.log" | head -n 1)

EXTRA_PROXIES=""
if [ "$MODE" = localhost ]; then
    # and a tcp proxy with a tcp health check to "localhost" (dialing tries ::1, then
    # 127.0.0.1, as Go's dialer)
    UDP_ECHO_PORT=$ECHO_PORT
    start_echo techo
    TECHO_PORT=$ECHO_PORT
    ECHO_PORT=$UDP_ECHO_PORT
    R_WEB=$(freeport)
    EXTRA_PROXIES="
[[proxies]]
name = \"web\"
type = \"tcp\"
localIP = \"localhost\"
localPort = $TECHO_PORT
remotePort = $R_WEB
healthCheck.type = \"tcp\"
healthCheck.intervalSeconds = 1
healthCheck.maxFailed = 1
"
fi
# write_conf SECOND: the config, with the second udp proxy named SECOND
write_conf() {
{
    common_config "$PEER_PORT" "$TOKEN" "$MUX" "$TLS" "$LEVEL"
    cat <<CONF
udpPacketSize = 10000

[[proxies]]
name = "dns"
type = "udp"
localIP = "$LOCAL_HOST"
localPort = $ECHO_PORT
remotePort = 0
transport.useEncryption = $ENC
transport.useCompression = $COMP

[[proxies]]
name = "$1"
type = "udp"
localIP = "127.0.0.1"
localPort = $ECHO2_PORT
remotePort = 0
$EXTRA_PROXIES
CONF
} >"$WORK/frpc.toml"
}
write_conf ntp
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=dns type=udp ' 20 || fail "udp proxy not registered"
grep -E '^EVENT proxy-new .*name=dns ' "$WORK/peer.log" | grep -q -- "$EV" ||
    fail "NewProxy did not carry $EV"
RPORT=$(sed -n 's/^EVENT udp-listen proxy=dns port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
[ -n "$RPORT" ] || fail "no udp-listen event"
wait_line "$WORK/peer.log" '^EVENT udp-channel proxy=dns n=1 ' 10 || fail "no udp work channel"
wait_line "$WORK/ufrpc.log" 'start proxy success' 10 || fail "ufrpc did not report the proxy started"
log "udp proxy on remote port $RPORT, channel up"

# 1. round trip, two users, several sizes up to 7000 bytes (fits a v1 UDPPacket)
out=$("$TOOL" udp-probe "$RPORT" 2 15 0 1 64 512 1400 4000 7000) || fail "round trip: $out"
log "$out"
[ "$(count_lines "$WORK/echo.log" '^SOURCE-NEW ')" = 2 ] ||
    fail "the echo service should see 2 local sockets (one per user), saw $(count_lines "$WORK/echo.log" '^SOURCE-NEW ')"
[ "$(count_lines "$WORK/peer.log" '^EVENT udp-user-new proxy=dns ')" = 2 ] || fail "peer did not see 2 users"
grep -q -E "^EVENT udp-packet-out proxy=dns to=$USER_IP:[0-9]+ len=7000 " "$WORK/peer.log" ||
    fail "7000-byte reply to $USER_IP not seen by the peer"
grep -q -E "^EVENT udp-user-new proxy=dns addr=$USER_IP:" "$WORK/peer.log" || fail "users are not on $USER_IP"
log "round trip ok (2 users x 7 sizes)"

if [ "$MODE" = localhost ]; then
    wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=web ' 10 || fail "tcp proxy to localhost not registered"
    out=$("$TOOL" load "$R_WEB" 65536 2 20) || fail "tcp proxy to localhost: $out"
    sleep 2 # two more health checks
    grep -q -E '^EVENT close-proxy .*name=web' "$WORK/peer.log" && fail "the health check to localhost failed"
    log "tcp proxy and health check to localhost ok"
    stop_ufrpc
    pass
    exit 0
fi
if [ "$MODE" = replace ]; then
    for n in 2 3; do
        wait_line "$WORK/peer.log" "^EVENT udp-channel-end proxy=dns n=$((n - 1)) reason=read-timeout" 10 ||
            fail "the peer did not drop the silent channel"
        wait_line "$WORK/peer.log" "^EVENT udp-channel proxy=dns n=$n " 15 || fail "no new channel $n"
        before=$(count_lines "$WORK/peer.log" '^EVENT udp-packet-out proxy=dns ')
        out=$("$TOOL" udp-probe "$RPORT" 2 10 1 1400) || fail "round trip on channel $n: $out"
        after=$(count_lines "$WORK/peer.log" '^EVENT udp-packet-out proxy=dns ')
        [ "$after" -ge $((before + 4)) ] || fail "replies did not come through channel $n"
        log "channel $n carries datagrams"
    done
    # each old channel ended in ufrpc: by the server's close (FIN/EOF first), or by
    # ufrpc itself when the new StartWorkConn overtook it (with tcpMux)
    wait_line "$WORK/ufrpc.log" '\[dns\] udp channel closed: ' 5 2 ||
        fail "ufrpc did not end the old channels"
    grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" && fail "the control session was closed"
    stop_ufrpc
    pass
    exit 0
fi

# 2. an oversized reply is dropped by ufrpc with a reason; the tunnel keeps working
out=$("$TOOL" udp-send "$RPORT" "BIG 9000" 1500) && fail "a 9000-byte reply came back: $out"
wait_line "$WORK/echo.log" '^ECHO from=[0-9]+ len=8$' 5 || fail "the BIG request did not reach the echo"
wait_line "$WORK/ufrpc.log" '\[dns\] udp: reply of 9000 bytes dropped' 5 ||
    fail "ufrpc did not log why it dropped the 9000-byte reply"
out=$("$TOOL" udp-probe "$RPORT" 1 10 100 1400) || fail "round trip after the oversized reply: $out"
grep -q -E '^EVENT (udp-bad-frame|udp-bad-message|udp-channel-end)' "$WORK/peer.log" &&
    fail "the udp channel was dropped"
log "oversized reply dropped and logged; tunnel still works"

# 3. many user addresses at once
out=$("$TOOL" udp-probe "$RPORT" 100 20 10 200) || fail "100 users: $out"
log "$out"
# one local socket per user address: the echo sees as many source ports as the peer
# saw user addresses (a probe process may get a port an earlier one had: then both
# counts miss it)
n=$(count_lines "$WORK/echo.log" '^SOURCE-NEW ')
users=$(count_lines "$WORK/peer.log" '^EVENT udp-user-new proxy=dns ')
[ "$users" -ge 100 ] && [ "$n" = "$users" ] ||
    fail "expected one local socket per user: $users users at the peer, $n sources at the echo"
grep -q -E '^EVENT udp-channel proxy=dns n=2 ' "$WORK/peer.log" && fail "the udp channel was replaced"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" && fail "the control session was closed"
log "100 users ok"

# 3b. the second proxy has its own channel and local service; that service down:
# no reply, nothing else breaks; back on the same port: replies again
wait_line "$WORK/peer.log" '^EVENT udp-channel proxy=ntp n=1 ' 10 || fail "no channel for ntp"
grep -E '^EVENT proxy-new .*name=ntp ' "$WORK/peer.log" | grep -q -- "encryption=0 compression=0" ||
    fail "ntp must not be wrapped"
NPORT=$(sed -n 's/^EVENT udp-listen proxy=ntp port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
out=$("$TOOL" udp-probe "$NPORT" 2 10 33 1200) || fail "ntp round trip: $out"
[ "$(count_lines "$WORK/echo2.log" '^ECHO from=[0-9]+ len=(33|1200)$')" -ge 4 ] ||
    fail "ntp datagrams did not reach the second echo service"
kill -9 "$ECHO2_PID"
wait "$ECHO2_PID" 2>/dev/null || true
out=$("$TOOL" udp-send "$NPORT" "anyone" 1000) && fail "a reply without a local service: $out"
"$TOOL" udp-echo "$ECHO2_PORT" </dev/null >"$WORK/echo3.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/echo3.log" '^READY ' 10 || fail "udp echo 2 did not restart on its port"
out=$("$TOOL" udp-probe "$NPORT" 2 10 33 1200) || fail "ntp round trip after the restart: $out"
out=$("$TOOL" udp-probe "$RPORT" 1 10 77) || fail "dns round trip after ntp's restart: $out"
grep -q -E '^EVENT (udp-bad-frame|udp-bad-message|udp-channel-end)' "$WORK/peer.log" &&
    fail "a udp channel was dropped"
log "second proxy ok, its local service down and back"

# 3c. SIGHUP with ntp renamed ntp2: ntp closed (its channel and sockets with it),
# ntp2 registered with its own channel and carrying datagrams; dns keeps working
logins=$(count_lines "$WORK/peer.log" '^EVENT login ')
write_conf ntp2
kill -HUP "$UFRPC_PID"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=ntp2 type=udp ' 20 || fail "ntp2 not registered after SIGHUP"
wait_line "$WORK/peer.log" '^EVENT udp-closed proxy=ntp ' 10 || fail "ntp not closed after SIGHUP"
wait_line "$WORK/peer.log" '^EVENT udp-channel proxy=ntp2 n=1 ' 10 || fail "no channel for ntp2"
N2PORT=$(sed -n 's/^EVENT udp-listen proxy=ntp2 port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
out=$("$TOOL" udp-probe "$N2PORT" 2 10 45 1300) || fail "ntp2 round trip: $out"
if [ "$(count_lines "$WORK/peer.log" '^EVENT login ')" = "$logins" ]; then
    # the session was kept: dns was not touched, its first channel still carries it
    grep -q -E '^EVENT udp-closed proxy=dns ' "$WORK/peer.log" && fail "dns was closed by the reload"
else
    wait_line "$WORK/peer.log" '^EVENT udp-channel proxy=dns n=1 ' 10 2 || fail "no channel for dns after the reload"
    RPORT=$(sed -n 's/^EVENT udp-listen proxy=dns port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | tail -n 1)
fi
out=$("$TOOL" udp-probe "$RPORT" 1 10 88 1400) || fail "dns round trip after the reload: $out"
log "SIGHUP: ntp -> ntp2 ok, dns still works"


# 4. the control is dropped: login again, the udp proxy again, datagrams again
RUN_ID=$(sed -n 's/^EVENT login run_id=\([0-9a-f]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
nl=$(count_lines "$WORK/peer.log" "^EVENT login run_id=$RUN_ID ")
np=$(count_lines "$WORK/peer.log" '^EVENT proxy-new .*name=dns type=udp ')
nc=$(count_lines "$WORK/peer.log" '^EVENT udp-channel proxy=dns n=1 ')
peer_cmd peer drop
wait_line "$WORK/peer.log" "^EVENT login run_id=$RUN_ID " 30 $((nl + 1)) || fail "ufrpc did not log in again"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=dns type=udp ' 20 $((np + 1)) ||
    fail "udp proxy not registered again"
wait_line "$WORK/peer.log" '^EVENT udp-channel proxy=dns n=1 ' 10 $((nc + 1)) ||
    fail "no channel for the new udp proxy"
RPORT=$(sed -n 's/^EVENT udp-listen proxy=dns port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | tail -n 1)
out=$("$TOOL" udp-probe "$RPORT" 2 15 1 1400 7000) || fail "round trip after the new login: $out"
log "after a dropped control: $out"

# 5. clean stop
stop_ufrpc
wait_line "$WORK/peer.log" '^EVENT close-proxy .*name=dns' 5 || fail "no CloseProxy for the udp proxy"
wait_line "$WORK/peer.log" '^EVENT close-proxy .*name=ntp2' 5 || fail "no CloseProxy for ntp2"
pass
