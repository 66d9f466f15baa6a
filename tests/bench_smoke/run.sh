#!/bin/sh
# bench_smoke: runs `ufrpc-bench compare --quick` against ufrpc and the test frps and
# checks that the JSON it writes is complete and sane (bench_smoke_check).
# usage: run.sh BENCH CHECK UFRPC TEST_FRPS OUTDIR
# Under the sanitizer build (UFRPC_SANITIZED=1) the load is cut further.
set -eu
bench=$1 check=$2 ufrpc=$3 frps=$4 out=$5
mkdir -p "$out"
rm -f "$out/bench.json"
# two of the four modes cover TLS and tcpMux and keep the run to seconds
set -- --quick --modes plain,tls+mux --ufrpc "$ufrpc" --test-frps "$frps" \
       --json "$out/bench.json" --workdir "$out/work"
if [ "${UFRPC_SANITIZED:-0}" = 1 ]; then
  set -- "$@" --duration 0.1 --latency-conns 20 --idle-conns 20 --http-conns 4
fi
rm -rf "$out/work"
"$bench" compare "$@"
"$check" "$out/bench.json" --direct --tunnel ufrpc
