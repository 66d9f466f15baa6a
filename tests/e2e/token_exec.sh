#!/usr/bin/env bash
# token_exec.sh: auth.tokenSource type "exec" against the test frps.
#  1. without --allow-unsafe TokenSourceExec: `ufrpc -c` and `ufrpc verify` print
#     frpc's refusal and exit 1, and the command never runs;
#  2. with it: the command's output (trimmed) is the token; the login succeeds and the
#     proxy carries traffic; a SIGHUP adding a proxy reuses the token (the command
#     ran once, as frpc resolves it once);
#  3. a failing command: exit 1 with the exit status and its stderr.
source "$(dirname "$0")/lib.sh"
E2E_NAME=token_exec
TOKEN="exec-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux=true
start_echo echo
R1=$(freeport)
R2=$(freeport)
cat >"$WORK/token.sh" <<EOT
#!/bin/sh
echo run >>"$WORK/runs"
printf '  %s  \n' "\$1"
EOT
chmod +x "$WORK/token.sh"
conf() { # EXTRA_PROXY(yes|no) ARG
    common_config "$PEER_PORT" "" true false | grep -v '^auth.token ='
    cat <<EOT
auth.tokenSource.type = "exec"
auth.tokenSource.exec.command = "$WORK/token.sh"
auth.tokenSource.exec.args = ["$2"]

[[proxies]]
name = "p1"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R1
EOT
    [ "$1" = yes ] && cat <<EOT

[[proxies]]
name = "p2"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R2
EOT
    true
}
conf no "$TOKEN" >"$WORK/frpc.toml"
want='unsafe feature "TokenSourceExec" is not enabled. To enable it, ensure it is allowed in the configuration or command line flags'
rc=0
out=$("$UFRPC" -c "$WORK/frpc.toml" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "without --allow-unsafe: exit $rc, want 1"
[[ "$out" == *"$want"* ]] || fail "without --allow-unsafe: '$out'"
rc=0
out=$("$UFRPC" verify -c "$WORK/frpc.toml" 2>&1) || rc=$?
[ "$rc" = 1 ] && [ "$out" = "$want" ] || fail "verify without --allow-unsafe: exit $rc '$out'"
out=$("$UFRPC" verify -c "$WORK/frpc.toml" --allow-unsafe TokenSourceExec 2>&1) ||
    fail "verify with --allow-unsafe: '$out'"
[ ! -e "$WORK/runs" ] || fail "the command ran without --allow-unsafe"

"$UFRPC" -c "$WORK/frpc.toml" --allow-unsafe TokenSourceExec </dev/null >"$WORK/ufrpc.log" 2>&1 &
UFRPC_PID=$!
E2E_PIDS+=("$UFRPC_PID")
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=p1 " 20 || fail "no login with the command's token"
"$TOOL" load "$R1" 65536 2 30 || fail "traffic through p1"
conf yes "$TOKEN" >"$WORK/frpc.toml"
kill -HUP "$UFRPC_PID"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=p2 " 20 || fail "p2 not added by the reload"
[ "$(count_lines "$WORK/runs" run)" = 1 ] || fail "the command ran $(count_lines "$WORK/runs" run) times, want 1"
[ "$(count_lines "$WORK/peer.log" "^EVENT login ")" = 1 ] || fail "the reload logged in again"
stop_ufrpc

cat >"$WORK/bad.sh" <<'EOT'
#!/bin/sh
echo "vault: permission denied" >&2
exit 2
EOT
chmod +x "$WORK/bad.sh"
sed -i "s|$WORK/token.sh|$WORK/bad.sh|" "$WORK/frpc.toml"
rc=0
out=$("$UFRPC" -c "$WORK/frpc.toml" --allow-unsafe=TokenSourceExec 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "failing command: exit $rc, want 1"
[[ "$out" == *"failed to resolve auth.tokenSource: failed to execute command $WORK/bad.sh: exit status 2: vault: permission denied"* ]] ||
    fail "failing command: '$out'"
pass
