#!/usr/bin/env bash
# replay.sh VERSION MUX(true|false) [--lenient] [--ini]
# Replays the frps side of tests/data/protocol/transcripts/transcript-VERSION-mux-MUX-raw.txt
# against ufrpc run with the matching config from transcripts/conf/ (only serverPort
# and localPort changed; --ini: the legacy INI version of it) and checks ufrpc's
# answers decode to frpc's messages; see tests/e2e/replay.c.
source "$(dirname "$0")/lib.sh"
: "${REPLAY:?REPLAY must name e2e-replay}"
: "${UFRPC_TEST_DATA:?}"
VERSION=$1
MUX=$2
shift 2
LENIENT=""
EXT=toml
for a in "$@"; do
    case "$a" in
    --lenient) LENIENT=--lenient ;;
    --ini) EXT=ini ;;
    *) fail "unknown option $a" ;;
    esac
done
E2E_NAME="replay_${VERSION}_mux-${MUX}_$EXT"
TR=$UFRPC_TEST_DATA/protocol/transcripts
start_echo echo
"$REPLAY" --raw "$TR/transcript-$VERSION-mux-$MUX-raw.txt" --mux "$MUX" --token testtoken \
    --echo-port "$ECHO_PORT" --conf-in "$TR/conf/frpc-transcript-mux-$MUX.$EXT" \
    --conf-out "$WORK/frpc.$EXT" --child-log "$WORK/ufrpc.log" --timeout 40 $LENIENT \
    -- "$UFRPC" -c "$WORK/frpc.$EXT" >"$WORK/replay.log" 2>&1 || {
    cat "$WORK/replay.log"
    fail "replay failed"
}
grep -v '^  ' "$WORK/replay.log"
pass
