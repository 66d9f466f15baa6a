#!/usr/bin/env bash
# perproxy.sh: per-proxy options of tcp proxies through the real frps (TLS, tcpMux):
#  1. transport.proxyProtocolVersion v1 / v2: the local service (pp_service.py)
#     reads a PROXY header whose source is the user's own address and port and
#     whose destination is 127.0.0.1:<remote port> (frps fills StartWorkConn with
#     them); without the option no header, the user's bytes come first.
#  2. transport.bandwidthLimit = "256KB": mode "client" (ufrpc paces) and mode
#     "server" (the real frps paces: the test frps does not) each take >= 2.5 s for
#     1 MiB up and 1 MiB down; an unlimited proxy takes less than half that.
#  3. healthCheck tcp (to an echo) and http (GET /ok.txt on a file server): the
#     echo killed -> ufrpc logs the failed check, frps logs "close proxy [hc-tcp]",
#     the remote port is closed; the echo back on its port -> frps registers the
#     proxy again and traffic flows. /ok.txt removed (404) -> the same for hc-http;
#     back -> the file again through frps. The other proxy stays up meanwhile.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_perproxy
need_frps
TOKEN="pp-$RANDOM"
PPS="$INTEROP_DIR/../perproxy/pp_service.py"
pp() { python3 "$PPS" "$@"; }
MIB=$((1024 * 1024))

FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

python3 "$PPS" serve </dev/null >"$WORK/service.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/service.log" '^READY ' 10 || fail "pp_service did not start"
SVC_PORT=$(ready_port "$WORK/service.log")
E_PORT=$(freeport)
start_echo echo "$E_PORT"
mkdir -p "$WORK/www"
echo "healthy" >"$WORK/www/ok.txt"
H_PORT=$(freeport)
python3 -m http.server "$H_PORT" --bind 127.0.0.1 --directory "$WORK/www" </dev/null \
    >"$WORK/http.log" 2>&1 &
E2E_PIDS+=("$!")
deadline=$((SECONDS + E2E_MIN_WAIT)) # as wait_line: a loaded machine is slow
until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$H_PORT/ok.txt"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the file server did not start"
    sleep 0.1
done

client_config "$FRPS_PORT" "$TOKEN" true true >"$WORK/frpc.toml"
declare -A REMOTE
add_proxy() { # NAME LOCAL_PORT EXTRA_LINES...
    local name=$1 port=$2
    shift 2
    REMOTE[$name]=$(freeport)
    {
        printf '\n[[proxies]]\nname = "%s"\ntype = "tcp"\nlocalIP = "127.0.0.1"\n' "$name"
        printf 'localPort = %s\nremotePort = %s\n' "$port" "${REMOTE[$name]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >>"$WORK/frpc.toml"
}
add_proxy ppv1 "$SVC_PORT" 'transport.proxyProtocolVersion = "v1"'
add_proxy ppv2 "$SVC_PORT" 'transport.proxyProtocolVersion = "v2"'
add_proxy ppnone "$SVC_PORT"
add_proxy bwclient "$SVC_PORT" 'transport.bandwidthLimit = "256KB"' 'transport.bandwidthLimitMode = "client"'
add_proxy bwserver "$SVC_PORT" 'transport.bandwidthLimit = "256KB"' 'transport.bandwidthLimitMode = "server"'
add_proxy unlimited "$SVC_PORT"
HC='healthCheck.intervalSeconds = 1
healthCheck.timeoutSeconds = 1
healthCheck.maxFailed = 1'
add_proxy hc-tcp "$E_PORT" 'healthCheck.type = "tcp"' "$HC"
add_proxy hc-http "$H_PORT" 'healthCheck.type = "http"' 'healthCheck.path = "/ok.txt"' "$HC"
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in ppv1 ppv2 ppnone bwclient bwserver unlimited hc-tcp hc-http; do
    wait_line "$WORK/frps.log" "new proxy \\[$n\\] type \\[tcp\\] success" 30 ||
        fail "frps did not register $n"
done

# ---- 1. PROXY protocol ------------------------------------------------------------
for spec in ppv1:v1 ppv2:v2 ppnone:none; do
    IFS=: read -r name want <<<"$spec"
    for _ in 1 2; do
        out=$(pp probe "${REMOTE[$name]}" "$want" "${REMOTE[$name]}") || fail "$name: $out"
    done
    log "$name: ${out#probe: }"
done

# ---- 2. bandwidth limit -----------------------------------------------------------
declare -A T
for name in bwclient bwserver unlimited; do
    for way in up down; do
        out=$(pp xfer "${REMOTE[$name]}" "$way" "$MIB") || fail "$name $way: $out"
        T[$name.$way]=${out#elapsed=}
        log "$name: 1 MiB $way in ${T[$name.$way]} s"
    done
done
ge() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$1" "$2"; }
lt_half() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) / 2 else 1)" "$1" "$2"; }
for way in up down; do
    for name in bwclient bwserver; do
        ge "${T[$name.$way]}" 2.5 ||
            fail "bandwidthLimit 256KB ($name): 1 MiB $way took ${T[$name.$way]} s < 2.5 s"
        lt_half "${T[unlimited.$way]}" "${T[$name.$way]}" ||
            fail "unlimited 1 MiB $way (${T[unlimited.$way]} s) not clearly faster than $name (${T[$name.$way]} s)"
    done
done

# ---- 3. health checks -------------------------------------------------------------
get() { curl -s --max-time 5 "http://127.0.0.1:${REMOTE[hc-http]}/ok.txt" 2>&1 || true; }
out=$("$TOOL" load "${REMOTE[hc-tcp]}" 262144 2 20) || fail "hc-tcp echo: $out"
[ "$(get)" = healthy ] || fail "hc-http: got '$(get)'"

kill -9 "$ECHO_PID"
wait "$ECHO_PID" 2>/dev/null || true
wait_line "$WORK/ufrpc.log" '\[hc-tcp\] health check status change to failed' 10 ||
    fail "ufrpc did not log the failed tcp check"
wait_line "$WORK/frps.log" 'close proxy \[hc-tcp\] success' 10 || fail "frps did not close hc-tcp"
# frps closed the listener: the remote port refuses
deadline=$((SECONDS + 10))
while (exec 3<>"/dev/tcp/127.0.0.1/${REMOTE[hc-tcp]}") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "hc-tcp's remote port still accepts"
    sleep 0.2
done
[ "$(get)" = healthy ] || fail "hc-http after hc-tcp went down: got '$(get)'"
log "hc-tcp: echo down -> check failed, frps closed the proxy and its port"

start_echo echo2 "$E_PORT"
wait_line "$WORK/frps.log" 'new proxy \[hc-tcp\] type \[tcp\] success' 15 2 ||
    fail "frps did not register hc-tcp again"
deadline=$((SECONDS + 10))
until out=$("$TOOL" load "${REMOTE[hc-tcp]}" 262144 2 20 2>&1); do
    [ "$SECONDS" -lt "$deadline" ] || fail "hc-tcp echo after recovery: $out"
    sleep 0.2
done
log "hc-tcp back: $out"

mv "$WORK/www/ok.txt" "$WORK/ok.txt.away"
wait_line "$WORK/ufrpc.log" '\[hc-http\] health check status change to failed' 10 ||
    fail "ufrpc did not log the failed http check"
wait_line "$WORK/frps.log" 'close proxy \[hc-http\] success' 10 || fail "frps did not close hc-http"
out=$("$TOOL" load "${REMOTE[hc-tcp]}" 65536 1 20) || fail "hc-tcp while hc-http is down: $out"
mv "$WORK/ok.txt.away" "$WORK/www/ok.txt"
wait_line "$WORK/frps.log" 'new proxy \[hc-http\] type \[tcp\] success' 15 2 ||
    fail "frps did not register hc-http again"
deadline=$((SECONDS + 10))
until [ "$(get)" = healthy ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "hc-http after recovery: got '$(get)'"
    sleep 0.2
done
log "hc-http: 404 -> closed, file back -> registered again, served"

[ "$(count_lines "$WORK/ufrpc.log" 'login to server success')" = 1 ] || fail "ufrpc logged in again"
stop_ufrpc
pass
