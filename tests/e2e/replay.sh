#!/usr/bin/env bash
# replay.sh VERSION MUX(true|false) [--lenient]
# Replays the frps side of ../shared/protocol/transcripts/transcript-VERSION-mux-MUX-raw.txt
# against ufrpc run with the matching config from transcripts/conf/ (only serverPort
# and localPort changed) and checks ufrpc's answers decode to frpc's messages; see
# tests/e2e/replay.c.
source "$(dirname "$0")/lib.sh"
: "${REPLAY:?REPLAY must name e2e-replay}"
: "${UFRPC_SHARED:?}"
VERSION=$1
MUX=$2
E2E_NAME="replay_${VERSION}_mux-$MUX"
TR=$UFRPC_SHARED/protocol/transcripts
start_echo echo
"$REPLAY" --raw "$TR/transcript-$VERSION-mux-$MUX-raw.txt" --mux "$MUX" --token testtoken \
    --echo-port "$ECHO_PORT" --conf-in "$TR/conf/frpc-transcript-mux-$MUX.toml" \
    --conf-out "$WORK/frpc.toml" --child-log "$WORK/ufrpc.log" --timeout 40 ${3:-} \
    -- "$UFRPC" -c "$WORK/frpc.toml" >"$WORK/replay.log" 2>&1 || {
    cat "$WORK/replay.log"
    fail "replay failed"
}
grep -v '^  ' "$WORK/replay.log"
pass
