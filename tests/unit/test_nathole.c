/* proto/nathole: the punching packet (golib crypto.Encode of a v1 NatHoleSid frame)
 * against a vector made with Python's cryptography (AES-CFB128, PBKDF2-SHA1 "frp"),
 * a seal/open round trip, refusals (short, oversize, wrong key), and frp's
 * ClassifyNATFeature cases. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/nathole.h"
#include "proto/text.h"

/* secret "abc"; IV 00..0f; body
 * {"transaction_id":"0123456789abcdef","sid":"1700000000a1b2c3d4e5f60718","response":true,"nonce":"000"} */
static const char VEC_HEX[] =
    "000102030405060708090a0b0c0d0e0f9b740161fd1427c7afb95af6e5f141e2d5a80d3a74bdf149b3a714f95d"
    "26debd4738f9abe29f53c0f31ec95596b6e884cf4872d0d803c7455ec4e77c28a2874a8575a886d68b198f74ba"
    "8c89b183663c796f33a7c304e8fd8b4c410d9e5bc38429f26ceb933df1821f53daa7049177";

static void key_of(const char *secret, uint8_t key[16])
{
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)secret, strlen(secret), key), 0);
}

static size_t vec(uint8_t *out, size_t cap)
{
    size_t n = strlen(VEC_HEX) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(VEC_HEX + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_open_vector(void **st)
{
    (void)st;
    uint8_t key[16], pkt[256];
    key_of("abc", key);
    size_t n = vec(pkt, sizeof pkt);
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_nathole_open(key, pkt, n, &m), 0);
    assert_string_equal(m.u.nat_hole_sid.transaction_id, "0123456789abcdef");
    assert_string_equal(m.u.nat_hole_sid.sid, "1700000000a1b2c3d4e5f60718");
    assert_true(m.u.nat_hole_sid.response);
    assert_string_equal(m.u.nat_hole_sid.nonce, "000");
    ufrpc_msg_free(&m);
}

static void test_seal_matches_vector(void **st)
{
    (void)st;
    uint8_t key[16], iv[16], want[256], got[256];
    key_of("abc", key);
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)i;
    size_t wn = vec(want, sizeof want), gn = 0;
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_SID);
    assert_int_equal(ufrpc_msg_set_str(&m.u.nat_hole_sid.transaction_id, "0123456789abcdef"), 0);
    assert_int_equal(ufrpc_msg_set_str(&m.u.nat_hole_sid.sid, "1700000000a1b2c3d4e5f60718"), 0);
    m.u.nat_hole_sid.response = true;
    assert_int_equal(ufrpc_msg_set_str(&m.u.nat_hole_sid.nonce, "000"), 0);
    assert_int_equal(ufrpc_nathole_seal(key, iv, &m, got, sizeof got, &gn), 0);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    /* too small an output buffer */
    assert_int_equal(ufrpc_nathole_seal(key, iv, &m, got, wn - 1, &gn), UFRPC_ERR_LIMIT);
    ufrpc_msg_free(&m);
}

static void test_refusals(void **st)
{
    (void)st;
    uint8_t key[16], other[16], pkt[2048];
    key_of("abc", key);
    key_of("abd", other);
    size_t n = vec(pkt, sizeof pkt);
    struct ufrpc_msg m;
    assert_int_not_equal(ufrpc_nathole_open(other, pkt, n, &m), 0);
    assert_int_equal(ufrpc_nathole_open(key, pkt, 16 + 8, &m), UFRPC_ERR_MSG_LENGTH);
    assert_int_equal(ufrpc_nathole_open(key, pkt, n - 1, &m), UFRPC_ERR_MSG_LENGTH);
    memset(pkt, 0x41, sizeof pkt);
    assert_int_equal(ufrpc_nathole_open(key, pkt, 1025, &m), UFRPC_ERR_LIMIT);
    assert_int_not_equal(ufrpc_nathole_open(key, pkt, 1024, &m), 0);
}

static void test_classify(void **st)
{
    (void)st;
    struct ufrpc_nat_feature f;
    const char *easy[] = {"1.2.3.4:5000", "1.2.3.4:5000"};
    const char *local[] = {"10.0.0.1", "1.2.3.4"};
    assert_int_equal(ufrpc_nathole_classify(easy, 2, local, 1, &f), 0);
    assert_string_equal(f.nat_type, "EasyNAT");
    assert_string_equal(f.behavior, "BehaviorNoChange");
    assert_false(f.public_network);
    assert_int_equal(ufrpc_nathole_classify(easy, 2, local, 2, &f), 0);
    assert_true(f.public_network);

    const char *port[] = {"1.2.3.4:5000", "1.2.3.4:5003"};
    assert_int_equal(ufrpc_nathole_classify(port, 2, NULL, 0, &f), 0);
    assert_string_equal(f.nat_type, "HardNAT");
    assert_string_equal(f.behavior, "BehaviorPortChanged");
    assert_int_equal(f.ports_difference, 3);
    assert_true(f.regular_ports_change);

    const char *far[] = {"1.2.3.4:5000", "1.2.3.4:6000"};
    assert_int_equal(ufrpc_nathole_classify(far, 2, NULL, 0, &f), 0);
    assert_false(f.regular_ports_change);

    const char *ip[] = {"1.2.3.4:5000", "1.2.3.5:5000"};
    assert_int_equal(ufrpc_nathole_classify(ip, 2, NULL, 0, &f), 0);
    assert_string_equal(f.behavior, "BehaviorIPChanged");
    const char *both[] = {"1.2.3.4:5000", "[::1]:5001"};
    assert_int_equal(ufrpc_nathole_classify(both, 2, NULL, 0, &f), 0);
    assert_string_equal(f.behavior, "BehaviorBothChanged");

    assert_int_equal(ufrpc_nathole_classify(easy, 1, NULL, 0, &f), UFRPC_ERR_INVAL);
    const char *bad[] = {"1.2.3.4:5000", "1.2.3.4"};
    assert_int_equal(ufrpc_nathole_classify(bad, 2, NULL, 0, &f), UFRPC_ERR_INVAL);
    const char *badp[] = {"1.2.3.4:5000", "1.2.3.4:x"};
    assert_int_equal(ufrpc_nathole_classify(badp, 2, NULL, 0, &f), UFRPC_ERR_INVAL);
}

/* frp's JSON field names of the control messages of the exchange */
static void test_resp_json(void **st)
{
    (void)st;
    static const char js[] =
        "{\"transaction_id\":\"t1\",\"sid\":\"s1\",\"protocol\":\"kcp\",\"candidate_addrs\":"
        "[\"127.0.0.1:4000\",\"127.0.0.1:4000\"],\"assisted_addrs\":[\"10.0.0.2:4000\"],"
        "\"detect_behavior\":{\"role\":\"receiver\",\"mode\":0,\"ttl\":7,\"read_timeout\":5000,"
        "\"candidate_ports\":[{\"from\":10,\"to\":20}]}}";
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_msg_decode(UFRPC_MSG_NAT_HOLE_RESP, js, strlen(js), &m), 0);
    const struct ufrpc_msg_nat_hole_resp *r = &m.u.nat_hole_resp;
    assert_string_equal(r->sid, "s1");
    assert_string_equal(r->protocol, "kcp");
    assert_int_equal(r->candidate_addrs.n, 2);
    assert_string_equal(r->assisted_addrs.items[0], "10.0.0.2:4000");
    assert_string_equal(r->detect_behavior.role, "receiver");
    assert_int_equal(r->detect_behavior.ttl, 7);
    assert_int_equal(r->detect_behavior.read_timeout_ms, 5000);
    assert_int_equal(r->detect_behavior.candidate_ports.n, 1);
    assert_int_equal(r->detect_behavior.candidate_ports.items[0].to, 20);
    ufrpc_msg_free(&m);

    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_VISITOR);
    ufrpc_msg_set_str(&m.u.nat_hole_visitor.transaction_id, "t2");
    ufrpc_msg_set_str(&m.u.nat_hole_visitor.proxy_name, "u.p");
    m.u.nat_hole_visitor.pre_check = true;
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(ufrpc_msg_encode_json(&m, &out, &len), 0);
    assert_string_equal(out, "{\"transaction_id\":\"t2\",\"proxy_name\":\"u.p\",\"pre_check\":true}");
    free(out);
    ufrpc_msg_free(&m);

    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_REPORT);
    ufrpc_msg_set_str(&m.u.nat_hole_report.sid, "s9");
    m.u.nat_hole_report.success = true;
    assert_int_equal(ufrpc_msg_encode_json(&m, &out, &len), 0);
    assert_string_equal(out, "{\"sid\":\"s9\",\"success\":true}");
    free(out);
    ufrpc_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_vector),
        cmocka_unit_test(test_seal_matches_vector),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_resp_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
