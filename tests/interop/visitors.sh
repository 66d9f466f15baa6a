#!/usr/bin/env bash
# visitors.sh: stcp and sudp between ufrpc and the real frpc through the real frps,
# both ways. ufrpc (user alice) provides stcp "sec" and sudp "usec" (allowUsers
# bob) and visits frpc's; frpc (user bob) provides stcp "fsec", sudp "fusec" and
# xtcp "fp2p" (allowUsers alice) and visits ufrpc's:
#   (a) frpc's visitors sec_v / usec_v -> ufrpc's proxies: tcp load (sha256) and
#       udp round trips (byte for byte) through frpc's bindPorts;
#   (b) ufrpc's visitors fsec_v / fusec_v -> frpc's proxies: the same;
#   (c) ufrpc's xtcp visitor p2p_v -> bob.fp2p hands the connections that arrive
#       while it punches (fallbackTimeoutMs 1000; the punching takes longer, frps
#       delays the sender by 1 s) to fallbackTo fhid_v (an stcp visitor with
#       bindPort -1 to bob.fsec): tcp load through p2p_v's bindPort;
#   (d) a wrong secretKey in ufrpc's stcp visitor: frps refuses, the user connection
#       is closed with no data and ufrpc logs frps's reason.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_visitors
need_frps
need_frpc
TOKEN="vis-$RANDOM"
K1="stcp-$RANDOM"
K2="sudp-$RANDOM"

FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

start_echo echo
start_udp_echo uecho

P_SEC=$(freeport)   # frpc's stcp visitor -> alice.sec
P_USEC=$(freeport)  # frpc's sudp visitor -> alice.usec
P_FSEC=$(freeport)  # ufrpc's stcp visitor -> bob.fsec
P_FUSEC=$(freeport) # ufrpc's sudp visitor -> bob.fusec
P_P2P=$(freeport)   # ufrpc's xtcp visitor -> bob.fp2p, falls back to fhid_v
P_BAD=$(freeport)   # ufrpc's stcp visitor with a wrong key

proxy() { # NAME TYPE SECRET ALLOW LOCAL_PORT
    cat <<EOF

[[proxies]]
name = "$1"
type = "$2"
secretKey = "$3"
allowUsers = ["$4"]
localIP = "127.0.0.1"
localPort = $5
EOF
}
visitor() { # NAME TYPE SERVER_USER SERVER_NAME SECRET BIND_PORT [EXTRA]
    cat <<EOF

[[visitors]]
name = "$1"
type = "$2"
serverUser = "$3"
serverName = "$4"
secretKey = "$5"
bindAddr = "127.0.0.1"
bindPort = $6
${7:-}
EOF
}

{
    client_config "$FRPS_PORT" "$TOKEN" true true 'user = "alice"'
    proxy sec stcp "$K1" bob "$ECHO_PORT"
    proxy usec sudp "$K2" bob "$UECHO_PORT"
    visitor fsec_v stcp bob fsec "$K1" "$P_FSEC"
    visitor fusec_v sudp bob fusec "$K2" "$P_FUSEC"
    visitor fhid_v stcp bob fsec "$K1" -1
    visitor p2p_v xtcp bob fp2p "$K1" "$P_P2P" 'fallbackTo = "fhid_v"'
    visitor bad_v stcp bob fsec "wrong-$K1" "$P_BAD"
} >"$WORK/ufrpc.toml"
{
    client_config "$FRPS_PORT" "$TOKEN" true true 'user = "bob"'
    proxy fsec stcp "$K1" alice "$ECHO_PORT"
    proxy fusec sudp "$K2" alice "$UECHO_PORT"
    proxy fp2p xtcp "$K1" alice "$ECHO_PORT"
    visitor sec_v stcp alice sec "$K1" "$P_SEC"
    visitor usec_v sudp alice usec "$K2" "$P_USEC"
} >"$WORK/frpc.toml"

start_ufrpc ufrpc "$WORK/ufrpc.toml"
for p in sec usec; do wait_proxy "$WORK/ufrpc.log" "$p"; done
start_frpc frpc "$WORK/frpc.toml"
for p in fsec fusec fp2p; do wait_proxy "$WORK/frpc.log" "$p"; done
# frpc logs "start visitor success" without the name, then the whole list
wait_line "$WORK/frpc.log" 'visitor added: \[sec_v usec_v\]' 20 || fail "frpc's visitors did not start"
for v in fsec_v fusec_v fhid_v p2p_v bad_v; do
    wait_line "$WORK/ufrpc.log" "\\[$v\\] start visitor success" 20 || fail "ufrpc visitor $v did not start"
done
wait_line "$WORK/ufrpc.log" "\\[p2p_v\\] xtcp visitor started, listening on" 5 ||
    fail "the xtcp visitor did not start listening"

# (a) frpc visits ufrpc's proxies
out=$("$TOOL" load "$P_SEC" $((2 * 1024 * 1024)) 4 60) || fail "stcp: frpc visitor -> ufrpc proxy: $out"
log "(a) stcp, frpc visitor -> ufrpc proxy: $out"
out=$("$TOOL" udp-probe "$P_USEC" 3 30 1 100 700 1400) || fail "sudp: frpc visitor -> ufrpc proxy: $out"
log "(a) sudp, frpc visitor -> ufrpc proxy: $out"
wait_line "$WORK/frps.log" 'new proxy \[alice\.sec\] type \[stcp\] success' 1 ||
    fail "frps did not register alice.sec"

# (b) ufrpc visits frpc's proxies
out=$("$TOOL" load "$P_FSEC" $((2 * 1024 * 1024)) 4 60) || fail "stcp: ufrpc visitor -> frpc proxy: $out"
log "(b) stcp, ufrpc visitor -> frpc proxy: $out"
out=$("$TOOL" udp-probe "$P_FUSEC" 3 30 1 100 700 1400) || fail "sudp: ufrpc visitor -> frpc proxy: $out"
log "(b) sudp, ufrpc visitor -> frpc proxy: $out"

# (c) xtcp visitor in ufrpc: its fallback stcp visitor carries the traffic to frpc's
n0=$(count_lines "$WORK/frps.log" '\[bob\.fsec\] get a user connection')
out=$("$TOOL" load "$P_P2P" 524288 3 60) || fail "xtcp fallback: $out"
# frps saw them as visitor connections to bob.fsec (the stcp proxy), nothing else
wait_line "$WORK/frps.log" '\[bob\.fsec\] get a user connection' 10 $((n0 + 3)) ||
    fail "the fallback connections did not reach frps as bob.fsec visitors"
log "(c) xtcp visitor via fallbackTo fhid_v: $out"

# (d) a wrong key: frps refuses the visitor connection; the control stays up
out=$("$TOOL" expect-close "$P_BAD" 15) || fail "the wrong-key visitor connection was not closed: $out"
wait_line "$WORK/ufrpc.log" "\\[bad_v\\].*authorization failed|\\[bad_v\\].*auth" 10 ||
    fail "ufrpc did not log frps's refusal for bad_v"
log "(d) wrong key: $(grep -m1 -E '\[bad_v\].*auth' "$WORK/ufrpc.log" | sed 's/.*\[bad_v\] //')"
out=$("$TOOL" load "$P_FSEC" 65536 2 30) || fail "stcp after the refusal: $out"
[ "$(count_lines "$WORK/ufrpc.log" 'login to server success')" = 1 ] || fail "ufrpc logged in again"

stop_ufrpc
pass
