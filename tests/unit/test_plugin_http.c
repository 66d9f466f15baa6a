/* http_proxy, http2http and static_file plugins over real loopback connections:
 * request rewriting as frpc does, bodies (length and chunked), keep-alive, auth,
 * malformed and oversized input, path traversal. */
#include <fcntl.h>
#include <sys/stat.h>

#include "test_plugin_harness.h"
#include "testutil.h"

static char resp[200000];

/* ---- http_proxy -------------------------------------------------------------------- */

static void test_http_proxy_connect(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP_PROXY};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    char req[256];
    /* head and the first tunnelled bytes in one write */
    int n = snprintf(req, sizeof req,
                     "CONNECT 127.0.0.1:%u HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\nearly", o.port,
                     o.port);
    send_all(fd, req, (size_t)n);
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_string_equal(resp, "HTTP/1.1 200 OK\r\n\r\n");
    assert_int_equal(recv_n(fd, resp, 5), 5);
    assert_memory_equal(resp, "early", 5);
    send_str(fd, "tunnel");
    assert_int_equal(recv_n(fd, resp, 6), 6);
    assert_memory_equal(resp, "tunnel", 6);
    close(fd);
    /* unreachable target: 400 and close */
    fd = tcp_connect(h.port);
    send_str(fd, "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_true(wait_closed(fd));
    close(fd);
    /* qemu-user for mips(el) reports the host errno (testutil.h) */
    if (!ufrpc_test_so_error_untranslated())
        assert_true(ph_logged(&h, "http_proxy UFRPC_ERR_CONNECT_REFUSED] CONNECT 127.0.0.1:1"));
    ph_stop(&h);
    origin_stop(&o);
}

static void test_http_proxy_plain(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP_PROXY};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    char req[512], head[8192], body[8192];
    int n = snprintf(req, sizeof req,
                     "GET http://127.0.0.1:%u/path/x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                     "X-Custom: yes\r\n\r\n",
                     o.port, o.port);
    send_all(fd, req, (size_t)n);
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    assert_string_equal(b, "echo:");
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /path/x?q=1 HTTP/1.1\r\n", 26) == 0);
    assert_non_null(strstr(head, "\r\nX-Custom: yes\r\n"));
    assert_null(strcasestr(head, "Proxy-"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%u\r\n", o.port);
    assert_non_null(strstr(head, host));
    /* keep-alive: a POST with a body on the same connection */
    n = snprintf(req, sizeof req,
                 "POST http://127.0.0.1:%u/post HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                 "hello world",
                 o.port);
    send_all(fd, req, (size_t)n);
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:hello world");
    /* chunked request body */
    n = snprintf(req, sizeof req,
                 "POST http://127.0.0.1:%u/c HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nfgh\r\n0\r\n\r\n",
                 o.port);
    send_all(fd, req, (size_t)n);
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:abcdefgh");
    origin_last(&o, head, sizeof head, body, sizeof body);
    assert_true(strncmp(head, "POST /c HTTP/1.1\r\n", 18) == 0);
    assert_non_null(strcasestr(head, "Transfer-Encoding: chunked"));
    /* origin-form target is refused by a proxy */
    send_str(fd, "GET /relative HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "not an absolute http(s) URI"));
    ph_stop(&h);
    assert_int_equal(o.requests, 3);
    assert_int_equal(o.conns, 1); /* one upstream connection for all three */
    origin_stop(&o);
}

static void test_http_proxy_auth(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    struct ufrpc_plugin_config cfg = {
        .type = UFRPC_PLUGIN_HTTP_PROXY, .http_user = "u", .http_password = "p"};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    char req[512];
    const char *auths[] = {"", "Proxy-Authorization: Basic dTp4\r\n" /* u:x */,
                           "Proxy-Authorization: Basic !!!\r\n"};
    for (size_t i = 0; i < 3; i++) {
        int fd = tcp_connect(h.port);
        int n = snprintf(req, sizeof req, "GET http://127.0.0.1:%u/ HTTP/1.1\r\nHost: x\r\n%s\r\n",
                         o.port, auths[i]);
        uint64_t t0 = uv_hrtime();
        send_all(fd, req, (size_t)n);
        recv_until(fd, resp, sizeof resp, "\r\n\r\n");
        assert_true(uv_hrtime() - t0 >= 190u * 1000000u); /* frpc's 200 ms auth delay */
        assert_non_null(strstr(resp, "HTTP/1.1 407 Proxy Authentication Required\r\n"));
        assert_non_null(strstr(resp, "\r\nProxy-Authenticate: Basic\r\n"));
        assert_true(wait_closed(fd));
        close(fd);
    }
    /* CONNECT without credentials */
    int fd = tcp_connect(h.port);
    int n = snprintf(req, sizeof req, "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", o.port);
    send_all(fd, req, (size_t)n);
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 407"));
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "proxy authentication failed"));
    /* right credentials (u:p) */
    fd = tcp_connect(h.port);
    n = snprintf(req, sizeof req,
                 "GET http://127.0.0.1:%u/ok HTTP/1.1\r\nHost: x\r\n"
                 "Proxy-Authorization: Basic dTpw\r\n\r\n",
                 o.port);
    send_all(fd, req, (size_t)n);
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:");
    close(fd);
    ph_stop(&h);
    assert_int_equal(o.requests, 1);
    origin_stop(&o);
}

static void test_http_malformed(void **state)
{
    (void)state;
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP_PROXY};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "\x16\x03\x01garbage that is not HTTP\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request"));
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "malformed HTTP request"));
    /* oversized head: 431 */
    fd = tcp_connect(h.port);
    send_str(fd, "GET http://127.0.0.1:9/ HTTP/1.1\r\n");
    static char big[80000];
    memset(big, 'a', sizeof big);
    memcpy(big, "X-Big: ", 7);
    send_all(fd, big, sizeof big);
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 431"));
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "HTTP request head over 65536 bytes"));
    /* too many header fields */
    fd = tcp_connect(h.port);
    send_str(fd, "GET http://127.0.0.1:9/ HTTP/1.1\r\n");
    for (int i = 0; i < 200; i++)
        send_str(fd, "A: b\r\n");
    send_str(fd, "\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 431"));
    assert_true(wait_closed(fd));
    close(fd);
    /* half a head, then silence: closed after the idle timeout */
    fd = tcp_connect(h.port);
    send_str(fd, "GET http://127.0.0.1:9/ HTT");
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "HTTP request head not complete"));
    uint64_t handled, failed;
    ufrpc_plugin_counters(h.p, &handled, &failed);
    assert_int_equal(handled, 4);
    assert_int_equal(failed, 4);
    ph_stop(&h);
}

/* ---- http2http ---------------------------------------------------------------------- */

static void test_http2http(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_HTTP, NULL);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", o.port);
    struct ufrpc_cfg_kv kv[] = {{"X-From-Frp", "1"}, {"x-custom", "replaced"}};
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTP,
                                      .local_addr = la,
                                      .host_header_rewrite = "backend.local",
                                      .request_headers = {kv, 2}};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /a/b HTTP/1.1\r\nHost: public.example\r\nX-Custom: orig\r\n"
                 "X-Forwarded-For: 9.9.9.9\r\nConnection: keep-alive\r\n\r\n");
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:");
    char head[8192];
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /a/b HTTP/1.1\r\nHost: backend.local\r\n", 40) == 0);
    assert_non_null(strstr(head, "\r\nX-From-Frp: 1\r\n"));
    assert_non_null(strstr(head, "\r\nx-custom: replaced\r\n"));
    assert_null(strstr(head, "orig"));
    assert_null(strcasestr(head, "X-Forwarded-For")); /* http2http drops them */
    assert_null(strcasestr(head, "Connection:"));
    /* HEAD: no body expected although Content-Length is set */
    send_str(fd, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    /* pipelined POST + GET in one write */
    send_str(fd, "POST /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET /p2 HTTP/1.1\r\n"
                 "Host: x\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_string_equal(b, "echo:ab");
    b = recv_response(fd, resp, sizeof resp);
    assert_string_equal(b, "echo:");
    /* next request still works (the HEAD response had no body bytes) */
    send_str(fd, "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:xyz");
    /* Connection: close is honoured */
    send_str(fd, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_true(wait_closed(fd));
    close(fd);
    /* an HTTP/1.0 request goes upstream as HTTP/1.0 and ends the connection */
    int fd10 = tcp_connect(h.port);
    send_str(fd10, "GET /old HTTP/1.0\r\nHost: x\r\n\r\n");
    b = recv_response(fd10, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "echo:");
    assert_true(wait_closed(fd10));
    close(fd10);
    origin_last(&o, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /old HTTP/1.0\r\n", 19) == 0);
    ph_stop(&h);
    origin_stop(&o);
    /* upstream down: 502 */
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    fd = tcp_connect(h.port);
    send_str(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 502 Bad Gateway"));
    close(fd);
    assert_true(ph_logged(&h, "cannot connect to 127.0.0.1"));
    ph_stop(&h);
}

/* A raw origin that answers with a chunked response and then one delimited by close. */
static void *raw_origin(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    set_timeouts(fd);
    char buf[4096];
    recv_until(fd, buf, sizeof buf, "\r\n\r\n");
    send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "4\r\nabcd\r\n0\r\n\r\n");
    recv_until(fd, buf, sizeof buf, "\r\n\r\n");
    send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof");
    close(fd);
    return NULL;
}

static void test_http2http_response_framing(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    listen(lfd, 4);
    pthread_t th;
    pthread_create(&th, NULL, raw_origin, &lfd);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", ntohs(a.sin_port));
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTP, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "0\r\n\r\n");
    assert_non_null(strstr(resp, "\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"));
    send_str(fd, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, NULL); /* until close */
    assert_non_null(strstr(resp, "\r\n\r\nuntil-eof"));
    close(fd);
    pthread_join(th, NULL);
    close(lfd);
    ph_stop(&h);
}

/* ---- backpressure: a 32 MiB response to a client that does not read at first,
 * and a 16 MiB upload; the plugin must not buffer what the peers do not take. */
struct bulk_origin {
    int lfd;
    volatile size_t sent, received;
};

static void *bulk_origin_thread(void *arg)
{
    struct bulk_origin *b = arg;
    int fd = accept(b->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char head[4096];
    for (int r = 0; r < 2; r++) {
        recv_until(fd, head, sizeof head, "\r\n\r\n");
        const char *cl = strcasestr(head, "\r\nContent-Length:");
        size_t want = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
        static char buf[65536];
        while (want > 0) {
            ssize_t k = recv(fd, buf, want < sizeof buf ? want : sizeof buf, 0);
            if (k <= 0)
                break;
            want -= (size_t)k;
            b->received += (size_t)k;
        }
        size_t total = r == 0 ? (32u << 20) : 2;
        char h[128];
        int n = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
        send_all(fd, h, (size_t)n);
        memset(buf, 'q', sizeof buf);
        while (total > 0) {
            size_t k = total < sizeof buf ? total : sizeof buf;
            ssize_t w = send(fd, buf, k, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            total -= (size_t)w;
            b->sent += (size_t)w;
        }
    }
    close(fd);
    return NULL;
}

static void test_http2http_backpressure(void **state)
{
    (void)state;
    struct bulk_origin bo = {0};
    bo.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(bo.lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(bo.lfd, (struct sockaddr *)&a, &l);
    listen(bo.lfd, 4);
    pthread_t th;
    pthread_create(&th, NULL, bulk_origin_thread, &bo);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", ntohs(a.sin_port));
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTP, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(1000000);
    size_t early = bo.sent;
    /* kernel buffers on both hops plus the plugin's bound; far below 32 MiB */
    assert_true(early < (16u << 20));
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "Content-Length: 33554432"));
    size_t got = 0;
    static char buf[65536];
    while (got < (32u << 20)) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0)
            break;
        for (ssize_t i = 0; i < k; i++)
            if (buf[i] != 'q')
                fail();
        got += (size_t)k;
    }
    assert_int_equal(got, 32u << 20);
    /* 16 MiB upload on the same connection */
    char hdr[128];
    size_t up = 16u << 20;
    int n = snprintf(hdr, sizeof hdr, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                     up);
    send_all(fd, hdr, (size_t)n);
    memset(buf, 'u', sizeof buf);
    for (size_t off = 0; off < up; off += sizeof buf)
        send_all(fd, buf, sizeof buf);
    char *body = recv_response(fd, resp, sizeof resp);
    assert_non_null(body);
    assert_string_equal(body, "qq");
    assert_int_equal(bo.received, up);
    close(fd);
    pthread_join(th, NULL);
    close(bo.lfd);
    ph_stop(&h);
    fprintf(stderr, "backpressure: origin had sent %zu bytes while the client did not read\n",
            early);
}

/* Upgrade (websocket-style): the head goes out with Upgrade/Connection, a 101
 * turns the connection into a tunnel with bytes on both sides kept. */
static void *upgrade_origin(void *arg)
{
    int lfd = *(int *)arg;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    set_timeouts(fd);
    static char head[4096];
    recv_until(fd, head, sizeof head, "\r\n\r\n");
    bool ok = strstr(head, "\r\nUpgrade: websocket\r\n") != NULL &&
              strstr(head, "\r\nConnection: Upgrade\r\n") != NULL;
    send_str(fd, ok ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\n\r\nserver-first"
                    : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    char b[256];
    ssize_t k;
    while ((k = recv(fd, b, sizeof b, 0)) > 0)
        send_all(fd, b, (size_t)k);
    close(fd);
    return NULL;
}

static void test_http2http_upgrade(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    listen(lfd, 4);
    pthread_t th;
    pthread_create(&th, NULL, upgrade_origin, &lfd);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", ntohs(a.sin_port));
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTP, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                 "client-early");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_int_equal(recv_n(fd, resp, 12), 12);
    assert_memory_equal(resp, "server-first", 12);
    assert_int_equal(recv_n(fd, resp, 12), 12); /* echoed early client bytes */
    assert_memory_equal(resp, "client-early", 12);
    send_str(fd, "ping");
    assert_int_equal(recv_n(fd, resp, 4), 4);
    assert_memory_equal(resp, "ping", 4);
    close(fd);
    pthread_join(th, NULL);
    close(lfd);
    ph_stop(&h);
}

/* ---- static_file --------------------------------------------------------------------- */

static void write_file(const char *path, const char *content, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
}

static void test_static_file(void **state)
{
    (void)state;
    char root[128], p[256];
    snprintf(root, sizeof root, "/tmp/ufrpc-static-%d", (int)getpid());
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/hello.txt", root);
    write_file(p, "hello file\n", 11);
    snprintf(p, sizeof p, "%s/page.html", root);
    write_file(p, "<b>x</b>", 8);
    snprintf(p, sizeof p, "%s/sub/a<b>.bin", root);
    write_file(p, "\x00\x01", 2);
    static char big[1000000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    snprintf(p, sizeof p, "%s/big.dat", root);
    write_file(p, big, sizeof big);
    snprintf(p, sizeof p, "%s/escape", root);
    unlink(p);
    assert_int_equal(symlink("/etc", p), 0);

    struct ufrpc_plugin_config cfg = {
        .type = UFRPC_PLUGIN_STATIC_FILE, .local_path = root, .strip_prefix = "static"};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(resp, "Content-Length: 11\r\n"));
    assert_string_equal(b, "hello file\n");
    /* keep-alive: HEAD then an html file, then a percent-encoded name */
    send_str(fd, "HEAD /static/page.html HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(resp, "Content-Length: 8\r\n"));
    send_str(fd, "GET /static/sub/a%3Cb%3E.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "Content-Length: 2\r\n"));
    assert_non_null(strstr(resp, "application/octet-stream"));
    /* a large file arrives whole */
    send_str(fd, "GET /static/big.dat HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "Content-Length: 1000000\r\n"));
    static char got[1000000];
    assert_int_equal(recv_n(fd, got, sizeof got), sizeof got);
    assert_memory_equal(got, big, sizeof big);
    /* pipelined: three requests in one write, answered in order */
    send_str(fd, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                 "HEAD /static/page.html HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /static/page.html HTTP/1.1\r\nHost: x\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_string_equal(b, "hello file\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "Content-Length: 8\r\n"));
    b = recv_response(fd, resp, sizeof resp);
    assert_string_equal(b, "<b>x</b>");
    /* ranges */
    send_str(fd, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=6-9\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 206 Partial Content\r\n"));
    assert_non_null(strstr(resp, "Content-Range: bytes 6-9/11\r\n"));
    assert_string_equal(b, "file");
    send_str(fd, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_string_equal(b, "le\n");
    send_str(fd, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=20-\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 416"));
    /* directory: redirect, then listing with escaped names */
    send_str(fd, "GET /static/sub HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 301"));
    assert_non_null(strstr(resp, "Location: sub/\r\n"));
    send_str(fd, "GET /static/sub/ HTTP/1.1\r\nHost: x\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_non_null(strstr(b, "<a href=\"a%3Cb%3E.bin\">a&lt;b&gt;.bin</a>"));
    /* outside the prefix, missing file, wrong method */
    send_str(fd, "GET /other/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    send_str(fd, "GET /static/nope HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    send_str(fd, "DELETE /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 405"));
    /* symlink out of the root */
    send_str(fd, "GET /static/escape/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    assert_true(ph_logged(&h, "path leaves localPath"));
    /* traversal: refused and closed */
    send_str(fd, "GET /static/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_true(wait_closed(fd));
    close(fd);
    fd = tcp_connect(h.port);
    send_str(fd, "GET /static/sub/../../x HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    close(fd);
    ph_stop(&h);

    /* basic auth */
    cfg.strip_prefix = NULL;
    cfg.http_user = "admin";
    cfg.http_password = "pw";
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    fd = tcp_connect(h.port);
    send_str(fd, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 401"));
    assert_non_null(strstr(resp, "WWW-Authenticate: Basic"));
    send_str(fd, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46cHc=\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "hello file\n");
    close(fd);
    ph_stop(&h);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

/* index.html is checked against the root with the same '/' boundary as any
 * other path: a symlink into a sibling whose name starts with the root's
 * ("www" vs "www-old") must not be served. */
static void test_static_file_index_escape(void **state)
{
    (void)state;
    char base[128], root[160], p[256], t[256];
    snprintf(base, sizeof base, "/tmp/ufrpc-sfidx-%d", (int)getpid());
    snprintf(root, sizeof root, "%s/www", base);
    mkdir(base, 0755);
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/www-old", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/www-old/index.html", base);
    write_file(p, "old secret", 10);
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/index.html", root);
    snprintf(t, sizeof t, "%s/www-old/index.html", base);
    assert_int_equal(symlink(t, p), 0);
    snprintf(p, sizeof p, "%s/ok", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ok/index.html", root);
    write_file(p, "inside", 6);

    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_STATIC_FILE, .local_path = root};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /ok/ HTTP/1.1\r\nHost: x\r\n\r\n");
    char *b = recv_response(fd, resp, sizeof resp);
    assert_non_null(b);
    assert_string_equal(b, "inside");
    send_str(fd, "GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n");
    b = recv_response(fd, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    assert_null(strstr(resp, "old secret"));
    assert_true(ph_logged(&h, "path leaves localPath"));
    close(fd);
    ph_stop(&h);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    assert_int_equal(system(cmd), 0);
}

/* A file's bytes are read on the thread pool, one chunk at a time: a client that
 * goes away mid-file (a read may be in flight) ends only its connection; the next
 * one gets the whole file; the plugin stops cleanly (no leak under ASan). */
static void test_static_file_client_leaves_mid_file(void **state)
{
    (void)state;
    char root[128], p[256];
    snprintf(root, sizeof root, "/tmp/ufrpc-sfmid-%d", (int)getpid());
    mkdir(root, 0755);
    static char big[3000000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13 + 1);
    snprintf(p, sizeof p, "%s/big.bin", root);
    write_file(p, big, sizeof big);
    signal(SIGPIPE, SIG_IGN); /* as ufrpc's main: a closed peer is an error, not a signal */
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_STATIC_FILE, .local_path = root};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    for (int i = 0; i < 5; i++) {
        int fd = tcp_connect(h.port);
        send_str(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        char some[1000];
        assert_true(recv(fd, some, sizeof some, 0) > 0);
        close(fd);
    }
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "Content-Length: 3000000\r\n"));
    static char got[3000000];
    assert_int_equal(recv_n(fd, got, sizeof got), sizeof got);
    assert_memory_equal(got, big, sizeof big);
    close(fd);
    ph_stop(&h);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_proxy_connect),
        cmocka_unit_test(test_http_proxy_plain),
        cmocka_unit_test(test_http_proxy_auth),
        cmocka_unit_test(test_http_malformed),
        cmocka_unit_test(test_http2http),
        cmocka_unit_test(test_http2http_response_framing),
        cmocka_unit_test(test_http2http_backpressure),
        cmocka_unit_test(test_http2http_upgrade),
        cmocka_unit_test(test_static_file),
        cmocka_unit_test(test_static_file_index_escape),
        cmocka_unit_test(test_static_file_client_leaves_mid_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
