#!/usr/bin/env bash
# tests/soak/soak.sh: a reliability soak of ufrpc, run by hand (never by ctest).
# See tests/soak/README.md for the phases, the arguments and what it prints.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
export UFRPC=${UFRPC:-$BUILD/ufrpc}
export PEER=${PEER:-$BUILD/tests/peer/ufrpc-test-frps}
export TOOL=${TOOL:-$BUILD/tests/e2e/e2e-tool}

# defaults: the quick run (about a minute); every count can be scaled
CONNS=200 BURSTS=3 BYTES=16384 RESTARTS=3 KILLS=2 BIG=0 SLOW_MB=32
SERVERS="peer real" MODES="plain mux tls tls+mux" PHASES="burst restart kill slow big valgrind"
VG_CONNS=20 BIG_MODES="mux tls+mux"
usage() {
    cat <<USAGE
usage: soak.sh [--conns N] [--bursts B] [--bytes N] [--restarts R] [--kills K]
               [--big N] [--slow-mb M] [--servers "peer real"] [--modes "plain mux tls tls+mux"]
               [--phases "burst restart kill slow big valgrind"] [--vg-conns N]
               [--big-modes "mux tls+mux"] [--quick | --full]
USAGE
}
while [ $# -gt 0 ]; do
    case $1 in
    --conns) CONNS=$2; shift ;;
    --bursts) BURSTS=$2; shift ;;
    --bytes) BYTES=$2; shift ;;
    --restarts) RESTARTS=$2; shift ;;
    --kills) KILLS=$2; shift ;;
    --big) BIG=$2; shift ;;
    --slow-mb) SLOW_MB=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --modes) MODES=$2; shift ;;
    --phases) PHASES=$2; shift ;;
    --vg-conns) VG_CONNS=$2; shift ;;
    --big-modes) BIG_MODES=$2; shift ;;
    --quick) CONNS=100 BURSTS=2 RESTARTS=2 KILLS=1 SERVERS=peer MODES="plain tls+mux"
        PHASES="burst restart kill slow" ;;
    --full) CONNS=2000 BURSTS=10 RESTARTS=1000 KILLS=100 BIG=10000 VG_CONNS=200 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done

[ -f /opt/realfrp/env.sh ] && [ -z "${UFRPC_REAL_FRPS:-}" ] && source /opt/realfrp/env.sh
source "$ROOT/tests/interop/lib.sh"
E2E_NAME=soak
E2E_MIN_WAIT=60
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TOKEN="soak-$RANDOM"

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# RssAnon: the heap and other private memory, without the shared libraries' pages
anon_kb() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# wait_fds PID MAX TIMEOUT_S: until PID has at most MAX open fds (the burst's
# connections are closed); prints nothing, returns 1 on timeout
wait_fds() {
    local deadline=$((SECONDS + $3))
    while [ "$(fds "$1")" -gt "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
# settle PID: waits (up to 20 s) until PID's RSS has not changed for 2.5 s: ufrpc
# hands freed memory back a second after the last connection ended, and a
# client closing thousands of connections takes seconds to get there
settle() {
    local prev=0 cur same=0 i
    for i in $(seq 1 40); do
        cur=$(rss_kb "$1")
        if [ "$cur" = "$prev" ]; then
            same=$((same + 1))
            [ "$same" -lt 5 ] || return 0
        else
            same=0
        fi
        prev=$cur
        sleep 0.5
    done
}
mode_mux() { case $1 in *mux) echo true ;; *) echo false ;; esac }
mode_tls() { case $1 in tls*) echo true ;; *) echo false ;; esac }

# start_server SERVER MUX PORT: the test frps or the real frps on 127.0.0.1:PORT;
# sets SRV_PID and SRV_LOG
start_server() {
    local srv=$1 mux=$2 port=$3
    SRV_LOG=$WORK/$srv-$port-$RANDOM.log
    if [ "$srv" = peer ]; then
        "$PEER" --bind "127.0.0.1:$port" --token "$TOKEN" --tls=auto --mux="$mux" \
            </dev/null >"$SRV_LOG" 2>&1 &
        SRV_PID=$!
        E2E_PIDS+=("$SRV_PID")
        wait_line "$SRV_LOG" '^READY ' 30 || fail "test frps did not start"
    else
        frps_config "$port" "$TOKEN" "$mux" 'log.level = "warn"' >"$WORK/frps.toml"
        sed -i 's/^log.level = "debug"$//' "$WORK/frps.toml"
        "$UFRPC_REAL_FRPS" -c "$WORK/frps.toml" </dev/null >"$SRV_LOG" 2>&1 &
        SRV_PID=$!
        E2E_PIDS+=("$SRV_PID")
        # frps logs nothing at warn level when it starts: wait for its port
        local deadline=$((SECONDS + 30))
        until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
            [ "$SECONDS" -lt "$deadline" ] || fail "frps did not start"
            sleep 0.1
        done
    fi
}

# start_client MODE SERVER_PORT LOCAL_PORT REMOTE_PORT [EXTRA]: ufrpc with one tcp
# proxy "soak"; waits until it is registered; sets CLI_PID and CLI_LOG
start_client() {
    local mode=$1
    CLI_LOG=$WORK/ufrpc-$RANDOM.log
    {
        client_config "$2" "$TOKEN" "$(mode_mux "$mode")" "$(mode_tls "$mode")" "${5:-}"
        cat <<CONF
[[proxies]]
name = "soak"
type = "tcp"
localIP = "127.0.0.1"
localPort = $3
remotePort = $4
CONF
    } >"$WORK/client.toml"
    ${CLIENT_WRAP:-} "$UFRPC" -c "$WORK/client.toml" </dev/null >"$CLI_LOG" 2>&1 &
    CLI_PID=$!
    E2E_PIDS+=("$CLI_PID")
    wait_proxy "$CLI_LOG" soak 60
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# ---- bursts: N concurrent connections with data, RSS and fds after each --------------
phase_burst() {
    local srv mode
    for srv in $SERVERS; do
        if [ "$srv" = real ] && [ -z "${UFRPC_REAL_FRPS:-}" ]; then
            log "burst: no real frps (source /opt/realfrp/env.sh): skipped"
            continue
        fi
        for mode in $MODES; do
            local sport lport rport
            sport=$(freeport) rport=$(freeport)
            start_server "$srv" "$(mode_mux "$mode")" "$sport"
            start_echo "echo-$srv-$mode"
            start_client "$mode" "$sport" "$ECHO_PORT" "$rport" 'transport.poolCount = 0'
            "$TOOL" load "$rport" 1024 1 60 >/dev/null || fail "burst $srv $mode: first connection"
            local fd0 rss0 line
            wait_fds "$CLI_PID" 64 60 || true
            fd0=$(fds "$CLI_PID") rss0=$(rss_kb "$CLI_PID")
            line="burst $srv $mode conns=$CONNS bytes=$BYTES: base rss=${rss0}k anon=$(anon_kb "$CLI_PID")k fds=$fd0 | rss/anon/fds:"
            local b ok
            for b in $(seq 1 "$BURSTS"); do
                "$TOOL" load "$rport" "$BYTES" "$CONNS" 300 >"$WORK/load.out" 2>&1 || true
                ok=$(sed -n 's/^RESULT ok=\([0-9]*\).*/\1/p' "$WORK/load.out")
                [ -n "$ok" ] && [ "$ok" -gt 0 ] || fail "burst $srv $mode #$b: $(tail -n 3 "$WORK/load.out")"
                wait_fds "$CLI_PID" "$((fd0 + 16))" 120 ||
                    log "burst $srv $mode #$b: fds still $(fds "$CLI_PID") after 120 s"
                settle "$CLI_PID"
                line="$line $(rss_kb "$CLI_PID")k/$(anon_kb "$CLI_PID")k/$(fds "$CLI_PID")"
                [ "$ok" = "$CONNS" ] || line="$line(ok=$ok)"
                log "  burst $b: rss=$(rss_kb "$CLI_PID")k fds=$(fds "$CLI_PID") ok=$ok/$CONNS"
            done
            log "$line | hwm=$(vmhwm_kb "$CLI_PID")k"
            kill -0 "$CLI_PID" 2>/dev/null || fail "ufrpc died"
            stop_pid "$CLI_PID"
            stop_pid "$ECHO_PID"
            stop_pid "$SRV_PID"
        done
    done
}

# restart_server SERVER MUX PORT: kills the server (SIGKILL) and starts it again on
# the same port
restart_server() {
    kill -9 "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    start_server "$1" "$2" "$3"
}

# wait_registered N: the client logged its N-th "start proxy success"
wait_registered() {
    wait_line "$CLI_LOG" '\[soak\] start proxy success' 120 "$1" ||
        fail "the proxy was not registered again ($1)"
}

# setup SERVER MODE: server + echo + ufrpc with the proxy registered; sets SPORT, RPORT
setup() {
    SPORT=$(freeport) RPORT=$(freeport)
    start_server "$1" "$(mode_mux "$2")" "$SPORT"
    start_echo "echo-$1-$2-$RANDOM"
    start_client "$2" "$SPORT" "$ECHO_PORT" "$RPORT" "${3:-}"
}
teardown() {
    kill -0 "$CLI_PID" 2>/dev/null || fail "ufrpc died"
    stop_pid "$CLI_PID"
    stop_pid "$ECHO_PID"
    stop_pid "$SRV_PID"
}
servers() {
    local srv
    for srv in $SERVERS; do
        if [ "$srv" = real ] && [ -z "${UFRPC_REAL_FRPS:-}" ]; then
            log "no real frps (source /opt/realfrp/env.sh): skipped"
            continue
        fi
        echo "$srv"
    done
}

# ---- restarts: the server is killed and restarted, the tunnel checked each time ---------
phase_restart() {
    local srv mode i
    for srv in $(servers); do
        for mode in $MODES; do
            setup "$srv" "$mode"
            "$TOOL" load "$RPORT" 65536 4 60 >/dev/null || fail "restart $srv $mode: before"
            local rss0 fd0 line="" every=$(((RESTARTS + 4) / 5))
            rss0=$(rss_kb "$CLI_PID") fd0=$(fds "$CLI_PID")
            for i in $(seq 1 "$RESTARTS"); do
                restart_server "$srv" "$(mode_mux "$mode")" "$SPORT"
                wait_registered "$((i + 1))"
                "$TOOL" load "$RPORT" 65536 4 60 >"$WORK/load.out" 2>&1 ||
                    fail "restart $srv $mode #$i: tunnel broken: $(tail -n 2 "$WORK/load.out")"
                if [ $((i % every)) = 0 ] || [ "$i" = "$RESTARTS" ]; then
                    line="$line #$i:$(rss_kb "$CLI_PID")k/$(fds "$CLI_PID")"
                fi
                # progress, so that an interrupted long run still has its figures
                [ $((i % 10)) != 0 ] ||
                    log "  restart $srv $mode #$i: rss=$(rss_kb "$CLI_PID")k fds=$(fds "$CLI_PID") ($SECONDS s)"
            done
            log "restart $srv $mode x$RESTARTS: before rss=${rss0}k fds=$fd0 | after$line"
            teardown
        done
    done
}

# ---- kills mid-transfer: 8 streams moving data when the server is killed ---------------
phase_kill() {
    local srv mode i
    for srv in $(servers); do
        for mode in $MODES; do
            setup "$srv" "$mode"
            "$TOOL" load "$RPORT" 65536 8 60 >/dev/null || fail "kill $srv $mode: before"
            local rss0 fd0 line=""
            rss0=$(rss_kb "$CLI_PID") fd0=$(fds "$CLI_PID")
            for i in $(seq 1 "$KILLS"); do
                "$TOOL" load "$RPORT" 268435456 8 120 >"$WORK/kill-load.out" 2>&1 &
                local lp=$!
                # data is moving once the client holds the 8 streams' connections
                local deadline=$((SECONDS + 60))
                while [ "$(fds "$CLI_PID")" -lt "$((fd0 + 8))" ] && [ "$SECONDS" -lt "$deadline" ]; do
                    sleep 0.05
                done
                sleep 0.3
                restart_server "$srv" "$(mode_mux "$mode")" "$SPORT"
                wait "$lp" 2>/dev/null || true # the 8 streams end with errors
                wait_registered "$((i + 1))"
                "$TOOL" load "$RPORT" 1048576 8 120 >"$WORK/load.out" 2>&1 ||
                    fail "kill $srv $mode #$i: 8 streams after the restart: $(tail -n 2 "$WORK/load.out")"
                wait_fds "$CLI_PID" "$((fd0 + 2))" 60 ||
                    fail "kill $srv $mode #$i: fds $(fds "$CLI_PID") (before: $fd0)"
                line="$line $(rss_kb "$CLI_PID")k/$(fds "$CLI_PID")"
                log "  kill $srv $mode #$i: rss=$(rss_kb "$CLI_PID")k fds=$(fds "$CLI_PID") ($SECONDS s)"
            done
            settle "$CLI_PID"
            log "kill $srv $mode x$KILLS (8 streams): before rss=${rss0}k fds=$fd0 | after each:$line | settled $(rss_kb "$CLI_PID")k"
            teardown
        done
    done
}

# ---- a slow local service: memory bounded by the window -----------------------------
phase_slow() {
    local srv mode
    for srv in $(servers); do
        for mode in $MODES; do
            SPORT=$(freeport) RPORT=$(freeport)
            local lport
            lport=$(freeport)
            start_server "$srv" "$(mode_mux "$mode")" "$SPORT"
            python3 "$HERE/soak_tool.py" slow-sink "$lport" >"$WORK/slow.log" 2>&1 &
            E2E_PIDS+=("$!")
            local slow_pid=$!
            wait_line "$WORK/slow.log" '^READY' 30 || fail "slow sink did not start"
            start_client "$mode" "$SPORT" "$lport" "$RPORT"
            local rss0
            rss0=$(rss_kb "$CLI_PID")
            python3 "$HERE/soak_tool.py" flood "$RPORT" "$SLOW_MB" 5 "$CLI_PID" >"$WORK/flood.out" 2>&1 ||
                fail "slow $srv $mode: $(tail -n 2 "$WORK/flood.out")"
            log "slow $srv $mode: base rss=${rss0}k; $(tail -n 1 "$WORK/flood.out")"
            kill "$slow_pid" 2>/dev/null || true
            ECHO_PID=$slow_pid
            teardown
        done
    done
}

# ---- many concurrent connections through one proxy -----------------------------------
phase_big() {
    [ "$BIG" -gt 0 ] || { log "big: --big 0, skipped"; return 0; }
    local srv mode
    for srv in $(servers); do
        for mode in $BIG_MODES; do
            # per process: the load generator and the echo service hold N, ufrpc
            # N (tcpMux) or 2N (a work connection each)
            local need=$((BIG + 200))
            [ "$(mode_mux "$mode")" = true ] || need=$((BIG * 2 + 200))
            if [ "$(ulimit -n)" -lt "$need" ]; then
                log "big $mode: ulimit -n $(ulimit -n) < $need for $BIG connections: skipped"
                continue
            fi
            setup "$srv" "$mode" 'transport.poolCount = 0'
            "$TOOL" load "$RPORT" 1024 1 60 >/dev/null || fail "big $srv $mode: first connection"
            local rss0 fd0
            rss0=$(rss_kb "$CLI_PID") fd0=$(fds "$CLI_PID")
            python3 "$HERE/soak_tool.py" hold "$RPORT" "$BIG" "$CLI_PID" >"$WORK/hold.out" 2>&1 ||
                fail "big $srv $mode: $(tail -n 3 "$WORK/hold.out")"
            wait_fds "$CLI_PID" "$((fd0 + 16))" 120 || true
            local held
            held=$(sed -n 's/^HELD .*rss_kb=\([0-9]*\).*/\1/p' "$WORK/hold.out")
            # thousands of work streams take seconds to close after the user
            # connections (at frps's pace, no descriptor to watch): wait for the
            # trim that follows, i.e. RSS below a quarter of what was held
            local deadline=$((SECONDS + 120))
            while [ "$(rss_kb "$CLI_PID")" -gt "$((rss0 + (held - rss0) / 4))" ] &&
                [ "$SECONDS" -lt "$deadline" ]; do
                sleep 0.5
            done
            settle "$CLI_PID"
            log "big $srv $mode: $(grep '^HELD' "$WORK/hold.out") | base rss=${rss0}k, per connection $(((held - rss0) * 1024 / BIG)) B | after close rss=$(rss_kb "$CLI_PID")k fds=$(fds "$CLI_PID")"
            teardown
        done
    done
}

# ---- valgrind: a shortened mixed run, then the leak check ---------------------------
phase_valgrind() {
    command -v valgrind >/dev/null || { log "valgrind: not installed, skipped"; return 0; }
    local srv=peer mode
    [ -n "${UFRPC_REAL_FRPS:-}" ] && case " $SERVERS " in *" real "*) srv=real ;; esac
    for mode in $MODES; do
        CLIENT_WRAP="valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$WORK/vg-$mode.log"
        setup "$srv" "$mode"
        CLIENT_WRAP=
        local i
        for i in 1 2; do
            "$TOOL" load "$RPORT" 65536 "$VG_CONNS" 300 >/dev/null 2>&1 || true
        done
        restart_server "$srv" "$(mode_mux "$mode")" "$SPORT"
        wait_registered 2
        "$TOOL" load "$RPORT" 65536 8 300 >/dev/null || fail "valgrind $mode: tunnel after the restart"
        kill -TERM "$CLI_PID"
        local rc=0
        wait "$CLI_PID" || rc=$?
        stop_pid "$ECHO_PID"
        stop_pid "$SRV_PID"
        local summary
        summary=$(grep -E "ERROR SUMMARY|definitely lost|indirectly lost|no leaks are possible" "$WORK/vg-$mode.log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
        log "valgrind $srv $mode: exit $rc; $summary"
        [ "$rc" = 0 ] || fail "valgrind $mode: exit status $rc (see $WORK/vg-$mode.log)"
    done
}

for ph in $PHASES; do
    "phase_$ph"
done
pass
