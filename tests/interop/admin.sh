#!/usr/bin/env bash
# admin.sh: ufrpc's admin API next to the real frpc's, both against the real frps.
# ufrpc (proxies u_*) and frpc (proxies f_*) run the same config but for names,
# remote ports and webServer.port (user/password set): a running tcp and udp proxy,
# a static_file plugin proxy, a tcp proxy on frps's own port (start error: port
# unavailable) and an http proxy while frps has no vhostHTTPPort (start error).
# Checks:
#  1. `ufrpc status -c` prints exactly what `frpc status -c` prints once the names
#     and remote ports are mapped (whitespace runs folded: the columns are as wide as
#     their contents); both exit 0;
#  2. GET /api/status: the same JSON (keys, states, errors, addresses) once mapped;
#     without credentials both answer 401;
#  3. reload: a proxy is added to each config file and `ufrpc reload -c` /
#     `frpc reload -c` run: same output and exit status; the new proxy carries
#     traffic through frps; a connection opened through u_tcp before the reload
#     still echoes after it; ufrpc did not log in again; status still matches.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_admin
need_frps
need_frpc
TOKEN="adm-$RANDOM"
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
start_udp_echo uecho
mkdir -p "$WORK/www"

declare -A ADMIN RTCP RPLG RNEW
for c in u f; do
    ADMIN[$c]=$(freeport)
    RTCP[$c]=$(freeport)
    RPLG[$c]=$(freeport)
    RNEW[$c]=$(freeport)
done
conf() { # PREFIX
    local c=$1
    client_config "$FRPS_PORT" "$TOKEN" true true "webServer.addr = \"127.0.0.1\"
webServer.port = ${ADMIN[$c]}
webServer.user = \"admin\"
webServer.password = \"pw-$TOKEN\""
    cat <<EOF

[[proxies]]
name = "${c}_tcp"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = ${RTCP[$c]}

[[proxies]]
name = "${c}_udp"
type = "udp"
localIP = "127.0.0.1"
localPort = $UECHO_PORT
remotePort = ${RTCP[$c]}

[[proxies]]
name = "${c}_plg"
type = "tcp"
remotePort = ${RPLG[$c]}
[proxies.plugin]
type = "static_file"
localPath = "$WORK/www"

[[proxies]]
name = "${c}_bad"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $FRPS_PORT

[[proxies]]
name = "${c}_web"
type = "http"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
customDomains = ["${c}.example.com"]
EOF
}
conf u >"$WORK/u.toml"
conf f >"$WORK/f.toml"
start_ufrpc ufrpc "$WORK/u.toml"
start_frpc frpc "$WORK/f.toml"
for c in u f; do
    log_file=$WORK/ufrpc.log
    [ "$c" = f ] && log_file=$WORK/frpc.log
    for p in tcp udp plg; do wait_proxy "$log_file" "${c}_$p"; done
    wait_line "$log_file" "\\[${c}_bad\\] start error: port unavailable" 20 || fail "${c}_bad: no start error"
    wait_line "$log_file" "\\[${c}_web\\] start error: .*vhost http port" 20 || fail "${c}_web: no start error"
done

# ufrpc's text / JSON with u_ names and ports turned into frpc's
map() {
    sed -e 's/\bu_\(tcp\|udp\|plg\|bad\|web\|new\)\b/f_\1/g' -e "s/u\\.example\\.com/f.example.com/g" \
        -e "s/:${RTCP[u]}\\b/:${RTCP[f]}/g" -e "s/:${RPLG[u]}\\b/:${RPLG[f]}/g" \
        -e "s/:${RNEW[u]}\\b/:${RNEW[f]}/g"
}
fold() { sed -e 's/[[:space:]]\+/ /g' -e 's/ $//'; }
compare_status() { # STEP
    local rc=0
    "$UFRPC" status -c "$WORK/u.toml" >"$WORK/status-u-$1.out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail "ufrpc status exited $rc: $(cat "$WORK/status-u-$1.out")"
    rc=0
    "$UFRPC_REAL_FRPC" status -c "$WORK/f.toml" >"$WORK/status-f-$1.out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || fail "frpc status exited $rc: $(cat "$WORK/status-f-$1.out")"
    if ! diff <(map <"$WORK/status-u-$1.out" | fold) <(fold <"$WORK/status-f-$1.out") >"$WORK/status-$1.diff"; then
        cat "$WORK/status-$1.diff"
        fail "ufrpc status ($1) differs from frpc's"
    fi
    grep -q '^Name *Status *LocalAddr *Plugin *RemoteAddr *Error' "$WORK/status-u-$1.out" ||
        fail "no table header in ufrpc status"
    curl -sS --max-time 5 -u "admin:pw-$TOKEN" "http://127.0.0.1:${ADMIN[u]}/api/status" >"$WORK/api-u-$1.json" ||
        fail "ufrpc /api/status"
    curl -sS --max-time 5 -u "admin:pw-$TOKEN" "http://127.0.0.1:${ADMIN[f]}/api/status" >"$WORK/api-f-$1.json" ||
        fail "frpc /api/status"
    map <"$WORK/api-u-$1.json" >"$WORK/api-um-$1.json"
    python3 - "$WORK/api-um-$1.json" "$WORK/api-f-$1.json" <<'PY' || fail "/api/status ($1) differs from frpc's"
import json, sys
u, f = (json.load(open(p)) for p in sys.argv[1:3])
def norm(d):  # order within a type does not matter
    return {t: sorted(ps, key=lambda p: p["name"]) for t, ps in d.items()}
if norm(u) != norm(f):
    print("ufrpc:", json.dumps(norm(u), sort_keys=True))
    print("frpc: ", json.dumps(norm(f), sort_keys=True))
    sys.exit(1)
PY
}
compare_status start
log "status and /api/status match frpc's: $(grep -c . "$WORK/status-f-start.out") lines, states: $(grep -o '"status":"[^"]*"' "$WORK/api-f-start.json" | sort | uniq -c | tr -s ' \n' ' ')"
for c in u f; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:${ADMIN[$c]}/api/status" || true)
    [ "$code" = 401 ] || fail "$c: /api/status without credentials answered $code"
done

# ---- reload -------------------------------------------------------------------------
exec {KFD}<>"/dev/tcp/127.0.0.1/${RTCP[u]}"
printf 'before-reload\n' >&"$KFD"
read -r -t 10 line <&"$KFD" || fail "no echo through u_tcp before the reload"
[ "$line" = before-reload ] || fail "echo through u_tcp: '$line'"
for c in u f; do
    cat >>"$WORK/$c.toml" <<EOF

[[proxies]]
name = "${c}_new"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = ${RNEW[$c]}
EOF
done
rc_u=0
"$UFRPC" reload -c "$WORK/u.toml" >"$WORK/reload-u.out" 2>&1 || rc_u=$?
rc_f=0
"$UFRPC_REAL_FRPC" reload -c "$WORK/f.toml" >"$WORK/reload-f.out" 2>&1 || rc_f=$?
[ "$rc_u" = 0 ] && [ "$rc_f" = 0 ] || fail "reload exit status: ufrpc $rc_u, frpc $rc_f"
cmp -s "$WORK/reload-u.out" "$WORK/reload-f.out" ||
    fail "reload output: ufrpc '$(cat "$WORK/reload-u.out")', frpc '$(cat "$WORK/reload-f.out")'"
wait_proxy "$WORK/ufrpc.log" u_new
wait_proxy "$WORK/frpc.log" f_new
out=$("$TOOL" load "${RNEW[u]}" 1048576 2 30) || fail "u_new after the reload: $out"
log "reload ('$(cat "$WORK/reload-u.out")'): u_new $out"
printf 'after-reload\n' >&"$KFD"
read -r -t 10 line <&"$KFD" || fail "the connection through u_tcp did not survive the reload"
[ "$line" = after-reload ] || fail "echo through u_tcp after the reload: '$line'"
exec {KFD}>&-
out=$("$TOOL" load "${RTCP[u]}" 1048576 2 30) || fail "u_tcp after the reload: $out"
[ "$(count_lines "$WORK/ufrpc.log" 'login to server success')" = 1 ] || fail "ufrpc logged in again"
compare_status reloaded
log "after the reload: old connection alive, u_tcp and u_new carry traffic, status matches"
stop_ufrpc
pass
