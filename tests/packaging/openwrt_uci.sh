#!/bin/sh
# packaging_openwrt: the OpenWrt init script parses (sh -n) and turns UCI
# configurations into frpc TOML that `ufrpc verify` accepts, with the values
# where they belong (checked through `verify --print --json`); bad options stop
# it. Run under a stand-in for OpenWrt's functions.sh (uci_mock.sh).
# Usage: openwrt_uci.sh UFRPC SOURCE_DIR
set -eu
UFRPC=$1
SRC=$2
INIT="$SRC/packaging/openwrt/ufrpc/files/ufrpc.init"
DEFAULT_UCI="$SRC/packaging/openwrt/ufrpc/files/ufrpc.config"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# the system's python3 when there is one: a version manager's shim can take seconds
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

sh -n "$INIT" || fail "sh -n $INIT"
if command -v dash >/dev/null 2>&1; then dash -n "$INIT" || fail "dash -n $INIT"; fi

# gen UCI_FILE OUT: runs the init script's converter on UCI_FILE; prints UFRPC_BAD.
gen() {
	sh -c '
		. "$1/tests/packaging/uci_mock.sh"
		. "$2"
		config_load "$3"
		UFRPC_BAD=0
		ufrpc_write_toml main >"$4"
		echo "$UFRPC_BAD"
	' gen "$SRC" "$INIT" "$1" "$2"
}

# 1. the shipped default, switched on with its two example proxies
sed -e "s/option enabled '0'/option enabled '1'/" -e "s/option token ''/option token 'tok\"en\\\\1'/" \
	"$DEFAULT_UCI" >"$T/default"
[ "$(gen "$T/default" "$T/default.toml")" = 0 ] || fail "the default UCI file was refused"
"$UFRPC" verify -c "$T/default.toml" >"$T/verify.out" 2>&1 || { cat "$T/default.toml" "$T/verify.out"; fail "verify of the default"; }
"$UFRPC" verify -c "$T/default.toml" --print --json >"$T/print.json" 2>&1 || fail "verify --print"
"$PY" - "$T/print.json" "$T/default.toml" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
d = json.loads(raw[raw.index('{'):raw.rindex('}') + 1])
def get(o, *path):
    for p in path:
        o = o[p]
    return o
exp = [(("serverAddr",), "frps.example.com"), (("serverPort",), 7000),
       (("auth", "method"), "token"), (("transport", "tls", "enable"), True),
       (("transport", "tcpMux"), True), (("log", "level"), "info"), (("log", "to"), "console")]
for path, want in exp:
    got = get(d, *path)
    assert got == want, (path, got, want)
px = {p["name"]: p for p in d["proxies"]}
assert set(px) == {"ssh", "luci"}, px.keys()
assert px["ssh"]["type"] == "tcp" and px["ssh"]["localPort"] == 22 and px["ssh"]["remotePort"] == 6000, px["ssh"]
assert px["luci"]["type"] == "http" and px["luci"]["customDomains"] == ["router.example.com"], px["luci"]
# the token went through TOML escaping intact: the file holds it escaped
toml = open(sys.argv[2]).read()
assert 'auth.token = "tok\\"en\\\\1"' in toml, toml
PY

# 2. every converted option, lists, names, a disabled proxy
cat >"$T/full" <<'UCI'
config ufrpc 'main'
	option enabled '1'
	option server_addr '192.0.2.1'
	option server_port '7001'
	option user 'router'
	option login_fail_exit '0'
	option tls 'off'
	option tcp_mux '0'
	option protocol 'websocket'
	option log_level 'debug'
	option log_file '/tmp/ufrpc.log'
	option admin_addr '127.0.0.1'
	option admin_port '7400'
	option admin_user 'admin'
	option admin_password 'pw'

config proxy 'web'
	option name 'my web'
	option type 'http'
	option local_port '8080'
	list custom_domains 'a.example.com'
	list custom_domains 'b.example.com'
	list locations '/'
	list locations '/api'
	option use_encryption '1'
	option use_compression 'yes'
	option bandwidth_limit '1MB'

config proxy 'off'
	option enabled '0'
	option type 'tcp'
	option local_port '1'
	option remote_port '2'
UCI
[ "$(gen "$T/full" "$T/full.toml")" = 0 ] || fail "the full UCI file was refused"
"$UFRPC" verify -c "$T/full.toml" --print --json >"$T/full.json" 2>&1 || { cat "$T/full.toml" "$T/full.json"; fail "verify of the full file"; }
"$PY" - "$T/full.json" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
d = json.loads(raw[raw.index('{'):raw.rindex('}') + 1])
assert d["serverAddr"] == "192.0.2.1" and d["serverPort"] == 7001 and d["user"] == "router", d
assert d["loginFailExit"] is False
assert d["transport"]["tls"]["enable"] is False and d["transport"]["tcpMux"] is False
assert d["transport"]["protocol"] == "websocket"
assert d["log"]["level"] == "debug" and d["log"]["to"] == "/tmp/ufrpc.log"
assert d["webServer"]["port"] == 7400 and d["webServer"]["user"] == "admin"
assert [p["name"] for p in d["proxies"]] == ["my web"], d["proxies"]
p = d["proxies"][0]
assert p["customDomains"] == ["a.example.com", "b.example.com"] and p["locations"] == ["/", "/api"], p
t = p["transport"]
assert t["useEncryption"] is True and t["useCompression"] is True and t["bandwidthLimit"] == "1MB", t
PY

# 3. refused: a port that is not a number, an unknown proxy type
printf "config ufrpc 'main'\n\toption server_port '70x0'\n" >"$T/bad1"
[ "$(gen "$T/bad1" "$T/bad1.toml" 2>"$T/bad1.err")" = 1 ] || fail "a bad port was accepted"
grep -q "main.server_port: '70x0' is not a number" "$T/bad1.err" || fail "bad port message: $(cat "$T/bad1.err")"
printf "config ufrpc 'main'\nconfig proxy 'p'\n\toption type 'ftp'\n" >"$T/bad2"
[ "$(gen "$T/bad2" "$T/bad2.toml" 2>"$T/bad2.err")" = 1 ] || fail "an unknown type was accepted"
grep -q "proxy p: unknown type 'ftp'" "$T/bad2.err" || fail "bad type message: $(cat "$T/bad2.err")"
echo "packaging_openwrt: ok"
