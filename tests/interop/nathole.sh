#!/usr/bin/env bash
# nathole.sh: `ufrpc nathole discover` next to the real frpc's against the tiny STUN
# server of the e2e tests (tests/e2e/stun_server.py): for a mapping-keeping NAT, a
# port-changing one, RFC 3489 attributes, a server with one address and one that
# never answers, both print the same report or error (same -l local address) and
# exit with the same status.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_nathole
need_frpc
command -v python3 >/dev/null || skip "python3 is needed for the STUN server"
start_stun
n=0
for mode in easy hard classic one silent; do
    case $mode in
    easy) P=$STUN_EASY ;;
    hard) P=$STUN_HARD ;;
    classic) P=$STUN_CLASSIC ;;
    one) P=$STUN_ONE ;;
    silent) P=$(freeport) ;;
    esac
    L=$(freeport)
    ru=0 rf=0
    ou=$("$UFRPC" nathole discover -c "$WORK/none.toml" --nat-hole-stun-server "127.0.0.1:$P" -l "127.0.0.1:$L" 2>&1) || ru=$?
    of=$(timeout 20 "$UFRPC_REAL_FRPC" nathole discover -c "$WORK/none.toml" --nat-hole-stun-server "127.0.0.1:$P" -l "127.0.0.1:$L" 2>&1) || rf=$?
    [ "$ru" = "$rf" ] && [ "$ou" = "$of" ] || fail "$mode: ufrpc $ru '$ou'; frpc $rf '$of'"
    n=$((n + 1))
done
log "$n STUN servers: the same report and exit status as frpc"
pass
