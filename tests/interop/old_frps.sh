#!/usr/bin/env bash
# old_frps.sh: a v0.31-era frps (UFRPC_REAL_FRPS_OLD) with TLS. That frps only
# takes TLS behind frp's 0x17 first byte: with disableCustomTLSFirstByte = false
# ufrpc logs in and tunnels (tcp and udp); with the default (true) it is refused
# with a hint naming the setting.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_old_frps
[ -n "${UFRPC_REAL_FRPS_OLD:-}" ] && [ -x "$UFRPC_REAL_FRPS_OLD" ] ||
    skip "UFRPC_REAL_FRPS_OLD does not name an old frps binary"
TOKEN="old-$RANDOM"
FRPS_PORT=$(freeport)
cat >"$WORK/frps.ini" <<CONF
[common]
bind_addr = 127.0.0.1
bind_port = $FRPS_PORT
token = $TOKEN
log_level = debug
CONF
start_frps frps "$WORK/frps.ini" "$UFRPC_REAL_FRPS_OLD" 'start frps success'
start_echo echo
R_TCP=$(freeport)
{
    client_config "$FRPS_PORT" "$TOKEN" true true
    echo_proxies "$R_TCP"
} >"$WORK/frpc.toml"
rc=0
timeout 30 "$UFRPC" -c "$WORK/frpc.toml" </dev/null >"$WORK/ufrpc-default.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit status $rc with the default first byte, want 1"
grep -q "hint: .*disableCustomTLSFirstByte = false" "$WORK/ufrpc-default.log" ||
    fail "no hint at disableCustomTLSFirstByte"
log "default settings: refused, with the hint"
sed -i 's/^transport.tls.enable = true/transport.tls.enable = true\ntransport.tls.disableCustomTLSFirstByte = false/' "$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_proxy "$WORK/ufrpc.log" tcp
"$TOOL" load "$R_TCP" 2097152 4 60 >"$WORK/load.out" || { cat "$WORK/load.out"; fail "tcp"; }
log "0x17 + TLS: $(cat "$WORK/load.out")"
stop_ufrpc
pass
