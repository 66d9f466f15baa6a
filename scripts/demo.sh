#!/usr/bin/env bash
# The demo, on loopback only: starts the test frps (tests/peer, ufrpc-test-frps), a
# small local HTTP service (python3 -m http.server), and ufrpc with
# examples/demo-frpc.toml (ports replaced by free ones); then fetches a page with curl
# through the tunnel (frps's remote port -> ufrpc -> the local service), prints what
# happened on each side, stops everything it started and exits.
# BUILD=dir selects the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
UFRPC=$BUILD/ufrpc
PEER=$BUILD/tests/peer/ufrpc-test-frps
TOOL=$BUILD/tests/e2e/e2e-tool
for b in "$UFRPC" "$PEER" "$TOOL"; do
    [ -x "$b" ] || { echo "demo: $b is missing; run scripts/setup.sh first" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ufrpc-demo.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # FILE REGEX TIMEOUT_S
    local deadline=$((SECONDS + $3))
    until grep -q -E -e "$2" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
step() { printf '\n== %s\n' "$*"; }

step "1. the frp server (test frps: TLS and plaintext on one port, yamux, token auth)"
"$PEER" --bind 127.0.0.1:0 --token demo-token --tls=auto --mux=true >"$WORK/frps.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/frps.log" '^READY ' 10 || { cat "$WORK/frps.log"; exit 1; }
SERVER_PORT=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/frps.log")
echo "listening on 127.0.0.1:$SERVER_PORT"

step "2. a private HTTP service on loopback"
LOCAL_PORT=$("$TOOL" freeport)
mkdir -p "$WORK/site"
echo "Hello from the private service behind ufrpc ($(date -u +%H:%M:%S) UTC)" >"$WORK/site/index.html"
python3 -m http.server "$LOCAL_PORT" --bind 127.0.0.1 --directory "$WORK/site" \
    >"$WORK/http.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$LOCAL_PORT/" && break; sleep 0.1; done
echo "python3 http.server on 127.0.0.1:$LOCAL_PORT"

step "3. ufrpc with examples/demo-frpc.toml"
REMOTE_PORT=$("$TOOL" freeport)
sed -e "s/^serverPort = .*/serverPort = $SERVER_PORT/" \
    -e "s/^localPort = .*/localPort = $LOCAL_PORT/" \
    -e "s/^remotePort = .*/remotePort = $REMOTE_PORT/" examples/demo-frpc.toml >"$WORK/frpc.toml"
grep -v -E '^(#|$)' "$WORK/frpc.toml" | sed 's/^/    /'
"$UFRPC" -c "$WORK/frpc.toml" >"$WORK/ufrpc.log" 2>&1 &
UFRPC_PID=$!
PIDS+=($UFRPC_PID)
if ! wait_for "$WORK/frps.log" '^EVENT proxy-new .*name=web' 20; then
    echo "demo: the tunnel did not come up"; cat "$WORK/ufrpc.log" "$WORK/frps.log"; exit 1
fi
echo "tunnel up: frps 127.0.0.1:$REMOTE_PORT -> ufrpc -> 127.0.0.1:$LOCAL_PORT"

step "4. a request through the tunnel: curl http://127.0.0.1:$REMOTE_PORT/"
curl -sS --max-time 10 "http://127.0.0.1:$REMOTE_PORT/" | sed 's/^/    /'
wait_for "$WORK/frps.log" '^EVENT user-conn-done' 5 || true

step "5. what happened"
echo "-- ufrpc's log:"
sed 's/^/    /' "$WORK/ufrpc.log"
echo "-- the server's events:"
grep -E '^EVENT (accept-tls|tls|login|proxy-new|work-conn|user-conn|user-conn-done) ' \
    "$WORK/frps.log" | sed 's/^/    /'
echo "-- ufrpc's peak memory: $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$UFRPC_PID/status")"

step "6. stopping (SIGTERM to ufrpc, then the server and the HTTP service)"
kill -TERM "$UFRPC_PID"
rc=0
wait "$UFRPC_PID" || rc=$?
echo "ufrpc exited with status $rc"
