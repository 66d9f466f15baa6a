/* proto/stun: the Binding request bytes and the parsing of answers (XOR-MAPPED and
 * MAPPED-ADDRESS, OTHER- and CHANGED-ADDRESS, unknown and IPv6 attributes, padding),
 * and refusals (short, bad cookie, another transaction, truncated attributes). The
 * XOR vector is RFC 5769's sample IPv4 response (section 2.2). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "proto/error.h"
#include "proto/stun.h"

static const uint8_t TID[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static void test_request(void **st)
{
    (void)st;
    uint8_t b[20];
    ufrpc_stun_binding_request(b, TID);
    static const uint8_t want[8] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    assert_memory_equal(b, want, 8);
    assert_memory_equal(b + 8, TID, 12);
}

static void test_rfc5769_xor_mapped(void **st)
{
    (void)st;
    /* RFC 5769 2.2 without SOFTWARE/FINGERPRINT/MESSAGE-INTEGRITY: 192.0.2.1:32853 */
    uint8_t m[32] = {0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42};
    memcpy(m + 8, TID, 12);
    static const uint8_t attr[12] = {0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
                                     0xe1, 0x12, 0xa6, 0x43};
    memcpy(m + 20, attr, 12);
    struct ufrpc_stun_resp r;
    assert_int_equal(ufrpc_stun_parse(m, sizeof m, TID, &r), 0);
    assert_string_equal(r.mapped, "192.0.2.1:32853");
    assert_string_equal(r.other, "");
}

static size_t attr(uint8_t *p, uint16_t type, const uint8_t *v, uint16_t len)
{
    p[0] = (uint8_t)(type >> 8), p[1] = (uint8_t)type, p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    memcpy(p + 4, v, len);
    size_t padded = (len + 3u) & ~3u;
    memset(p + 4 + len, 0, padded - len);
    return 4 + padded;
}

static size_t msg(uint8_t *m, size_t body)
{
    m[0] = 0x01, m[1] = 0x01, m[2] = (uint8_t)(body >> 8), m[3] = (uint8_t)body;
    m[4] = 0x21, m[5] = 0x12, m[6] = 0xa4, m[7] = 0x42;
    memcpy(m + 8, TID, 12);
    return 20 + body;
}

static void test_classic_and_unknown(void **st)
{
    (void)st;
    uint8_t m[200];
    size_t o = 20;
    static const uint8_t soft[5] = {'u', 'f', 'r', 'p', 'c'};
    static const uint8_t v6[20] = {0, 2, 0x12, 0x34};
    static const uint8_t mapped[8] = {0, 1, 0x1f, 0x90, 10, 0, 0, 7};     /* 10.0.0.7:8080 */
    static const uint8_t changed[8] = {0, 1, 0x0d, 0x97, 198, 51, 100, 2}; /* :3479 */
    o += attr(m + o, 0x8022, soft, sizeof soft); /* SOFTWARE, padded */
    o += attr(m + o, 0x0020, v6, sizeof v6);     /* an IPv6 XOR-MAPPED: ignored */
    o += attr(m + o, 0x0001, mapped, sizeof mapped);
    o += attr(m + o, 0x0005, changed, sizeof changed);
    size_t n = msg(m, o - 20);
    struct ufrpc_stun_resp r;
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), 0);
    assert_string_equal(r.mapped, "10.0.0.7:8080");
    assert_string_equal(r.other, "198.51.100.2:3479");
    /* OTHER-ADDRESS wins over CHANGED-ADDRESS, as frp reads them */
    static const uint8_t other[8] = {0, 1, 0x0d, 0x98, 198, 51, 100, 3};
    o += attr(m + o, 0x802C, other, sizeof other);
    n = msg(m, o - 20);
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), 0);
    assert_string_equal(r.other, "198.51.100.3:3480");
}

static void test_refused(void **st)
{
    (void)st;
    uint8_t m[64];
    static const uint8_t mapped[8] = {0, 1, 0x1f, 0x90, 10, 0, 0, 7};
    size_t o = 20 + attr(m + 20, 0x0001, mapped, sizeof mapped);
    size_t n = msg(m, o - 20);
    struct ufrpc_stun_resp r;
    assert_int_equal(ufrpc_stun_parse(m, 19, TID, &r), UFRPC_ERR_INVAL);
    uint8_t other_tid[12] = {1};
    assert_int_equal(ufrpc_stun_parse(m, n, other_tid, &r), UFRPC_ERR_INVAL);
    m[4] ^= 1; /* cookie */
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), UFRPC_ERR_INVAL);
    m[4] ^= 1;
    m[3] = 16; /* body longer than the datagram */
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), UFRPC_ERR_INVAL);
    m[3] = (uint8_t)(o - 20);
    m[23] = 9; /* attribute longer than the body */
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), UFRPC_ERR_INVAL);
    m[23] = 8;
    m[0] = 0x80; /* not STUN (top bits set) */
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), UFRPC_ERR_INVAL);
    m[0] = 0x01;
    assert_int_equal(ufrpc_stun_parse(m, n, TID, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_rfc5769_xor_mapped),
        cmocka_unit_test(test_classic_and_unknown),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
