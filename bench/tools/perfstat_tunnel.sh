#!/bin/bash
# One tls+mux tunnel through a real frps, measured with `ufrpc-bench run` and
# `perf stat` on the client process (task-clock, epoll_ctl, write, read, page
# faults), for before/after comparisons on a shared machine: run two clients
# alternately, a few times each, and compare per GB (the counts are printed with
# the MB moved, so divide).
#
#   source /opt/realfrp/env.sh   # UFRPC_REAL_FRPS: frps to use
#   bench/tools/perfstat_tunnel.sh CLIENT OUTDIR [BENCH]
#
# CLIENT: ufrpc (or frpc: the same config keys); BENCH: ufrpc-bench (default
# build/bench/ufrpc-bench). DUR (seconds per scenario, default 2). Needs perf
# with syscall tracepoints (root). Exits 77 when perf or the frps is missing.
set -u
CLIENT=$1
OUT=$2
BENCH=${3:-build/bench/ufrpc-bench}
command -v perf >/dev/null && [ -x "${UFRPC_REAL_FRPS:-}" ] || exit 77
mkdir -p "$OUT"
read -r BP LP RP < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
cat >"$OUT/frps.toml" <<EOF
bindAddr = "127.0.0.1"
bindPort = $BP
proxyBindAddr = "127.0.0.1"
auth.token = "t"
transport.tcpMux = true
log.level = "warn"
EOF
cat >"$OUT/client.toml" <<EOF
serverAddr = "127.0.0.1"
serverPort = $BP
auth.token = "t"
transport.tls.enable = true
transport.tcpMux = true
log.level = "warn"
[[proxies]]
name = "b0"
type = "tcp"
localIP = "127.0.0.1"
localPort = $LP
remotePort = $RP
EOF
listening() { ss -ltn | grep -q ":$1 "; }
"$UFRPC_REAL_FRPS" -c "$OUT/frps.toml" >"$OUT/frps.log" 2>&1 &
FP=$!
for _ in $(seq 100); do listening "$BP" && break; sleep 0.1; done
"$CLIENT" -c "$OUT/client.toml" >"$OUT/client.log" 2>&1 &
CP=$!
for _ in $(seq 300); do listening "$RP" && break; sleep 0.1; done
perf stat -e task-clock,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_write,syscalls:sys_enter_read,page-faults \
    -p "$CP" -o "$OUT/perf.txt" &
PP=$!
"$BENCH" run --target "127.0.0.1:$RP" --local-port "$LP" --client-pid "$CP" \
    --duration "${DUR:-2}" --runs 1 --latency-conns 200 --idle-conns 200 \
    --json "$OUT/run.json" >"$OUT/run.txt" 2>&1
kill -INT "$PP"
wait "$PP"
grep VmHWM "/proc/$CP/status" >"$OUT/hwm.txt"
kill "$CP" "$FP"
wait "$CP" "$FP" 2>/dev/null
echo "MB moved: $(grep -oE '\(([0-9.]+) MB in' "$OUT/run.txt" | grep -oE '[0-9.]+' | awk '{s += $1} END {print s}')"
grep -E "MB/s|s/GB|KiB" "$OUT/run.txt" | grep -v '^\['
grep -E "task-clock|epoll_ctl|sys_enter|page-faults" "$OUT/perf.txt"
cat "$OUT/hwm.txt"
