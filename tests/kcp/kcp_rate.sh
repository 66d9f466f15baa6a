#!/usr/bin/env bash
# kcp_rate.sh: request/response round trips over KCP stay quick after bulk streams
# whose users went away (the cause of `ufrpc-bench compare --modes kcp` measuring
# 9 keep-alive http req/s against frpc's 571).
#
# ufrpc (kcp, TLS, tcpMux) serves two tcp proxies through the test frps's KCP port:
# a firehose (sends zeros forever, ignores EOF) and an echo. 16 users read 64 KiB of
# the firehose, half-close and stop reading: the test frps passes the EOF on, and
# ufrpc must end those work connections, closing the firehose's connections (frpc's
# io.Join does) rather than keep pushing their data into the KCP session, where a
# request/response would queue behind megabytes of it. Then one kept-alive
# connection must complete 150 round trips of 100 bytes within 30 s: about 3 s
# normally (20 ms KCP interval), far out of reach with the backlog (seconds each).
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME=kcp_rate
TOKEN="kcp-$RANDOM-token"
HELPER="$(dirname "$0")/kcp_rtt.py"
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

start_peer peer --bind 127.0.0.1:0 --proxy-bind 127.0.0.1 --kcp-bind-port 0 --token "$TOKEN" \
    --tls=force --mux=true --user-conn-timeout-ms 60000 --mux-keepalive-ms 1000
wait_line "$WORK/peer.log" '^EVENT kcp-listen port=' 10 || fail "the peer serves no kcp"
KCP_PORT=$(sed -n 's/^EVENT kcp-listen port=\([0-9]*\).*/\1/p' "$WORK/peer.log" | head -n 1)

start_echo echo
python3 "$HELPER" firehose >"$WORK/fire.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/fire.log" '^READY ' 10 || fail "firehose did not start"
FIRE_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/fire.log")
ECHO_REMOTE=$(freeport)
FIRE_REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$KCP_PORT" "$TOKEN" true true true echo "$ECHO_PORT" \
    "$ECHO_REMOTE" 'transport.protocol = "kcp"'
cat >>"$WORK/frpc.toml" <<EOC

[[proxies]]
name = "fire"
type = "tcp"
localIP = "127.0.0.1"
localPort = $FIRE_PORT
remotePort = $FIRE_REMOTE
EOC
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=echo .*remote_port=$ECHO_REMOTE" 30 ||
    fail "the echo proxy was not registered"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=fire .*remote_port=$FIRE_REMOTE" 30 ||
    fail "the firehose proxy was not registered"

python3 "$HELPER" stall "$FIRE_REMOTE" 16 >"$WORK/stall.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/stall.log" '^STALLED conns=16' 60 || { cat "$WORK/stall.log"; fail "firehose users"; }
# frpc closes the local side of a work connection frps has ended
wait_line "$WORK/fire.log" '^CLOSED n=16$' 30 ||
    fail "the firehose connections stayed open after their users' EOF ($(grep -c CLOSED "$WORK/fire.log" || true) closed)"

python3 "$HELPER" rtt "$ECHO_REMOTE" 30 150 >"$WORK/rtt.out" 2>&1 ||
    { cat "$WORK/rtt.out"; fail "round trips over kcp after the firehose"; }
log "$(cat "$WORK/rtt.out")"
stop_ufrpc
pass
