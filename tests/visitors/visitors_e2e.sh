#!/usr/bin/env bash
# visitors_e2e.sh MUX(true|false) XFORM(on|off) [TLS(true|false)]
#
# Two ufrpc processes through the test frps (tests/peer, peer_visitor.c):
#   ufrpc "prov" (user alice) runs, to a local TCP echo service and a UDP echo
#     service (net_tool.py):
#       sec   stcp  secretKey K1, allowUsers [bob]        (the visitors' target)
#       usec  sudp  secretKey K2, allowUsers [*]
#       only  stcp  secretKey K1, allowUsers [carol]      (bob not allowed)
#       own   stcp  secretKey K1, no allowUsers           (= alice only)
#       p2p   xtcp  secretKey K1, allowUsers [bob]
#       ban   stcp  secretKey K1, allowUsers [bob], to a server-first (banner) service
#   ufrpc "vis" (user bob) runs the visitors, each on its own bindPort:
#       sec_v    stcp  -> alice.sec                        traffic
#       usec_v   sudp  -> alice.usec                       UDP round trips
#       ban_v    stcp  -> alice.ban                        the banner before any user byte
#       mix_v    stcp  -> alice.sec, visitor hop encryption=XFORM compression=!XFORM
#       umix_v   sudp  -> alice.usec, visitor hop encryption=!XFORM compression=XFORM
#       ubad_v   sudp  -> alice.usec with a wrong secretKey refused, per datagram
#       bad_v    stcp  -> alice.sec with a wrong secretKey refused: auth failed
#       only_v   stcp  -> alice.only                       refused: user not allowed
#       own_v    stcp  -> alice.own                        refused: user not allowed
#       fam_v    stcp  -> alice.p2p (an xtcp proxy)        refused: no such listener
#       hid_v    stcp  -> alice.sec, bindPort = -1        (no listener: a fallback only)
#       p2p_v    xtcp  -> alice.p2p, fallbackTo hid_v      traffic via the fallback
#       p2ps_v   xtcp  -> alice.p2p, fallbackTo sec_v      traffic via a listening one
#       lone_v   xtcp  -> alice.p2p, no fallbackTo         connections closed
#       p2pu_v   xtcp  -> alice.p2p, fallbackTo usec_v     (not stcp) connections closed
#       mine_v   stcp  -> mine, no serverUser              = bob.mine, bob's own proxy
#   and its own stcp proxy "mine" (no allowUsers: bob only).
# XFORM=on: every proxy and visitor with useEncryption + useCompression (the visitor
# hop keyed by the secret key, the work hop by the token; the test frps decrypts and
# re-encrypts, so a client that did not really encrypt/compress would break the
# sha256 check); the peer's events must show which layers it applied.
# Checks: sha256-verified load through sec_v (several concurrent connections, a few
# MiB); byte-exact UDP round trips through usec_v; each refusal closes that user
# connection with no data, ufrpc "vis" logs the server's error text, the tunnel stays
# up (no new login, traffic again afterwards); the xtcp proxy and visitor say that
# P2P is not supported, and p2p_v's traffic arrives at alice.sec through hid_v;
# with tcpMux off, a raw visitor (raw_visitor.py) sends its frame and early user bytes
# in one write (the server keeps them) and empty / unknown run ids are refused; the
# provider stops (its proxies close, visitors get "custom listener ... doesn't
# exist", ufrpc "vis" stays up) and comes back (stcp and sudp work again through the
# same visitors); SIGHUP moves sec_v to another port; the server drops both controls
# (visitors restart with the new control); SIGTERM with a visitor connection open
# closes it; every process exits 0.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:-true}
XFORM=${2:-off}
TLS=${3:-false}
E2E_NAME="visitors-mux_$MUX-xform_$XFORM-tls_$TLS"
TOKEN="e2e-$RANDOM-visitors"
K1="stcp-secret-$RANDOM"
K2="sudp-secret-$RANDOM"
NET_TOOL="$(dirname "$0")/net_tool.py"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed for the UDP side"
if [ "$XFORM" = on ]; then X=true; XN=1; NX=false; NXN=0; else X=false; XN=0; NX=true; NXN=1; fi
PEER_TLS=off
[ "$TLS" = true ] && PEER_TLS=auto

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=$PEER_TLS --mux=$MUX --commands
start_echo echo
python3 "$NET_TOOL" echo </dev/null >"$WORK/udpecho.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/udpecho.log" '^READY ' 10 || fail "UDP echo did not start"
UDP_ECHO_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/udpecho.log" | head -n 1)
python3 "$NET_TOOL" banner </dev/null >"$WORK/banner.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/banner.log" '^READY ' 10 || fail "banner service did not start"
BANNER_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/banner.log" | head -n 1)

common() { # USER
    common_config "$PEER_PORT" "$TOKEN" "$MUX" "$TLS" debug
    printf 'user = "%s"\n' "$1"
}

stcp_proxy() { # NAME SECRET ALLOW_USERS_LINE [LOCAL_PORT]
    cat <<EOF

[[proxies]]
name = "$1"
type = "stcp"
secretKey = "$2"
$3
localIP = "127.0.0.1"
localPort = ${4:-$ECHO_PORT}
transport.useEncryption = $X
transport.useCompression = $X
EOF
}

{
    common alice
    stcp_proxy sec "$K1" 'allowUsers = ["bob"]'
    stcp_proxy only "$K1" 'allowUsers = ["carol"]'
    stcp_proxy own "$K1" ''
    stcp_proxy ban "$K1" 'allowUsers = ["bob"]' "$BANNER_PORT"
    cat <<EOF

[[proxies]]
name = "usec"
type = "sudp"
secretKey = "$K2"
allowUsers = ["*"]
localIP = "127.0.0.1"
localPort = $UDP_ECHO_PORT
transport.useEncryption = $X
transport.useCompression = $X

[[proxies]]
name = "p2p"
type = "xtcp"
secretKey = "$K1"
allowUsers = ["bob"]
localIP = "127.0.0.1"
localPort = $ECHO_PORT
EOF
} >"$WORK/prov.toml"

P_SEC=$(freeport)
P_USEC=$(freeport)
P_BAD=$(freeport)
P_ONLY=$(freeport)
P_OWN=$(freeport)
P_FAM=$(freeport)
P_P2P=$(freeport)
P_LONE=$(freeport)
P_UBAD=$(freeport)
P_MIX=$(freeport)
P_BAN=$(freeport)
P_P2PS=$(freeport)
P_UMIX=$(freeport)
P_P2PU=$(freeport)
P_MINE=$(freeport)
visitor() { # NAME TYPE SERVER_NAME SECRET BIND_PORT [EXTRA]
    cat <<EOF

[[visitors]]
name = "$1"
type = "$2"
serverUser = "alice"
serverName = "$3"
secretKey = "$4"
bindAddr = "127.0.0.1"
bindPort = $5
transport.useEncryption = ${VE:-$X}
transport.useCompression = ${VC:-$X}
${6:-}
EOF
}
{
    common bob
    visitor sec_v stcp sec "$K1" "$P_SEC"
    visitor usec_v sudp usec "$K2" "$P_USEC"
    # the visitor hop's layers differ from the proxy hop's (the server re-wraps)
    visitor ban_v stcp ban "$K1" "$P_BAN"
    VE=$X VC=$NX visitor mix_v stcp sec "$K1" "$P_MIX"
    VE=$NX VC=$X visitor umix_v sudp usec "$K2" "$P_UMIX"
    visitor bad_v stcp sec "wrong-$K1" "$P_BAD"
    visitor only_v stcp only "$K1" "$P_ONLY"
    visitor own_v stcp own "$K1" "$P_OWN"
    visitor fam_v stcp p2p "$K1" "$P_FAM"
    visitor ubad_v sudp usec "wrong-$K2" "$P_UBAD"
    visitor hid_v stcp sec "$K1" -1
    visitor p2p_v xtcp p2p "$K1" "$P_P2P" 'fallbackTo = "hid_v"'
    visitor p2ps_v xtcp p2p "$K1" "$P_P2PS" 'fallbackTo = "sec_v"'
    visitor lone_v xtcp p2p "$K1" "$P_LONE"
    visitor p2pu_v xtcp p2p "$K1" "$P_P2PU" 'fallbackTo = "usec_v"'
    visitor mine_v stcp mine "$K1" "$P_MINE" | sed '/^serverUser/d'
    stcp_proxy mine "$K1" ''
} >"$WORK/vis.toml"

# ---- both sides up ----------------------------------------------------------------
start_ufrpc prov "$WORK/prov.toml"
PROV_PID=$UFRPC_PID
for n in sec only own ban usec p2p; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=alice\.$n .*encryption=" 20 ||
        fail "proxy alice.$n not registered"
    wait_line "$WORK/prov.log" "\[$n\] start proxy success" 10 || fail "[$n] no start proxy success"
done
# frps's NewProxyResp for stcp/sudp/xtcp has an empty remote_addr (no listener)
[ "$(count_lines "$WORK/peer.log" '^EVENT proxy-new .*type=(stcp|sudp|xtcp) remote_port=0 remote_addr= ')" = 6 ] ||
    fail "stcp/sudp/xtcp proxies should have no remote address"
for n in sec only own usec; do
    grep -q -E "^EVENT proxy-new .*name=alice\.$n .*encryption=$XN compression=$XN" "$WORK/peer.log" ||
        fail "alice.$n: NewProxy flags are not encryption=$XN compression=$XN"
done
! grep -q "does not support xtcp" "$WORK/prov.log" || fail "the xtcp proxy side says xtcp is unsupported"

start_ufrpc vis "$WORK/vis.toml"
VIS_PID=$UFRPC_PID
for n in sec_v usec_v ban_v mix_v umix_v ubad_v bad_v only_v own_v fam_v hid_v p2p_v p2ps_v lone_v p2pu_v mine_v; do
    wait_line "$WORK/vis.log" "\[$n\] start visitor success" 20 || fail "visitor $n did not start"
done
wait_line "$WORK/vis.log" "\[p2p_v\] xtcp visitor started, listening on" 5 ||
    fail "the xtcp visitor did not start listening"
# lone_v (no fallbackTo) keeps a user connection waiting 20 s for a tunnel that never
# comes (no STUN server is reachable), then closes it: checked in the background
"$TOOL" expect-close "$P_LONE" 60 >"$WORK/lone.out" 2>&1 &
LONE_PID=$!
wait_line "$WORK/vis.log" "\[hid_v\] stcp visitor started without a listener \(bindPort -1\)" 5 ||
    fail "the bindPort = -1 stcp visitor does not say it has no listener"
! grep -q "\[hid_v\] .*listening on" "$WORK/vis.log" || fail "the bindPort = -1 stcp visitor claims a listener"
wait_line "$WORK/vis.log" "\[lone_v\] xtcp visitor started, listening on" 5 ||
    fail "the xtcp visitor without fallbackTo did not start listening"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=bob\.mine " 10 || fail "proxy bob.mine not registered"
LOGINS=$(count_lines "$WORK/peer.log" '^EVENT login ')
[ "$LOGINS" = 2 ] || fail "expected 2 logins, saw $LOGINS"

# ---- stcp: load through the visitor ------------------------------------------------
out=$("$TOOL" load "$P_SEC" $((1536 * 1024)) 4 20) || fail "stcp load through sec_v failed: $out"
echo "$out" | grep -q "ok=4 failed=0" || fail "stcp load: $out"
log "stcp: 4 x 1.5 MiB sha256-verified through sec_v ($out)"
n=$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.sec type=stcp user=bob encryption=$XN compression=$XN")
[ "$n" -ge 4 ] || fail "peer saw $n admitted visitor connections of bob to alice.sec with encryption=$XN compression=$XN (want 4)"
wait_line "$WORK/peer.log" "^EVENT user-conn-done proxy=alice\.sec .*to_client=1572864 from_client=1572864 status=UFRPC_OK" 10 4 ||
    fail "peer did not see 4 complete visitor splices of 1.5 MiB each way"

# a server-first service: its banner reaches a user who has sent nothing
for i in 1 2 3; do
    out=$(python3 "$NET_TOOL" expect-banner "$P_BAN" 10) || fail "banner through ban_v: $out"
done
log "server-first service: banner through ban_v before the user sent anything ($out)"

# visitor hop encryption=X compression=!X over a proxy hop with X for both
out=$("$TOOL" load "$P_MIX" 524288 2 10) || fail "stcp through mix_v: $out"
[ "$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.sec type=stcp user=bob encryption=$XN compression=$NXN ")" = 2 ] ||
    fail "mix_v: expected 2 visitor connections with encryption=$XN compression=$NXN"

# ---- sudp: UDP round trips through the visitor ---------------------------------------
out=$(python3 "$NET_TOOL" roundtrip "$P_USEC" 16 5) || fail "sudp round trip failed: $out"
log "sudp: $out through usec_v"
# three UDP clients at once, different bytes: each echo must come back to its sender
pids=()
for seed in 1 2 3; do
    python3 "$NET_TOOL" roundtrip "$P_USEC" 24 5 "$seed" >"$WORK/udp-$seed.out" 2>&1 &
    pids+=("$!")
done
for i in 0 1 2; do
    wait "${pids[$i]}" || fail "sudp concurrent client $((i + 1)): $(cat "$WORK/udp-$((i + 1)).out")"
done
n=$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.usec type=sudp user=bob encryption=$XN compression=$XN")
[ "$n" = 1 ] || fail "sudp: expected one visitor stream for all datagrams, peer saw $n"
log "sudp: 3 concurrent clients x 24 datagrams, each echo back to its own sender"
out=$(python3 "$NET_TOOL" roundtrip "$P_UMIX" 8 5) || fail "sudp through umix_v: $out"
[ "$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.usec type=sudp user=bob encryption=$NXN compression=$XN ")" = 1 ] ||
    fail "umix_v: expected one sudp visitor stream with encryption=$NXN compression=$XN"
# two visitor streams to one sudp proxy live side by side on the provider (frpc's
# sudp proxy keeps one channel per work connection; a plain udp proxy would
# replace its channel): usec_v's first stream still carries datagrams
out=$(python3 "$NET_TOOL" roundtrip "$P_USEC" 4 5 7) || fail "sudp through usec_v after umix_v joined: $out"
n=$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.usec type=sudp user=bob encryption=$XN compression=$XN ")
[ "$n" = 1 ] || fail "usec_v's stream did not survive a second visitor stream to alice.usec ($n streams)"
! grep -q -E '^EVENT user-conn-done proxy=alice\.usec ' "$WORK/peer.log" || fail "an sudp splice ended early"
log "visitor hop layers differing from the proxy hop's: stcp and sudp; two sudp streams side by side"

# ---- refusals: that user connection closes, the tunnel stays up -----------------------
refused() { # PORT PROXY ERROR_TEXT
    local port=$1 px=$2 err=$3 before
    before=$(count_lines "$WORK/peer.log" "^EVENT visitor-refused proxy=$px ")
    "$TOOL" expect-close "$port" 10 >/dev/null || fail "connection to visitor port $port (for $px) was not closed"
    wait_line "$WORK/peer.log" "^EVENT visitor-refused proxy=$px user=bob error=\"$err\"" 5 $((before + 1)) ||
        fail "peer did not refuse bob's visitor for $px with \"$err\""
    wait_line "$WORK/vis.log" "start new visitor connection error: $err" 5 ||
        fail "ufrpc vis does not show the server's error \"$err\""
}
refused "$P_BAD" alice.sec 'visitor connection of \[alice\.sec\] auth failed'
refused "$P_ONLY" alice.only 'visitor connection of \[alice\.only\] user \[bob\] not allowed'
refused "$P_OWN" alice.own 'visitor connection of \[alice\.own\] user \[bob\] not allowed'
refused "$P_FAM" alice.p2p "custom listener for \[alice\.p2p\] doesn't exist"
# sudp with a wrong key: no answer to the datagram, one attempt per datagram (frpc's
# dispatcher drops the packet that failed and tries again with the next one)
for i in 1 2; do
    python3 "$NET_TOOL" silence "$P_UBAD" 1.5 >/dev/null || fail "sudp visitor with a wrong key answered"
    wait_line "$WORK/peer.log" '^EVENT visitor-refused proxy=alice\.usec user=bob error="visitor connection of \[alice\.usec\] auth failed"' 5 $i ||
        fail "sudp wrong key: peer did not refuse attempt $i"
    n=$(count_lines "$WORK/peer.log" '^EVENT visitor-refused proxy=alice\.usec ')
    [ "$n" = $i ] || fail "sudp wrong key: $n NewVisitorConn attempts after $i datagrams"
done
wait_line "$WORK/vis.log" 'start new visitor connection error: visitor connection of \[alice\.usec\] auth failed' 5 ||
    fail "ufrpc vis does not show the server's error for the sudp visitor"
log "refusals: wrong secretKey, user not in allowUsers, default allowUsers, xtcp name via stcp"
kill -0 "$VIS_PID" 2>/dev/null || fail "ufrpc vis died"
kill -0 "$PROV_PID" 2>/dev/null || fail "ufrpc prov died"
# many handshakes at once
out=$("$TOOL" load "$P_SEC" 65536 32 20) || fail "stcp load (32 connections) after the refusals failed: $out"

# ---- xtcp: no P2P, traffic through the fallback stcp visitor ---------------------------
before=$(count_lines "$WORK/peer.log" '^EVENT visitor-conn proxy=alice\.sec ')
out=$("$TOOL" load "$P_P2P" 524288 3 20) || fail "load through the xtcp visitor's fallback failed: $out"
echo "$out" | grep -q "ok=3 failed=0" || fail "xtcp fallback load: $out"
after=$(count_lines "$WORK/peer.log" '^EVENT visitor-conn proxy=alice\.sec ')
[ $((after - before)) = 3 ] || fail "xtcp fallback: expected 3 new stcp visitor connections to alice.sec, saw $((after - before))"
wait_line "$WORK/vis.log" "\[p2p_v\] try to transfer connection to visitor: hid_v" 5 3 ||
    fail "ufrpc vis does not log the hand-over to the fallback"
wait "$LONE_PID" || fail "xtcp visitor without fallbackTo did not close the connection: $(cat "$WORK/lone.out")"
wait_line "$WORK/vis.log" "\[lone_v\] open tunnel error: open tunnel timeout" 5 ||
    fail "xtcp visitor without fallbackTo: no clear message"
out=$("$TOOL" load "$P_P2PS" 262144 2 10) || fail "load through p2ps_v (fallbackTo sec_v): $out"
wait_line "$WORK/vis.log" "\[p2ps_v\] try to transfer connection to visitor: sec_v" 5 2 ||
    fail "ufrpc vis does not log p2ps_v's hand-over to sec_v"
"$TOOL" expect-close "$P_P2PU" 10 >/dev/null || fail "xtcp visitor with an sudp fallbackTo did not close the connection"
wait_line "$WORK/vis.log" "\[p2pu_v\] transfer connection to visitor usec_v error: not a running stcp visitor" 5 ||
    fail "xtcp visitor with an sudp fallbackTo: no clear message"
log "xtcp: no tunnel without STUN, fallbacks used, p2p_v carried 3 x 512 KiB via hid_v (bindPort -1)"

# a visitor without serverUser reaches its own user's proxy (no allowUsers: owner only)
out=$("$TOOL" load "$P_MINE" 262144 2 10) || fail "stcp to bob's own proxy: $out"
[ "$(count_lines "$WORK/peer.log" '^EVENT visitor-conn proxy=bob\.mine type=stcp user=bob ')" = 2 ] ||
    fail "bob.mine: expected 2 admitted visitor connections"

# ---- a raw visitor (tcpMux off only: a plain connection to the server) ------------------
if [ "$MUX" = false ]; then
    RAW="$(dirname "$0")/raw_visitor.py"
    BOB_RUN_ID=$(sed -n 's/^EVENT login run_id=\([0-9a-f]*\) user=bob .*/\1/p' "$WORK/peer.log" | head -n 1)
    [ -n "$BOB_RUN_ID" ] || fail "no run id for bob"
    # user data right behind the frame, in the same write: the server keeps it
    out=$(python3 "$RAW" "$PEER_PORT" "$BOB_RUN_ID" alice.sec "$K1" 100000) || fail "raw visitor: $out"
    echo "$out" | grep -q "^ECHO ok bytes=100000" || fail "raw visitor: $out"
    grep -q -E '^EVENT visitor-conn proxy=alice\.sec type=stcp user=bob encryption=0 compression=0 rest=[1-9]' "$WORK/peer.log" ||
        fail "the raw visitor's early bytes did not arrive with its frame (rest=0): nothing tested"
    # the visitor hop's encryption written independently (Python), early bytes too
    # the python3 on PATH may lack the cryptography package that Debian's
    # python3-cryptography (scripts/install-deps.sh) gives /usr/bin/python3
    PY_CRYPTO=python3
    if ! python3 -c 'import cryptography' 2>/dev/null && [ -x /usr/bin/python3 ] &&
        /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
        PY_CRYPTO=/usr/bin/python3
    fi
    rc=0
    out=$("$PY_CRYPTO" "$RAW" --encrypt "$PEER_PORT" "$BOB_RUN_ID" alice.sec "$K1" 100000) || rc=$?
    if [ "$rc" = 77 ]; then
        log "raw visitor with encryption skipped: $out"
    else
        [ "$rc" = 0 ] && echo "$out" | grep -q "^ECHO ok bytes=100000" || fail "raw visitor with encryption: $out"
        grep -q -E '^EVENT visitor-conn proxy=alice\.sec type=stcp user=bob encryption=1 compression=0 rest=[1-9]' "$WORK/peer.log" ||
            fail "the encrypted raw visitor was not admitted with encryption and early bytes"
    fi
    raw_refused() { # RUN_ID ERROR_TEXT
        out=$(python3 "$RAW" "$PEER_PORT" "$1" alice.sec "$K1" 0) || fail "raw visitor: $out"
        [ "$out" = "RESP error=$2" ] || fail "raw visitor with run id [$1]: got '$out', want error '$2'"
    }
    raw_refused "" "visitor connection of [alice.sec] user [] not allowed"
    raw_refused "not-a-run-id" "no client control found for run id [not-a-run-id]"
    log "raw visitor: early bytes kept; empty and unknown run ids refused"
fi

# ---- still one session each; clean stop ---------------------------------------------
[ "$(count_lines "$WORK/peer.log" '^EVENT login ')" = 2 ] || fail "a client logged in again"
! grep -q -E '^EVENT (control-closed|visitor-work-failed|bad-)' "$WORK/peer.log" ||
    fail "unexpected control close / failed join / bad frame at the peer"
# the provider stops: its proxies close, the visitor's connections are refused
UFRPC_PID=$PROV_PID
stop_ufrpc
wait_line "$WORK/peer.log" '^EVENT proxy-closed name=alice\.sec' 5 || fail "alice.sec was not closed"
"$TOOL" expect-close "$P_SEC" 10 >/dev/null || fail "sec_v connection without a provider was not closed"
wait_line "$WORK/vis.log" "start new visitor connection error: custom listener for \[alice\.sec\] doesn't exist" 5 ||
    fail "ufrpc vis does not show that alice.sec is gone"
kill -0 "$VIS_PID" 2>/dev/null || fail "ufrpc vis died"
# ... and comes back: the same visitors carry stcp and sudp again (the sudp visitor's
# stream ended with the provider's work connection; the next datagram opens another)
start_ufrpc prov2 "$WORK/prov.toml"
PROV_PID=$UFRPC_PID
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.usec ' 20 2 || fail "alice.usec not registered again"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.sec ' 20 2 || fail "alice.sec not registered again"
out=$(python3 "$NET_TOOL" roundtrip "$P_USEC" 4 5) || fail "sudp after the provider's restart: $out"
out=$("$TOOL" load "$P_SEC" 65536 2 10) || fail "stcp after the provider's restart: $out"
n=$(count_lines "$WORK/peer.log" "^EVENT visitor-conn proxy=alice\.usec type=sudp user=bob encryption=$XN compression=$XN ")
[ "$n" = 2 ] || fail "sudp: expected a second visitor stream after the restart, peer saw $n in all"
log "provider gone: visitors refused clearly; provider back: stcp and sudp again"

# SIGHUP with sec_v on another port: the visitors restart with the new configuration
P_SEC2=$(freeport)
sed -i "s/^bindPort = $P_SEC\$/bindPort = $P_SEC2/" "$WORK/vis.toml"
grep -q "^bindPort = $P_SEC2\$" "$WORK/vis.toml" || fail "could not edit vis.toml"
kill -HUP "$VIS_PID"
wait_line "$WORK/vis.log" "\[sec_v\] stcp visitor started, listening on 127\.0\.0\.1:$P_SEC2" 20 ||
    fail "sec_v not restarted on its new port after SIGHUP"
out=$("$TOOL" load "$P_SEC2" 262144 2 10) || fail "stcp on sec_v's new port after SIGHUP: $out"
! "$TOOL" load "$P_SEC" 1000 1 5 >/dev/null 2>&1 || fail "sec_v's old port still carries traffic after SIGHUP"
log "SIGHUP: sec_v moved to its new port"

# the server drops every control: both clients log in again, the visitors restart
# with the new control and carry stcp and sudp again
nv=$(count_lines "$WORK/vis.log" '\[sec_v\] start visitor success')
np=$(count_lines "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.sec ')
peer_cmd peer drop
wait_line "$WORK/vis.log" '\[sec_v\] start visitor success' 20 $((nv + 1)) || fail "visitors not restarted after the drop"
wait_line "$WORK/peer.log" '^EVENT proxy-new .*name=alice\.sec ' 20 $((np + 1)) || fail "alice.sec not registered after the drop"
out=$("$TOOL" load "$P_SEC2" 262144 2 10) || fail "stcp after the server dropped the controls: $out"
log "server drop: visitors restarted, stcp again"

# SIGTERM with a visitor connection open and an sudp session up: that connection
# closes, ufrpc exits 0 (and, in the ASan build, frees everything)
out=$(python3 "$NET_TOOL" roundtrip "$P_USEC" 2 5) || fail "sudp after SIGHUP and the drop: $out"
python3 "$NET_TOOL" hold "$P_SEC2" 10 >"$WORK/hold.out" 2>&1 &
HOLD_PID=$!
wait_line "$WORK/hold.out" '^HELD' 10 || fail "held connection: $(cat "$WORK/hold.out")"
UFRPC_PID=$VIS_PID
stop_ufrpc
wait "$HOLD_PID" || fail "the open visitor connection was not closed at SIGTERM: $(cat "$WORK/hold.out")"
UFRPC_PID=$PROV_PID
stop_ufrpc
# the peer is still alive (an ASan report aborts it) and ends cleanly (it _exit()s
# on SIGTERM, so its leaks are not checked)
kill -TERM "$PEER_PID"
rc=0
wait "$PEER_PID" || rc=$?
[ "$rc" = 0 ] || fail "the test frps exited with status $rc after SIGTERM"
pass
