#!/usr/bin/env bash
# selftest.sh PEER TOOL OUT_DIR: checks the test frps against gofrpc (Go TLS, Go CFB,
# hashicorp/yamux), in the four modes TLS on/off x tcpMux on/off: 8 MiB and 20
# concurrent connections through the tunnel, each sha256-verified by e2e-tool.
# Exit 77 (CTest skip) when Go or Debian's hashicorp/yamux sources are missing.
set -euo pipefail
PEER=$1 TOOL=$2 OUT=$3
command -v go >/dev/null 2>&1 || { echo "go not found: skipped"; exit 77; }
[ -d /usr/share/gocode/src/github.com/hashicorp/yamux ] || { echo "no hashicorp/yamux: skipped"; exit 77; }
mkdir -p "$OUT"
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$OUT/gocache" \
    go build -o "$OUT/gofrpc" "$(dirname "$0")/gofrpc/main.go"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ufrpc-peer-selftest.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
port_of() { sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$1" | head -n 1; }
wait_ready() {
    for _ in $(seq 300); do grep -q '^READY' "$1" 2>/dev/null && return 0; sleep 0.1; done
    cat "$1"; return 1
}
"$TOOL" echo >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
wait_ready "$WORK/echo.log"
ECHO=$(port_of "$WORK/echo.log")
for tls in false true; do
    for mux in false true; do
        mode=off
        [ "$tls" = true ] && mode=force
        log=$WORK/peer-$tls-$mux.log
        "$PEER" --bind 127.0.0.1:0 --token selftest --tls=$mode --mux=$mux >"$log" 2>&1 &
        PIDS+=($!)
        wait_ready "$log"
        REMOTE=$("$TOOL" freeport)
        "$OUT/gofrpc" -port "$(port_of "$log")" -token selftest -mux=$mux -tls=$tls \
            -remote "$REMOTE" -local "$ECHO" >"$WORK/go-$tls-$mux.log" 2>&1 &
        PIDS+=($!)
        for _ in $(seq 300); do grep -q '^EVENT work-conn ' "$log" && break; sleep 0.1; done
        grep -q '^EVENT work-conn ' "$log" || { echo "FAIL: no work connection within 30 s"; cat "$log"; exit 1; }
        echo "== tls=$tls mux=$mux"
        "$TOOL" load "$REMOTE" $((8 * 1024 * 1024)) 1 60 || { cat "$log"; exit 1; }
        "$TOOL" load "$REMOTE" 262144 20 60 || { cat "$log"; exit 1; }
        n=$(grep -c '^EVENT user-conn-done .*status=UFRPC_OK' "$log" || true)
        [ "$n" = 21 ] || { echo "FAIL: $n clean user connections, want 21"; cat "$log"; exit 1; }
        if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then exit 1; fi
    done
done
echo "peer selftest: all four modes passed"
