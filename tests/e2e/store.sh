#!/usr/bin/env bash
# store.sh: store.path and the admin API's /api/store routes, end to end.
#  1. a proxy created with POST /api/store/proxies comes up without a restart and
#     carries traffic; the config file's proxy keeps its connection and the peer sees
#     no second login (the same path as a reload);
#  2. bodies frpc refuses are refused with frpc's status and message (type block not
#     matching, path/body name mismatch, duplicate);
#  3. PUT moves the proxy to another remote port; a store proxy named like a config
#     proxy replaces it (frpc's aggregator) and /api/status marks it "source":"store";
#  4. the store survives a restart (store.json next to the config, no .tmp left);
#  5. DELETE closes the proxy.
source "$(dirname "$0")/lib.sh"
E2E_NAME=store
TOKEN="store-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux=true
start_echo echo
R0=$(freeport)
R1=$(freeport)
R2=$(freeport)
R3=$(freeport)
ADMIN=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" true false true keep "$ECHO_PORT" "$R0" \
    "webServer.addr = \"127.0.0.1\"
webServer.port = $ADMIN
store.path = \"store.json\""
A="http://127.0.0.1:$ADMIN"

# api METHOD PATH [BODY]: prints "STATUS BODY" (one line)
api() {
    local out code
    out=$(curl -sS --max-time 10 -X "$1" -w '\n%{http_code}' ${3:+--data-binary "$3"} "$A$2") ||
        fail "curl $1 $2 failed"
    code=${out##*$'\n'}
    printf '%s %s\n' "$code" "${out%$'\n'*}"
}
expect_api() { # METHOD PATH BODY WANT_STATUS [WANT_SUBSTRING]
    local got
    got=$(api "$1" "$2" "$3")
    [ "${got%% *}" = "$4" ] || fail "$1 $2: got '$got', want status $4"
    [ -z "${5:-}" ] || [[ "$got" == *"$5"* ]] || fail "$1 $2: got '$got', want '$5'"
}

start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=keep " 20 || fail "proxy keep not registered"
wait_line "$WORK/ufrpc.log" "admin server listen on 127.0.0.1:$ADMIN" 10 || fail "no admin server"
exec {KFD}<>"/dev/tcp/127.0.0.1/$R0" || fail "cannot connect to proxy keep"
printf 'before\n' >&"$KFD"
line=""
read -r -t 10 -u "$KFD" line || true
[ "$line" = before ] || fail "no echo through keep (got '$line')"

expect_api GET /api/store/proxies "" 200 '{"proxies":[]}'
expect_api POST /api/store/proxies \
    "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localIP\":\"127.0.0.1\",\"localPort\":$ECHO_PORT,\"remotePort\":$R1}}" \
    200 '"remotePort":'"$R1"
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=s1 " 20 || fail "store proxy s1 not registered"
"$TOOL" load "$R1" 65536 2 30 || fail "traffic through store proxy s1"
grep -q 'store: created proxy "s1"' "$WORK/ufrpc.log" || fail "no 'store: created proxy' line"
printf 'after\n' >&"$KFD"
line=""
read -r -t 10 -u "$KFD" line || true
[ "$line" = after ] || fail "the connection through keep did not survive the store change"
[ "$(count_lines "$WORK/peer.log" "^EVENT login ")" = 1 ] || fail "the store change logged in again"
exec {KFD}>&-

expect_api POST /api/store/proxies '{"name":"s1","type":"tcp","tcp":{"localPort":1}}' 409 \
    'conflict: already exists: proxy \"s1\"'
expect_api POST /api/store/proxies '{"name":"s2","type":"udp","tcp":{"localPort":1}}' 400 \
    'proxy type block \"tcp\" does not match type \"udp\"'
expect_api PUT /api/store/proxies/s1 '{"name":"s9","type":"tcp","tcp":{"localPort":1}}' 400 \
    'proxy name in URL must match name in body'
expect_api DELETE /api/store/proxies/nope "" 404 'not found: not found: proxy \"nope\"'

expect_api PUT /api/store/proxies/s1 \
    "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":$ECHO_PORT,\"remotePort\":$R2}}" 200
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=s1 type=tcp remote_port=$R2 " 20 || fail "s1 not moved"
"$TOOL" load "$R2" 65536 2 30 || fail "traffic through s1 on its new port"

# a store proxy with a config proxy's name replaces it, as frpc's
expect_api POST /api/store/proxies \
    "{\"name\":\"keep\",\"type\":\"tcp\",\"tcp\":{\"localPort\":$ECHO_PORT,\"remotePort\":$R3}}" 200
wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=keep type=tcp remote_port=$R3 " 20 ||
    fail "the store's keep not registered"
"$TOOL" load "$R3" 65536 2 30 || fail "traffic through the store's keep"
st=$(curl -sS "$A/api/status")
[[ "$st" == *'"name":"keep"'*'"source":"store"'* ]] || fail "status does not mark keep as from the store: $st"

# restart: the store comes back
[ -f "$WORK/store.json" ] || fail "no store.json next to the config"
[ ! -e "$WORK/store.json.tmp" ] || fail "store.json.tmp left behind"
stop_ufrpc
start_ufrpc ufrpc2 "$WORK/frpc.toml"
wait_line "$WORK/ufrpc2.log" "proxy added: \[(keep s1|s1 keep)\]" 20 || fail "store proxies not loaded at start"
wait_line "$WORK/ufrpc2.log" "\[s1\] start proxy success" 20 || fail "s1 not started after the restart"
"$TOOL" load "$R2" 65536 2 30 || fail "traffic through s1 after the restart"
expect_api GET /api/store/proxies/s1 "" 200 '"remotePort":'"$R2"

expect_api DELETE /api/store/proxies/s1 "" 200
wait_line "$WORK/ufrpc2.log" 'store: deleted proxy "s1"' 10 || fail "no 'store: deleted proxy' line"
wait_line "$WORK/ufrpc2.log" "proxy removed: \[s1\]" 10 || fail "s1 not removed"
expect_api GET /api/store/proxies/s1 "" 404
stop_ufrpc
pass
