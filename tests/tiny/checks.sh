#!/usr/bin/env bash
# checks.sh: a ufrpc of the tiny preset (UFRPC = its binary; run by tests/tiny/run.sh)
# against the native test frps. Checks that what the preset keeps works and that
# what it leaves out is refused by name:
#   - a TLS + tcpMux tunnel: login, the proxy registered, 1 MiB and 10 concurrent
#     connections sha256-checked through it (e2e-tool), a clean exit on SIGTERM;
#   - the admin API on the same run: /api/status lists the proxy, /metrics,
#     /api/metrics, /dashboard (UFRPC_WITH_METRICS=OFF) and /api/store/proxies
#     (UFRPC_WITH_STORE=OFF) answer 404;
#   - `ufrpc verify` of a file with a key of each left-out feature (kcp, quic, wire
#     v2, xtcp, store, token exec, plugins, routes, alerts): exit 1 and one line per
#     key with file:line and the CMake option; the same file refused at start;
#   - the left-out commands (completion, diagnose, nathole discover, a quick-run
#     command) exit 1 naming their option.
# Environment as tests/e2e/lib.sh (UFRPC, PEER, TOOL).
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME="tiny_checks"
TOKEN="tiny-$RANDOM-token"

# ---- refusals (no server needed)
cat >"$WORK/left_out.toml" <<'EOF'
serverAddr = "127.0.0.1"
serverPort = 7000
transport.protocol = "kcp"
store.path = "./store.json"
auth.tokenSource.type = "exec"
auth.tokenSource.exec.command = "echo"

[[proxies]]
name = "p2p"
type = "xtcp"
secretKey = "k"
localPort = 22

[[proxies]]
name = "web"
type = "tcp"
remotePort = 6001
[proxies.plugin]
type = "http_proxy"

[[visitors]]
name = "v"
type = "xtcp"
serverName = "p2p"
secretKey = "k"
bindPort = 6000

[[proxies]]
name = "site"
type = "http"
customDomains = ["example.com"]
[[proxies.routes]]
location = "/api"
localPort = 8080

[alerts]
downSeconds = 30
EOF
rc=0
"$UFRPC" verify -c "$WORK/left_out.toml" >"$WORK/verify.out" 2>&1 || rc=$?
cat "$WORK/verify.out"
[ "$rc" = 1 ] || fail "verify of left-out keys exited $rc, not 1"
for want in ':3: .*transport.protocol = "kcp".*UFRPC_WITH_KCP=OFF' \
    ':4: .*store.path.*UFRPC_WITH_STORE=OFF' \
    ':5: .*auth.tokenSource.type = "exec".*UFRPC_WITH_TOKEN_EXEC=OFF' \
    ':10: .*proxy \[p2p\]: type = "xtcp".*UFRPC_WITH_XTCP=OFF' \
    ':18: .*proxy \[web\]: plugin.type.*UFRPC_WITH_PLUGINS=OFF' \
    ':23: .*visitor \[v\]: type = "xtcp".*UFRPC_WITH_XTCP=OFF' \
    ':32: .*proxy \[site\]: routes.*UFRPC_WITH_PLUGINS=OFF' \
    ':37: .*\[alerts\].*UFRPC_WITH_ALERTS=OFF'; do
    grep -q -E -e "left_out\.toml$want" "$WORK/verify.out" || fail "verify did not say: $want"
done
sed -i 's/"kcp"/"quic"/; s/^serverPort = 7000$/transport.wireProtocol = "v2"/' "$WORK/left_out.toml"
"$UFRPC" verify -c "$WORK/left_out.toml" >"$WORK/verify2.out" 2>&1 && fail "verify of quic passed"
grep -q -E ':3: .*transport.protocol = "quic".*UFRPC_QUIC=OFF' "$WORK/verify2.out" ||
    { cat "$WORK/verify2.out"; fail "quic not refused by name"; }
grep -q -E ':2: .*transport.wireProtocol = "v2".*UFRPC_WITH_WIRE_V2=OFF' "$WORK/verify2.out" ||
    { cat "$WORK/verify2.out"; fail "wire protocol v2 not refused by name"; }
printf 'serverAddr = "127.0.0.1"\n\nauth.token = "{{ .Envs.FRP_TOKEN }}"\n' >"$WORK/tmpl.toml"
"$UFRPC" verify -c "$WORK/tmpl.toml" >"$WORK/verify3.out" 2>&1 && fail "verify of a template passed"
grep -q -E 'tmpl\.toml:3: .*templates.*UFRPC_WITH_TEMPLATE=OFF' "$WORK/verify3.out" ||
    { cat "$WORK/verify3.out"; fail "template not refused by name and line"; }
# the same file is refused at start, before any connection
rc=0
"$UFRPC" -c "$WORK/left_out.toml" </dev/null >"$WORK/start.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$WORK/start.out"; fail "ufrpc started on left-out keys (exit $rc)"; }
grep -q 'UFRPC_WITH_STORE=OFF' "$WORK/start.out" || { cat "$WORK/start.out"; fail "no refusal at start"; }

for cmd in "completion bash:UFRPC_WITH_COMPLETION" "diagnose:UFRPC_WITH_DIAGNOSE" \
    "nathole discover:UFRPC_WITH_XTCP" "tcp:UFRPC_WITH_QUICK"; do
    args=${cmd%%:*} opt=${cmd#*:}
    rc=0
    # shellcheck disable=SC2086 # the command's words
    "$UFRPC" $args >"$WORK/cmd.out" 2>&1 </dev/null || rc=$?
    [ "$rc" = 1 ] && grep -q "$opt=OFF" "$WORK/cmd.out" ||
        { cat "$WORK/cmd.out"; fail "'ufrpc $args' exited $rc without naming $opt"; }
done
log "left-out keys and commands refused by name"

# ---- a tunnel, and the admin API on the same run
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=force --mux=true
start_echo echo
REMOTE=$(freeport)
ADMIN=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" true true true echo "$ECHO_PORT" "$REMOTE" \
    "webServer.addr = \"127.0.0.1\"
webServer.port = $ADMIN"
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/ufrpc.log" 'login to server success' 30 || fail "no login"
wait_line "$WORK/ufrpc.log" '\[echo\] start proxy success' 30 || fail "no 'start proxy success'"
grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS handshake at the peer"
"$TOOL" load "$REMOTE" $((1024 * 1024)) 1 60 >"$WORK/load1.out" 2>&1 ||
    { cat "$WORK/load1.out"; fail "1 MiB transfer failed"; }
"$TOOL" load "$REMOTE" $((64 * 1024)) 10 60 >"$WORK/load10.out" 2>&1 ||
    { cat "$WORK/load10.out"; fail "concurrent transfers failed"; }
cat "$WORK/load1.out" "$WORK/load10.out"

code=$(curl -s -o "$WORK/status.json" -w '%{http_code}' "http://127.0.0.1:$ADMIN/api/status")
[ "$code" = 200 ] && grep -q '"name":"echo"' "$WORK/status.json" ||
    { cat "$WORK/status.json"; fail "/api/status answered $code"; }
for p in /metrics /api/metrics /dashboard /api/store/proxies; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN$p")
    [ "$code" = 404 ] || fail "$p answered $code, not 404"
done
log "admin API: /api/status 200; /metrics, /api/metrics, /dashboard, /api/store/proxies 404"

stop_ufrpc
pass
