#!/usr/bin/env bash
# plugins_e2e.sh: ufrpc logs into the test frps with a proxy per plugin, chained
# through the frps remote ports:
#   www    static_file over $WORK/www            (remote port R_WWW)
#   socks  socks5, username/password              (remote port R_SOCKS)
#   proxy  http_proxy with httpUser/httpPassword  (remote port R_PROXY)
#   tls    https2http to the www remote port      (remote port R_TLS)
#   h2h    http2http to www; h2s http2https and s2s https2https to tls;
#   t2r    tls2raw to www; uds unix_domain_socket to a socat socket in front of www;
#   udsj   unix_domain_socket to a service that half-closes at once (the first
#          EOF must end both connections, as frpc's io.Join; needs python3)
# and virtual_net, which must be refused with a clear message while the others
# keep working. curl then fetches the same file directly, through socks5
# (--socks5-hostname), through the HTTP proxy (plain and CONNECT), and over TLS.
# Bad input (a bad SOCKS greeting, garbage HTTP) closes only that connection.
source "$(dirname "$0")/../e2e/lib.sh"
E2E_NAME=plugins
TOKEN="e2e-$RANDOM-plugins"

start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --tls=off --mux=false
mkdir -p "$WORK/www"
echo "hello from static_file" >"$WORK/www/hello.txt"
R_WWW=$(freeport)
R_SOCKS=$(freeport)
R_PROXY=$(freeport)
R_TLS=$(freeport)
R_VNET=$(freeport)
R_H2H=$(freeport)
R_H2S=$(freeport)
R_S2S=$(freeport)
R_T2R=$(freeport)
R_UDS=$(freeport)
R_UDSJ=$(freeport)
# unix socket in front of the www remote port, for unix_domain_socket
HAVE_SOCAT=false
if command -v socat >/dev/null 2>&1; then
    socat "UNIX-LISTEN:$WORK/www.sock,fork" "TCP:127.0.0.1:$R_WWW" </dev/null \
        >"$WORK/socat.log" 2>&1 &
    E2E_PIDS+=("$!")
    HAVE_SOCAT=true
fi
# a unix service that writes "bye", half-closes and reports its peer's EOF, for
# the io.Join check of unix_domain_socket (the first EOF ends both sides)
HAVE_PY=false
if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import socket, sys
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(sys.argv[1])
l.listen(4)
print("READY", flush=True)
while True:
    c, _ = l.accept()
    c.sendall(b"bye")
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    print("SERVER-EOF", flush=True)
    c.close()
' "$WORK/fin.sock" </dev/null >"$WORK/finsrv.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/finsrv.log" '^READY' 10 || fail "the unix fin service did not start"
    HAVE_PY=true
fi
{
    common_config "$PEER_PORT" "$TOKEN" "false" "false"
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
name = "tls"
type = "tcp"
remotePort = $R_TLS
[proxies.plugin]
type = "https2http"
localAddr = "127.0.0.1:$R_WWW"
hostHeaderRewrite = "inner.example"

[[proxies]]
name = "h2h"
type = "tcp"
remotePort = $R_H2H
[proxies.plugin]
type = "http2http"
localAddr = "127.0.0.1:$R_WWW"
requestHeaders.set.x-from = "ufrpc"

[[proxies]]
name = "h2s"
type = "tcp"
remotePort = $R_H2S
[proxies.plugin]
type = "http2https"
localAddr = "127.0.0.1:$R_TLS"

[[proxies]]
name = "s2s"
type = "tcp"
remotePort = $R_S2S
[proxies.plugin]
type = "https2https"
localAddr = "127.0.0.1:$R_TLS"

[[proxies]]
name = "t2r"
type = "tcp"
remotePort = $R_T2R
[proxies.plugin]
type = "tls2raw"
localAddr = "127.0.0.1:$R_WWW"

[[proxies]]
name = "uds"
type = "tcp"
remotePort = $R_UDS
[proxies.plugin]
type = "unix_domain_socket"
unixPath = "$WORK/www.sock"

[[proxies]]
name = "udsj"
type = "tcp"
remotePort = $R_UDSJ
[proxies.plugin]
type = "unix_domain_socket"
unixPath = "$WORK/fin.sock"

[[proxies]]
name = "vnet"
type = "tcp"
remotePort = $R_VNET
[proxies.plugin]
type = "virtual_net"
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in www socks proxy tls h2h h2s s2s t2r uds udsj; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$n " 20 || fail "proxy $n not registered"
done
wait_line "$WORK/ufrpc.log" "virtual_net is not supported" 10 ||
    fail "no clear message for virtual_net"

want="hello from static_file"
get() { curl -s --max-time 10 "$@" 2>&1 || true; }

out=$(get "http://127.0.0.1:$R_WWW/hello.txt")
[ "$out" = "$want" ] || fail "static_file: got '$out'"
log "static_file ok"

out=$(get --socks5-hostname "alice:wonder@127.0.0.1:$R_SOCKS" "http://localhost:$R_WWW/hello.txt")
[ "$out" = "$want" ] || fail "socks5: got '$out'"
out=$(get --socks5-hostname "alice:wrong@127.0.0.1:$R_SOCKS" "http://localhost:$R_WWW/hello.txt")
[ "$out" != "$want" ] || fail "socks5 accepted a wrong password"
log "socks5 ok"

out=$(get -x "http://127.0.0.1:$R_PROXY" -U u:p "http://127.0.0.1:$R_WWW/hello.txt")
[ "$out" = "$want" ] || fail "http_proxy plain: got '$out'"
out=$(get -p -x "http://127.0.0.1:$R_PROXY" -U u:p "http://127.0.0.1:$R_WWW/hello.txt")
[ "$out" = "$want" ] || fail "http_proxy CONNECT: got '$out'"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$R_PROXY" \
    "http://127.0.0.1:$R_WWW/hello.txt" || true)
[ "$code" = 407 ] || fail "http_proxy without credentials: $code"
log "http_proxy ok"

out=$(get -k "https://127.0.0.1:$R_TLS/hello.txt")
[ "$out" = "$want" ] || fail "https2http: got '$out'"
log "https2http ok"

out=$(get "http://127.0.0.1:$R_H2H/hello.txt")
[ "$out" = "$want" ] || fail "http2http: got '$out'"
out=$(get "http://127.0.0.1:$R_H2S/hello.txt")
[ "$out" = "$want" ] || fail "http2https (to https2http): got '$out'"
out=$(get -k "https://127.0.0.1:$R_S2S/hello.txt")
[ "$out" = "$want" ] || fail "https2https (to https2http): got '$out'"
out=$(get -k "https://127.0.0.1:$R_T2R/hello.txt")
[ "$out" = "$want" ] || fail "tls2raw: got '$out'"
log "http2http, http2https, https2https, tls2raw ok"
if [ "$HAVE_SOCAT" = true ]; then
    out=$(get "http://127.0.0.1:$R_UDS/hello.txt")
    [ "$out" = "$want" ] || fail "unix_domain_socket: got '$out'"
    log "unix_domain_socket ok"
fi
if [ "$HAVE_PY" = true ]; then
    # the service half-closes; the user reads "bye" and EOF and keeps its own side
    # open: as frpc's io.Join, the plugin must end the unix connection anyway
    python3 "$(dirname "$0")/../visitors/net_tool.py" readeof "$R_UDSJ" 20 >"$WORK/readeof.out" 2>&1 &
    RE_PID=$!
    E2E_PIDS+=("$RE_PID")
    wait_line "$WORK/readeof.out" '^EOF$' 20 ||
        fail "unix_domain_socket: the user did not get bye and EOF: $(cat "$WORK/readeof.out")"
    wait_line "$WORK/finsrv.log" '^SERVER-EOF' 10 ||
        fail "unix_domain_socket: the unix connection stayed open after its service's EOF"
    kill "$RE_PID" 2>/dev/null || true
    wait "$RE_PID" 2>/dev/null || true
    log "unix_domain_socket: the service's EOF ended both connections (io.Join)"
fi

# bad input closes only that connection, with a reason in ufrpc's log
# (each sender reads until the plugin closes: the test frps does not ignore SIGPIPE,
# so the user side must not vanish before the answer is written)
send_bad() { # PORT PRINTF_FORMAT
    timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf '$2' >&3; cat <&3 >/dev/null" ||
        true
}
send_bad "$R_SOCKS" '\x04\x01\x00\x50'
wait_line "$WORK/ufrpc.log" "bad greeting" 10 || fail "bad SOCKS greeting not logged"
send_bad "$R_PROXY" 'garbage\r\n\r\n'
wait_line "$WORK/ufrpc.log" "malformed HTTP request" 10 || fail "garbage HTTP not logged"
out=$(get --socks5-hostname "alice:wonder@127.0.0.1:$R_SOCKS" "http://localhost:$R_WWW/hello.txt")
[ "$out" = "$want" ] || fail "socks5 after bad input: got '$out'"
grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" &&
    fail "the control session was closed during the test"

stop_ufrpc
pass
