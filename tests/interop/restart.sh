#!/usr/bin/env bash
# restart.sh MUX(true|false): the real frps SIGKILLed in the middle of a transfer
# and started again on the same port (TLS on, tcpMux = MUX).
#  1. a tcp proxy (bandwidthLimit 512KB, so that 4 x 4 MiB lasts ~30 s) carries a
#     load; once frps has joined the user and work connections it is killed: the
#     load fails (not a hang: within 10 s) and ufrpc closes its connections to the
#     local echo service (none left established);
#  2. ufrpc notices the loss (logs it) and, frps started again with the same config,
#     logs in again (with its previous run id, as frpc does) within its backoff,
#     registers the proxy again, and traffic flows (sha256-checked) through it and
#     through an unlimited proxy.
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="interop_restart_mux-$MUX"
need_frps
TOKEN="rs-$RANDOM"
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" "$MUX" >"$WORK/frps.toml"
start_frps frps1 "$WORK/frps.toml"
start_echo echo
R_SLOW=$(freeport)
R_FAST=$(freeport)
{
    client_config "$FRPS_PORT" "$TOKEN" "$MUX" true
    cat <<CONF

[[proxies]]
name = "slow"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R_SLOW
transport.bandwidthLimit = "512KB"

[[proxies]]
name = "fast"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R_FAST
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" slow
wait_proxy "$WORK/ufrpc.log" fast
RUN_ID=$(sed -n 's/.*get run id \[\([0-9a-f]*\)\].*/\1/p' "$WORK/ufrpc.log" | head -n 1)
[ -n "$RUN_ID" ] || fail "no run id in ufrpc's log"
out=$("$TOOL" load "$R_FAST" 1048576 4 30) || fail "traffic before the kill: $out"

established_to_echo() {
    ss -Htn state established "( dport = :$ECHO_PORT )" 2>/dev/null | wc -l
}

# ---- 1. kill frps mid-transfer --------------------------------------------------------
"$TOOL" load "$R_SLOW" $((4 * 1024 * 1024)) 4 120 >"$WORK/cut.out" 2>&1 &
LOAD_PID=$!
E2E_PIDS+=("$LOAD_PID")
wait_line "$WORK/frps1.log" '\[slow\] join connections, workConn' 20 4 ||
    fail "frps did not join the 4 user connections"
deadline=$((SECONDS + 10))
until [ "$(established_to_echo)" -ge 4 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "ufrpc has fewer than 4 connections to the echo service"
    sleep 0.1
done
kill -9 "$FRPS_PID"
wait "$FRPS_PID" 2>/dev/null || true
t_kill=$SECONDS
rc=0
deadline=$((SECONDS + 10))
while kill -0 "$LOAD_PID" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the interrupted load still runs 10 s after the kill"
    sleep 0.1
done
wait "$LOAD_PID" || rc=$?
[ "$rc" != 0 ] || fail "the interrupted load claims success: $(cat "$WORK/cut.out")"
grep -q '^RESULT ok=0 failed=4' "$WORK/cut.out" || fail "the interrupted load: $(cat "$WORK/cut.out")"
log "interrupted load ended after $((SECONDS - t_kill)) s: $(cat "$WORK/cut.out")"
deadline=$((SECONDS + 10))
until [ "$(established_to_echo)" = 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] ||
        fail "ufrpc still holds $(established_to_echo) connections to the echo service 10 s after the kill"
    sleep 0.2
done
log "ufrpc closed its local connections"

# ---- 2. frps back on the same port ------------------------------------------------
# ufrpc notices the loss, then (frps down) fails at least one reconnect attempt
wait_line "$WORK/ufrpc.log" 'connection to server closed' 15 || fail "ufrpc did not notice the lost connection"
wait_line "$WORK/ufrpc.log" 'connect to server error: .*connection refused' 30 ||
    fail "ufrpc did not try to reconnect while frps was down"
kill -0 "$UFRPC_PID" 2>/dev/null || fail "ufrpc exited while frps was down"
t0=$SECONDS
start_frps frps2 "$WORK/frps.toml"
wait_line "$WORK/ufrpc.log" 'login to server success' 40 2 || fail "ufrpc did not log in again within 40 s"
log "logged in again $((SECONDS - t0)) s after frps came back"
grep -q "\\[$RUN_ID\\] client login info" "$WORK/frps2.log" ||
    fail "the new login did not reuse run id $RUN_ID"
wait_line "$WORK/frps2.log" 'new proxy \[slow\] type \[tcp\] success' 20 || fail "slow not registered again"
wait_line "$WORK/frps2.log" 'new proxy \[fast\] type \[tcp\] success' 20 || fail "fast not registered again"
out=$("$TOOL" load "$R_FAST" 1048576 4 30) || fail "fast after the restart: $out"
log "fast after the restart: $out"
out=$("$TOOL" load "$R_SLOW" 262144 2 30) || fail "slow after the restart: $out"
log "slow after the restart: $out"
stop_ufrpc
pass
