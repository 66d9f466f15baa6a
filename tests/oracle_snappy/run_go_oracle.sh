#!/bin/sh
# run_go_oracle.sh DRIVER GO_SRC_DIR BIN_DIR: builds the Go framing oracle offline
# and runs the C driver against it. Exit 77 (CTest: skipped) without a Go toolchain
# or without github.com/golang/snappy in /usr/share/gocode.
set -e
driver=$1; src=$2; bin=$3
command -v go >/dev/null 2>&1 || { echo "go not installed: skipping"; exit 77; }
[ -d /usr/share/gocode/src/github.com/golang/snappy ] || { echo "golang snappy missing: skipping"; exit 77; }
mkdir -p "$bin/gocache"
(cd "$src" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$bin/gocache" \
    go build -o "$bin/frame_oracle" frame_oracle.go)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$driver" "$bin/frame_oracle" "$work"
