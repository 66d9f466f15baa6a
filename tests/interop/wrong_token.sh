#!/usr/bin/env bash
# wrong_token.sh: a login with the wrong token is refused by the real frps; with
# loginFailExit ufrpc exits 1 with frps's reason, as frpc does (with frpc present,
# the two reasons are compared word for word); without it ufrpc keeps retrying.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_wrong_token
need_frps
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" right-token true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
client_config "$FRPS_PORT" wrong-token true true >"$WORK/frpc.toml"

reason() { # the text after "login to the server failed: " in LOG
    sed -n 's/.*login to the server failed: \(.*\)\. With loginFailExit.*/\1/p' "$1" | head -n 1
}
rc=0
timeout 30 "$UFRPC" -c "$WORK/frpc.toml" </dev/null >"$WORK/ufrpc.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "ufrpc exit status $rc, want 1"
got=$(reason "$WORK/ufrpc.log")
[ -n "$got" ] || fail "no 'login to the server failed' line"
grep -q "token" <<<"$got" || fail "the reason does not mention the token: $got"
log "ufrpc: exit 1, '$got'"
if [ -n "${UFRPC_REAL_FRPC:-}" ] && [ -x "$UFRPC_REAL_FRPC" ]; then
    rc=0
    timeout 30 "$UFRPC_REAL_FRPC" -c "$WORK/frpc.toml" </dev/null >"$WORK/frpc.log" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "frpc exit status $rc (expected 1, as ufrpc)"
    want=$(reason "$WORK/frpc.log")
    [ "$got" = "$want" ] || fail "reasons differ: ufrpc '$got', frpc '$want'"
    log "frpc: exit 1, the same reason"
fi
# without loginFailExit: a retry after frpc's backoff, then still running
sed -i 's/^loginFailExit = true/loginFailExit = false/' "$WORK/frpc.toml"
start_ufrpc ufrpc2 "$WORK/frpc.toml"
wait_line "$WORK/ufrpc2.log" 'token' 30 2 || fail "ufrpc did not try twice"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc gave up without loginFailExit"
stop_ufrpc
pass
