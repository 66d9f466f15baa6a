#!/usr/bin/env bash
# bench/idle_rss.sh [PROXIES] [CONNS] [MODE]: the idle memory of one ufrpc binary (run by
# hand; figures in bench/README.md "Memory: where it goes" and "Idle memory of the static
# build").
#
# Starts the test frps, an echo service and ufrpc with PROXIES (default 10) tcp proxies
# over MODE: plain, tls or tls+mux (default; the test frps then forces TLS); once every
# proxy is registered and ufrpc's VmRSS has not moved for a second, prints VmHWM, VmRSS
# and /proc/PID/smaps_rollup, the resident pages of each mapped file (Rss,
# Shared_Clean, Private_Dirty, summed over its mappings) and the largest mappings, then
# holds CONNS (default 1000; 0: none) connections through one proxy (each echoes one
# byte) and prints the RSS per held connection.
#
# Environment: UFRPC (default build-static/musl/ufrpc, scripts/build-static.sh),
# PEER and TOOL (default: found under build/), as tests/e2e/lib.sh.
cd "$(dirname "$0")/.."
ROOT=$PWD
export UFRPC=${UFRPC:-$ROOT/build-static/musl/ufrpc}
export PEER=${PEER:-$(find "$ROOT/build" -type f -name ufrpc-test-frps -perm -u+x | head -n 1)}
export TOOL=${TOOL:-$(find "$ROOT/build" -type f -name e2e-tool -perm -u+x | head -n 1)}
export UFRPC_TEST_DATA=${UFRPC_TEST_DATA:-$ROOT/tests/data}
source "$ROOT/tests/e2e/lib.sh"
E2E_NAME=idle_rss
PROXIES=${1:-10}
CONNS=${2:-1000}
MODE=${3:-tls+mux}
TOKEN="idle-$RANDOM"
case $MODE in
plain) TLS=false MUX=false PEER_TLS=off ;;
tls) TLS=true MUX=false PEER_TLS=force ;;
tls+mux) TLS=true MUX=true PEER_TLS=force ;;
*) fail "mode $MODE: plain, tls or tls+mux" ;;
esac

kb() { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"; }

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=$PEER_TLS --mux=$MUX
start_echo echo
{
    common_config "$PEER_PORT" "$TOKEN" "$MUX" "$TLS"
    for i in $(seq 1 "$PROXIES"); do
        printf '\n[[proxies]]\nname = "p%d"\ntype = "tcp"\nlocalIP = "127.0.0.1"\nlocalPort = %d\nremotePort = %d\n' \
            "$i" "$ECHO_PORT" "$(freeport)"
    done
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for i in $(seq 1 "$PROXIES"); do
    wait_line "$WORK/ufrpc.log" "\\[p$i\\] start proxy success" 60 || fail "p$i not started"
done
# idle: VmRSS unchanged over one second
prev=0
while :; do
    cur=$(kb "$UFRPC_PID" VmRSS)
    [ "$cur" = "$prev" ] && break
    prev=$cur
    sleep 1
done
log "$(file -b "$UFRPC" | cut -d, -f1-2); $(stat -c %s "$UFRPC") bytes"
log "idle, $PROXIES proxies over $MODE: VmHWM $(kb "$UFRPC_PID" VmHWM) kB, VmRSS $(kb "$UFRPC_PID" VmRSS) kB"
log "smaps_rollup: $(grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' \
    "/proc/$UFRPC_PID/smaps_rollup" | awk '{printf "%s %s kB; ", $1, $2}')"
log "per file (Rss, Shared_Clean, Private_Dirty kB, summed over its mappings):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if(name=="") name="[anon]"}
     /^Rss:/{rss[name]+=$2} /^Shared_Clean:/{sc[name]+=$2} /^Private_Dirty:/{pd[name]+=$2}
     END{for(n in rss) if(rss[n]>0) printf "%d %d %d %s\n", rss[n], sc[n], pd[n], n}' \
    "/proc/$UFRPC_PID/smaps" | sort -rn | sed 's/^/    /'
log "largest mappings (Rss kB, name):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if(name=="") name="[anon " $1 "]"} /^Rss:/{print $2, name}' \
    "/proc/$UFRPC_PID/smaps" | sort -rn | head -n 8 | sed 's/^/    /'

if [ "$CONNS" = 0 ]; then
    stop_ufrpc
    pass
    exit 0
fi
RPORT=$(sed -n 's/^remotePort = //p' "$WORK/frpc.toml" | head -n 1)
rss0=$(kb "$UFRPC_PID" VmRSS)
python3 "$ROOT/tests/soak/soak_tool.py" hold "$RPORT" "$CONNS" "$UFRPC_PID" >"$WORK/hold.out" 2>&1 ||
    fail "holding $CONNS connections: $(tail -n 3 "$WORK/hold.out")"
held=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' "$WORK/hold.out")
log "$CONNS idle connections held through p1: VmRSS $rss0 -> $held kB, $(((held - rss0) * 1024 / CONNS)) B per connection"
stop_ufrpc
pass
