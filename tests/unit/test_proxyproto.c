/* proto/proxyproto: byte-exact PROXY protocol v1 and v2 headers (HAProxy
 * proxy-protocol.txt) as frpc writes them to the local service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/error.h"
#include "proto/proxyproto.h"

static void check_v1(const char *src, uint16_t sp, const char *dst, uint16_t dp, const char *want)
{
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n = 0;
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V1, src, sp, dst, dp, out, sizeof out, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    /* exactly n bytes are needed */
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V1, src, sp, dst, dp, out, n - 1, &n),
                     UFRPC_ERR_LIMIT);
}

static void test_v1_tcp4(void **state)
{
    (void)state;
    check_v1("192.168.1.100", 12345, "10.0.0.1", 80, "PROXY TCP4 192.168.1.100 10.0.0.1 12345 80\r\n");
    check_v1("255.255.255.255", 65535, "255.255.255.255", 65535,
             "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
    /* empty dst (http proxies) -> 127.0.0.1, port as given */
    check_v1("1.2.3.4", 5, "", 0, "PROXY TCP4 1.2.3.4 127.0.0.1 5 0\r\n");
    check_v1("1.2.3.4", 5, NULL, 6000, "PROXY TCP4 1.2.3.4 127.0.0.1 5 6000\r\n");
    /* an IPv4-mapped IPv6 address counts as IPv4 */
    check_v1("::ffff:10.1.2.3", 40000, "10.0.0.9", 6000, "PROXY TCP4 10.1.2.3 10.0.0.9 40000 6000\r\n");
}

static void test_v1_tcp6(void **state)
{
    (void)state;
    check_v1("2001:db8::1", 1234, "2001:db8::2", 443, "PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\n");
    /* RFC 5952: lowercase, longest zero run (first on ties), single zero kept */
    check_v1("2001:DB8:0:0:1:0:0:2", 1, "2001:db8:0:1:1:1:1:1", 2,
             "PROXY TCP6 2001:db8::1:0:0:2 2001:db8:0:1:1:1:1:1 1 2\r\n");
    check_v1("::", 1, "::1", 2, "PROXY TCP6 :: ::1 1 2\r\n");
    check_v1("fe80:0:0:0:0:0:0:0", 1, "1:0:0:0:0:0:0:0", 2, "PROXY TCP6 fe80:: 1:: 1 2\r\n");
    check_v1("1:0:0:2:0:0:0:3", 1, "0:0:1:0:0:0:0:0", 2, "PROXY TCP6 1:0:0:2::3 0:0:1:: 1 2\r\n");
    /* mixed families: TCP6, the IPv4 side as ::ffff:a.b.c.d */
    check_v1("2001:db8::5", 7, "", 8, "PROXY TCP6 2001:db8::5 ::ffff:127.0.0.1 7 8\r\n");
    check_v1("10.0.0.1", 7, "::1", 8, "PROXY TCP6 ::ffff:10.0.0.1 ::1 7 8\r\n");
    /* the longest possible line fits UFRPC_PP_MAX_LEN */
    const char *big = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe";
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n;
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V1, big, 65535, big, 65535, out, sizeof out, &n), 0);
    assert_int_equal(n, 104);
}

static void test_v2_tcp4(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* sig */
        0x21,                                                                   /* v2 PROXY */
        0x11,                                                                   /* TCP over IPv4 */
        0x00, 0x0c,                                                             /* 12 bytes */
        192,  168,  1,    100,                                                  /* src */
        10,   0,    0,    1,                                                    /* dst */
        0x30, 0x39,                                                             /* 12345 */
        0x00, 0x50,                                                             /* 80 */
    };
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n = 0;
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V2, "192.168.1.100", 12345, "10.0.0.1", 80,
                                            out, sizeof out, &n),
                     0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V2, "192.168.1.100", 12345, "10.0.0.1", 80,
                                            out, sizeof want - 1, &n),
                     UFRPC_ERR_LIMIT);
}

static void test_v2_tcp6(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21,
        0x21, /* TCP over IPv6 */
        0x00, 0x24, /* 36 bytes */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* 2001:db8::1 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1,       /* ::ffff:127.0.0.1 */
        0x04, 0xd2,                                                   /* 1234 */
        0x1f, 0x90,                                                   /* 8080 */
    };
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n = 0;
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V2, "2001:db8::1", 1234, "", 8080, out,
                                            sizeof out, &n),
                     0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

/* udp (frpc's Forwarder through go-proxyproto): v2 family UDP4/UDP6 chosen by the
 * source; v1 has no UDP form and is the short "PROXY UNKNOWN". */
static void test_udp(void **state)
{
    (void)state;
    static const uint8_t want4[] = {
        0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* sig */
        0x21, 0x12, 0x00, 0x0c,             /* PROXY, UDP over IPv4, 12 bytes */
        127,  0,    0,    1,    127,  0, 0, 2, /* user, local service */
        0xd4, 0x31, 0x00, 0x35,             /* 54321 -> 53 */
    };
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n = 0;
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_V2, "127.0.0.1", 54321, "127.0.0.2", 53,
                                                out, sizeof out, &n),
                     0);
    assert_int_equal(n, sizeof want4);
    assert_memory_equal(out, want4, sizeof want4);
    /* IPv6 source: UDP6, the IPv4 destination written mapped */
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_V2, "2001:db8::1", 1, "127.0.0.1", 2,
                                                out, sizeof out, &n),
                     0);
    assert_int_equal(n, 52);
    assert_int_equal(out[13], 0x22);
    static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
    assert_memory_equal(out + 32, mapped, 16);
    /* an IPv4 source with a plain IPv6 destination: go-proxyproto has no form */
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_V2, "127.0.0.1", 1, "::1", 2, out,
                                                sizeof out, &n),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_V1, "127.0.0.1", 1, "127.0.0.1", 2, out,
                                                sizeof out, &n),
                     0);
    assert_int_equal(n, 15);
    assert_memory_equal(out, "PROXY UNKNOWN\r\n", 15);
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_V2, "127.0.0.1", 1, "127.0.0.1", 2, out,
                                                27, &n),
                     UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_proxyproto_build_udp(UFRPC_PP_NONE, "127.0.0.1", 1, "127.0.0.1", 2,
                                                out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
}

static void test_errors_and_rules(void **state)
{
    (void)state;
    uint8_t out[UFRPC_PP_MAX_LEN];
    size_t n;
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_NONE, "1.2.3.4", 1, "1.2.3.4", 2, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V1, "", 1, "1.2.3.4", 2, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V1, "example.com", 1, "1.2.3.4", 2, out,
                                            sizeof out, &n),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V2, "1.2.3.4", 1, "[::1]", 2, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_proxyproto_build(UFRPC_PP_V2, "1.2.3.256", 1, "::1", 2, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);

    assert_int_equal(ufrpc_proxyproto_version(NULL), UFRPC_PP_NONE);
    assert_int_equal(ufrpc_proxyproto_version(""), UFRPC_PP_NONE);
    assert_int_equal(ufrpc_proxyproto_version("v1"), UFRPC_PP_V1);
    assert_int_equal(ufrpc_proxyproto_version("v2"), UFRPC_PP_V2);
    assert_int_equal(ufrpc_proxyproto_version("V1"), UFRPC_PP_V2); /* frpc: only "v1" is v1 */

    assert_true(ufrpc_proxyproto_wanted(UFRPC_PP_V1, "1.2.3.4", 5));
    assert_false(ufrpc_proxyproto_wanted(UFRPC_PP_NONE, "1.2.3.4", 5));
    assert_false(ufrpc_proxyproto_wanted(UFRPC_PP_V2, "", 5));
    assert_false(ufrpc_proxyproto_wanted(UFRPC_PP_V2, NULL, 5));
    assert_false(ufrpc_proxyproto_wanted(UFRPC_PP_V2, "1.2.3.4", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4), cmocka_unit_test(test_v1_tcp6),
        cmocka_unit_test(test_v2_tcp4), cmocka_unit_test(test_v2_tcp6),
        cmocka_unit_test(test_errors_and_rules), cmocka_unit_test(test_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
