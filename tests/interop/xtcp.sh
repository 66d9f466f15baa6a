#!/usr/bin/env bash
# xtcp.sh: P2P (xtcp) through the real frps on loopback, tunnel protocol kcp, with
# tests/e2e/stun_server.py ("easy" behaviour) as natHoleStunServer and no fallbackTo,
# so bytes can only pass over the punched path:
#   (a) ufrpc proxy (alice.up) + ufrpc visitor (another ufrpc process);
#   (b) ufrpc proxy + the real frpc's visitor;
#   (c) the real frpc's proxy (bob.fp) + ufrpc visitor.
# Each: a sha256-checked tcp load through the visitor's bindPort; frps logs
# "report make hole success: true" for the session and the visitor's side logs
# "establishing nat hole connection successful".
#   (d) fallbackTo: ufrpc's ud_v (fallbackTo an stcp visitor to alice.ust, 1000 ms)
#       sends its first connection over stcp while the hole is punched (frps sees a
#       visitor connection to alice.ust), the next ones over P2P (it sees none);
#   (e) keepTunnelOpen: uk_v punches at start, with no user connection;
#   (f) protocol quic (frpc's default): ufrpc visitor uq_v + frpc's proxy bob.fp;
#   (g) protocol quic: frpc's visitor fq_v at its default + ufrpc proxy alice.up
#       (ufrpc serves QUIC on the punched socket; frpc's visitor sends "IP:port" as
#       TLS server name, which net/quic.c hides from GnuTLS);
#   (h) protocol quic: ufrpc visitor uqa_v + ufrpc proxy alice.up.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_xtcp
need_frps
need_frpc
TOKEN="xtcp-$RANDOM"
K="p2p-$RANDOM"

FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_stun
start_echo echo
P_A=$(freeport) P_B=$(freeport) P_C=$(freeport) P_D=$(freeport) P_E=$(freeport) P_F=$(freeport)
P_G=$(freeport) P_H=$(freeport)

proxy() { # NAME ALLOW
    printf '\n[[proxies]]\nname = "%s"\ntype = "xtcp"\nsecretKey = "%s"\nallowUsers = ["%s"]\nlocalIP = "127.0.0.1"\nlocalPort = %s\n' \
        "$1" "$K" "$2" "$ECHO_PORT"
}
visitor() { # NAME SERVER_USER SERVER_NAME BIND_PORT
    printf '\n[[visitors]]\nname = "%s"\ntype = "xtcp"\nserverUser = "%s"\nserverName = "%s"\nsecretKey = "%s"\nbindAddr = "127.0.0.1"\nbindPort = %s\nprotocol = "kcp"\n' \
        "$1" "$2" "$3" "$K" "$4"
}
STUN_LINE="natHoleStunServer = \"127.0.0.1:$STUN_EASY\""

{
    client_config "$FRPS_PORT" "$TOKEN" true true "user = \"alice\"
$STUN_LINE"
    proxy up bob
    printf '\n[[proxies]]\nname = "ust"\ntype = "stcp"\nsecretKey = "%s"\nallowUsers = ["bob"]\nlocalIP = "127.0.0.1"\nlocalPort = %s\n' \
        "$K" "$ECHO_PORT"
} >"$WORK/uprox.toml"
{
    client_config "$FRPS_PORT" "$TOKEN" true true "user = \"bob\"
$STUN_LINE"
    visitor ua_v alice up "$P_A"
    visitor uc_v bob fp "$P_C"
    visitor ud_v alice up "$P_D"
    printf 'fallbackTo = "ust_v"\n'
    printf '\n[[visitors]]\nname = "ust_v"\ntype = "stcp"\nserverUser = "alice"\nserverName = "ust"\nsecretKey = "%s"\nbindPort = -1\n' "$K"
    visitor uk_v alice up "$P_E"
    printf 'keepTunnelOpen = true\n'
    visitor uq_v bob fp "$P_F" | sed '/^protocol = /d'
    visitor uqa_v alice up "$P_H" | sed 's/^protocol = .*/protocol = "quic"/'
} >"$WORK/uvis.toml"
{
    client_config "$FRPS_PORT" "$TOKEN" true true "user = \"bob\"
$STUN_LINE"
    proxy fp bob
    visitor fb_v alice up "$P_B"
    visitor fq_v alice up "$P_G" | sed '/^protocol = /d'
} >"$WORK/frpc.toml"
sed -i 's/^log.level = "info"/log.level = "trace"/' "$WORK/uprox.toml" "$WORK/uvis.toml"

start_ufrpc uprox "$WORK/uprox.toml"
PROX_PID=$UFRPC_PID
wait_proxy "$WORK/uprox.log" up
wait_proxy "$WORK/uprox.log" ust
start_frpc frpc "$WORK/frpc.toml"
wait_proxy "$WORK/frpc.log" fp
wait_line "$WORK/frpc.log" 'visitor added: \[fb_v fq_v\]' 20 || fail "frpc's visitors did not start"
start_ufrpc uvis "$WORK/uvis.toml"
for v in ua_v uc_v ud_v ust_v uk_v uq_v uqa_v; do
    wait_line "$WORK/uvis.log" "\\[$v\\] start visitor success" 20 || fail "ufrpc visitor $v did not start"
done

# one case: the load through PORT, then the success reports of frps and the visitor
p2p_case() { # LABEL PORT VISITOR_LOG VISITOR_NAME
    local n0 out
    n0=$(count_lines "$WORK/frps.log" 'report make hole success: true')
    out=$("$TOOL" load "$2" $((1024 * 1024)) 3 90) || fail "$1: $out"
    wait_line "$WORK/frps.log" 'report make hole success: true' 10 $((n0 + 1)) ||
        fail "$1: frps saw no successful hole punching"
    wait_line "$3" "\\[$4\\].*establishing nat hole connection successful" 5 ||
        fail "$1: the visitor did not log the punched connection"
    log "$1: $out"
}

p2p_case "(a) ufrpc proxy + ufrpc visitor" "$P_A" "$WORK/uvis.log" ua_v
p2p_case "(b) ufrpc proxy + frpc visitor" "$P_B" "$WORK/frpc.log" fb_v
p2p_case "(c) frpc proxy + ufrpc visitor" "$P_C" "$WORK/uvis.log" uc_v
# the ufrpc proxy served both sessions over P2P streams, never a relayed work stream
[ "$(count_lines "$WORK/uprox.log" '\[up\] establishing nat hole connection successful')" -ge 2 ] ||
    fail "the ufrpc proxy did not punch twice"

# (e) keepTunnelOpen: the tunnel exists before any user connection
wait_line "$WORK/uvis.log" '\[uk_v\] establishing nat hole connection successful' 30 ||
    fail "(e) keepTunnelOpen: no tunnel at start"
out=$("$TOOL" load "$P_E" 262144 2 60) || fail "(e) keepTunnelOpen: $out"
log "(e) keepTunnelOpen, tunnel made at start: $out"

# (d) fallbackTo: the first connection cannot wait for the punching (1 s), later ones use it
n0=$(count_lines "$WORK/frps.log" '\[alice\.ust\] get a user connection')
out=$("$TOOL" load "$P_D" 65536 1 60) || fail "(d) first connection: $out"
wait_line "$WORK/frps.log" '\[alice\.ust\] get a user connection' 10 $((n0 + 1)) ||
    fail "(d) the first connection did not go through the stcp fallback"
wait_line "$WORK/uvis.log" '\[ud_v\] establishing nat hole connection successful' 30 ||
    fail "(d) no tunnel after the fallback"
out=$("$TOOL" load "$P_D" $((512 * 1024)) 3 60) || fail "(d) over the tunnel: $out"
[ "$(count_lines "$WORK/frps.log" '\[alice\.ust\] get a user connection')" = $((n0 + 1)) ] ||
    fail "(d) connections went through the fallback although the tunnel was up"
log "(d) fallbackTo, then P2P: $out"

# (f) quic, frpc's default protocol, to frpc's proxy
p2p_case "(f) frpc proxy + ufrpc visitor over quic" "$P_F" "$WORK/uvis.log" uq_v
# (g), (h): the ufrpc proxy serves QUIC (frpc's visitor sends protocol quic by default)
p2p_case "(g) ufrpc proxy + frpc visitor over quic" "$P_G" "$WORK/frpc.log" fq_v
p2p_case "(h) ufrpc proxy + ufrpc visitor over quic" "$P_H" "$WORK/uvis.log" uqa_v
[ "$(count_lines "$WORK/uprox.log" '\[up\] get natHoleRespMsg, .*protocol \[quic\]')" -ge 2 ] ||
    fail "(g)/(h): the ufrpc proxy did not see two quic sessions"
grep -q 'quic accept connection error' "$WORK/uprox.log" && fail "(g)/(h): a QUIC handshake failed"

stop_ufrpc
UFRPC_PID=$PROX_PID
stop_ufrpc
pass
