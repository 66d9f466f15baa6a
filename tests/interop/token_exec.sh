#!/usr/bin/env bash
# token_exec.sh: auth.tokenSource exec, ufrpc next to the real frpc on the real frps.
#  1. without --allow-unsafe TokenSourceExec: the same output and exit status from
#     `-c` and from `verify`;
#  2. with it: both log in with the command's (trimmed) output as the token;
#  3. a command that fails: both exit 1 with "failed to resolve auth.tokenSource:
#     failed to execute command CMD: exit status 3" (ufrpc adds the command's stderr).
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_token_exec
need_frps
need_frpc
TOKEN="exec-$RANDOM"
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
conf() { # EXIT_CODE
    client_config "$FRPS_PORT" "" true true | grep -v '^auth.token ='
    cat <<EOT
auth.tokenSource.type = "exec"
auth.tokenSource.exec.command = "/bin/sh"
auth.tokenSource.exec.args = ["-c", "printf '  %s\\\\n' \"\$T\"; echo oops >&2; exit $1"]
auth.tokenSource.exec.env = [{ name = "T", value = "$TOKEN" }]
EOT
}
conf 0 >"$WORK/ok.toml"
conf 3 >"$WORK/bad.toml"
# out BINARY ARGS...: the output without log lines (and colours), then "rc=N"
out() {
    local rc=0 text
    text=$(timeout 20 "$@" 2>&1) || rc=$?
    printf '%s\nrc=%s\n' "$(printf '%s\n' "$text" | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^20[0-9][0-9]-')" "$rc"
}
for sub in run verify; do
    args=(-c "$WORK/ok.toml")
    [ "$sub" = verify ] && args=(verify -c "$WORK/ok.toml")
    ou=$(out "$UFRPC" "${args[@]}")
    of=$(out "$UFRPC_REAL_FRPC" "${args[@]}")
    [ "$ou" = "$of" ] && [[ "$ou" == *rc=1 ]] || fail "without --allow-unsafe ($sub): ufrpc '$ou', frpc '$of'"
done
log "without --allow-unsafe: the same refusal and exit 1 from both (run and verify)"

"$UFRPC" -c "$WORK/ok.toml" --allow-unsafe TokenSourceExec </dev/null >"$WORK/ufrpc.log" 2>&1 &
UFRPC_PID=$!
E2E_PIDS+=("$UFRPC_PID")
"$UFRPC_REAL_FRPC" -c "$WORK/ok.toml" --allow-unsafe TokenSourceExec </dev/null >"$WORK/frpc.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/ufrpc.log" "login to server success" 20 || fail "ufrpc did not log in with the command's token"
wait_line "$WORK/frpc.log" "login to server success" 20 || fail "frpc did not log in with the command's token"
stop_ufrpc
log "with --allow-unsafe TokenSourceExec: both log in"

ou=$(out "$UFRPC" -c "$WORK/bad.toml" --allow-unsafe TokenSourceExec)
of=$(out "$UFRPC_REAL_FRPC" -c "$WORK/bad.toml" --allow-unsafe TokenSourceExec)
[[ "$ou" == *rc=1 ]] && [[ "$of" == *rc=1 ]] || fail "failing command: ufrpc '$ou', frpc '$of'"
ou=$(grep 'failed to resolve' <<<"$ou")
of=$(grep 'failed to resolve' <<<"$of")
[ "$ou" = "$of: oops" ] || fail "failing command: ufrpc '$ou', frpc '$of'"
log "failing command: both exit 1; frpc: '$of'; ufrpc adds the stderr"
pass
