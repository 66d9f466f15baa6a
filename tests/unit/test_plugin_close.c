/* ufrpc_plugin_close with connections in every state: mid-negotiation, tunnelled,
 * waiting for an upstream response, in a TLS handshake. Every user connection
 * must be closed, the close callback must run, and nothing may leak (ASan). */
#include "test_plugin_harness.h"

/* A listener that accepts (kernel backlog) but never answers. */
static int silent_listener(uint16_t *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    listen(lfd, 16);
    *port = ntohs(a.sin_port);
    return lfd;
}

static void wait_active(struct ph *h, size_t n)
{
    for (int i = 0; i < 200 && ufrpc_plugin_active(h->p) < n; i++)
        usleep(10000);
}

static void test_close_socks5_states(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_SOCKS5};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int a = tcp_connect(h.port);
    send_all(a, "\x05", 1); /* mid-greeting */
    int b = tcp_connect(h.port);
    send_all(b, "\x05\x01\x00", 3);
    char r[16];
    assert_int_equal(recv_n(b, r, 2), 2);
    uint8_t req[10] = {5, 1, 0, 1, 127, 0, 0, 1, (uint8_t)(o.port >> 8), (uint8_t)o.port};
    send_all(b, req, sizeof req);
    assert_int_equal(recv_n(b, r, 10), 10);
    send_str(b, "x");
    assert_int_equal(recv_n(b, r, 1), 1); /* tunnel up */
    wait_active(&h, 2);
    assert_int_equal(ufrpc_plugin_active(h.p), 2);
    ph_stop(&h); /* returns only after the plugin's close callback */
    assert_true(wait_closed(a));
    assert_true(wait_closed(b));
    close(a);
    close(b);
    origin_stop(&o);
}

static void test_close_http_waiting(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = silent_listener(&port);
    char la[32];
    snprintf(la, sizeof la, "127.0.0.1:%u", port);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTP2HTTP, .local_addr = la};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int a = tcp_connect(h.port);
    send_str(a, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart"); /* mid-body */
    int b = tcp_connect(h.port);
    send_str(b, "GET / HTTP/1.1\r\nHost: x\r\n"); /* mid-head */
    int c = tcp_connect(h.port);
    send_str(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); /* waiting for the response */
    wait_active(&h, 3);
    usleep(100000);
    ph_stop(&h);
    assert_true(wait_closed(a));
    assert_true(wait_closed(b));
    assert_true(wait_closed(c));
    close(a);
    close(b);
    close(c);
    close(lfd);
}

static void test_close_tls_handshake_and_connect(void **state)
{
    (void)state;
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_HTTPS2HTTP, .local_addr = "127.0.0.1:9"};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int a = tcp_connect(h.port); /* says nothing: handshake pending */
    wait_active(&h, 1);
    ph_stop(&h);
    assert_true(wait_closed(a));
    close(a);

    /* http_proxy: CONNECT to a silent listener is established, then closed */
    uint16_t port;
    int lfd = silent_listener(&port);
    struct ufrpc_plugin_config hp = {.type = UFRPC_PLUGIN_HTTP_PROXY};
    assert_int_equal(ph_start(&h, &hp, NULL, 0), 0);
    a = tcp_connect(h.port);
    char req[128];
    int n = snprintf(req, sizeof req, "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n", port);
    send_all(a, req, (size_t)n);
    static char resp[256];
    recv_until(a, resp, sizeof resp, "\r\n\r\n");
    assert_string_equal(resp, "HTTP/1.1 200 OK\r\n\r\n");
    ph_stop(&h);
    assert_true(wait_closed(a));
    close(a);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_socks5_states),
        cmocka_unit_test(test_close_http_waiting),
        cmocka_unit_test(test_close_tls_handshake_and_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
