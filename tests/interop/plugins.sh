#!/usr/bin/env bash
# plugins.sh: ufrpc's client plugins behind the real frps:
#   www    tcp + static_file over $WORK/www (a text file and 1 MiB of random bytes)
#   socks  tcp + socks5 (username/password)
#   proxy  tcp + http_proxy (httpUser/httpPassword)
#   app    https (frps's vhostHTTPSPort, routed by SNI) + https2http to a local HTTP
#          service, with our own certificate, hostHeaderRewrite and a set header
# curl fetches the files directly, through socks5 (--socks5-hostname, the target
# being the www remote port on frps), through the HTTP proxy (plain and CONNECT),
# every download compared byte for byte; wrong or missing credentials are refused;
# the https proxy answers with the plugin's certificate (verified) and the local
# service sees the rewritten Host and the header.
source "$(dirname "$0")/lib.sh"
E2E_NAME=interop_plugins
need_frps
TOKEN="plug-$RANDOM"
FRPS_PORT=$(freeport)
VHOSTS=$(freeport)
frps_config "$FRPS_PORT" "$TOKEN" true "vhostHTTPSPort = $VHOSTS" >"$WORK/frps.toml"
start_frps frps "$WORK/frps.toml"

mkdir -p "$WORK/www"
echo "hello from static_file" >"$WORK/www/hello.txt"
head -c 1048576 /dev/urandom >"$WORK/www/blob.bin"
python3 "$INTEROP_DIR/../vhost/http_echo.py" APP </dev/null >"$WORK/app.log" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$WORK/app.log" '^READY ' 10 || fail "http service did not start"
APP_PORT=$(ready_port "$WORK/app.log")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=app.example.com" -addext "subjectAltName=DNS:app.example.com" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl.out" 2>&1 ||
    fail "openssl req failed"

R_WWW=$(freeport)
R_SOCKS=$(freeport)
R_PROXY=$(freeport)
{
    client_config "$FRPS_PORT" "$TOKEN" true true
    cat <<CONF

[[proxies]]
name = "www"
type = "tcp"
remotePort = $R_WWW
[proxies.plugin]
type = "static_file"
localPath = "$WORK/www"

[[proxies]]
name = "socks"
type = "tcp"
remotePort = $R_SOCKS
[proxies.plugin]
type = "socks5"
username = "alice"
password = "wonder"

[[proxies]]
name = "proxy"
type = "tcp"
remotePort = $R_PROXY
[proxies.plugin]
type = "http_proxy"
httpUser = "u"
httpPassword = "p"

[[proxies]]
name = "app"
type = "https"
customDomains = ["app.example.com"]
[proxies.plugin]
type = "https2http"
localAddr = "127.0.0.1:$APP_PORT"
crtPath = "$WORK/cert.pem"
keyPath = "$WORK/key.pem"
hostHeaderRewrite = "inner.example.com"
requestHeaders.set.x-from = "ufrpc"
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for p in www socks proxy app; do wait_proxy "$WORK/ufrpc.log" "$p"; done

fetch() { # OUT CURL_ARGS...: downloads into $WORK/OUT; prints the HTTP status
    local out=$1
    shift
    curl -sS --max-time 20 -o "$WORK/$out" -w '%{http_code}' "$@" 2>>"$WORK/curl.err" || true
}
same() { # OUT FILE: the download equals the served file
    cmp -s "$WORK/$1" "$WORK/www/$2"
}

# static_file, straight through frps
[ "$(fetch d1 "http://127.0.0.1:$R_WWW/hello.txt")" = 200 ] && same d1 hello.txt ||
    fail "static_file: hello.txt"
[ "$(fetch d2 "http://127.0.0.1:$R_WWW/blob.bin")" = 200 ] && same d2 blob.bin ||
    fail "static_file: blob.bin differs"
[ "$(fetch d3 "http://127.0.0.1:$R_WWW/missing.txt")" = 404 ] || fail "static_file: missing file not 404"
log "static_file: text and 1 MiB identical, missing file 404"

# socks5: the target is the www remote port (back through frps)
[ "$(fetch s1 --socks5-hostname "alice:wonder@127.0.0.1:$R_SOCKS" "http://localhost:$R_WWW/blob.bin")" = 200 ] &&
    same s1 blob.bin || fail "socks5: blob.bin"
rm -f "$WORK/s2"
code=$(fetch s2 --socks5-hostname "alice:wrong@127.0.0.1:$R_SOCKS" "http://localhost:$R_WWW/hello.txt")
[ "$code" = 000 ] && ! [ -s "$WORK/s2" ] || fail "socks5 accepted a wrong password ($code)"
log "socks5: 1 MiB identical, wrong password refused"

# http_proxy: plain forwarding and CONNECT
[ "$(fetch h1 -x "http://127.0.0.1:$R_PROXY" -U u:p "http://127.0.0.1:$R_WWW/blob.bin")" = 200 ] &&
    same h1 blob.bin || fail "http_proxy plain: blob.bin"
[ "$(fetch h2 -p -x "http://127.0.0.1:$R_PROXY" -U u:p "http://127.0.0.1:$R_WWW/blob.bin")" = 200 ] &&
    same h2 blob.bin || fail "http_proxy CONNECT: blob.bin"
code=$(fetch h3 -x "http://127.0.0.1:$R_PROXY" "http://127.0.0.1:$R_WWW/hello.txt")
[ "$code" = 407 ] || fail "http_proxy without credentials answered $code, want 407"
log "http_proxy: plain and CONNECT 1 MiB identical, no credentials 407"

# https + https2http: frps routes by SNI, the plugin terminates TLS with our cert
[ "$(fetch t1 --cacert "$WORK/cert.pem" --resolve "app.example.com:$VHOSTS:127.0.0.1" \
    "https://app.example.com:$VHOSTS/some/path?q=1")" = 200 ] || fail "https2http request failed"
body=$(cat "$WORK/t1")
grep -q '^service=APP$' <<<"$body" || fail "https2http did not reach the service: $body"
grep -q '^path=/some/path?q=1$' <<<"$body" || fail "https2http changed the path: $body"
grep -q '^host=inner.example.com$' <<<"$body" || fail "https2http did not rewrite Host: $body"
grep -q '^h:x-from=ufrpc$' <<<"$body" || fail "https2http did not set x-from: $body"
[ "$(fetch t2 --cacert "$WORK/cert.pem" --resolve "app.example.com:$VHOSTS:127.0.0.1" \
    "https://app.example.com:$VHOSTS/big/2097152")" = 200 ] || fail "https2http big answer"
python3 - "$WORK/t2" <<'PY' || fail "https2http big answer corrupted"
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(0 if len(d) == 2097152 and d == bytes(range(251)) * (len(d) // 251) + bytes(range(len(d) % 251)) else 1)
PY
log "https2http: certificate verified, Host rewritten, header set, 2 MiB intact"

[ "$(count_lines "$WORK/ufrpc.log" 'login to server success')" = 1 ] || fail "ufrpc logged in again"
stop_ufrpc
pass
