#!/usr/bin/env bash
# v050.sh MUX(true|false): ufrpc against frps v0.50.0 (UFRPC_REAL_FRPS_V050), left
# at its defaults but for tcp_mux = MUX (v0.50 reads INI only: [common] and
# snake_case keys). ufrpc's defaults log in (TLS on, plain 0x16 ClientHello, which
# that frps accepts next to frp's 0x17 byte); a tcp proxy carries sha256-checked
# load and a udp proxy byte-exact round trips; with the v0.50 frpc present, it runs
# the same proxies (other ports) next to ufrpc and its traffic is checked too, so a
# failure can be told apart from an frps problem; SIGTERM closes ufrpc's session on
# that frps ("client exit success").
source "$(dirname "$0")/lib.sh"
MUX=$1
E2E_NAME="interop_v050_mux-$MUX"
need_frps # the interop switch: without it every interop test skips (README)
[ -n "${UFRPC_REAL_FRPS_V050:-}" ] && [ -x "$UFRPC_REAL_FRPS_V050" ] ||
    skip "UFRPC_REAL_FRPS_V050 does not name an frps v0.50.0 binary"
TOKEN="v050-$RANDOM"
FRPS_PORT=$(freeport)
cat >"$WORK/frps.ini" <<CONF
[common]
bind_addr = 127.0.0.1
bind_port = $FRPS_PORT
token = $TOKEN
tcp_mux = $MUX
log_level = trace
disable_log_color = true
CONF
start_frps frps "$WORK/frps.ini" "$UFRPC_REAL_FRPS_V050"

start_echo echo
start_udp_echo uecho
R_TCP=$(freeport)
R_UDP=$(freeport)
# ufrpc: frpc.toml with the defaults (TLS on) but tcpMux to match frps
cat >"$WORK/frpc.toml" <<CONF
serverAddr = "127.0.0.1"
serverPort = $FRPS_PORT
loginFailExit = true
auth.token = "$TOKEN"
transport.tcpMux = $MUX
log.to = "console"
log.level = "info"
CONF
echo_proxies "$R_TCP" "$R_UDP" >>"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" tcp
wait_proxy "$WORK/ufrpc.log" udp
RUN_ID=$(sed -n 's/.*get run id \[\([0-9a-f]*\)\].*/\1/p' "$WORK/ufrpc.log" | head -n 1)
grep -q "new proxy \\[tcp\\] type \\[tcp\\] success" "$WORK/frps.log" || fail "frps did not log the tcp proxy"
# frps (trace) logs how the connection started: TLS, without frp's 0x17 byte
grep -q 'check TLS connection success, isTLS: true custom: false' "$WORK/frps.log" ||
    fail "frps did not see a plain TLS connection"
out=$("$TOOL" load "$R_TCP" $((4 * 1024 * 1024)) 8 60) || fail "tcp: $out"
log "tcp: $out"
out=$("$TOOL" udp-probe "$R_UDP" 4 30 1 100 700 1400) || fail "udp: $out"
log "udp: $out"

if [ -n "${UFRPC_REAL_FRPC_V050:-}" ] && [ -x "$UFRPC_REAL_FRPC_V050" ]; then
    F_TCP=$(freeport)
    cat >"$WORK/frpc050.ini" <<CONF
[common]
server_addr = 127.0.0.1
server_port = $FRPS_PORT
token = $TOKEN
tcp_mux = $MUX
login_fail_exit = true

[ftcp]
type = tcp
local_ip = 127.0.0.1
local_port = $ECHO_PORT
remote_port = $F_TCP
CONF
    "$UFRPC_REAL_FRPC_V050" -c "$WORK/frpc050.ini" </dev/null >"$WORK/frpc050.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_proxy "$WORK/frpc050.log" ftcp
    out=$("$TOOL" load "$F_TCP" $((4 * 1024 * 1024)) 8 60) || fail "tcp through frpc v0.50: $out"
    log "frpc v0.50 next to ufrpc: $out"
    out=$("$TOOL" load "$R_TCP" 1048576 2 60) || fail "ufrpc's tcp with frpc v0.50 beside it: $out"
fi

stop_ufrpc
wait_line "$WORK/frps.log" "\\[$RUN_ID\\] client exit success" 10 || fail "frps did not see ufrpc leave"
pass
