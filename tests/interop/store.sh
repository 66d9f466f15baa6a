#!/usr/bin/env bash
# store.sh: the store API (store.path, /api/store/proxies and /api/store/visitors) of
# ufrpc next to the real frpc's, both against the real frps (user "u" and "f", so the
# proxy names can be the same). The same requests go to both; each answer (status
# code and JSON body, remote ports mapped) must be the same; the proxies created
# through the API come up on both; both store files hold the same entries; both
# /api/status answers are the same, the store's proxy marked "source":"store".
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_store
need_frps
need_frpc
TOKEN="store-$RANDOM"
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
declare -A ADMIN RCFG RS1 RS1B RV
for c in u f; do
    ADMIN[$c]=$(freeport)
    RCFG[$c]=$(freeport)
    RS1[$c]=$(freeport)
    RS1B[$c]=$(freeport)
    RV[$c]=$(freeport)
    mkdir -p "$WORK/$c"
    client_config "$FRPS_PORT" "$TOKEN" true true "user = \"$c\"
webServer.addr = \"127.0.0.1\"
webServer.port = ${ADMIN[$c]}
store.path = \"store.json\"" >"$WORK/$c/frpc.toml"
    cat >>"$WORK/$c/frpc.toml" <<EOT

[[proxies]]
name = "cfg"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = ${RCFG[$c]}
EOT
done
start_ufrpc ufrpc "$WORK/u/frpc.toml"
start_frpc frpc "$WORK/f/frpc.toml"
wait_proxy "$WORK/ufrpc.log" cfg
wait_proxy "$WORK/frpc.log" cfg

# ask C METHOD PATH [BODY]: "CODE BODY" on one line, C's ports turned into f's
ask() {
    local c=$1 out
    local body=${4:-}
    body=${body//@S1@/${RS1[$c]}}
    body=${body//@S1B@/${RS1B[$c]}}
    body=${body//@V@/${RV[$c]}}
    body=${body//@ECHO@/$ECHO_PORT}
    out=$(curl -sS --max-time 10 -X "$2" -w '\n%{http_code}' ${4:+--data-binary "$body"} \
        "http://127.0.0.1:${ADMIN[$c]}$3") || fail "$c: curl $2 $3"
    printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}" |
        sed -e "s/\b${RS1[$c]}\b/S1/g" -e "s/\b${RS1B[$c]}\b/S1B/g" -e "s/\b${RV[$c]}\b/V/g"
}
n=0
same() { # METHOD PATH [BODY]
    local u f
    u=$(ask u "$@")
    f=$(ask f "$@")
    n=$((n + 1))
    if [ "$u" != "$f" ]; then
        printf 'request: %s\nufrpc: %s\nfrpc:  %s\n' "$*" "$u" "$f"
        fail "answers differ"
    fi
}
P=/api/store/proxies
V=/api/store/visitors
same GET $P
same GET $V
same POST $P '{"name":"s1","type":"tcp","tcp":{"localIP":"127.0.0.1","localPort":@ECHO@,"remotePort":@S1@}}'
same POST $P '{"name":"s1","type":"tcp","tcp":{"localPort":1}}'
same POST $P '{"name":"s2","type":"udp","tcp":{"localPort":1}}'
same POST $P '{"name":"s2","type":"tcp"}'
same POST $P '{"name":"s2","type":"tcp","tcp":{},"udp":{}}'
same POST $P '{"name":"","type":"tcp","tcp":{}}'
same POST $P '{"name":"s2","type":"nope","tcp":{}}'
same POST $P '[1]'
same POST $P ''
same POST $P '{"name":"h2","type":"http","http":{"localPort":80}}'
same POST $P '{"name":"s3","type":"tcp","tcp":{"localPort":22,"bogus":1,"useEncryption":true,"transport":{"useCompression":true},"plugin":null}}'
same PUT $P/s1 '{"name":"s9","type":"tcp","tcp":{"localPort":1}}'
same PUT $P/nope '{"name":"nope","type":"tcp","tcp":{"localPort":1}}'
same PUT $P/s1 '{"name":"s1","type":"tcp","tcp":{"localIP":"127.0.0.1","localPort":@ECHO@,"remotePort":@S1B@}}'
same GET $P/s1
same GET $P/nope
same GET $P
same DELETE $P/nope
same DELETE $P/s3
same PATCH $P
same DELETE $P
same GET $P/
same POST $V '{"name":"v1","type":"stcp","stcp":{"serverName":"cfg","secretKey":"k","bindAddr":"127.0.0.1","bindPort":@V@}}'
same POST $V '{"name":"v3","type":"stcp","stcp":{"serverName":"","bindPort":1}}'
same POST $V '{"name":"v3","type":"tcp","stcp":{}}'
same PUT $V/v1 '{"name":"v1","type":"sudp","stcp":{}}'
same GET $V
same DELETE $V/v1
log "$n requests: the same status and body from ufrpc and frpc"

# the proxy made through the API carries traffic on both
wait_proxy "$WORK/ufrpc.log" s1
out=$("$TOOL" load "${RS1B[u]}" 65536 2 30) || fail "ufrpc's store proxy s1: $out"
out=$("$TOOL" load "${RS1B[f]}" 65536 2 30) || fail "frpc's store proxy s1: $out"
grep -q 'store: updated proxy "s1"' "$WORK/ufrpc.log" || fail "no 'store: updated proxy' line"
python3 - "$WORK/u/store.json" "$WORK/f/store.json" "${RS1B[u]}" "${RS1B[f]}" <<'PY' || fail "store files differ"
import json, sys
u, f = (json.load(open(p)) for p in sys.argv[1:3])
def norm(d, port):
    s = json.dumps({k: sorted(v, key=lambda e: e["name"]) for k, v in d.items()}, sort_keys=True)
    return s.replace(port, "S1B")
if norm(u, sys.argv[3]) != norm(f, sys.argv[4]):
    print("ufrpc:", norm(u, sys.argv[3]))
    print("frpc: ", norm(f, sys.argv[4]))
    sys.exit(1)
PY
log "store files hold the same entries"
# /api/status: the store's proxy is marked "source":"store", the config's is not
wait_proxy "$WORK/frpc.log" s1
for c in u f; do
    curl -sS --max-time 10 "http://127.0.0.1:${ADMIN[$c]}/api/status" >"$WORK/status-$c.json" ||
        fail "$c: /api/status"
done
python3 - "$WORK/status-u.json" "$WORK/status-f.json" "${RS1B[u]}:${RS1B[f]}" "${RCFG[u]}:${RCFG[f]}" <<'PY' ||
import json, sys
u, f = (open(p).read() for p in sys.argv[1:3])
for pair in sys.argv[3:]:
    a, b = pair.split(":")
    u = u.replace(":" + a + '"', ":" + b + '"')
u, f = json.loads(u), json.loads(f)
norm = lambda d: {t: sorted(ps, key=lambda p: p["name"]) for t, ps in d.items()}
if norm(u) != norm(f):
    print("ufrpc:", json.dumps(norm(u), sort_keys=True))
    print("frpc: ", json.dumps(norm(f), sort_keys=True))
    sys.exit(1)
src = {p["name"]: p.get("source", "") for p in norm(u)["tcp"]}
sys.exit(0 if src == {"cfg": "", "s1": "store"} else 1)
PY
    fail "/api/status differs from frpc's"
log "/api/status: the same as frpc's, s1 marked \"source\":\"store\""
stop_ufrpc
pass
