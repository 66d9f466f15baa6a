#!/usr/bin/env bash
# Runs lib-two-clients (tests/lib/two_clients.c) against the test frps and checks
# on the frps side what the diff must do: app-1 and b-echo registered, app-2 added
# at run time and closed by its removal while app-1's registration stayed until the
# stop (only app-1's own updates closed it).
source "$UFRPC_SOURCE_DIR/tests/e2e/lib.sh"
TOKEN="lib-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN"
start_echo echo
R1=$(freeport); R2=$(freeport); R3=$(freeport); VP=$(freeport)
"$TWO_CLIENTS" "$PEER_PORT" "$TOKEN" "$ECHO_PORT" "$R1" "$R2" "$R3" "$VP" >"$WORK/two.log" 2>&1 ||
    { cat "$WORK/two.log"; fail "lib-two-clients failed"; }
cat "$WORK/two.log"
grep -q '^PASS$' "$WORK/two.log" || fail "no PASS"
# one login per client (the run-time changes never reconnected), TLS by default
# (frpc's transport.tls.enable = true)
[ "$(count_lines "$WORK/peer.log" '^EVENT login ')" -eq 2 ] || fail "not exactly two logins"
grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS handshake"
grep -q "^EVENT proxy-new .*name=b-echo .*remote_port=$R3" "$WORK/peer.log" || fail "b-echo"
grep -q "^EVENT proxy-new .*name=app-2 .*remote_port=$R2" "$WORK/peer.log" || fail "app-2"
# app-2's close came from its removal, before the stop closed app-1 for good
first_close=$(grep -n -m1 -E '^EVENT close-proxy .*name=app-2' "$WORK/peer.log" | cut -d: -f1)
last_app1=$(grep -n -E '^EVENT close-proxy .*name=app-1' "$WORK/peer.log" | tail -n1 | cut -d: -f1)
[ -n "$first_close" ] && [ -n "$last_app1" ] && [ "$first_close" -lt "$last_app1" ] ||
    fail "app-2's CloseProxy ($first_close) should come before app-1's last ($last_app1)"
# adding and removing app-2 never re-registered the unchanged b-echo (other client) nor
# closed app-1 outside its own two updates and the stop
[ "$(count_lines "$WORK/peer.log" '^EVENT close-proxy .*name=app-1')" -eq 3 ] ||
    fail "app-1 closed $(count_lines "$WORK/peer.log" '^EVENT close-proxy .*name=app-1') times (want 3)"
pass
