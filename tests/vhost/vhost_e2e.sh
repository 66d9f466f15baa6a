#!/usr/bin/env bash
# vhost_e2e.sh MUX(true|false) TLS(true|false): http, https and tcpmux proxies of the
# real ufrpc behind the test frps's vhost ports (tests/peer/peer_vhost*.c), driven
# with curl and a raw socket client (vh_client.py). Local services: http_echo.py
# instances (each answers with its name, the path, the Host and every header it got).
#
# Proves, through the tunnel: Host + location routing (longest prefix; the Host is
# case-insensitive and its port ignored), subdomain + subDomainHost, 404 page for an
# unknown host, httpUser/httpPassword (401 + WWW-Authenticate without or with wrong
# credentials), routeByHTTPUser, hostHeaderRewrite + requestHeaders.set +
# X-Forwarded-*, responseHeaders.set, useEncryption + useCompression on an http proxy,
# Upgrade (101, then a spliced byte stream with early bytes on both sides kept),
# CONNECT on the http port (forwarded as is, then a tunnel; 407 without credentials),
# request bodies (Content-Length and chunked, sha256 checked), keep-alive (the second
# request of one curl reuses the connection), a response delimited by EOF, a malformed
# response from the local service (404 as frps, the next request on the same user
# connection works), garbage instead of a request (400, the next connection works), a
# route conflict refused, https routed by SNI (TLS end to end to a local TLS service;
# unknown SNI refused), tcpmux httpconnect (curl -p -x; unknown host 404; credentials:
# right → tunnel, wrong → frps's 200-then-407). The control stays up throughout; after
# SIGTERM (CloseProxy) the routes are gone.
source "$(dirname "$0")/../e2e/lib.sh"
MUX=${1:-true}
TLS=${2:-false}
E2E_NAME="vhost-mux-$MUX"
HERE=$(cd "$(dirname "$0")" && pwd)
TOKEN="e2e-$RANDOM-vhost"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }

H=$(freeport)
S=$(freeport)
T=$(freeport)
while [ "$S" = "$H" ]; do S=$(freeport); done
while [ "$T" = "$H" ] || [ "$T" = "$S" ]; do T=$(freeport); done
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN" --mux="$MUX" \
    --vhost-http-port "$H" --vhost-https-port "$S" --tcpmux-httpconnect-port "$T" \
    --subdomain-host frps.test
for k in http https tcpmux; do
    wait_line "$WORK/peer.log" "^EVENT vhost-listen kind=$k " 5 || fail "no $k vhost listener"
done

# local services
declare -A PORT
start_service() { # NAME [CERT KEY]
    local n=$1
    shift
    python3 "$HERE/http_echo.py" "$n" "$@" </dev/null >"$WORK/svc-$n.log" 2>&1 &
    E2E_PIDS+=("$!")
    wait_line "$WORK/svc-$n.log" '^READY ' 10 || fail "service $n did not start"
    PORT[$n]=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$WORK/svc-$n.log" | head -n 1)
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=secure.example.com" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >"$WORK/openssl.out" 2>&1 || fail "openssl req failed"
for n in A B C D E F G M; do start_service "$n"; done
start_service S "$WORK/cert.pem" "$WORK/key.pem"
start_echo echo
DOWN_PORT=$(freeport) # nothing listens there

{
    common_config "$PEER_PORT" "$TOKEN" "$MUX" "$TLS"
    cat <<CONF

[[proxies]]
name = "api"
type = "http"
localPort = ${PORT[A]}
customDomains = ["a.example.com"]
locations = ["/api"]

[[proxies]]
name = "web"
type = "http"
localPort = ${PORT[B]}
customDomains = ["a.example.com"]
transport.useEncryption = true
transport.useCompression = true

[[proxies]]
name = "sub"
type = "http"
localPort = ${PORT[C]}
subdomain = "sub"

[[proxies]]
name = "auth"
type = "http"
localPort = ${PORT[D]}
customDomains = ["auth.example.com"]
httpUser = "alice"
httpPassword = "secret"

[[proxies]]
name = "rw"
type = "http"
localPort = ${PORT[E]}
customDomains = ["rw.example.com"]
hostHeaderRewrite = "inner.local"
requestHeaders.set.x-from = "ufrpc"
requestHeaders.set.x-forwarded-proto = "overridden"
responseHeaders.set.x-resp = "vhost"
responseHeaders.set.x-backend = "replaced"

[[proxies]]
name = "bob"
type = "http"
localPort = ${PORT[F]}
customDomains = ["users.example.com"]
routeByHTTPUser = "bob"

[[proxies]]
name = "anyone"
type = "http"
localPort = ${PORT[G]}
customDomains = ["users.example.com"]

[[proxies]]
name = "wild"
type = "http"
localPort = ${PORT[G]}
customDomains = ["*.wild.example.com"]

[[proxies]]
name = "down"
type = "http"
localPort = $DOWN_PORT
customDomains = ["down.example.com"]

[[proxies]]
name = "connecho"
type = "http"
localPort = $ECHO_PORT
customDomains = ["connect.example.com"]

[[proxies]]
name = "secure"
type = "https"
localPort = ${PORT[S]}
customDomains = ["secure.example.com"]

[[proxies]]
name = "mux"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = ${PORT[M]}
customDomains = ["mux.example.com"]

[[proxies]]
name = "muxbob"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = $ECHO_PORT
customDomains = ["muxuser.example.com"]
routeByHTTPUser = "bob"

[[proxies]]
name = "muxany"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = ${PORT[M]}
customDomains = ["muxuser.example.com"]

[[proxies]]
name = "muxauth"
type = "tcpmux"
multiplexer = "httpconnect"
localPort = $ECHO_PORT
customDomains = ["muxauth.example.com"]
httpUser = "u"
httpPassword = "p"
CONF
} >"$WORK/frpc.toml"
start_ufrpc ufrpc "$WORK/frpc.toml"
for n in api web sub auth rw bob anyone wild down connecho secure mux muxbob muxany muxauth; do
    wait_line "$WORK/peer.log" "^EVENT proxy-new .*name=$n " 20 || fail "proxy $n not registered"
done
grep -q -E "^EVENT proxy-new .*name=sub .*remote_addr=sub.frps.test:$H " "$WORK/peer.log" ||
    fail "subdomain proxy: wrong remote_addr"

OUT=$WORK/out
get() { # curl args...: body into $OUT, status printed
    curl -s --max-time 10 -o "$OUT" -w '%{http_code}' "$@" || true
}
res() { echo "--resolve $1:$2:127.0.0.1"; }
want_line() { # LINE: must be a line of $OUT
    grep -q -x -F -- "$1" "$OUT" || { echo "body:"; cat "$OUT"; fail "missing line '$1'"; }
}
no_line_re() { # REGEX: no line of $OUT may match
    if grep -q -E -- "$1" "$OUT"; then cat "$OUT"; fail "unexpected line matching '$1'"; fi
}

# ---- routing by Host and location
# shellcheck disable=SC2046
code=$(get $(res a.example.com "$H") "http://a.example.com:$H/api/users?x=1")
[ "$code" = 200 ] || fail "a.example.com/api: status $code"
want_line "service=A"
want_line "path=/api/users?x=1"
want_line "host=a.example.com:$H"
want_line "h:x-forwarded-for=127.0.0.1"
want_line "h:x-forwarded-host=a.example.com:$H"
want_line "h:x-forwarded-proto=http"
wait_line "$WORK/peer.log" "^EVENT vhost-request kind=http host=a.example.com path=/api/users proxy=api " 5 ||
    fail "no vhost-request event for /api/users"
# shellcheck disable=SC2046
code=$(get $(res a.example.com "$H") "http://a.example.com:$H/index.html")
[ "$code" = 200 ] || fail "a.example.com/: status $code"
want_line "service=B" # through useEncryption + useCompression
# shellcheck disable=SC2046
code=$(get $(res a.example.com "$H") "http://a.example.com:$H/ap")
want_line "service=B"
# prefix, not path segment (frps: strings.HasPrefix)
# shellcheck disable=SC2046
code=$(get $(res a.example.com "$H") "http://a.example.com:$H/apiary")
want_line "service=A"
code=$(get -H "Host: A.Example.COM." "http://127.0.0.1:$H/api/")
[ "$code" = 200 ] || fail "upper-case host: status $code"
want_line "service=A"
# shellcheck disable=SC2046
code=$(get $(res sub.frps.test "$H") "http://sub.frps.test:$H/s")
[ "$code" = 200 ] || fail "subdomain: status $code"
want_line "service=C"
# wildcard domain: one label or more in front
code=$(get -H "Host: x.wild.example.com" "http://127.0.0.1:$H/w")
[ "$code" = 200 ] || fail "wildcard domain: status $code"
want_line "service=G"
code=$(get -H "Host: wild.example.com" "http://127.0.0.1:$H/w")
[ "$code" = 404 ] || fail "wildcard matched its own base domain: status $code"
log "host/location/subdomain/wildcard routing ok"

# ---- unknown host: frps's 404 page
code=$(get -H "Host: nobody.example.com" "http://127.0.0.1:$H/")
[ "$code" = 404 ] || fail "unknown host: status $code"
grep -q "The page you requested was not found" "$OUT" || fail "404 without frps's page"
wait_line "$WORK/peer.log" "^EVENT vhost-404 kind=http host=nobody.example.com path=/ " 5 ||
    fail "no vhost-404 event"
log "404 ok"

# ---- basic auth
hdrs=$WORK/hdrs
code=$(curl -s --max-time 10 -o "$OUT" -D "$hdrs" -w '%{http_code}' -H "Host: auth.example.com" \
    "http://127.0.0.1:$H/" || true)
[ "$code" = 401 ] || fail "no credentials: status $code"
grep -q -i '^www-authenticate: Basic realm="Restricted"' "$hdrs" || fail "401 without WWW-Authenticate"
grep -q -x "Unauthorized" "$OUT" || fail "401 body"
code=$(get -u alice:wrong -H "Host: auth.example.com" "http://127.0.0.1:$H/")
[ "$code" = 401 ] || fail "wrong password: status $code"
code=$(get -u alice:secret -H "Host: auth.example.com" "http://127.0.0.1:$H/private")
[ "$code" = 200 ] || fail "right password: status $code"
want_line "service=D"
want_line "path=/private"
# proxy-style absolute-form requests: routed by the URL's host, Proxy-Authorization
code=$(get -x "http://127.0.0.1:$H" "http://a.example.com/api/proxied")
[ "$code" = 200 ] || fail "absolute-form request: status $code"
want_line "service=A"
want_line "path=/api/proxied"
code=$(curl -s --max-time 10 -o "$OUT" -D "$hdrs" -w '%{http_code}' -x "http://127.0.0.1:$H" \
    "http://auth.example.com/" || true)
[ "$code" = 407 ] || fail "absolute-form without proxy credentials: status $code"
grep -q -i '^proxy-authenticate: Basic realm="Restricted"' "$hdrs" || fail "407 without Proxy-Authenticate"
code=$(get -x "http://127.0.0.1:$H" -U alice:secret "http://auth.example.com/p")
[ "$code" = 200 ] || fail "absolute-form with proxy credentials: status $code"
want_line "service=D"
log "httpUser/httpPassword ok"

# ---- routeByHTTPUser
code=$(get -u bob:anything -H "Host: users.example.com" "http://127.0.0.1:$H/")
[ "$code" = 200 ] || fail "routeByHTTPUser bob: status $code"
want_line "service=F"
code=$(get -H "Host: users.example.com" "http://127.0.0.1:$H/")
want_line "service=G"
code=$(get -u carol:x -H "Host: users.example.com" "http://127.0.0.1:$H/")
want_line "service=G"
log "routeByHTTPUser ok"

# ---- hostHeaderRewrite, requestHeaders.set, responseHeaders.set
code=$(curl -s --max-time 10 -o "$OUT" -D "$hdrs" -w '%{http_code}' -H "Host: rw.example.com" \
    -H "X-From: user" -H "X-Forwarded-For: 10.1.2.3" "http://127.0.0.1:$H/rw" || true)
[ "$code" = 200 ] || fail "rewrite: status $code"
want_line "service=E"
want_line "host=inner.local"
want_line "h:x-from=ufrpc"
want_line "h:x-forwarded-proto=overridden"
want_line "h:x-forwarded-for=10.1.2.3, 127.0.0.1"
want_line "h:x-forwarded-host=rw.example.com"
want_line "h:connection=close"
no_line_re '^h:x-from=user'
grep -q -i '^x-resp: vhost' "$hdrs" || { cat "$hdrs"; fail "responseHeaders.set not applied"; }
grep -q -i '^x-backend: replaced' "$hdrs" || { cat "$hdrs"; fail "responseHeaders.set did not replace"; }
[ "$(grep -c -i '^x-backend:' "$hdrs")" = 1 ] || fail "X-Backend twice"
log "hostHeaderRewrite/requestHeaders/responseHeaders ok"

# ---- request bodies: Content-Length and chunked (re-chunked by the frps side)
head -c 300000 /dev/urandom >"$WORK/body.bin"
sum=$(sha256sum "$WORK/body.bin" | cut -d' ' -f1)
code=$(get -H "Host: a.example.com" --data-binary @"$WORK/body.bin" "http://127.0.0.1:$H/upload")
[ "$code" = 200 ] || fail "POST: status $code"
want_line "method=POST"
want_line "body_len=300000"
want_line "body_sha256=$sum"
code=$(get -H "Host: a.example.com" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/body.bin" \
    "http://127.0.0.1:$H/upload")
[ "$code" = 200 ] || fail "chunked POST: status $code"
want_line "body_len=300000"
want_line "body_sha256=$sum"
want_line "h:transfer-encoding=chunked"
log "request bodies ok"

# ---- response bodies: 3 MiB with Content-Length and delimited by EOF (sent chunked)
N=3145728
want_sum=$(python3 -c "import hashlib,sys; n=$N; print(hashlib.sha256((bytes(range(251))*(n//251+1))[:n]).hexdigest())")
for p in big eofbig; do
    got=$(curl -s --max-time 20 -H "Host: a.example.com" "http://127.0.0.1:$H/$p/$N" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want_sum" ] || fail "response body /$p/$N: sha256 $got"
done
# 40 requests at once, 20 in parallel, over both location routes
seq 1 40 | xargs -P 20 -I{} sh -c 'p=/$( [ $(({} % 2)) = 0 ] && echo api/ )c{}; \
    curl -s --max-time 20 -H "Host: a.example.com" "http://127.0.0.1:'"$H"'$p" >"'"$WORK"'/par{}" 2>&1' ||
    true
for i in $(seq 1 40); do
    if [ $((i % 2)) = 0 ]; then want="service=A" p="/api/c$i"; else want="service=B" p="/c$i"; fi
    grep -q -x "$want" "$WORK/par$i" && grep -q -x "path=$p" "$WORK/par$i" ||
        { cat "$WORK/par$i"; fail "parallel request $i"; }
done
log "response bodies ok"

# ---- keep-alive: two requests on one user connection; EOF-delimited response
kal=$(curl -s --max-time 10 -H "Host: a.example.com" -o "$WORK/k1" "http://127.0.0.1:$H/api/one" \
    -o "$WORK/k2" "http://127.0.0.1:$H/two" -w '%{http_code}:%{num_connects} ' || true)
[ "$kal" = "200:1 200:0 " ] || fail "keep-alive: got '$kal'"
grep -q -x "service=A" "$WORK/k1" && grep -q -x "service=B" "$WORK/k2" || fail "keep-alive bodies"
kal=$(curl -s --max-time 10 -H "Host: a.example.com" -o "$WORK/k1" "http://127.0.0.1:$H/eof" \
    -o "$WORK/k2" "http://127.0.0.1:$H/after-eof" -w '%{http_code}:%{num_connects} ' || true)
[ "$kal" = "200:1 200:0 " ] || fail "EOF-delimited response then keep-alive: got '$kal'"
grep -q -x "path=/eof" "$WORK/k1" && grep -q -x "path=/after-eof" "$WORK/k2" ||
    fail "EOF-delimited bodies"
# a user that half-closes right after its request still gets the whole response
out=$(python3 "$HERE/vh_client.py" rawhalf "$H" 'GET /api/half HTTP/1.1\r\nHost: a.example.com\r\n\r\n')
case "$out" in "DATA b'HTTP/1.1 200 OK"*"path=/api/half"*) ;; *) fail "half-closed user: $out" ;; esac
# pipelined requests in one write: answered in order
out=$(python3 "$HERE/vh_client.py" rawhalf "$H" 'GET /api/p1 HTTP/1.1\r\nHost: a.example.com\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n')
case "$out" in *"service=A\\nmethod=GET\\npath=/api/p1"*"service=B\\nmethod=GET\\npath=/p2"*) ;; *) fail "pipelined: $out" ;; esac
# HEAD: a Content-Length but no body; the connection must stay in step
kal=$(curl -s --max-time 10 -I -H "Host: a.example.com" -o /dev/null "http://127.0.0.1:$H/api/h1" \
    -o /dev/null "http://127.0.0.1:$H/h2" -w '%{http_code}:%{num_connects} ' || true)
[ "$kal" = "200:1 200:0 " ] || fail "HEAD then keep-alive: got '$kal'"
log "keep-alive ok"

# ---- Upgrade: 101 passed on, then both ways spliced (early bytes on both sides kept)
out=$(python3 "$HERE/vh_client.py" upgrade "$H" rw.example.com "early-bytes|" "later-bytes|")
[ "$out" = "STATUS HTTP/1.1 101 Switching Protocols
DATA b'hello-from-E\\nearly-bytes|later-bytes|'" ] || fail "upgrade: $out"
wait_line "$WORK/peer.log" "^EVENT vhost-upgrade kind=http proxy=rw host=rw.example.com" 5 ||
    fail "no vhost-upgrade event"
# CONNECT on the http port (frps's connectHandler): the head goes to the local
# service as is, then a tunnel; here an echo service sends both back
out=$(python3 "$HERE/vh_client.py" connect "$H" connect.example.com:443 - - "tunnel-bytes" early)
[ "$out" = "STATUS CONNECT connect.example.com:443 HTTP/1.1
DATA b'tunnel-bytes'" ] || fail "CONNECT on the http port: $out"
out=$(python3 "$HERE/vh_client.py" connect "$H" auth.example.com:443 - - "x")
[ "$out" = "STATUS HTTP/1.1 407 Proxy Authentication Required" ] ||
    fail "CONNECT to a proxy with httpUser, no credentials: $out"
log "upgrade ok"

# ---- bad input: a malformed response from the local service, garbage from a user
kal=$(curl -s --max-time 10 -H "Host: a.example.com" -o "$WORK/k1" "http://127.0.0.1:$H/malformed" \
    -o "$WORK/k2" "http://127.0.0.1:$H/next" -w '%{http_code}:%{num_connects} ' || true)
[ "$kal" = "404:1 200:0 " ] || fail "malformed response then next request: got '$kal'"
grep -q -x "path=/next" "$WORK/k2" || fail "request after the malformed response"
wait_line "$WORK/peer.log" "^EVENT vhost-bad-response kind=http proxy=web reason=" 5 ||
    fail "no vhost-bad-response event"
out=$(python3 "$HERE/vh_client.py" raw "$H" 'GARBAGE \x01\x02 NOT HTTP\r\n\r\n')
case "$out" in "DATA b'HTTP/1.1 400 Bad Request"*) ;; *) fail "garbage request: $out" ;; esac
wait_line "$WORK/peer.log" "^EVENT vhost-bad-request kind=http reason=" 5 ||
    fail "no vhost-bad-request event"
out=$(python3 "$HERE/vh_client.py" raw "$H" 'GET / HTTP/1.1\r\nHost: a.example.com\r\n'"$(printf 'X-Big: %06000d\\r\\n' {1..8})"'\r\n')
case "$out" in "DATA b'HTTP/1.1 431 "*) ;; *) fail "oversized head: ${out:0:100}" ;; esac
code=$(get -H "Host: a.example.com" "http://127.0.0.1:$H/api/again")
[ "$code" = 200 ] || fail "request after bad input: status $code"
want_line "service=A"
# local service down: ufrpc closes the work connection → 404 as frps, next request ok
kal=$(curl -s --max-time 10 -H "Host: down.example.com" -o "$WORK/k1" "http://127.0.0.1:$H/x" \
    -H "Host: down.example.com" -o "$WORK/k2" "http://127.0.0.1:$H/y" -w '%{http_code}:%{num_connects} ' || true)
[ "$kal" = "404:1 404:0 " ] || fail "local service down: got '$kal'"
wait_line "$WORK/peer.log" "^EVENT vhost-bad-response kind=http proxy=down reason=" 5 ||
    fail "no vhost-bad-response event for the service down"
log "bad input ok"

# ---- https: SNI routing, TLS end to end
code=$(curl -s -k --max-time 10 -o "$OUT" -w '%{http_code}' --resolve "secure.example.com:$S:127.0.0.1" \
    "https://secure.example.com:$S/tls?q" || true)
[ "$code" = 200 ] || fail "https: status $code"
want_line "service=S"
want_line "path=/tls?q"
wait_line "$WORK/peer.log" "^EVENT vhost-request kind=https host=secure.example.com proxy=secure " 5 ||
    fail "no https vhost-request event"
# the certificate seen is the local service's: TLS is not terminated by frps
subj=$(openssl s_client -connect "127.0.0.1:$S" -servername secure.example.com </dev/null 2>/dev/null |
    openssl x509 -noout -subject 2>/dev/null || true)
case "$subj" in *secure.example.com*) ;; *) fail "https: certificate subject '$subj'" ;; esac
rc=0
curl -s -k --max-time 10 -o /dev/null --resolve "other.example.com:$S:127.0.0.1" \
    "https://other.example.com:$S/" || rc=$?
[ "$rc" != 0 ] || fail "https with an unknown SNI succeeded"
wait_line "$WORK/peer.log" "^EVENT vhost-404 kind=https host=other.example.com" 5 ||
    fail "no https vhost-404 event"
out=$(python3 "$HERE/vh_client.py" raw "$S" 'GET / HTTP/1.1\r\n\r\n')
[ "$out" = "DATA b''" ] || fail "https port answered plain HTTP: $out"
# a ClientHello split over two records and many small TCP writes
out=$(python3 "$HERE/tls_frag_client.py" "$S" secure.example.com /frag 2>&1 || true)
case "$out" in "HTTP/1.0 200 OK"*"service=S"*"path=/frag"*|"HTTP/1.1 200 OK"*"service=S"*"path=/frag"*) ;;
*) fail "fragmented ClientHello: $out" ;; esac
# a ClientHello without SNI, and a broken one
subj=$(openssl s_client -connect "127.0.0.1:$S" -noservername </dev/null 2>&1 || true)
case "$subj" in *"unrecognized name"*) ;; *) fail "https without SNI: $subj" ;; esac
wait_line "$WORK/peer.log" "^EVENT vhost-404 kind=https host=-" 5 || fail "no vhost-404 for no SNI"
out=$(python3 "$HERE/vh_client.py" raw "$S" '\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03')
[ "$out" = "DATA b''" ] || fail "broken ClientHello answered: $out"
wait_line "$WORK/peer.log" "^EVENT vhost-bad-request kind=https reason=not-a-client-hello" 5 ||
    fail "broken ClientHello not reported"
log "https ok"

# ---- tcpmux httpconnect
code=$(curl -s --max-time 10 -o "$OUT" -w '%{http_code}' -p -x "http://127.0.0.1:$T" \
    "http://mux.example.com:8080/through" || true)
[ "$code" = 200 ] || fail "tcpmux: status $code"
want_line "service=M"
want_line "path=/through"
wait_line "$WORK/peer.log" "^EVENT vhost-request kind=tcpmux host=mux.example.com proxy=mux " 5 ||
    fail "no tcpmux vhost-request event"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_connect}' -p -x "http://127.0.0.1:$T" \
    "http://nowhere.example.com:80/" || true)
[ "$code" = 404 ] || fail "tcpmux unknown host: CONNECT status $code"
out=$(python3 "$HERE/vh_client.py" connect "$T" muxauth.example.com:7 u p "ping-through-tcpmux")
[ "$out" = "STATUS HTTP/1.1 200 OK
DATA b'ping-through-tcpmux'" ] || fail "tcpmux with credentials: $out"
# bytes sent together with the CONNECT head are lost, as with frps (its bufio
# reader keeps them; checked against frps v0.70.0): nothing comes back
out=$(python3 "$HERE/vh_client.py" connect "$T" muxauth.example.com:7 u p "sent-with-the-head" early)
[ "$out" = "STATUS HTTP/1.1 200 OK
DATA b''" ] || fail "tcpmux, bytes right after the CONNECT head: $out"
wait_line "$WORK/peer.log" "^EVENT vhost-early-dropped kind=tcpmux proxy=muxauth bytes=18" 5 ||
    fail "the peer did not drop the early bytes"
out=$(python3 "$HERE/vh_client.py" connect "$T" muxauth.example.com:7 u bad "x")
case "$out" in "STATUS HTTP/1.1 200 OK"*"DATA b'HTTP/1.1 407 Proxy Authentication Required"*) ;;
*) fail "tcpmux wrong password: $out" ;; esac
out=$(python3 "$HERE/vh_client.py" connect "$T" muxauth.example.com:7 - - "x")
case "$out" in *"407 Proxy Authentication Required"*) ;; *) fail "tcpmux no credentials: $out" ;; esac
# routeByHTTPUser on tcpmux: bob's CONNECT goes to the echo service, anyone else's
# to the http service
out=$(python3 "$HERE/vh_client.py" connect "$T" muxuser.example.com:1 bob whatever "bob-echo")
[ "$out" = "STATUS HTTP/1.1 200 OK
DATA b'bob-echo'" ] || fail "tcpmux routeByHTTPUser bob: $out"
code=$(curl -s --max-time 10 -o "$OUT" -w '%{http_code}' -p -x "http://127.0.0.1:$T" \
    "http://muxuser.example.com/other" || true)
[ "$code" = 200 ] || fail "tcpmux routeByHTTPUser, no user: status $code"
want_line "service=M"
out=$(python3 "$HERE/vh_client.py" raw "$T" 'GET / HTTP/1.1\r\nHost: mux.example.com\r\n\r\n')
[ "$out" = "DATA b''" ] || fail "tcpmux answered a non-CONNECT request: $out"
log "tcpmux ok"

grep -q -E '^EVENT (control-closed|session-end)' "$WORK/peer.log" &&
    fail "the control session was closed during the test"

# a second client asking for a route that exists (ufrpc itself refuses that within
# one config): the frps side refuses it
MAIN_PID=$UFRPC_PID
sed -e '/^\[\[proxies\]\]/,$d' "$WORK/frpc.toml" >"$WORK/frpc2.toml"
cat >>"$WORK/frpc2.toml" <<CONF
[[proxies]]
name = "dup"
type = "http"
localPort = ${PORT[G]}
customDomains = ["A.example.com"]
locations = ["/api"]
CONF
start_ufrpc ufrpc2 "$WORK/frpc2.toml"
wait_line "$WORK/peer.log" '^EVENT proxy-refused .*name=dup error="router config conflict"' 10 ||
    fail "a route equal to an existing one was not refused"
stop_ufrpc
UFRPC_PID=$MAIN_PID

# ---- CloseProxy removes the routes (and ends a request in flight)
curl -s --max-time 10 -o /dev/null -H "Host: a.example.com" "http://127.0.0.1:$H/slow" &
SLOW=$!
wait_line "$WORK/peer.log" "^EVENT vhost-request kind=http host=a.example.com path=/slow " 5 ||
    fail "no request in flight"
stop_ufrpc
wait "$SLOW" || true
wait_line "$WORK/peer.log" "^EVENT vhost-route-del proxy=api " 5 || fail "routes not removed"
code=$(get -H "Host: a.example.com" "http://127.0.0.1:$H/api/x")
[ "$code" = 404 ] || fail "after CloseProxy: status $code"
pass
