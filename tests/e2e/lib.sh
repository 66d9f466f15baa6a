# Shared helpers for the end-to-end test scripts (sourced, bash).
#
# Environment (set by tests/e2e/CMakeLists.txt): UFRPC (the ufrpc binary), PEER
# (ufrpc-test-frps), TOOL (e2e-tool), REPLAY (e2e-replay), UFRPC_TEST_DATA (tests/data).
# Every process a test starts is recorded and killed (by pid) when the script exits;
# the work directory is removed unless the test failed or UFRPC_E2E_KEEP=1.
# Everything listens on 127.0.0.1 only; ports come from `e2e-tool freeport` or port 0.

set -euo pipefail

# ufrpc ends a work connection at the first EOF from the server, as frpc and frps
# do (net/pump.h, ufrpc_pump_end_at_eof): a user that half-closes loses the rest of
# the echo, so e2e-tool load waits for the whole echo instead
export E2E_LOAD_NO_HALF_CLOSE=1

: "${UFRPC:?UFRPC must name the ufrpc binary}"
: "${PEER:?PEER must name ufrpc-test-frps}"
: "${TOOL:?TOOL must name e2e-tool}"

E2E_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ufrpc-e2e-$E2E_NAME.XXXXXX")
E2E_PIDS=()
E2E_FAILED=1

e2e_cleanup() {
    local p
    for p in "${E2E_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null || true
        { wait "$p"; } 2>/dev/null || true
    done
    # give back the port leases e2e-tool freeport took for this test (e2e_tool.c)
    if [ -f "$WORK/.ports" ]; then
        while read -r p; do
            rmdir "${UFRPC_PORT_LEASES:-${TMPDIR:-/tmp}/ufrpc-port-leases}/$p" 2>/dev/null || true
        done <"$WORK/.ports"
    fi
    if [ "$E2E_FAILED" = 0 ] && [ "${UFRPC_E2E_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        echo "(logs kept in $WORK)"
    fi
}
trap e2e_cleanup EXIT

log() { echo "[$E2E_NAME] $*"; }

dump_logs() {
    local f
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "----- $(basename "$f") (last 40 lines)"
        tail -n 40 "$f"
    done
}

fail() {
    echo "FAIL [$E2E_NAME]: $*"
    dump_logs
    exit 1
}

# Call at the very end of a passing test.
pass() {
    check_sanitizers
    E2E_FAILED=0
    log "PASS"
}

# A sanitizer report in any log fails the test (the ASan build runs the same scripts).
check_sanitizers() {
    if grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$WORK"/*.log \
        2>/dev/null; then
        fail "sanitizer report in the logs above"
    fi
}

# wait_line FILE EXTENDED_REGEX TIMEOUT_S [COUNT]: waits until FILE has COUNT (default 1)
# lines matching; returns 1 on timeout. A deadline only matters when the line never
# comes, and a loaded machine (ctest -j on 2 cores, sanitizers) can be many times slower
# than the TIMEOUT_S a test names, so every wait lasts at least E2E_MIN_WAIT (30) s.
E2E_MIN_WAIT=${E2E_MIN_WAIT:-30}
wait_line() {
    local file=$1 re=$2 timeout=$3 count=${4:-1}
    [ "$timeout" -ge "$E2E_MIN_WAIT" ] || timeout=$E2E_MIN_WAIT
    local deadline=$((SECONDS + timeout))
    while :; do
        if [ -f "$file" ] && [ "$(grep -c -E -e "$re" "$file" 2>/dev/null || true)" -ge "$count" ]; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

count_lines() { grep -c -E -e "$2" "$1" 2>/dev/null || true; }
# line_time FILE REGEX [N]: the time, in seconds since the epoch with fractions, of the
# Nth (default 1st) line of a ufrpc log matching REGEX ("YYYY-MM-DD HH:MM:SS.mmm" at the
# start of the line); fails if there is no such line.
line_time() {
    local l
    l=$(grep -E -e "$2" "$1" 2>/dev/null | sed -n "${3:-1}p") || return 1
    [ -n "$l" ] || return 1
    date -d "${l:0:23}" +%s.%N
}
# at_least_apart T1 T2 SECONDS: true if T2 - T1 >= SECONDS (fractions allowed).
at_least_apart() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { exit !(b - a >= s) }'; }

# freeport: a free loopback port (TCP-checked and leased machine-wide by e2e-tool; the
# lease is given back when the script exits) that this test has not been given before: tests pick many ports up front and bind them later, and UDP listeners
# share the number space unchecked, so two picks must never be the same number.
freeport() {
    local p i
    for i in $(seq 1 50); do
        p=$("$TOOL" freeport) || return 1
        if ! grep -qx -- "$p" "$WORK/.ports" 2>/dev/null; then
            echo "$p" >>"$WORK/.ports"
            echo "$p"
            return 0
        fi
    done
    echo "freeport: no new port after 50 tries" >&2
    return 1
}

# ready_port LOG: N of LOG's first "READY port=N" line (the e2e tools' and the
# test frps's first line once they listen; wait_line for it first).
ready_port() { sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$1" | head -n 1; }

# start_peer NAME ARGS...: starts ufrpc-test-frps with ARGS, waits for READY and sets
# PEER_PID and PEER_PORT. Log: $WORK/NAME.log. With --commands, commands are read
# from the fifo $WORK/NAME.cmd (use peer_cmd NAME "drop").
start_peer() {
    local name=$1
    shift
    local log=$WORK/$name.log
    : >"$log"
    if printf '%s\n' "$@" | grep -q -x -- "--commands"; then
        rm -f "$WORK/$name.cmd"
        mkfifo "$WORK/$name.cmd"
        "$PEER" "$@" <"$WORK/$name.cmd" >"$log" 2>&1 &
        PEER_PID=$!
        # keep a writer open so the peer does not see EOF between commands
        exec {E2E_CMD_FD}>"$WORK/$name.cmd"
        eval "E2E_CMDFD_$name=$E2E_CMD_FD"
    else
        "$PEER" "$@" </dev/null >"$log" 2>&1 &
        PEER_PID=$!
    fi
    E2E_PIDS+=("$PEER_PID")
    wait_line "$log" '^READY ' 10 || fail "peer $name did not start"
    PEER_PORT=$(ready_port "$log")
}

peer_cmd() {
    local fdvar="E2E_CMDFD_$1"
    echo "$2" >&"${!fdvar}"
}

# start_echo NAME [PORT]: echo service; sets ECHO_PID and ECHO_PORT.
start_echo() {
    local name=$1 port=${2:-0}
    local log=$WORK/$name.log
    "$TOOL" echo "$port" </dev/null >"$log" 2>&1 &
    ECHO_PID=$!
    E2E_PIDS+=("$ECHO_PID")
    wait_line "$log" '^READY ' 10 || fail "echo $name did not start"
    ECHO_PORT=$(ready_port "$log")
}

# start_udp_echo NAME: UDP echo service on a free port; sets UECHO_PORT. Log:
# $WORK/NAME.log.
start_udp_echo() {
    local log=$WORK/$1.log
    "$TOOL" udp-echo 0 </dev/null >"$log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$log" '^READY ' 10 || fail "udp echo $1 did not start"
    UECHO_PORT=$(ready_port "$log")
}

# common_config SERVER_PORT TOKEN MUX(true|false) TLS(true|false) [LOG_LEVEL] [LOGIN_FAIL_EXIT]:
# prints the top-level part of an frpc.toml for the test frps on 127.0.0.1 (token auth,
# console log; level info and loginFailExit true by default). Callers append their own
# top-level keys, proxies and visitors.
common_config() {
    cat <<EOF
serverAddr = "127.0.0.1"
serverPort = $1
loginFailExit = ${6:-true}
auth.method = "token"
auth.token = "$2"
transport.tcpMux = $3
transport.tls.enable = $4
log.to = "console"
log.level = "${5:-${E2E_LOG_LEVEL:-info}}"
EOF
}

# write_config FILE SERVER_PORT TOKEN MUX(true|false) TLS(true|false) LOGIN_FAIL_EXIT
#              PROXY_NAME LOCAL_PORT REMOTE_PORT [EXTRA_TOP_LEVEL_LINES]
write_config() {
    {
        common_config "$2" "$3" "$4" "$5" info "$6"
        cat <<EOF
${10:-}

[[proxies]]
name = "$7"
type = "tcp"
localIP = "127.0.0.1"
localPort = $8
remotePort = $9
EOF
    } >"$1"
}

# start_ufrpc NAME CONFIG: runs "ufrpc -c CONFIG"; sets UFRPC_PID. Log: $WORK/NAME.log.
start_ufrpc() {
    local name=$1 conf=$2
    "$UFRPC" -c "$conf" </dev/null >"$WORK/$name.log" 2>&1 &
    UFRPC_PID=$!
    E2E_PIDS+=("$UFRPC_PID")
}

# wait_ufrpc_exit WHY: waits (E2E_MIN_WAIT s at the most) for ufrpc to exit by
# itself and sets UFRPC_RC to its exit status; fails with "ufrpc still runs WHY".
wait_ufrpc_exit() {
    local deadline=$((SECONDS + E2E_MIN_WAIT))
    while kill -0 "$UFRPC_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    kill -0 "$UFRPC_PID" 2>/dev/null && fail "ufrpc still runs $1"
    UFRPC_RC=0
    wait "$UFRPC_PID" || UFRPC_RC=$?
}

# stop_ufrpc: SIGTERM, wait; the exit status must be 0 (clean close).
stop_ufrpc() {
    kill -TERM "$UFRPC_PID" 2>/dev/null || true
    local rc=0
    wait "$UFRPC_PID" || rc=$?
    [ "$rc" = 0 ] || fail "ufrpc exited with status $rc after SIGTERM"
}

# start_stun: the tiny STUN server (stun_server.py); sets STUN_EASY, STUN_HARD,
# STUN_CLASSIC and STUN_ONE to the primary ports of its four behaviours.
start_stun() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/stun_server.py" >"$WORK/stun.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/stun.log" '^READY ' 10 || fail "the stun server did not start"
    local m
    for m in easy hard classic one; do
        eval "STUN_${m^^}=$(sed -n "s/^READY.* $m=\([0-9]*\).*/\1/p" "$WORK/stun.log")"
    done
}

vmhwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || echo "?"; }
