#!/usr/bin/env bash
# wrong_token.sh LOGIN_FAIL_EXIT(true|false)
# The peer has another token than ufrpc. With loginFailExit = true ufrpc must exit with
# status 1 and print the server's error; with false it must keep running and retry
# (the peer sees several refused logins, ufrpc logs each attempt), and SIGTERM must
# still end it with status 0.
source "$(dirname "$0")/lib.sh"
EXIT=$1
E2E_NAME="wrong_token_loginFailExit-$EXIT"
ERRTEXT="token in login doesn't match token from configuration"

start_peer peer --bind 127.0.0.1:0 --token right-token --tls=auto
write_config "$WORK/frpc.toml" "$PEER_PORT" wrong-token true false "$EXIT" echo 9 "$(freeport)"
start_ufrpc ufrpc "$WORK/frpc.toml"

if [ "$EXIT" = true ]; then
    wait_ufrpc_exit "30 s after a refused login"
    log "ufrpc exit status $UFRPC_RC"
    [ "$UFRPC_RC" = 1 ] || fail "exit status $UFRPC_RC, want 1"
    grep -q -F "$ERRTEXT" "$WORK/ufrpc.log" || fail "ufrpc did not print the server's error"
    n=$(count_lines "$WORK/peer.log" '^EVENT login-refused')
    [ "$n" = 1 ] || fail "$n login attempts, want exactly 1"
    grep -F "$ERRTEXT" "$WORK/ufrpc.log" | head -n 2
else
    # frpc's first-login schedule: at once, then about 2, 4, 8 s: three attempts by ~7 s
    wait_line "$WORK/peer.log" '^EVENT login-refused' 25 3 || fail "fewer than 3 login attempts"
    kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc exited although loginFailExit is false"
    n=$(count_lines "$WORK/ufrpc.log" "$ERRTEXT")
    [ "$n" -ge 2 ] || fail "ufrpc logged the error $n times, want one per attempt"
    log "$(count_lines "$WORK/peer.log" '^EVENT login-refused') refused logins, ufrpc still running"
    stop_ufrpc
fi
pass
