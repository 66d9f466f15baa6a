#!/usr/bin/env bash
# quic.sh: transport.protocol = "quic" against the test frps's quicBindPort
# (tests/peer --quic-bind-port, net/quic.h's listener): login and a tcp proxy with
# tcpMux on in the file (QUIC ignores it: one QUIC stream per control and work
# connection, as frpc), sha256-checked data both ways on parallel connections; then
# the test frps is killed (SIGKILL: no CONNECTION_CLOSE, ufrpc learns from the
# keepalive's ICMP or the idle timeout) and restarted on the same ports: ufrpc logs in
# again over a new QUIC connection and carries data again.
source "$(dirname "$0")/lib.sh"
E2E_NAME="quic"
TOKEN="quic-$RANDOM"
export E2E_LOAD_NO_HALF_CLOSE=1 # frp's Join closes both sides at the first EOF

PORT=$(freeport) QPORT=$(freeport) REMOTE=$(freeport)
peer_args=(--bind "127.0.0.1:$PORT" --quic-bind-port "$QPORT" --token "$TOKEN" --mux=true)
start_peer peer1 "${peer_args[@]}"
wait_line "$WORK/peer1.log" "^EVENT quic-listen port=$QPORT" 5 || fail "no QUIC listener"
start_echo echo
write_config "$WORK/frpc.toml" "$QPORT" "$TOKEN" true false false echo "$ECHO_PORT" "$REMOTE" \
    "$(printf 'transport.protocol = "quic"\ntransport.quic.keepalivePeriod = 1')"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer1.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered over QUIC"
wait_line "$WORK/peer1.log" "^EVENT login .* mux=0 " 1 || fail "the login did not say tcpMux off"
out=$("$TOOL" load "$REMOTE" $((4 * 1024 * 1024)) 3 60) || fail "load over QUIC: $out"
log "before the restart: $out"
n=$(count_lines "$WORK/peer1.log" '^EVENT accept-quic')
[ "$n" -ge 4 ] || fail "expected a QUIC stream per connection (control + 3 work), saw $n"
[ "$(count_lines "$WORK/peer1.log" '^EVENT accept ')" = 0 ] || fail "a TCP connection reached bindPort"

kill -9 "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
t0=$SECONDS
start_peer peer2 "${peer_args[@]}"
wait_line "$WORK/peer2.log" "^EVENT proxy-new .*name=echo" 30 ||
    fail "ufrpc did not come back over QUIC within 30 s"
log "proxy back after $((SECONDS - t0)) s"
out=$("$TOOL" load "$REMOTE" $((1024 * 1024)) 2 60) || fail "load after the restart: $out"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc died"
stop_ufrpc
pass
