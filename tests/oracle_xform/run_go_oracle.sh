#!/bin/sh
# run_go_oracle.sh DRIVER GO_SRC_DIR BIN_DIR: builds the Go model of frp's
# work-stream layering offline and runs the C driver against it. Exit 77 (CTest:
# skipped) without a Go toolchain or without github.com/golang/snappy.
set -e
driver=$1; src=$2; bin=$3
command -v go >/dev/null 2>&1 || { echo "go not installed: skipping"; exit 77; }
[ -d /usr/share/gocode/src/github.com/golang/snappy ] || { echo "golang snappy missing: skipping"; exit 77; }
mkdir -p "$bin/gocache"
(cd "$src" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$bin/gocache" \
    go build -o "$bin/xform_oracle" xform_oracle.go)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$driver" "$bin/xform_oracle" "$work"
