#!/usr/bin/env bash
# dashboard.sh: ufrpc's page at the webServer's /. Without JavaScript (curl) the
# proxies table is there, server-rendered; basic auth is enforced; in headless
# Chromium (skipped, exit 77, when neither chromium nor node is installed) the page
# loads without console errors, shows the running proxies, draws their sparklines
# from /api/metrics, and a screenshot is written to the build dir
# (dashboard-screenshot.png, a CI artifact).
source "$(dirname "$0")/../e2e/lib.sh"
MUX=true
TOKEN="d-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX"
start_echo echo
R1=$(freeport)
R2=$(freeport)
ADMIN=$(freeport)
write_config "$WORK/frpc.toml" "$PEER_PORT" "$TOKEN" "$MUX" false true web "$ECHO_PORT" "$R1" \
    "webServer.port = $ADMIN
webServer.user = \"admin\"
webServer.password = \"pw-$TOKEN\""
cat >>"$WORK/frpc.toml" <<EOT

[[proxies]]
name = "ssh<&>"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R2
EOT
start_ufrpc ufrpc "$WORK/frpc.toml"
wait_line "$WORK/ufrpc.log" "\\[web\\] start proxy success" 20 || fail "proxy web not started"
wait_line "$WORK/ufrpc.log" "\\[ssh<&>\\] start proxy success" 20 || fail "proxy ssh<&> not started"
"$TOOL" load "$R1" 200000 2 30 >/dev/null || fail "traffic through web"

URL="http://127.0.0.1:$ADMIN/"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL")
[ "$code" = 401 ] || fail "/ without credentials answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:nope "$URL")
[ "$code" = 401 ] || fail "/ with a wrong password answered $code"
curl -sS --max-time 10 -u "admin:pw-$TOKEN" -o "$WORK/page.html" "$URL" || fail "GET /"
grep -q '<tr data-name="web"><td>web</td><td>tcp</td><td class="st running">running</td>' "$WORK/page.html" ||
    fail "no server-rendered row for web: $(grep -n data-name "$WORK/page.html")"
grep -q '<tr data-name="ssh&lt;&amp;&gt;"><td>ssh&lt;&amp;&gt;</td>' "$WORK/page.html" ||
    fail "the name ssh<&> is not escaped: $(grep -n data-name "$WORK/page.html")"
size=$(wc -c <"$WORK/page.html")
log "page: $size bytes"

CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ] || ! command -v node >/dev/null; then
    log "chromium or node not installed: the browser part is skipped"
    stop_ufrpc
    E2E_FAILED=0
    exit 77
fi
OUT=${UFRPC_BINARY_DIR:-$WORK}/dashboard-screenshot.png
node "$(dirname "$0")/dashboard_cdp.js" "$CHROME" "$URL" \
    "Basic $(printf 'admin:pw-%s' "$TOKEN" | base64 -w0)" "$OUT" web 'ssh<&>' \
    >"$WORK/cdp.log" 2>&1 || fail "chromium: $(cat "$WORK/cdp.log")"
cat "$WORK/cdp.log"
[ -s "$OUT" ] || fail "no screenshot"
grep -q '^# edited in the dashboard$' "$WORK/frpc.toml" || fail "the editor's PUT /api/config did not reach the file"
wait_line "$WORK/ufrpc.log" 'success reload conf' 10 || fail "the page's reload did not reload"
stop_ufrpc
pass
