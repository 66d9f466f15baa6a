/* v2 framing: magic, frames from the vectors byte for byte, every split point,
 * never over-reading, errors, message id table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/frame.h"
#include "proto/frame_v2.h"
#include "testutil.h"

static const uint8_t garbage[] = {0x00, 0x10, 0xff, 0xff, 0x12};

/* Decodes exactly one frame from buf cut at split, with garbage appended. */
static void decode_split(struct ufrpc_frame_v2_decoder *dec, const uint8_t *buf, size_t len,
                         size_t split, struct ufrpc_frame_v2 *fr)
{
    uint8_t *tail = malloc(len - split + sizeof garbage);
    assert_non_null(tail);
    memcpy(tail, buf + split, len - split);
    memcpy(tail + len - split, garbage, sizeof garbage);
    ufrpc_frame_v2_decoder_init(dec);
    size_t used;
    int rc = ufrpc_frame_v2_decoder_feed(dec, buf, split, &used, fr);
    if (split < len) {
        assert_int_equal(rc, 0);
        assert_int_equal(used, split);
        rc = ufrpc_frame_v2_decoder_feed(dec, tail, len - split + sizeof garbage, &used, fr);
        assert_int_equal(rc, 1);
        assert_int_equal(used, len - split);
    } else {
        assert_int_equal(rc, 1);
        assert_int_equal(used, len);
    }
    assert_false(ufrpc_frame_v2_decoder_pending(dec));
    free(tail);
}

static void test_magic(void **state)
{
    (void)state;
    const uint8_t magic[] = {0x46, 0x52, 0x50, 0x00, 0x02, 0x0d, 0x0a, 0x00};
    for (size_t i = 0; i < UFRPC_FRAME_V2_MAGIC_LEN; i++)
        assert_int_equal(ufrpc_frame_v2_magic_check(magic, i), 0);
    assert_int_equal(ufrpc_frame_v2_magic_check(magic, 7), 1);
    assert_int_equal(ufrpc_frame_v2_magic_check(magic, 8), 1);
    assert_memory_equal(UFRPC_FRAME_V2_MAGIC, magic, 7);
    /* A v1 Login frame starts with 'o': not v2 on the first byte. */
    const uint8_t v1[] = {'o', 0, 0, 0, 0, 0, 0, 0, 2};
    assert_int_equal(ufrpc_frame_v2_magic_check(v1, 1), UFRPC_ERR_V2_MAGIC);
    /* Differing on the last byte. */
    uint8_t bad[7];
    memcpy(bad, magic, 7);
    bad[6] = 0x0b;
    assert_int_equal(ufrpc_frame_v2_magic_check(bad, 6), 0);
    assert_int_equal(ufrpc_frame_v2_magic_check(bad, 7), UFRPC_ERR_V2_MAGIC);
}

static void test_client_hello_vector(void **state)
{
    (void)state;
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    uint8_t *bytes;
    size_t len;
    assert_int_equal(ufrpc_test_vector_bytes("v2: magic + ClientHello frame", &bytes, &len), 0);
    char *hello = ufrpc_test_vector_text("ClientHello JSON: ");
    assert_non_null(hello);
    assert_int_equal(ufrpc_frame_v2_magic_check(bytes, len), 1);
    const uint8_t *frame = bytes + UFRPC_FRAME_V2_MAGIC_LEN;
    size_t flen = len - UFRPC_FRAME_V2_MAGIC_LEN;
    for (size_t split = 0; split <= flen; split++) {
        struct ufrpc_frame_v2 fr;
        decode_split(dec, frame, flen, split, &fr);
        assert_int_equal(fr.type, UFRPC_FRAME_V2_CLIENT_HELLO);
        assert_int_equal(fr.payload_len, strlen(hello));
        assert_memory_equal(fr.payload, hello, fr.payload_len);
        /* Not a Message frame. */
        uint8_t t;
        const char *json;
        size_t jl;
        assert_int_equal(ufrpc_frame_v2_split_message(&fr, &t, &json, &jl), UFRPC_ERR_V2_FRAME);
    }
    /* Re-encode. */
    uint8_t out[512];
    size_t out_len;
    assert_int_equal(ufrpc_frame_v2_encode(UFRPC_FRAME_V2_CLIENT_HELLO, hello, strlen(hello), out,
                                           sizeof out, &out_len),
                     0);
    assert_int_equal(out_len, flen);
    assert_memory_equal(out, frame, flen);
    assert_int_equal(ufrpc_frame_v2_encode(1, hello, strlen(hello), out, flen - 1, &out_len),
                     UFRPC_ERR_LIMIT);
    free(hello);
    free(bytes);
    free(dec);
}

static void check_message_vector(struct ufrpc_frame_v2_decoder *dec, const char *title,
                                 uint8_t want_type, const char *want_json)
{
    uint8_t *bytes;
    size_t len;
    assert_int_equal(ufrpc_test_vector_bytes(title, &bytes, &len), 0);
    for (size_t split = 0; split <= len; split++) {
        struct ufrpc_frame_v2 fr;
        decode_split(dec, bytes, len, split, &fr);
        assert_int_equal(fr.type, UFRPC_FRAME_V2_MESSAGE);
        uint8_t t;
        const char *json;
        size_t jl;
        assert_int_equal(ufrpc_frame_v2_split_message(&fr, &t, &json, &jl), 0);
        assert_int_equal(t, want_type);
        assert_int_equal(jl, strlen(want_json));
        assert_memory_equal(json, want_json, jl);
    }
    uint8_t *out;
    size_t out_len;
    assert_int_equal(ufrpc_frame_v2_encode_message_alloc(want_type, want_json, strlen(want_json),
                                                         &out, &out_len),
                     0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, bytes, len);
    free(out);
    free(bytes);
}

static void test_message_vectors(void **state)
{
    (void)state;
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    char *login = ufrpc_test_vector_text("Login JSON: ");
    assert_non_null(login);
    check_message_vector(dec, "v2: ReqWorkConn message frame", UFRPC_MSG_REQ_WORK_CONN, "{}");
    check_message_vector(dec, "v2: Login message frame", UFRPC_MSG_LOGIN, login);
    free(login);
    free(dec);
}

static void test_errors(void **state)
{
    (void)state;
    struct ufrpc_frame_v2_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    struct ufrpc_frame_v2 fr;
    size_t used;

    /* Non-zero flags. */
    const uint8_t flags[] = {0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07};
    ufrpc_frame_v2_decoder_init(dec);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, flags, sizeof flags, &used, &fr),
                     UFRPC_ERR_V2_FRAME);
    assert_int_equal(used, 8);
    /* Sticky. */
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, flags + 8, 2, &used, &fr), UFRPC_ERR_V2_FRAME);
    assert_int_equal(used, 0);
    /* Length 65537 and 0xffffffff. */
    const uint8_t big[] = {0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
    ufrpc_frame_v2_decoder_reset(dec);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, big, sizeof big, &used, &fr),
                     UFRPC_ERR_V2_FRAME);
    const uint8_t huge[] = {0x00, 0x10, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    ufrpc_frame_v2_decoder_reset(dec);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, huge, 3, &used, &fr), 0);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, huge + 3, 5, &used, &fr), UFRPC_ERR_V2_FRAME);

    /* Exactly 65536 is fine; the encoder refuses one more. */
    uint8_t *buf = calloc(1, UFRPC_FRAME_V2_HEADER_LEN + UFRPC_FRAME_V2_MAX_PAYLOAD + 1);
    assert_non_null(buf);
    size_t out_len;
    assert_int_equal(ufrpc_frame_v2_encode_header(16, UFRPC_FRAME_V2_MAX_PAYLOAD, buf), 0);
    memset(buf + UFRPC_FRAME_V2_HEADER_LEN, 'a', UFRPC_FRAME_V2_MAX_PAYLOAD);
    ufrpc_frame_v2_decoder_reset(dec);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, buf, UFRPC_FRAME_V2_HEADER_LEN +
                                                               UFRPC_FRAME_V2_MAX_PAYLOAD,
                                                 &used, &fr),
                     1);
    assert_int_equal(fr.payload_len, UFRPC_FRAME_V2_MAX_PAYLOAD);
    assert_int_equal(ufrpc_frame_v2_encode_header(16, UFRPC_FRAME_V2_MAX_PAYLOAD + 1, buf),
                     UFRPC_ERR_V2_FRAME);
    uint8_t *m;
    assert_int_equal(ufrpc_frame_v2_encode_message_alloc('h', buf, UFRPC_FRAME_V2_MAX_PAYLOAD - 1,
                                                         &m, &out_len),
                     UFRPC_ERR_V2_FRAME);
    assert_int_equal(ufrpc_frame_v2_encode_message_alloc('x', "{}", 2, &m, &out_len),
                     UFRPC_ERR_MSG_TYPE);
    free(buf);

    /* Message payloads: too short, unknown id. */
    const uint8_t one[] = {0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    ufrpc_frame_v2_decoder_reset(dec);
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, one, sizeof one, &used, &fr), 1);
    uint8_t t;
    const char *json;
    size_t jl;
    assert_int_equal(ufrpc_frame_v2_split_message(&fr, &t, &json, &jl), UFRPC_ERR_V2_FRAME);
    const uint8_t unk[] = {0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x13};
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, unk, sizeof unk, &used, &fr), 1);
    assert_int_equal(ufrpc_frame_v2_split_message(&fr, &t, &json, &jl), UFRPC_ERR_MSG_TYPE);
    const uint8_t zero[] = {0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(ufrpc_frame_v2_decoder_feed(dec, zero, sizeof zero, &used, &fr), 1);
    assert_int_equal(ufrpc_frame_v2_split_message(&fr, &t, &json, &jl), UFRPC_ERR_MSG_TYPE);
    free(dec);
}

static void test_id_table(void **state)
{
    (void)state;
    /* docs/PROTOCOL.md §3.2, in id order. */
    const char order[] = "o1p2cwrsv3h4uinm56";
    assert_int_equal(strlen(order), 18);
    for (size_t i = 0; i < 18; i++) {
        assert_int_equal(ufrpc_frame_v2_msg_id((uint8_t)order[i]), i + 1);
        assert_int_equal(ufrpc_frame_v2_msg_type((uint16_t)(i + 1)), (uint8_t)order[i]);
    }
    assert_int_equal(ufrpc_frame_v2_msg_type(0), 0);
    assert_int_equal(ufrpc_frame_v2_msg_type(19), 0);
    for (int t = 0; t < 256; t++)
        assert_int_equal(ufrpc_frame_v2_msg_id((uint8_t)t) != 0, ufrpc_frame_type_known((uint8_t)t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic),          cmocka_unit_test(test_client_hello_vector),
        cmocka_unit_test(test_message_vectors), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_id_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
