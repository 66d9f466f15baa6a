/* client/workconn: the StartWorkConn reader (sans-I/O) — frames split anywhere,
 * payload bytes after the frame left untouched, the body read as StartWorkConn
 * whatever the type byte (as frp's ReadMsgInto), errors reported. The I/O path is
 * covered end to end by test_client_supervisor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/workconn.h"
#include "proto/error.h"
#include "testutil.h"

/* The StartWorkConn frame of the v0.70.0 mux-false capture, then the user's bytes. */
static size_t capture_bytes(uint8_t *out, size_t cap)
{
    static const char hex[] =
        "7300000000000000657b2270726f78795f6e616d65223a226563686f222c227372635f61646472223a22"
        "3132372e302e302e31222c226473745f61646472223a223132372e302e302e31222c227372635f706f72"
        "74223a33333732322c226473745f706f7274223a31363030307d"
        "68656c6c6f206672700a";
    int n = ufrpc_test_unhex(hex, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_split_anywhere_keeps_payload(void **state)
{
    (void)state;
    uint8_t bytes[256];
    size_t n = capture_bytes(bytes, sizeof bytes);
    size_t frame_len = 9 + 0x65;
    for (size_t cut = 1; cut < n; cut++) {
        struct ufrpc_start_reader r;
        ufrpc_start_reader_init(&r);
        struct ufrpc_msg m;
        size_t used = 0;
        int rc = ufrpc_start_reader_feed(&r, bytes, cut, &used, &m);
        size_t off = used;
        if (rc == 0) {
            assert_int_equal(used, cut);
            rc = ufrpc_start_reader_feed(&r, bytes + cut, n - cut, &used, &m);
            off = cut + used;
        }
        assert_int_equal(rc, 1);
        assert_int_equal(off, frame_len); /* stops right after the frame */
        const struct ufrpc_msg_start_work_conn *s = &m.u.start_work_conn;
        assert_string_equal(s->proxy_name, "echo");
        assert_string_equal(s->src_addr, "127.0.0.1");
        assert_int_equal(s->src_port, 33722);
        assert_int_equal(s->dst_port, 16000);
        assert_null(s->error);
        assert_memory_equal(bytes + off, "hello frp\n", n - off);
        ufrpc_msg_free(&m);
    }
}

static void test_any_type_byte_and_errors(void **state)
{
    (void)state;
    struct ufrpc_start_reader r;
    struct ufrpc_msg m;
    size_t used;
    /* the body is taken as StartWorkConn even under another known type byte */
    const uint8_t other[] = {'4', 0, 0, 0, 0, 0, 0, 0, 17, '{', '"', 'e', 'r', 'r', 'o', 'r', '"',
                             ':', '"', 'n', 'o', ' ', 'p', 'o', 'o', 'l', '"', '}'};
    ufrpc_start_reader_init(&r);
    /* length 17 < body: only 17 bytes are the body -> malformed JSON */
    assert_true(ufrpc_start_reader_feed(&r, other, sizeof other, &used, &m) < 0);
    const char body[] = "{\"error\":\"work connection pool is full, discarding\"}";
    uint8_t f[128];
    f[0] = 'p';
    memset(f + 1, 0, 8);
    f[8] = (uint8_t)(sizeof body - 1);
    memcpy(f + 9, body, sizeof body - 1);
    ufrpc_start_reader_init(&r);
    assert_int_equal(ufrpc_start_reader_feed(&r, f, 9 + sizeof body - 1, &used, &m), 1);
    assert_string_equal(m.u.start_work_conn.error, "work connection pool is full, discarding");
    ufrpc_msg_free(&m);
    /* unknown type byte: error */
    f[0] = 0x01;
    ufrpc_start_reader_init(&r);
    assert_int_equal(ufrpc_start_reader_feed(&r, f, 9 + sizeof body - 1, &used, &m),
                     UFRPC_ERR_MSG_TYPE);
    /* a port out of uint16 range is an error, as in Go */
    const char bad[] = "{\"proxy_name\":\"x\",\"src_port\":70000}";
    f[0] = 's';
    f[8] = (uint8_t)(sizeof bad - 1);
    memcpy(f + 9, bad, sizeof bad - 1);
    ufrpc_start_reader_init(&r);
    assert_int_equal(ufrpc_start_reader_feed(&r, f, 9 + sizeof bad - 1, &used, &m),
                     UFRPC_ERR_JSON_RANGE);
}

/* v2: StartWorkConn as a v2 Message frame (no magic from frps), split anywhere; the
 * payload behind it is not consumed; another message id is refused. */
static void test_v2_start_work_conn(void **state)
{
    (void)state;
    struct ufrpc_msg sw;
    ufrpc_msg_init(&sw, UFRPC_MSG_START_WORK_CONN);
    ufrpc_msg_set_str(&sw.u.start_work_conn.proxy_name, "echo");
    ufrpc_msg_set_str(&sw.u.start_work_conn.src_addr, "127.0.0.1");
    sw.u.start_work_conn.src_port = 33722;
    uint8_t *fr;
    size_t flen;
    assert_int_equal(ufrpc_wire_encode(&sw, UFRPC_WIRE_V2, false, &fr, &flen), 0);
    uint8_t bytes[512];
    assert_true(flen + 10 <= sizeof bytes);
    memcpy(bytes, fr, flen);
    memcpy(bytes + flen, "hello frp\n", 10);
    size_t n = flen + 10;
    free(fr);
    for (size_t cut = 1; cut < n; cut++) {
        struct ufrpc_start_reader r;
        ufrpc_start_reader_init_wire(&r, UFRPC_WIRE_V2);
        struct ufrpc_msg m;
        size_t used = 0;
        int rc = ufrpc_start_reader_feed(&r, bytes, cut, &used, &m);
        size_t off = used;
        if (rc == 0) {
            assert_int_equal(used, cut);
            rc = ufrpc_start_reader_feed(&r, bytes + cut, n - cut, &used, &m);
            off = cut + used;
        }
        assert_int_equal(rc, 1);
        assert_int_equal(off, flen);
        assert_string_equal(m.u.start_work_conn.proxy_name, "echo");
        assert_int_equal(m.u.start_work_conn.src_port, 33722);
        ufrpc_msg_free(&m);
    }
    /* the v1 reader does not take a v2 frame, and v2 refuses a wrong id */
    struct ufrpc_start_reader r;
    struct ufrpc_msg m;
    size_t used;
    ufrpc_msg_free(&sw);
    ufrpc_msg_init(&sw, UFRPC_MSG_NEW_WORK_CONN);
    assert_int_equal(ufrpc_wire_encode(&sw, UFRPC_WIRE_V2, false, &fr, &flen), 0);
    ufrpc_start_reader_init_wire(&r, UFRPC_WIRE_V2);
    assert_int_equal(ufrpc_start_reader_feed(&r, fr, flen, &used, &m), UFRPC_ERR_MSG_TYPE);
    free(fr);
    ufrpc_msg_free(&sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_anywhere_keeps_payload),
        cmocka_unit_test(test_any_type_byte_and_errors),
        cmocka_unit_test(test_v2_start_work_conn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
