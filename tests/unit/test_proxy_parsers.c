/* proto/socks5 and proto/http_connect: the sans-I/O parsers of the SOCKS5 and
 * HTTP CONNECT negotiations. Every proper prefix of a message must say "need
 * more" (UFRPC_ERR_AGAIN) and touch nothing; the whole message, alone or followed
 * by tunnel bytes, must give its exact length; malformed input must fail as soon
 * as the bytes show it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/http_connect.h"
#include "proto/socks5.h"

/* ---- SOCKS5 address messages ------------------------------------------------ */

static void addr_msg_every_prefix(const uint8_t *msg, size_t n, uint8_t code, uint8_t atyp,
                                  const char *host, uint16_t port)
{
    uint8_t buf[300];
    memcpy(buf, msg, n);
    memcpy(buf + n, "tail", 4); /* bytes of the tunnel after the message */
    for (size_t i = 0; i < n; i++) {
        struct ufrpc_socks5_addr_msg m;
        memset(&m, 0xa5, sizeof m);
        assert_int_equal(ufrpc_socks5_parse_addr_msg(buf, i, &m), UFRPC_ERR_AGAIN);
        assert_int_equal(m.code, 0xa5); /* untouched */
    }
    for (size_t extra = 0; extra <= 4; extra += 4) {
        struct ufrpc_socks5_addr_msg m;
        assert_int_equal(ufrpc_socks5_parse_addr_msg(buf, n + extra, &m), (long)n);
        assert_int_equal(m.code, code);
        assert_int_equal(m.atyp, atyp);
        assert_string_equal(m.host, host);
        assert_int_equal(m.port, port);
    }
}

static void test_socks5_addr_msg(void **state)
{
    (void)state;
    const uint8_t v4[] = {5, 0, 0, 1, 192, 0, 2, 7, 0x1f, 0x90};
    addr_msg_every_prefix(v4, sizeof v4, 0, UFRPC_SOCKS5_ATYP_IPV4, "192.0.2.7", 8080);
    const uint8_t v6[] = {5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                          0, 22};
    addr_msg_every_prefix(v6, sizeof v6, 1, UFRPC_SOCKS5_ATYP_IPV6, "2001:db8::1", 22);
    const uint8_t dn[] = {5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
                          0x01, 0xbb};
    addr_msg_every_prefix(dn, sizeof dn, 1, UFRPC_SOCKS5_ATYP_DOMAIN, "example.com", 443);
    /* a 255-byte name, the longest */
    uint8_t big[4 + 1 + 255 + 2] = {5, 1, 0, 3, 255};
    char name[256];
    memset(big + 5, 'a', 255);
    memset(name, 'a', 255);
    name[255] = '\0';
    big[260] = 0;
    big[261] = 80;
    addr_msg_every_prefix(big, sizeof big, 1, UFRPC_SOCKS5_ATYP_DOMAIN, name, 80);

    /* an empty name and one holding a NUL parse; the caller judges them */
    struct ufrpc_socks5_addr_msg m;
    const uint8_t empty[] = {5, 1, 0, 3, 0, 0, 80};
    assert_int_equal(ufrpc_socks5_parse_addr_msg(empty, sizeof empty, &m), 7);
    assert_int_equal(m.name_len, 0);
    const uint8_t nul[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
    assert_int_equal(ufrpc_socks5_parse_addr_msg(nul, sizeof nul, &m), 10);
    assert_int_equal(m.name_len, 3);
    assert_int_equal(strlen(m.host), 1);

    /* errors as soon as the bytes show them */
    const uint8_t badver[] = {4};
    assert_int_equal(ufrpc_socks5_parse_addr_msg(badver, 1, &m), UFRPC_ERR_PROXY_PROTOCOL);
    const uint8_t badatyp[] = {5, 1, 0, 2};
    assert_int_equal(ufrpc_socks5_parse_addr_msg(badatyp, 4, &m), UFRPC_ERR_UNSUPPORTED);
    assert_int_equal(ufrpc_socks5_parse_addr_msg(badatyp, 3, &m), UFRPC_ERR_AGAIN);
}

static void test_socks5_small_messages(void **state)
{
    (void)state;
    uint8_t second = 0xee;
    const uint8_t sel[] = {5, 2, 'x'};
    assert_int_equal(ufrpc_socks5_parse_pair(sel, 0, 5, &second), UFRPC_ERR_AGAIN);
    assert_int_equal(ufrpc_socks5_parse_pair(sel, 1, 5, &second), UFRPC_ERR_AGAIN);
    assert_int_equal(second, 0xee);
    assert_int_equal(ufrpc_socks5_parse_pair(sel, 3, 5, &second), 2);
    assert_int_equal(second, 2);
    assert_int_equal(ufrpc_socks5_parse_pair(sel, 1, 1, &second), UFRPC_ERR_PROXY_PROTOCOL);
    assert_int_equal(ufrpc_socks5_parse_pair(sel, 2, 0, &second), 2); /* any version */

    const uint8_t greet[] = {5, 3, 0, 1, 2, 'x'};
    const uint8_t *methods = NULL;
    size_t nm = 0;
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ufrpc_socks5_parse_greeting(greet, i, &methods, &nm), UFRPC_ERR_AGAIN);
    assert_null(methods);
    assert_int_equal(ufrpc_socks5_parse_greeting(greet, sizeof greet, &methods, &nm), 5);
    assert_int_equal(nm, 3);
    assert_ptr_equal(methods, greet + 2);
    const uint8_t none[] = {5, 0};
    assert_int_equal(ufrpc_socks5_parse_greeting(none, 2, &methods, &nm), 2);
    assert_int_equal(nm, 0);
    const uint8_t g4[] = {4};
    assert_int_equal(ufrpc_socks5_parse_greeting(g4, 1, &methods, &nm), UFRPC_ERR_PROXY_PROTOCOL);

    const uint8_t up[] = {1, 3, 'b', 'o', 'b', 2, 'p', 'w', 'x'};
    const uint8_t *u = NULL, *p = NULL;
    size_t ul = 0, pl = 0;
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(ufrpc_socks5_parse_userpass(up, i, &u, &ul, &p, &pl), UFRPC_ERR_AGAIN);
    assert_null(u);
    assert_int_equal(ufrpc_socks5_parse_userpass(up, sizeof up, &u, &ul, &p, &pl), 8);
    assert_int_equal(ul, 3);
    assert_memory_equal(u, "bob", 3);
    assert_int_equal(pl, 2);
    assert_memory_equal(p, "pw", 2);
    const uint8_t empty[] = {1, 0, 0};
    assert_int_equal(ufrpc_socks5_parse_userpass(empty, 3, &u, &ul, &p, &pl), 3);
    assert_int_equal(ul + pl, 0);
    const uint8_t v5[] = {5};
    assert_int_equal(ufrpc_socks5_parse_userpass(v5, 1, &u, &ul, &p, &pl),
                     UFRPC_ERR_PROXY_PROTOCOL);
}

/* ---- HTTP CONNECT replies ------------------------------------------------------ */

static void test_http_connect_reply(void **state)
{
    (void)state;
    const char *ok = "HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n";
    size_t n = strlen(ok);
    char buf[256];
    snprintf(buf, sizeof buf, "%sSSH-2.0", ok);
    for (size_t i = 0; i < n; i++) {
        int st = -7;
        assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)buf, i, &st),
                         UFRPC_ERR_AGAIN);
        assert_int_equal(st, -7);
    }
    int st = 0;
    assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)buf, strlen(buf), &st),
                     (long)n);
    assert_int_equal(st, 200);
    assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)"HTTP/1.0 200\r\n\r\n", 16,
                                                    &st),
                     16);
    assert_int_equal(st, 200);
    const char *denied = "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n";
    assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)denied, strlen(denied), &st),
                     (long)strlen(denied));
    assert_int_equal(st, 407);

    /* a bad status line fails once the line is complete, before the head ends */
    const char *bad[] = {"HTTP/2 200 OK\r\n", "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n",
                         "http/1.1 200 OK\r\n", "HTTP/1.x 200 OK\r\n", "\r\n\r\n",
                         "SSH-2.0-OpenSSH\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)bad[i], strlen(bad[i]),
                                                        &st),
                         UFRPC_ERR_PROXY_PROTOCOL);
    /* a bare LF ends the status line but not the head */
    assert_int_equal(ufrpc_http_connect_parse_reply((const uint8_t *)"HTTP/1.1 200 OK\n\n", 17,
                                                    &st),
                     UFRPC_ERR_AGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socks5_addr_msg),
        cmocka_unit_test(test_socks5_small_messages),
        cmocka_unit_test(test_http_connect_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
