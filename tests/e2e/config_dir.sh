#!/usr/bin/env bash
# config_dir.sh: `ufrpc --config-dir DIR` runs one service for each file under DIR (sub-
# directories too), in one process, as frpc: both good files log in (two logins at
# the peer) and carry traffic; a broken file is reported with frpc's line "frpc
# service error for config file [PATH]" while the others run; SIGTERM stops them all
# and the exit status is 0, as frpc's.
source "$(dirname "$0")/lib.sh"
E2E_NAME=config_dir
TOKEN="dir-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux=true
start_echo echo
R1=$(freeport)
R2=$(freeport)
mkdir -p "$WORK/conf/sub"
write_config "$WORK/conf/a.toml" "$PEER_PORT" "$TOKEN" true false true pa "$ECHO_PORT" "$R1" 'user = "a"'
write_config "$WORK/conf/sub/b.toml" "$PEER_PORT" "$TOKEN" true false true pb "$ECHO_PORT" "$R2" 'user = "b"'
printf 'serverPort = = 1\n' >"$WORK/conf/bad.toml"
"$UFRPC" --config-dir "$WORK/conf" </dev/null >"$WORK/ufrpc.log" 2>&1 &
UFRPC_PID=$!
E2E_PIDS+=("$UFRPC_PID")
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=a.pa " 20 || fail "a.toml's proxy not registered"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=b.pb " 20 || fail "sub/b.toml's proxy not registered"
"$TOOL" load "$R1" 65536 2 30 || fail "traffic through a.toml's proxy"
"$TOOL" load "$R2" 65536 2 30 || fail "traffic through sub/b.toml's proxy"
[ "$(count_lines "$WORK/peer.log" "^EVENT login ")" = 2 ] || fail "want 2 logins"
grep -qF "frpc service error for config file [$WORK/conf/bad.toml]" "$WORK/ufrpc.log" ||
    fail "the broken file was not reported"
[ -z "$(pgrep -P "$UFRPC_PID")" ] || fail "--config-dir started child processes"
stop_ufrpc
pass
