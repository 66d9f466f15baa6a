# Shared helpers for the interop tests (sourced, bash): ufrpc against the real frps
# (and, where a test needs a second client, the real frpc), both built by the
# developer from frp's public source and named by the environment:
#   UFRPC_REAL_FRPS       frps v0.70.x (without it a test is skipped: exit 77)
#   UFRPC_REAL_FRPC       frpc of the same version (tests that need it skip without)
#   UFRPC_REAL_FRPS_OLD   an frps of the v0.31 era (old_frps.sh only)
# Built on tests/e2e/lib.sh (work directory, process cleanup, wait_line, freeport,
# e2e-tool); everything listens on 127.0.0.1.

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER=${PEER:-unused}
source "$INTEROP_DIR/../e2e/lib.sh"
# frps ends both directions of a user connection on the first EOF (no half-close):
# e2e-tool load waits for the whole echo instead of half-closing
export E2E_LOAD_NO_HALF_CLOSE=1

skip() {
    echo "SKIP [$E2E_NAME]: $*"
    E2E_FAILED=0
    exit 77
}

# need_frps / need_frpc: skip the test unless the binary is there.
need_frps() {
    [ -n "${UFRPC_REAL_FRPS:-}" ] && [ -x "$UFRPC_REAL_FRPS" ] ||
        skip "UFRPC_REAL_FRPS does not name an frps binary"
}
need_frpc() {
    [ -n "${UFRPC_REAL_FRPC:-}" ] && [ -x "$UFRPC_REAL_FRPC" ] ||
        skip "UFRPC_REAL_FRPC does not name an frpc binary"
}

# frps_config PORT TOKEN MUX(true|false) [EXTRA_LINES]: an frps.toml with frps's
# defaults (TLS accepted with its generated certificate) but loopback binding.
frps_config() {
    cat <<EOF
bindAddr = "127.0.0.1"
bindPort = $1
auth.token = "$2"
transport.tcpMux = $3
log.to = "console"
log.level = "debug"
log.disablePrintColor = true
${4:-}
EOF
}

# start_frps NAME CONFIG [BINARY [READY]]: runs frps and waits until it logs READY
# (default: the line of frps since v0.3x, "frps started successfully"); sets
# FRPS_PID.
start_frps() {
    local name=$1 conf=$2 bin=${3:-$UFRPC_REAL_FRPS} ready=${4:-frps started successfully}
    "$bin" -c "$conf" </dev/null >"$WORK/$name.log" 2>&1 &
    FRPS_PID=$!
    E2E_PIDS+=("$FRPS_PID")
    wait_line "$WORK/$name.log" "$ready" 30 || fail "frps $name did not start"
}

# start_frpc NAME CONFIG: the real frpc; sets FRPC_PID.
start_frpc() {
    "$UFRPC_REAL_FRPC" -c "$2" </dev/null >"$WORK/$1.log" 2>&1 &
    FRPC_PID=$!
    E2E_PIDS+=("$FRPC_PID")
}

# client_config PORT TOKEN MUX TLS [EXTRA_LINES]: the top of a client frpc.toml
# (the same file serves ufrpc and frpc).
client_config() {
    cat <<EOF
serverAddr = "127.0.0.1"
serverPort = $1
loginFailExit = true
auth.token = "$2"
transport.tcpMux = $3
transport.tls.enable = $4
log.to = "console"
log.level = "info"
log.disablePrintColor = true
${5:-}
EOF
}

# wait_proxy LOG NAME [TIMEOUT_S]: the client logged "[NAME] start proxy success".
wait_proxy() {
    wait_line "$1" "\\[$2\\] start proxy success" "${3:-30}" ||
        fail "proxy $2 did not start ($(basename "$1"))"
}

# start_client KIND(ufrpc|frpc) CONFIG: ufrpc, or the real frpc (a reference), with
# CONFIG; its log is $WORK/KIND.log, which CLOG names.
start_client() {
    if [ "$1" = frpc ]; then
        start_frpc frpc "$2"
    else
        start_ufrpc ufrpc "$2"
    fi
    CLOG=$WORK/$1.log
}

# echo_proxies TCP_REMOTE [UDP_REMOTE]: frpc.toml proxies "tcp" (to the echo service
# of start_echo, $ECHO_PORT) and, with UDP_REMOTE, "udp" (to start_udp_echo's,
# $UECHO_PORT) on those remote ports.
echo_proxies() {
    cat <<EOF

[[proxies]]
name = "tcp"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $1
EOF
    [ -n "${2:-}" ] || return 0
    cat <<EOF

[[proxies]]
name = "udp"
type = "udp"
localIP = "127.0.0.1"
localPort = $UECHO_PORT
remotePort = $2
EOF
}
