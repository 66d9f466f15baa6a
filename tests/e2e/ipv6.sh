#!/usr/bin/env bash
# ipv6.sh PROTO(tcp|websocket) TLS(true|false) MUX(true|false)
# serverAddr is an IPv6 literal: the test frps listens on [::1] only (its proxy ports
# on 127.0.0.1, where e2e-tool connects); ufrpc logs in over IPv6 with the given
# transport and carries 4 MiB and 8 concurrent connections through a tcp proxy,
# sha256 checked. Skipped (77) when the machine has no IPv6 loopback.
source "$(dirname "$0")/lib.sh"
PROTO=$1
TLS=$2
MUX=$3
E2E_NAME="ipv6_${PROTO}_tls-${TLS}_mux-${MUX}"
if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    echo "no IPv6 loopback: skipped"
    E2E_FAILED=0
    exit 77
fi
TOKEN="v6-$RANDOM"
start_peer peer --bind "[::1]:0" --proxy-bind 127.0.0.1 --token "$TOKEN" --tls=auto \
    --mux="$MUX"
start_echo echo
RPORT=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" "$TLS" true echo "$ECHO_PORT" \
    "$RPORT" "transport.protocol = \"$PROTO\""
sed -i 's/^serverAddr = .*/serverAddr = "::1"/' "$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/ufrpc.log" '\[echo\] start proxy success' 30 || fail "proxy did not start over IPv6"
grep -q "^EVENT login" "$WORK/peer.log" || fail "the peer saw no login"
"$TOOL" load "$RPORT" 4194304 1 60 >"$WORK/load1.log" || fail "4 MiB over the IPv6 session"
"$TOOL" load "$RPORT" 262144 8 60 >"$WORK/load8.log" || fail "8 connections over the IPv6 session"
log "$(cat "$WORK/load1.log")"
stop_ufrpc
pass
