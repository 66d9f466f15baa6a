#!/usr/bin/env bash
# nathole.sh: `ufrpc nathole discover` against a tiny STUN server (stun_server.py,
# 127.0.0.1 only): frpc's report for a NAT that keeps the mapping (EasyNAT) and one
# that changes the port per destination (HardNAT, BehaviorPortChanged); RFC 3489's
# MAPPED/CHANGED-ADDRESS too; -l binds the local address; natHoleStunServer from -c;
# a server without OTHER-ADDRESS and one that never answers give frpc's errors, exit 1.
source "$(dirname "$0")/lib.sh"
E2E_NAME=nathole
command -v python3 >/dev/null || { echo "SKIP: python3"; E2E_FAILED=0; exit 77; }
start_stun
P1=$STUN_EASY
P2=$STUN_HARD
P3=$STUN_CLASSIC
P4=$STUN_ONE
L=$(freeport)
out=$("$UFRPC" nathole discover --nat-hole-stun-server "127.0.0.1:$P1" -l "127.0.0.1:$L") || fail "easy: exit $?"
want="STUN server: 127.0.0.1:$P1
Your NAT type is: EasyNAT
Behavior is: BehaviorNoChange
External address is: [127.0.0.1:$L 127.0.0.1:$L]
Local address is: 127.0.0.1:$L
Public Network: false"
[ "$out" = "$want" ] || fail "easy: got
$out"
out=$("$UFRPC" nathole discover --nat_hole_stun_server="127.0.0.1:$P2" --nat-hole-local-addr "127.0.0.1:$L") || fail "hard: exit $?"
[[ "$out" == *"Your NAT type is: HardNAT
Behavior is: BehaviorPortChanged
External address is: [127.0.0.1:$L 127.0.0.1:$((L + 3))]"* ]] || fail "hard: got
$out"
printf 'natHoleStunServer = "127.0.0.1:%s"\n' "$P3" >"$WORK/frpc.toml"
out=$("$UFRPC" nathole discover -c "$WORK/frpc.toml") || fail "classic: exit $?"
[[ "$out" == "STUN server: 127.0.0.1:$P3
Your NAT type is: EasyNAT"* ]] || fail "classic (from -c): got
$out"
rc=0
out=$("$UFRPC" nathole discover --nat-hole-stun-server "127.0.0.1:$P4" -l "127.0.0.1:$L") || rc=$?
[ "$rc" = 1 ] && [ "$out" = "discover error: can not get enough addresses, need 2, got: [127.0.0.1:$L]" ] ||
    fail "one address: exit $rc '$out'"
SILENT=$(freeport)
rc=0
out=$("$UFRPC" nathole discover --nat-hole-stun-server "127.0.0.1:$SILENT") || rc=$?
[ "$rc" = 1 ] && [ "$out" = "discover error: wait response from stun server timeout" ] ||
    fail "no answer: exit $rc '$out'"
pass
