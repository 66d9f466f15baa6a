#!/bin/sh
# run_go_oracle.sh DRIVER GO_SRC_DIR BIN_DIR: builds the Go crypto/tls echo
# server offline, starts it, runs the C driver against its ports and checks what
# the Go side saw. Exit 77 (CTest: skipped) without a Go toolchain.
set -e
driver=$1; src=$2; bin=$3
command -v go >/dev/null 2>&1 || { echo "go not installed: skipping"; exit 77; }
mkdir -p "$bin/gocache"
(cd "$src" && GO111MODULE=off GOFLAGS= GOCACHE="$bin/gocache" go build -o "$bin/tls_oracle" tls_oracle.go)
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$bin/tls_oracle" >"$work/ports" 2>"$work/go.log" &
pid=$!
i=0
until grep -q '^PORTS' "$work/ports" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "oracle did not start"; cat "$work/go.log"; exit 1; }
  sleep 0.1
done
set -- $(cat "$work/ports")
rc=0
"$driver" "$2" "$3" "$4" "$5" || rc=$?
sleep 0.3
echo "--- Go side:"; cat "$work/go.log"
[ $rc -eq 0 ] || exit $rc
# Go saw our close_notify after every byte echoed, on resumed and fresh sessions,
# and the bad record MAC of the tampered client-to-server stream
grep -q 'all: close_notify after 8388608 bytes' "$work/go.log" || { echo "no full echo on Go's side"; exit 1; }
grep -q 'resumed=true' "$work/go.log" || { echo "Go never resumed a session"; exit 1; }
grep -q 'chacha: close_notify after 4194304 bytes, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256' "$work/go.log" || { echo "no ChaCha20 echo"; exit 1; }
grep -qi 'bad record MAC' "$work/go.log" || { echo "Go did not see the tampered record"; exit 1; }
echo "tls go oracle: ok"
