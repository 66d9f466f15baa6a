#!/usr/bin/env bash
# variants.sh KIND: one tunnel with a less common setting, then traffic through it.
#   first_byte   TLS with disableCustomTLSFirstByte = false: ufrpc must send 0x17 before
#                its ClientHello (the peer, like frps, consumes it and runs TLS)
#   auth_scopes  auth.additionalScopes = ["HeartBeats", "NewWorkConns"]: the peer
#                verifies the privilege key of every Ping and NewWorkConn
#   user         user = "alice": the proxy is "alice.echo" on the wire and ufrpc must
#                strip the prefix from StartWorkConn
#   tls_verify   transport.tls.trustedCaFile = the peer's (generated) certificate and
#                serverName = localhost: verification passes and traffic flows
#   tls_verify_wrong  trustedCaFile = another peer's certificate: the handshake must
#                fail verification, so the login fails (exit 1, loginFailExit)
#   pong_error   the peer verifies Ping privilege keys but ufrpc has no HeartBeats scope:
#                every Pong carries an error, and ufrpc must end the session and log
#                in again (frpc's handlePong)
source "$(dirname "$0")/lib.sh"
KIND=$1
E2E_NAME="variant_$KIND"
TOKEN="variant-$RANDOM"
MUX=false
TLS=false
PEER_ARGS=()
EXTRA=""
NAME=echo
case "$KIND" in
first_byte)
    TLS=true
    EXTRA="transport.tls.disableCustomTLSFirstByte = false"
    ;;
auth_scopes)
    PEER_ARGS=(--auth-heartbeats --auth-work-conns)
    EXTRA=$'auth.additionalScopes = ["HeartBeats", "NewWorkConns"]\ntransport.heartbeatInterval = 1'
    ;;
user)
    EXTRA='user = "alice"'
    NAME=alice.echo
    ;;
tls_verify | tls_verify_wrong)
    TLS=true
    PEER_ARGS=(--cert-out "$WORK/peer-cert.pem")
    CA=$WORK/peer-cert.pem
    if [ "$KIND" = tls_verify_wrong ]; then
        start_peer other --bind 127.0.0.1:0 --tls=force --cert-out "$WORK/other-cert.pem"
        CA=$WORK/other-cert.pem
    fi
    EXTRA=$'transport.tls.trustedCaFile = "'"$CA"$'"\ntransport.tls.serverName = "localhost"'
    ;;
pong_error)
    PEER_ARGS=(--auth-heartbeats)
    EXTRA='transport.heartbeatInterval = 1'
    ;;
*) fail "unknown variant $KIND" ;;
esac
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=auto --mux="$MUX" "${PEER_ARGS[@]}"
start_echo echo
REMOTE=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" "$TLS" true echo "$ECHO_PORT" "$REMOTE" "$EXTRA"
start_ufrpc ufrpc "$WORK/frpc.toml"
if [ "$KIND" = tls_verify_wrong ]; then
    wait_ufrpc_exit "with an untrusted certificate"
    [ "$UFRPC_RC" = 1 ] || fail "exit status $UFRPC_RC, want 1"
    grep -q '^EVENT login ' "$WORK/peer.log" && fail "ufrpc logged in over an unverified TLS connection"
    grep -i -E "certificate|verif|tls" "$WORK/ufrpc.log" | tail -n 2
    # the message names the step, Mbed TLS's reason and the setting to look at
    grep -q "connect to server error: tls: certificate verification failed: .*not correctly signed by the trusted CA.*hint: transport.tls.trustedCaFile ($CA) did not sign" "$WORK/ufrpc.log" ||
        fail "the log does not explain the verification failure"
    pass
    exit 0
fi
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$NAME " 20 || fail "proxy $NAME not registered"
if [ "$KIND" = pong_error ]; then
    RUN_ID=$(sed -n 's/^EVENT login run_id=\([0-9a-f]*\).*/\1/p' "$WORK/peer.log" | head -n 1)
    wait_line "$WORK/peer.log" "^EVENT control-closed run_id=$RUN_ID " 15 ||
        fail "ufrpc kept the session after a Pong with an error"
    wait_line "$WORK/peer.log" "^EVENT login run_id=$RUN_ID " 30 2 || fail "no re-login"
    stop_ufrpc
    pass
    exit 0
fi
"$TOOL" load "$REMOTE" 1048576 8 60 || fail "traffic"
case "$KIND" in
first_byte)
    grep -q '^EVENT accept-tls first_byte_0x17=1' "$WORK/peer.log" || fail "no 0x17 before TLS"
    grep -q '^EVENT accept-tls first_byte_0x17=0' "$WORK/peer.log" &&
        fail "a connection without the 0x17 byte"
    ;;
auth_scopes)
    wait_line "$WORK/peer.log" '^EVENT ping ' 10 3 || fail "fewer than 3 Pings"
    grep -q '^EVENT work-conn-refused' "$WORK/peer.log" && fail "a NewWorkConn was refused"
    grep -q '^EVENT control-closed' "$WORK/peer.log" && fail "the control was closed"
    ;;
user)
    grep -q "^EVENT login .*user=alice " "$WORK/peer.log" || fail "Login.user is not alice"
    ;;
esac
stop_ufrpc
pass
