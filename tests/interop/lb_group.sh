#!/usr/bin/env bash
# lb_group.sh: loadBalancer.group across two ufrpc processes behind the real frps.
# ufrpc A (proxy web1) and ufrpc B (proxy web2) share group "web", its groupKey and
# one remotePort; each goes to its own HTTP service that names itself (http_echo.py
# A / B). Checks: frps registers both on the one port; 30 requests through it reach
# both services; a third proxy with the right group but a wrong groupKey is refused
# (ufrpc logs frps's reason); after ufrpc A is SIGKILLed (frps logs that client's
# exit), all 20 later requests reach B.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_lb_group
need_frps
TOKEN="lb-$RANDOM"
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

declare -A PORT
for n in A B; do
    python3 "$INTEROP_DIR/../vhost/http_echo.py" "$n" </dev/null >"$WORK/svc-$n.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/svc-$n.log" '^READY ' 10 || fail "service $n did not start"
    PORT[$n]=$(ready_port "$WORK/svc-$n.log")
done
R=$(freeport)
member() { # NAME LOCAL_PORT GROUP_KEY
    cat <<EOF

[[proxies]]
name = "$1"
type = "tcp"
localIP = "127.0.0.1"
localPort = $2
remotePort = $R
loadBalancer.group = "web"
loadBalancer.groupKey = "$3"
EOF
}
{ client_config "$FRPS_PORT" "$TOKEN" true true; member web1 "${PORT[A]}" gk-right; } >"$WORK/a.toml"
{
    client_config "$FRPS_PORT" "$TOKEN" true true
    member web2 "${PORT[B]}" gk-right
    member web3 "${PORT[B]}" gk-wrong
} >"$WORK/b.toml"
start_ufrpc ufrpc-a "$WORK/a.toml"
A_PID=$UFRPC_PID
wait_proxy "$WORK/ufrpc-a.log" web1
start_ufrpc ufrpc-b "$WORK/b.toml"
B_PID=$UFRPC_PID
wait_proxy "$WORK/ufrpc-b.log" web2
wait_line "$WORK/frps.log" 'new proxy \[web2\] type \[tcp\] success' 10 || fail "frps did not take web2"
wait_line "$WORK/ufrpc-b.log" '\[web3\].*group auth failed' 10 ||
    fail "the wrong groupKey was not refused with frps's reason"
grep -q '\[web3\] start proxy success' "$WORK/ufrpc-b.log" && fail "web3 started with a wrong groupKey"
log "wrong groupKey: $(grep -m1 '\[web3\]' "$WORK/ufrpc-b.log" | sed 's/.*\[web3\] //')"

ask() { # N: N requests on fresh connections; prints the answering service per line
    local i body
    for i in $(seq "$1"); do
        body=$(curl -sS --max-time 10 -H "Connection: close" "http://127.0.0.1:$R/n$i") ||
            { echo "ERR"; continue; }
        sed -n 's/^service=//p' <<<"$body"
    done
}
ask 30 >"$WORK/round1.out"
a=$(grep -c '^A$' "$WORK/round1.out" || true)
b=$(grep -c '^B$' "$WORK/round1.out" || true)
[ $((a + b)) = 30 ] || fail "round 1: $((30 - a - b)) of 30 requests failed"
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] || fail "round 1 did not spread: A=$a B=$b"
log "both members: A=$a B=$b of 30"

RUN_A=$(sed -n 's/.*get run id \[\([0-9a-f]*\)\].*/\1/p' "$WORK/ufrpc-a.log" | head -n 1)
[ -n "$RUN_A" ] || fail "no run id in ufrpc A's log"
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
wait_line "$WORK/frps.log" "\\[$RUN_A\\] client exit success" 20 || fail "frps did not see ufrpc A go"
ask 20 >"$WORK/round2.out"
b=$(grep -c '^B$' "$WORK/round2.out" || true)
[ "$b" = 20 ] || fail "after A was killed only $b of 20 reached B: $(sort "$WORK/round2.out" | uniq -c | tr '\n' ' ')"
log "A killed: B answered 20 of 20"
kill -0 "$B_PID" 2>/dev/null || fail "ufrpc B died"
UFRPC_PID=$B_PID
stop_ufrpc
pass
