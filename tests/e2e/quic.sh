#!/usr/bin/env bash
# quic.sh: transport.protocol = "quic" against the test frps's quicBindPort
# (tests/peer --quic-bind-port, net/quic.h's listener): login and a tcp proxy with
# tcpMux on in the file (QUIC ignores it: one QUIC stream per control and work
# connection, as frpc), sha256-checked data both ways on parallel connections; then
# the test frps is killed (SIGKILL: no CONNECTION_CLOSE, ufrpc learns from the
# keepalive's ICMP or, when the new test frps already listens and drops the old
# connection's packets as quic-go does without a stateless reset key, from the idle
# timeout, set to 5 s here) and restarted on the same ports: ufrpc logs in
# again over a new QUIC connection and carries data again. Also: a client whose TLS
# server name GnuTLS refuses gets a clear error on both sides.
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
    "$(printf 'transport.protocol = "quic"\ntransport.quic.keepalivePeriod = 1\ntransport.quic.maxIdleTimeout = 5')"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer1.log" "^EVENT proxy-new .*name=echo" 20 || fail "proxy not registered over QUIC"
wait_line "$WORK/peer1.log" "^EVENT login .* mux=0 " 1 || fail "the login did not say tcpMux off"
out=$("$TOOL" load "$REMOTE" $((4 * 1024 * 1024)) 3 60) || fail "load over QUIC: $out"
log "before the restart: $out"
n=$(count_lines "$WORK/peer1.log" '^EVENT accept-quic')
[ "$n" -ge 4 ] || fail "expected a QUIC stream per connection (control + 3 work), saw $n"
[ "$(count_lines "$WORK/peer1.log" '^EVENT accept ')" = 0 ] || fail "a TCP connection reached bindPort"

# a TLS server name GnuTLS refuses ("IP:port", as frpc's xtcp visitor sends) from a
# client without the extension net/quic.c hides it behind (GnuTLS's own client):
# the handshake fails, the server says why, the client exits (loginFailExit)
write_config "$WORK/badsni.toml" "$QPORT" "$TOKEN" true false true badsni "$ECHO_PORT" "$(freeport)" \
    "$(printf 'transport.protocol = "quic"\ntransport.tls.serverName = "127.0.0.1:1"')"
MAIN_PID=$UFRPC_PID
start_ufrpc badsni "$WORK/badsni.toml"
wait_line "$WORK/peer1.log" '^EVENT quic-session-end .*server name "127\.0\.0\.1:1" is not a DNS name' 20 ||
    fail "no clear server-side error for a non-DNS server name"
wait_ufrpc_exit "after a refused QUIC handshake"
[ "$UFRPC_RC" != 0 ] || fail "ufrpc exited 0 after a failed login"
grep -q 'quic: the server ended the TLS handshake (alert 47: ' "$WORK/badsni.log" ||
    fail "the client did not hear the server's TLS alert (CONNECTION_CLOSE)"
UFRPC_PID=$MAIN_PID

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
