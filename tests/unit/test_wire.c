/* proto/wire: v1/v2 framing behind one reader and one encoder. Vectors for both
 * versions, the magic only at a stream start, reading back at every split without
 * over-reading, the size limits of each version and Go's type-check rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/error.h"
#include "proto/wire.h"
#include "testutil.h"

static void test_parse(void **state)
{
    (void)state;
    enum ufrpc_wire_version v = 0;
    assert_int_equal(ufrpc_wire_parse(NULL, &v), 0);
    assert_int_equal(v, UFRPC_WIRE_V1);
    assert_int_equal(ufrpc_wire_parse("v2", &v), 0);
    assert_int_equal(v, UFRPC_WIRE_V2);
    assert_int_equal(ufrpc_wire_parse("", &v), 0);
    assert_int_equal(v, UFRPC_WIRE_V1);
    assert_int_equal(ufrpc_wire_parse("v1", &v), 0);
    assert_int_equal(v, UFRPC_WIRE_V1);
    assert_int_equal(ufrpc_wire_parse("V2", &v), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_wire_parse("v3", &v), UFRPC_ERR_INVAL);
    assert_int_equal(v, UFRPC_WIRE_V1);
}

static void test_vectors(void **state)
{
    (void)state;
    struct ufrpc_msg req;
    assert_int_equal(ufrpc_msg_init(&req, UFRPC_MSG_REQ_WORK_CONN), 0);
    struct {
        enum ufrpc_wire_version ver;
        const char *title;
    } cases[] = {{UFRPC_WIRE_V1, "v1 ReqWorkConn frame"}, {UFRPC_WIRE_V2, "v2: ReqWorkConn message frame"}};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *want, *got;
        size_t wl, gl;
        assert_int_equal(ufrpc_test_vector_bytes(cases[i].title, &want, &wl), 0);
        assert_int_equal(ufrpc_wire_encode(&req, cases[i].ver, false, &got, &gl), 0);
        assert_int_equal(gl, wl);
        assert_memory_equal(got, want, wl);
        free(got);
        free(want);
    }
    /* NewWorkConn at a stream start: v1 unchanged, v2 with the magic */
    struct ufrpc_msg nwc;
    assert_int_equal(ufrpc_msg_init(&nwc, UFRPC_MSG_NEW_WORK_CONN), 0);
    assert_int_equal(ufrpc_msg_set_str(&nwc.u.new_work_conn.run_id, "a1b2c3d4e5f60718"), 0);
    uint8_t *want, *got;
    size_t wl, gl;
    assert_int_equal(ufrpc_test_vector_bytes("v1 NewWorkConn frame", &want, &wl), 0);
    assert_int_equal(ufrpc_wire_encode(&nwc, UFRPC_WIRE_V1, true, &got, &gl), 0);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);
    free(got);
    assert_int_equal(ufrpc_wire_encode(&nwc, UFRPC_WIRE_V2, true, &got, &gl), 0);
    assert_int_equal(gl, 7 + 8 + 2 + (wl - 9));
    assert_memory_equal(got, "FRP\0\2\r\n\0\x10\0\0\0\0\0\x1f\0\x06", 17);
    assert_memory_equal(got + 17, want + 9, wl - 9); /* same JSON */
    free(got);
    free(want);
    ufrpc_msg_free(&nwc);
}

/* Encodes a then b (a at the stream start), appends raw bytes, and reads everything
 * back as frps would (magic expected for v2) at every split point. */
static void roundtrip(enum ufrpc_wire_version ver)
{
    struct ufrpc_msg a, b;
    assert_int_equal(ufrpc_msg_init(&a, UFRPC_MSG_NEW_VISITOR_CONN), 0);
    assert_int_equal(ufrpc_msg_set_str(&a.u.new_visitor_conn.proxy_name, "u.secret"), 0);
    a.u.new_visitor_conn.timestamp = 1700000000;
    assert_int_equal(ufrpc_msg_init(&b, UFRPC_MSG_UDP_PACKET), 0);
    assert_int_equal(ufrpc_bytes_set(&b.u.udp_packet.content, "hello", 5), 0);
    uint8_t *ea, *eb;
    size_t la, lb;
    assert_int_equal(ufrpc_wire_encode(&a, ver, true, &ea, &la), 0);
    assert_int_equal(ufrpc_wire_encode(&b, ver, false, &eb, &lb), 0);
    size_t n = la + lb + 4;
    uint8_t *all = malloc(n);
    assert_non_null(all);
    memcpy(all, ea, la);
    memcpy(all + la, eb, lb);
    memcpy(all + la + lb, "DATA", 4);
    /* only the bytes of this version's decoder, as a work connection allocates
     * its StartWorkConn reader (ASan catches a size too small) */
    assert_true(ufrpc_wire_reader_size(ver) <= sizeof(struct ufrpc_wire_reader));
    if (ver == UFRPC_WIRE_V1)
        assert_true(ufrpc_wire_reader_size(ver) < sizeof(struct ufrpc_wire_reader) / 4);
    struct ufrpc_wire_reader *r = malloc(ufrpc_wire_reader_size(ver));
    assert_non_null(r);
    for (size_t cut = 0; cut <= n; cut++) {
        ufrpc_wire_reader_init(r, ver, true);
        size_t pos = 0, nmsg = 0;
        const size_t bounds[2] = {cut, n};
        for (int part = 0; part < 2; part++) {
            while (pos < bounds[part] && nmsg < 2) {
                size_t used = 0;
                struct ufrpc_frame f;
                int rc = ufrpc_wire_reader_feed(r, all + pos, bounds[part] - pos, &used, &f);
                assert_true(rc == 0 || rc == 1);
                pos += used;
                if (rc == 0) {
                    assert_int_equal(pos, bounds[part]);
                    continue;
                }
                struct ufrpc_msg m;
                assert_int_equal(ufrpc_msg_decode(f.type, f.body, f.body_len, &m), 0);
                if (nmsg == 0) {
                    assert_int_equal(f.type, UFRPC_MSG_NEW_VISITOR_CONN);
                    assert_string_equal(m.u.new_visitor_conn.proxy_name, "u.secret");
                    assert_int_equal(pos, la);
                } else {
                    assert_int_equal(f.type, UFRPC_MSG_UDP_PACKET);
                    assert_memory_equal(m.u.udp_packet.content.data, "hello", 5);
                    assert_int_equal(pos, la + lb); /* the raw bytes are left alone */
                }
                ufrpc_msg_free(&m);
                nmsg++;
            }
        }
        assert_int_equal(nmsg, 2);
        assert_int_equal(ufrpc_wire_reader_pending(r), 0);
    }
    free(r);
    free(all);
    free(ea);
    free(eb);
    ufrpc_msg_free(&a);
    ufrpc_msg_free(&b);
}

static void test_roundtrip_v1(void **state)
{
    (void)state;
    roundtrip(UFRPC_WIRE_V1);
}

static void test_roundtrip_v2(void **state)
{
    (void)state;
    roundtrip(UFRPC_WIRE_V2);
}

static void test_limits_and_types(void **state)
{
    (void)state;
    /* a 30000-byte UDP payload: over v1's 10240-byte JSON limit, fine for v2 */
    struct ufrpc_msg u;
    assert_int_equal(ufrpc_msg_init(&u, UFRPC_MSG_UDP_PACKET), 0);
    uint8_t *payload = calloc(1, 30000);
    assert_non_null(payload);
    assert_int_equal(ufrpc_bytes_set(&u.u.udp_packet.content, payload, 30000), 0);
    uint8_t *e;
    size_t l;
    assert_int_equal(ufrpc_wire_encode(&u, UFRPC_WIRE_V1, false, &e, &l), UFRPC_ERR_MSG_TOO_LONG);
    assert_int_equal(ufrpc_wire_encode(&u, UFRPC_WIRE_V2, false, &e, &l), 0);
    struct ufrpc_wire_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    ufrpc_wire_reader_init(r, UFRPC_WIRE_V2, false);
    size_t used;
    struct ufrpc_frame f;
    assert_int_equal(ufrpc_wire_reader_feed(r, e, l, &used, &f), 1);
    assert_int_equal(used, l);
    assert_int_equal(f.type, UFRPC_MSG_UDP_PACKET);
    /* the v1 reader refuses a v2 stream at its first byte ('F' is no type byte) */
    ufrpc_wire_reader_init(r, UFRPC_WIRE_V1, false);
    assert_int_equal(ufrpc_wire_reader_feed(r, (const uint8_t *)"FRP\0\2\r\n", 7, &used, &f),
                     UFRPC_ERR_MSG_TYPE);
    free(r);
    free(e);
    free(payload);
    ufrpc_msg_free(&u);
    assert_int_equal(ufrpc_wire_check_type(UFRPC_WIRE_V1, UFRPC_MSG_PONG, UFRPC_MSG_START_WORK_CONN), 0);
    assert_int_equal(ufrpc_wire_check_type(UFRPC_WIRE_V2, UFRPC_MSG_START_WORK_CONN,
                                           UFRPC_MSG_START_WORK_CONN),
                     0);
    assert_int_equal(ufrpc_wire_check_type(UFRPC_WIRE_V2, UFRPC_MSG_PONG, UFRPC_MSG_START_WORK_CONN),
                     UFRPC_ERR_MSG_TYPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_roundtrip_v1),
        cmocka_unit_test(test_roundtrip_v2),
        cmocka_unit_test(test_limits_and_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
