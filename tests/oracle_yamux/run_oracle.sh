#!/bin/sh
# run_oracle.sh DRIVER PEER_SOURCE OUT_DIR MODE
# Builds the Go yamux peer offline from Debian's copy of hashicorp/yamux
# (GOPATH=/usr/share/gocode, no modules, no network), then runs the C driver
# against it. Exit 77 (CTest SKIP_RETURN_CODE) when Go or the package is absent.
set -eu
driver=$1 src=$2 out=$3 mode=$4
command -v go >/dev/null 2>&1 || { echo "go not found: skipped"; exit 77; }
[ -d /usr/share/gocode/src/github.com/hashicorp/yamux ] ||
  { echo "hashicorp/yamux not in /usr/share/gocode: skipped"; exit 77; }
mkdir -p "$out"
peer="$out/yamux_peer_$mode"
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$out/gocache" \
  go build -o "$peer" "$src"
exec "$driver" "$peer" "$mode"
