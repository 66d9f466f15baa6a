/* socks5 and unix_domain_socket plugins over real loopback connections, plus
 * plugin creation errors (virtual_net, missing options). */
#include "test_plugin_harness.h"
#include "testutil.h"

static struct ufrpc_plugin_config socks_cfg(const char *user, const char *pass)
{
    struct ufrpc_plugin_config c = {
        .type = UFRPC_PLUGIN_SOCKS5, .username = user, .password = pass};
    return c;
}

static void connect_ipv4(int fd, uint16_t port, uint8_t expect_rep)
{
    uint8_t req[10] = {5, 1, 0, 1, 127, 0, 0, 1, (uint8_t)(port >> 8), (uint8_t)port};
    send_all(fd, req, sizeof req);
    uint8_t rep[10];
    assert_int_equal(recv_n(fd, rep, 10), 10);
    assert_int_equal(rep[0], 5);
    assert_int_equal(rep[1], expect_rep);
    assert_int_equal(rep[3], 1);
}

static void echo_roundtrip(int fd, const char *msg)
{
    char buf[256];
    send_str(fd, msg);
    assert_int_equal(recv_n(fd, buf, strlen(msg)), strlen(msg));
    assert_memory_equal(buf, msg, strlen(msg));
}

static void test_socks5_noauth_ipv4(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = socks_cfg(NULL, NULL);
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_all(fd, "\x05\x02\x00\x02", 4);
    uint8_t r[2];
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[0], 5);
    assert_int_equal(r[1], 0);
    connect_ipv4(fd, o.port, 0);
    echo_roundtrip(fd, "hello through socks5");
    /* a larger transfer both ways */
    static char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    send_all(fd, big, sizeof big);
    static char back[300000];
    assert_int_equal(recv_n(fd, back, sizeof back), sizeof back);
    assert_memory_equal(big, back, sizeof big);
    close(fd);
    ph_stop(&h);
    origin_stop(&o);
}

static void test_socks5_domain_and_optimistic_data(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = socks_cfg("", "");
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    /* greeting, request and first data in one write */
    uint8_t msg[64] = {5, 1, 0, 5, 1, 0, 3, 9};
    memcpy(msg + 8, "localhost", 9);
    msg[17] = (uint8_t)(o.port >> 8);
    msg[18] = (uint8_t)o.port;
    memcpy(msg + 19, "early", 5);
    send_all(fd, msg, 24);
    uint8_t r[12];
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[1], 0);
    assert_int_equal(recv_n(fd, r, 4), 4);
    assert_int_equal(r[1], 0);
    size_t rest = r[3] == 4 ? 18 : 6;
    assert_int_equal(recv_n(fd, r, rest), rest);
    char buf[8];
    assert_int_equal(recv_n(fd, buf, 5), 5);
    assert_memory_equal(buf, "early", 5);
    echo_roundtrip(fd, "more");
    close(fd);
    ph_stop(&h);
    origin_stop(&o);
}

static void test_socks5_large_optimistic_data(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = socks_cfg(NULL, NULL);
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    /* greeting, request and 100 KB of data in one write: more than the
     * negotiation buffer, all of it must arrive in order */
    static uint8_t msg[13 + 100000];
    memcpy(msg, "\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01", 11);
    msg[11] = (uint8_t)(o.port >> 8);
    msg[12] = (uint8_t)o.port;
    for (size_t i = 13; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 13);
    send_all(fd, msg, sizeof msg);
    uint8_t r[12];
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(recv_n(fd, r, 10), 10);
    assert_int_equal(r[1], 0);
    static uint8_t back[100000];
    assert_int_equal(recv_n(fd, back, sizeof back), sizeof back);
    assert_memory_equal(back, msg + 13, sizeof back);
    close(fd);
    ph_stop(&h);
    origin_stop(&o);
}

static void test_socks5_ipv6(void **state)
{
    (void)state;
    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (lfd >= 0)
            close(lfd);
        skip();
    }
    socklen_t l = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &l);
    listen(lfd, 4);
    struct ufrpc_plugin_config cfg = socks_cfg(NULL, NULL);
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x00", 3);
    uint8_t r[32];
    assert_int_equal(recv_n(fd, r, 2), 2);
    uint8_t req[22] = {5, 1, 0, 4};
    memcpy(req + 4, &a.sin6_addr, 16);
    memcpy(req + 20, &a.sin6_port, 2);
    send_all(fd, req, sizeof req);
    int sfd = accept(lfd, NULL, NULL);
    assert_true(sfd >= 0);
    assert_int_equal(recv_n(fd, r, 4), 4);
    assert_int_equal(r[1], 0);
    recv_n(fd, r, r[3] == 4 ? 18 : 6);
    send_str(sfd, "v6!");
    char b[4];
    assert_int_equal(recv_n(fd, b, 3), 3);
    assert_memory_equal(b, "v6!", 3);
    close(sfd);
    close(fd);
    close(lfd);
    ph_stop(&h);
}

static void test_socks5_bad_greeting(void **state)
{
    (void)state;
    struct ufrpc_plugin_config cfg = socks_cfg(NULL, NULL);
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    int fd = tcp_connect(h.port);
    send_all(fd, "\x04\x01\x00\x50", 4);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "socks5 UFRPC_ERR_PROXY_PROTOCOL] bad greeting (version 4)"));
    /* HTTP garbage at a socks5 plugin */
    fd = tcp_connect(h.port);
    send_str(fd, "GET / HTTP/1.1\r\n\r\n");
    assert_true(wait_closed(fd));
    close(fd);
    uint64_t handled, failed;
    ufrpc_plugin_counters(h.p, &handled, &failed);
    ph_stop(&h);
    assert_int_equal(handled, 2);
    assert_int_equal(failed, 2);
}

static void test_socks5_auth(void **state)
{
    (void)state;
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, NULL);
    struct ufrpc_plugin_config cfg = socks_cfg("alice", "s3cret");
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    uint8_t r[2];
    /* only "no auth" offered: 05 FF, closed */
    int fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x00", 3);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[1], 0xff);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "offers no username/password"));
    /* wrong password: 01 01, closed */
    fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x02", 3);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[1], 2);
    send_all(fd,
             "\x01\x05"
             "alice"
             "\x05"
             "wrong",
             13);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[0], 1);
    assert_int_equal(r[1], 1);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "wrong username or password"));
    /* right one */
    fd = tcp_connect(h.port);
    send_all(fd, "\x05\x02\x00\x02", 4);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[1], 2);
    send_all(fd,
             "\x01\x05"
             "alice"
             "\x06"
             "s3cret",
             14);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(r[1], 0);
    connect_ipv4(fd, o.port, 0);
    echo_roundtrip(fd, "authenticated");
    close(fd);
    ph_stop(&h);
    origin_stop(&o);
}

static void test_socks5_bad_requests(void **state)
{
    (void)state;
    struct ufrpc_plugin_config cfg = socks_cfg(NULL, NULL);
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    uint8_t r[10];
    /* BIND: 07 */
    int fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", 13);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(recv_n(fd, r, 10), 10);
    assert_int_equal(r[1], 7);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "unsupported command 2"));
    /* address type 9: 08 */
    fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x00\x05\x01\x00\x09\x00\x00", 9);
    assert_int_equal(recv_n(fd, r, 2), 2);
    assert_int_equal(recv_n(fd, r, 10), 10);
    assert_int_equal(r[1], 8);
    assert_true(wait_closed(fd));
    close(fd);
    /* refused: 05 */
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(tmp, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(tmp, (struct sockaddr *)&a, &l);
    close(tmp); /* nobody listens there now */
    fd = tcp_connect(h.port);
    send_all(fd, "\x05\x01\x00", 3);
    assert_int_equal(recv_n(fd, r, 2), 2);
    /* qemu-user for mips(el) reports the host errno (testutil.h): general failure, 01 */
    int untranslated = ufrpc_test_so_error_untranslated();
    connect_ipv4(fd, ntohs(a.sin_port), untranslated ? 1 : 5);
    assert_true(wait_closed(fd));
    close(fd);
    if (!untranslated)
        assert_true(ph_logged(&h, "connection refused"));
    /* overlong negotiation: closed */
    fd = tcp_connect(h.port);
    static uint8_t junk[2000];
    memset(junk, 5, sizeof junk);
    junk[1] = 255;
    send_all(fd, junk, sizeof junk);
    assert_true(wait_closed(fd));
    close(fd);
    /* silence: closed after the idle timeout (3 s in the harness) */
    fd = tcp_connect(h.port);
    send_all(fd, "\x05", 1);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "negotiation timed out"));
    ph_stop(&h);
}

static void test_uds(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/ufrpc-plugin-test-%d.sock", (int)getpid());
    struct origin o;
    origin_start(&o, ORIGIN_ECHO, path);
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET, .unix_path = path};
    struct ph h;
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    static const uint8_t pp[] = "PROXY TCP4 1.2.3.4 127.0.0.1 5555 80\r\n";
    h.pp = pp;
    h.pp_len = sizeof pp - 1;
    int fd = tcp_connect(h.port);
    char buf[128];
    assert_int_equal(recv_n(fd, buf, sizeof pp - 1), sizeof pp - 1); /* echoed header */
    assert_memory_equal(buf, pp, sizeof pp - 1);
    echo_roundtrip(fd, "over a unix socket");
    close(fd);
    ph_stop(&h);
    origin_stop(&o);
    /* no socket there: the connection is closed with a reason */
    cfg.unix_path = "/nonexistent/ufrpc.sock";
    assert_int_equal(ph_start(&h, &cfg, NULL, 0), 0);
    fd = tcp_connect(h.port);
    assert_true(wait_closed(fd));
    close(fd);
    assert_true(ph_logged(&h, "dial unix socket /nonexistent/ufrpc.sock"));
    ph_stop(&h);
}

static void test_create_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    ufrpc_plugin_t *p = NULL;
    struct ufrpc_plugin_config cfg = {.type = UFRPC_PLUGIN_VIRTUAL_NET};
    struct ufrpc_plugin_opts o = {.loop = &loop, .proxy_name = "x", .cfg = &cfg};
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_UNSUPPORTED);
    assert_null(p);
    assert_string_equal(err, "plugin virtual_net is not supported");
    assert_false(ufrpc_plugin_supported(UFRPC_PLUGIN_VIRTUAL_NET));
    assert_true(ufrpc_plugin_supported(UFRPC_PLUGIN_SOCKS5));
    assert_int_equal(ufrpc_plugin_type_from_name("https2http"), UFRPC_PLUGIN_HTTPS2HTTP);
    assert_int_equal(ufrpc_plugin_type_from_name("nope"), UFRPC_PLUGIN__COUNT);
    cfg.type = UFRPC_PLUGIN_NONE;
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_UNSUPPORTED);
    cfg.type = UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET;
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_INVAL);
    assert_non_null(strstr(err, "unixPath is required"));
    cfg.type = UFRPC_PLUGIN_HTTP2HTTP;
    cfg.local_addr = "nohostport";
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_INVAL);
    assert_non_null(strstr(err, "localAddr"));
    cfg.type = UFRPC_PLUGIN_HTTPS2HTTP;
    cfg.local_addr = "127.0.0.1:80";
    cfg.crt_path = "/nonexistent.crt";
    cfg.key_path = "/nonexistent.key";
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_TLS);
    assert_non_null(strstr(err, "/nonexistent.crt"));
    cfg.type = UFRPC_PLUGIN_STATIC_FILE;
    cfg.local_path = "/nonexistent-dir";
    assert_int_equal(ufrpc_plugin_create(&o, &p, err, sizeof err), UFRPC_ERR_INVAL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socks5_noauth_ipv4),
        cmocka_unit_test(test_socks5_domain_and_optimistic_data),
        cmocka_unit_test(test_socks5_large_optimistic_data),
        cmocka_unit_test(test_socks5_ipv6),
        cmocka_unit_test(test_socks5_bad_greeting),
        cmocka_unit_test(test_socks5_auth),
        cmocka_unit_test(test_socks5_bad_requests),
        cmocka_unit_test(test_uds),
        cmocka_unit_test(test_create_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
