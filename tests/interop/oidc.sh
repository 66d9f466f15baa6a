#!/usr/bin/env bash
# oidc.sh: auth.method = "oidc" against the real frps, which verifies the token
# (go-oidc: issuer discovery, JWKS, RS256 signature, audience) with a small local
# OpenID provider (tests/oidc/oidc_provider.py). ufrpc logs in and tunnels; a
# token for another audience is refused by frps, and ufrpc says so.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_oidc
need_frps
PY=python3
$PY -c 'import cryptography' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
"$PY" "$INTEROP_DIR/../oidc/oidc_provider.py" </dev/null >"$WORK/idp.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/idp.log" '^READY ' 20 || fail "the OpenID provider did not start"
IDP=$(ready_port "$WORK/idp.log")
FRPS_PORT=$(freeport)
frps_config "$FRPS_PORT" unused true "auth.method = \"oidc\"
auth.oidc.issuer = \"http://127.0.0.1:$IDP\"
auth.oidc.audience = \"frps\"" | grep -v '^auth.token' >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"
start_echo echo
R=$(freeport)
client() { # FILE AUDIENCE
    {
        client_config "$FRPS_PORT" unused true true | grep -v '^auth\.'
        cat <<CONF
auth.method = "oidc"
auth.oidc.clientID = "client!"
auth.oidc.clientSecret = "s3cr:t"
auth.oidc.audience = "$2"
auth.oidc.tokenEndpointURL = "http://127.0.0.1:$IDP/token"

[[proxies]]
name = "echo"
type = "tcp"
localIP = "127.0.0.1"
localPort = $ECHO_PORT
remotePort = $R
CONF
    } >"$1"
}
client "$WORK/ok.toml" frps
start_ufrpc ufrpc "$WORK/ok.toml"
wait_proxy "$WORK/ufrpc.log" echo
"$TOOL" load "$R" 1048576 4 60 >"$WORK/load.out" || { cat "$WORK/load.out"; fail "traffic"; }
log "token verified by frps: $(cat "$WORK/load.out")"
stop_ufrpc
client "$WORK/bad.toml" other
rc=0
timeout 60 "$UFRPC" -c "$WORK/bad.toml" </dev/null >"$WORK/bad.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit $rc with a token for another audience"
grep -q "login to the server failed: .*" "$WORK/bad.log" || fail "no login failure line"
log "another audience: refused ($(grep -o 'login to the server failed: [^.]*' "$WORK/bad.log" | head -n 1))"
pass
