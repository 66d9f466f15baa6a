#!/bin/sh
# run_oracle.sh DRIVER PEER_SOURCE OUT_DIR MODE(client|server) LOSS_PCT BYTES
# Builds the Go KCP peer offline from Debian's copy of xtaci/kcp-go
# (golang-github-xtaci-kcp-dev: GOPATH=/usr/share/gocode, no modules, no network)
# and runs it against the C driver; MODE names ufrpc's role. The Go side drops
# LOSS_PCT percent of the datagrams it sends and receives. Exit 77 (CTest
# SKIP_RETURN_CODE) when Go or the package is absent.
set -eu
driver=$1 src=$2 out=$3 mode=$4 loss=$5 bytes=$6
command -v go >/dev/null 2>&1 || { echo "go not found: skipped"; exit 77; }
[ -d /usr/share/gocode/src/github.com/xtaci/kcp-go ] ||
  { echo "xtaci/kcp-go not in /usr/share/gocode (golang-github-xtaci-kcp-dev): skipped"; exit 77; }
mkdir -p "$out"
peer="$out/kcp_peer"
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$out/../gocache" \
  go build -o "$peer.$$" "$src"
mv "$peer.$$" "$peer"
log="$out/peer_${mode}_$loss.log"
rm -f "$log"
if [ "$mode" = client ]; then
  "$peer" server "$loss" "$bytes" >"$log" 2>&1 &
  pid=$!
  i=0
  while ! grep -q '^PORT ' "$log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "peer did not start"; cat "$log"; kill $pid; exit 1; }
    sleep 0.1
  done
  port=$(sed -n 's/^PORT //p' "$log")
  rc=0
  "$driver" client "$port" "$bytes" || rc=$?
  wait $pid || rc=1
  cat "$log"
  exit $rc
fi
dlog="$out/driver_$loss.log"
"$driver" server "$bytes" >"$dlog" 2>&1 &
pid=$!
i=0
while ! grep -q '^PORT ' "$dlog" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "driver did not start"; cat "$dlog"; kill $pid; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/^PORT //p' "$dlog")
rc=0
"$peer" client "127.0.0.1:$port" "$loss" "$bytes" || rc=$?
wait $pid || rc=1
cat "$dlog"
exit $rc
