/* The path router (client/plugins/plugin_router.c over client/plugins/plugin_fwd.c) on real
 * loopback connections: per-request routing on one keep-alive work connection
 * (mixed routes, pipelined, fed byte by byte), prefix strip with
 * X-Forwarded-Prefix, the response head rewrite (after an interim 100),
 * 404/400/502 answers, an Upgrade routed then spliced, per-route counters. */
#include <signal.h>

#include "test_plugin_harness.h"

static char resp[65536];

/* Reads one response (status line .. body by Content-Length). */
static char *get_resp(int fd)
{
    char *b = recv_response(fd, resp, sizeof resp);
    if (getenv("ROUTER_DEBUG") != NULL)
        fprintf(stderr, "response: [%s]\n", resp);
    return b;
}

static void send_bytewise(int fd, const char *s)
{
    for (; *s; s++)
        send_all(fd, s, 1);
}

/* A raw origin: for each connection, reads one request head and sends `answer`;
 * with echo, then echoes bytes until EOF. */
struct raw {
    int lfd;
    uint16_t port;
    pthread_t th;
    const char *answer;
    bool echo;
    char head[4096];
};

static void *raw_thread(void *arg)
{
    struct raw *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    set_timeouts(fd);
    recv_until(fd, r->head, sizeof r->head, "\r\n\r\n");
    send_str(fd, r->answer);
    if (r->echo) {
        char b[4096];
        ssize_t k;
        while ((k = recv(fd, b, sizeof b, 0)) > 0)
            send_all(fd, b, (size_t)k);
    } else {
        char b[64];
        while (recv(fd, b, sizeof b, 0) > 0) {
        }
    }
    close(fd);
    return NULL;
}

static void raw_start(struct raw *r, const char *answer, bool echo)
{
    memset(r, 0, sizeof *r);
    r->answer = answer;
    r->echo = echo;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(r->lfd, (struct sockaddr *)&a, &l);
    r->port = ntohs(a.sin_port);
    assert_int_equal(listen(r->lfd, 4), 0);
    pthread_create(&r->th, NULL, raw_thread, r);
}

static void raw_stop(struct raw *r)
{
    shutdown(r->lfd, SHUT_RDWR);
    pthread_join(r->th, NULL);
    close(r->lfd);
}

static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static const struct ufrpc_plugin_config none = {.type = UFRPC_PLUGIN_NONE};

/* Counters of route i once `requests` exchanges are counted: the loop thread
 * counts an exchange right after its last bytes are queued, so the test thread
 * may see the answer first (up to 5 s). */
static void stats_after(struct ph *h, size_t i, uint64_t requests, const char **loc,
                        struct ufrpc_route_stats *st)
{
    for (int k = 0; k < 500; k++) {
        assert_int_equal(ufrpc_plugin_route_stats(h->p, i, loc, st), 0);
        if (st->requests >= requests)
            return;
        usleep(10000);
    }
}

static void test_mixed_routes_keepalive(void **state)
{
    (void)state;
    struct origin a, b;
    origin_start(&a, ORIGIN_HTTP, NULL);
    origin_start(&b, ORIGIN_HTTP, NULL);
    struct ufrpc_cfg_route r[] = {
        {.location = "/api", .local_ip = "127.0.0.1", .local_port = a.port, .strip_prefix = true},
        {.location = "/", .local_ip = "127.0.0.1", .local_port = b.port},
        {.location = "/down", .local_ip = "127.0.0.1", .local_port = closed_port()},
        {.location = "/api/raw", .local_ip = "127.0.0.1", .local_port = a.port,
         .host_header_rewrite = "inner.local"},
    };
    struct ufrpc_cfg_routes routes = {r, 4};
    struct ph h;
    assert_int_equal(ph_start_ex(&h, &none, &routes, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    char head[8192];

    send_str(fd, "GET /api/users?id=1 HTTP/1.1\r\nHost: apps.example.com\r\n"
                 "X-Forwarded-Prefix: /spoofed\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n");
    assert_string_equal(get_resp(fd), "echo:");
    origin_last(&a, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /users?id=1 HTTP/1.1\r\nHost: apps.example.com\r\n", 49) == 0);
    assert_non_null(strstr(head, "\r\nX-Forwarded-Prefix: /api\r\n"));
    assert_null(strstr(head, "spoofed"));
    assert_non_null(strstr(head, "\r\nX-Forwarded-For: 9.9.9.9\r\n")); /* frps's, kept */

    /* same connection, another route: "/apiary" is not under "/api" */
    send_str(fd, "GET /apiary HTTP/1.1\r\nHost: apps.example.com\r\n\r\n");
    assert_string_equal(get_resp(fd), "echo:");
    origin_last(&b, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /apiary HTTP/1.1\r\n", 22) == 0);
    assert_null(strstr(head, "X-Forwarded-Prefix"));

    /* pipelined, byte by byte: a body to /api, then "/" then "/api" (→ "/"),
     * then the longest route, no strip, Host rewritten */
    send_bytewise(fd, "POST /api/p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"
                      "GET /x/y HTTP/1.1\r\nHost: h\r\n\r\n"
                      "PUT /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nxyz\r\n0\r\n\r\n"
                      "GET /api/raw/z HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_string_equal(get_resp(fd), "echo:ab");
    assert_string_equal(get_resp(fd), "echo:");
    assert_string_equal(get_resp(fd), "echo:xyz");
    assert_string_equal(get_resp(fd), "echo:");
    origin_last(&a, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /api/raw/z HTTP/1.1\r\nHost: inner.local\r\n", 44) == 0);
    origin_last(&b, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /x/y HTTP/1.1\r\n", 19) == 0);
    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.requests, 4);
    pthread_mutex_unlock(&a.mu);

    /* local service down: 502, and the connection goes on */
    send_str(fd, "GET /down/x HTTP/1.1\r\nHost: h\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 502 Bad Gateway"));
    close(fd);

    /* hostile targets: 400 and keep-alive for the next request */
    fd = tcp_connect(h.port);
    send_str(fd, "GET /api/../down HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_non_null(get_resp(fd));
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request"));
    send_str(fd, "GET /api/%2e%2e/x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    assert_non_null(get_resp(fd));
    assert_non_null(strstr(resp, "HTTP/1.1 400 Bad Request"));
    send_str(fd, "GET /%61pi/q HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_string_equal(get_resp(fd), "echo:");
    origin_last(&a, head, sizeof head, NULL, 0);
    assert_true(strncmp(head, "GET /q HTTP/1.1\r\n", 17) == 0);
    close(fd);

    /* counters */
    struct ufrpc_route_stats st;
    const char *loc = NULL;
    assert_int_equal(ufrpc_plugin_route_count(h.p), 4);
    stats_after(&h, 0, 4, &loc, &st);
    assert_string_equal(loc, "/api");
    assert_int_equal(st.requests, 4); /* /api/users, /api/p, /api, /%61pi/q */
    assert_int_equal(st.status[1], 4);
    assert_int_equal(st.latency_count, 4);
    assert_true(st.bytes_in > 0 && st.bytes_out > 0);
    uint64_t sum = 0;
    for (int i = 0; i < UFRPC_ROUTE_LATENCY_BUCKETS; i++)
        sum += st.latency_le_ms[i];
    assert_int_equal(sum, 4);
    stats_after(&h, 2, 1, &loc, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.status[4], 1); /* the 502 */
    stats_after(&h, 4, 2, &loc, &st);
    assert_null(loc);
    assert_int_equal(st.requests, 2); /* the two 400s */
    assert_int_equal(st.status[3], 2);
    assert_int_equal(ufrpc_plugin_route_stats(h.p, 5, &loc, &st), UFRPC_ERR_INVAL);
    ph_stop(&h);
    origin_stop(&a);
    origin_stop(&b);
}

static void test_no_route_404(void **state)
{
    (void)state;
    struct origin a;
    origin_start(&a, ORIGIN_HTTP, NULL);
    struct ufrpc_cfg_route r[] = {
        {.location = "/only", .local_ip = "127.0.0.1", .local_port = a.port},
    };
    struct ufrpc_cfg_routes routes = {r, 1};
    struct ph h;
    assert_int_equal(ph_start_ex(&h, &none, &routes, NULL, 0), 0);
    assert_string_equal(ufrpc_plugin_name(h.p), "router");
    int fd = tcp_connect(h.port);
    /* a 404 with a body to drop, then the same connection still routes */
    send_str(fd, "POST /elsewhere HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                 "GET /only/1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_non_null(get_resp(fd));
    assert_non_null(strstr(resp, "HTTP/1.1 404 Not Found"));
    assert_string_equal(get_resp(fd), "echo:");
    /* an upgrade nobody routes: 404 and the connection ends */
    send_str(fd, "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert_non_null(get_resp(fd));
    assert_non_null(strstr(resp, "HTTP/1.1 404 Not Found"));
    assert_true(wait_closed(fd));
    close(fd);
    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.requests, 1);
    pthread_mutex_unlock(&a.mu);
    ph_stop(&h);
    origin_stop(&a);
}

static void test_response_rewrite(void **state)
{
    (void)state;
    struct raw o;
    raw_start(&o,
              "HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 302 Found\r\n"
              "Location: /login?next=1\r\n"
              "Content-Location: http://apps.example.com/doc\r\n"
              "Set-Cookie: sid=1; Path=/; HttpOnly\r\n"
              "Set-Cookie: other=2; Path=/x\r\n"
              "Content-Length: 4\r\n\r\nbody",
              false);
    struct ufrpc_cfg_route r[] = {
        {.location = "/app/", .local_ip = "127.0.0.1", .local_port = o.port, .strip_prefix = true},
    };
    struct ufrpc_cfg_routes routes = {r, 1};
    struct ph h;
    assert_int_equal(ph_start_ex(&h, &none, &routes, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /app/ HTTP/1.1\r\nHost: apps.example.com\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_string_equal(resp, "HTTP/1.1 100 Continue\r\n\r\n");
    char *body = recv_response(fd, resp, sizeof resp);
    assert_non_null(body);
    assert_string_equal(body, "body");
    assert_true(strncmp(resp, "HTTP/1.1 302 Found\r\n", 20) == 0);
    assert_non_null(strstr(resp, "\r\nLocation: /app/login?next=1\r\n"));
    assert_non_null(strstr(resp, "\r\nContent-Location: http://apps.example.com/app/doc\r\n"));
    assert_non_null(strstr(resp, "\r\nSet-Cookie: sid=1; Path=/app; HttpOnly\r\n"));
    assert_non_null(strstr(resp, "\r\nSet-Cookie: other=2; Path=/app/x\r\n"));
    assert_true(strncmp(o.head, "GET / HTTP/1.1\r\n", 16) == 0);
    close(fd);
    ph_stop(&h);
    raw_stop(&o);
}

static void test_upgrade_routed(void **state)
{
    (void)state;
    struct raw o;
    raw_start(&o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
              true);
    struct origin other;
    origin_start(&other, ORIGIN_HTTP, NULL);
    struct ufrpc_cfg_route r[] = {
        {.location = "/ws", .local_ip = "127.0.0.1", .local_port = o.port, .strip_prefix = true},
        {.location = "/", .local_ip = "127.0.0.1", .local_port = other.port},
    };
    struct ufrpc_cfg_routes routes = {r, 2};
    struct ph h;
    assert_int_equal(ph_start_ex(&h, &none, &routes, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    /* first a plain request to "/", then the upgrade to "/ws" on the same connection */
    send_str(fd, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_string_equal(get_resp(fd), "echo:");
    send_str(fd, "GET /ws/chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
                 "early");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "HTTP/1.1 101 Switching Protocols"));
    char got[16] = "";
    assert_int_equal(recv_n(fd, got, 5), 5);
    assert_memory_equal(got, "early", 5);
    send_str(fd, "more bytes");
    assert_int_equal(recv_n(fd, got, 10), 10);
    assert_memory_equal(got, "more bytes", 10);
    assert_true(strncmp(o.head, "GET /chat HTTP/1.1\r\n", 20) == 0);
    assert_non_null(strstr(o.head, "\r\nUpgrade: echo\r\n"));
    assert_non_null(strstr(o.head, "\r\nX-Forwarded-Prefix: /ws\r\n"));
    close(fd);
    struct ufrpc_route_stats st;
    stats_after(&h, 0, 1, NULL, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.status[0], 1); /* the 101 */
    ph_stop(&h);
    raw_stop(&o);
    origin_stop(&other);
}

/* A large body behind a rewritten head passes byte for byte (many reads after
 * the head, through the bounded queues). */
static void test_large_body_after_rewrite(void **state)
{
    (void)state;
    size_t big = 2u << 20;
    const char *head = "HTTP/1.1 200 OK\r\nLocation: /big\r\nContent-Length: 2097152\r\n\r\n";
    char *answer = malloc(strlen(head) + big + 1);
    assert_non_null(answer);
    strcpy(answer, head);
    size_t hl = strlen(head);
    for (size_t i = 0; i < big; i++)
        answer[hl + i] = (char)('a' + i % 26);
    answer[hl + big] = '\0';
    struct raw o;
    raw_start(&o, answer, false);
    struct ufrpc_cfg_route r[] = {
        {.location = "/s", .local_ip = "127.0.0.1", .local_port = o.port, .strip_prefix = true},
    };
    struct ufrpc_cfg_routes routes = {r, 1};
    struct ph h;
    assert_int_equal(ph_start_ex(&h, &none, &routes, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_str(fd, "GET /s/big HTTP/1.1\r\nHost: h\r\n\r\n");
    recv_until(fd, resp, sizeof resp, "\r\n\r\n");
    assert_non_null(strstr(resp, "\r\nLocation: /s/big\r\n"));
    char *body = malloc(big);
    assert_non_null(body);
    assert_int_equal(recv_n(fd, body, big), big);
    for (size_t i = 0; i < big; i++)
        if (body[i] != (char)('a' + i % 26))
            fail_msg("byte %zu differs", i);
    free(body);
    close(fd);
    ph_stop(&h);
    raw_stop(&o);
    free(answer);
}

static void test_bad_routes_refused(void **state)
{
    (void)state;
    struct ufrpc_cfg_route r[] = {{.location = "nope", .local_port = 80}};
    struct ufrpc_cfg_routes routes = {r, 1};
    struct ph h;
    char err[256] = "";
    assert_int_equal(ph_start_ex(&h, &none, &routes, err, sizeof err), UFRPC_ERR_INVAL);
    assert_non_null(strstr(err, "route 0 is invalid"));
    /* not a router: no routes reported */
    struct ufrpc_cfg_routes empty = {NULL, 0};
    struct ufrpc_plugin_config echo_cfg = {.type = UFRPC_PLUGIN_SOCKS5};
    assert_int_equal(ph_start_ex(&h, &echo_cfg, &empty, NULL, 0), 0);
    assert_int_equal(ufrpc_plugin_route_count(h.p), 0);
    struct ufrpc_route_stats st;
    assert_int_equal(ufrpc_plugin_route_stats(h.p, 0, NULL, &st), UFRPC_ERR_INVAL);
    ph_stop(&h);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_routes_keepalive),
        cmocka_unit_test(test_no_route_404),
        cmocka_unit_test(test_response_rewrite),
        cmocka_unit_test(test_upgrade_routed),
        cmocka_unit_test(test_large_body_after_rewrite),
        cmocka_unit_test(test_bad_routes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
