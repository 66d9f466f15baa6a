/* v1 frame codec: vectors byte for byte, every split point, never over-reading,
 * each distinct error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/frame.h"
#include "testutil.h"

static const char *const vector_titles[] = {
    "v1 Login frame",      "v1 LoginResp frame",   "v1 ReqWorkConn frame",
    "v1 Ping frame",       "v1 Pong frame",        "v1 NewWorkConn frame",
    "v1 NewProxy frame",
};

static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x6f, 0x00};

/* Feeds buf as two pieces cut at split, followed by garbage in the second piece;
 * asserts one frame comes out, exactly len bytes are consumed, and returns it. */
static void decode_split(struct ufrpc_frame_decoder *dec, const uint8_t *buf, size_t len,
                         size_t split, struct ufrpc_frame *fr)
{
    uint8_t *tail = malloc(len - split + sizeof garbage);
    assert_non_null(tail);
    memcpy(tail, buf + split, len - split);
    memcpy(tail + len - split, garbage, sizeof garbage);

    size_t used = 99;
    int rc = ufrpc_frame_decoder_feed(dec, buf, split, &used, fr);
    if (split < len) {
        assert_int_equal(rc, 0);
        assert_int_equal(used, split);
        assert_true(split == 0 || ufrpc_frame_decoder_pending(dec));
        rc = ufrpc_frame_decoder_feed(dec, tail, len - split + sizeof garbage, &used, fr);
        assert_int_equal(rc, 1);
        assert_int_equal(used, len - split); /* the garbage stays unconsumed */
    } else {
        assert_int_equal(rc, 1);
        assert_int_equal(used, len);
    }
    assert_false(ufrpc_frame_decoder_pending(dec));
    free(tail);
}

static void test_vectors_roundtrip(void **state)
{
    (void)state;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    for (size_t v = 0; v < sizeof vector_titles / sizeof vector_titles[0]; v++) {
        uint8_t *bytes;
        size_t len;
        assert_int_equal(ufrpc_test_vector_bytes(vector_titles[v], &bytes, &len), 0);
        assert_true(len >= UFRPC_FRAME_HEADER_LEN);

        for (size_t split = 0; split <= len; split++) {
            struct ufrpc_frame fr;
            ufrpc_frame_decoder_init(dec);
            decode_split(dec, bytes, len, split, &fr);
            assert_int_equal(fr.type, bytes[0]);
            assert_int_equal(fr.body_len, len - UFRPC_FRAME_HEADER_LEN);
            assert_memory_equal(fr.body, bytes + UFRPC_FRAME_HEADER_LEN, fr.body_len);
            assert_int_equal(fr.body[fr.body_len], '\0');
        }

        /* Byte-at-a-time feeding. */
        ufrpc_frame_decoder_init(dec);
        struct ufrpc_frame fr;
        for (size_t i = 0; i < len; i++) {
            size_t used;
            int rc = ufrpc_frame_decoder_feed(dec, bytes + i, 1, &used, &fr);
            assert_int_equal(used, 1);
            assert_int_equal(rc, i + 1 == len ? 1 : 0);
        }

        /* Re-encode byte for byte, both encoders. */
        uint8_t out[UFRPC_FRAME_HEADER_LEN + UFRPC_FRAME_MAX_BODY];
        size_t out_len;
        assert_int_equal(ufrpc_frame_encode(fr.type, fr.body, fr.body_len, out, sizeof out,
                                            &out_len),
                         0);
        assert_int_equal(out_len, len);
        assert_memory_equal(out, bytes, len);
        uint8_t *heap;
        assert_int_equal(ufrpc_frame_encode_alloc(fr.type, fr.body, fr.body_len, &heap, &out_len),
                         0);
        assert_int_equal(out_len, len);
        assert_memory_equal(heap, bytes, len);
        free(heap);
        free(bytes);
    }
    free(dec);
}

/* Many frames back to back in one buffer, cut into pseudo-random chunks. */
static void test_stream_of_frames(void **state)
{
    (void)state;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    uint8_t *all = NULL;
    size_t all_len = 0, n_frames = 0;
    uint8_t types[64];
    for (int rep = 0; rep < 3; rep++) {
        for (size_t v = 0; v < sizeof vector_titles / sizeof vector_titles[0]; v++) {
            uint8_t *bytes;
            size_t len;
            assert_int_equal(ufrpc_test_vector_bytes(vector_titles[v], &bytes, &len), 0);
            all = realloc(all, all_len + len);
            assert_non_null(all);
            memcpy(all + all_len, bytes, len);
            all_len += len;
            types[n_frames++] = bytes[0];
            free(bytes);
        }
    }
    uint64_t seed = 42;
    for (int trial = 0; trial < 50; trial++) {
        ufrpc_frame_decoder_init(dec);
        size_t pos = 0, got = 0;
        while (pos < all_len) {
            size_t chunk = 1 + (size_t)(ufrpc_test_rand(&seed) % 300);
            if (chunk > all_len - pos)
                chunk = all_len - pos;
            size_t off = 0;
            while (off < chunk) {
                struct ufrpc_frame fr;
                size_t used;
                int rc = ufrpc_frame_decoder_feed(dec, all + pos + off, chunk - off, &used, &fr);
                assert_true(rc == 0 || rc == 1);
                off += used;
                if (rc == 1) {
                    assert_true(got < n_frames);
                    assert_int_equal(fr.type, types[got]);
                    got++;
                } else {
                    assert_int_equal(off, chunk);
                }
            }
            pos += chunk;
        }
        assert_int_equal(got, n_frames);
    }
    free(all);
    free(dec);
}

static int feed_all(struct ufrpc_frame_decoder *dec, const uint8_t *in, size_t len, size_t *used)
{
    struct ufrpc_frame fr;
    ufrpc_frame_decoder_init(dec);
    return ufrpc_frame_decoder_feed(dec, in, len, used, &fr);
}

static void test_errors(void **state)
{
    (void)state;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    assert_non_null(dec);
    size_t used;

    /* Unknown type bytes: detected on the first byte, before the length. */
    for (int t = 0; t < 256; t++) {
        uint8_t in[11] = {(uint8_t)t, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
        int rc = feed_all(dec, in, sizeof in, &used);
        if (ufrpc_frame_type_known((uint8_t)t)) {
            assert_int_equal(rc, 1);
            assert_int_equal(used, sizeof in);
        } else {
            assert_int_equal(rc, UFRPC_ERR_MSG_TYPE);
            assert_int_equal(used, 1);
        }
    }
    /* Negative length. */
    uint8_t neg[] = {'h', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_int_equal(feed_all(dec, neg, sizeof neg, &used), UFRPC_ERR_MSG_LENGTH);
    assert_int_equal(used, sizeof neg);
    uint8_t neg2[] = {'h', 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(feed_all(dec, neg2, sizeof neg2, &used), UFRPC_ERR_MSG_LENGTH);
    /* Too long: 10241, and a huge positive value. */
    uint8_t tl[] = {'h', 0, 0, 0, 0, 0, 0, 0x28, 0x01};
    assert_int_equal(feed_all(dec, tl, sizeof tl, &used), UFRPC_ERR_MSG_TOO_LONG);
    uint8_t tl2[] = {'h', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(feed_all(dec, tl2, sizeof tl2, &used), UFRPC_ERR_MSG_TOO_LONG);
    /* The error is sticky until reset. */
    struct ufrpc_frame fr;
    uint8_t ok[] = {'h', 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
    assert_int_equal(ufrpc_frame_decoder_feed(dec, ok, sizeof ok, &used, &fr),
                     UFRPC_ERR_MSG_TOO_LONG);
    assert_int_equal(used, 0);
    ufrpc_frame_decoder_reset(dec);
    assert_int_equal(ufrpc_frame_decoder_feed(dec, ok, sizeof ok, &used, &fr), 1);
    /* Errors found after a split header are the same. */
    ufrpc_frame_decoder_init(dec);
    assert_int_equal(ufrpc_frame_decoder_feed(dec, tl, 5, &used, &fr), 0);
    assert_int_equal(ufrpc_frame_decoder_feed(dec, tl + 5, 4, &used, &fr), UFRPC_ERR_MSG_TOO_LONG);
    /* NULL arguments. */
    assert_int_equal(ufrpc_frame_decoder_feed(dec, NULL, 3, &used, &fr), UFRPC_ERR_INVAL);
    free(dec);
}

static void test_length_bounds(void **state)
{
    (void)state;
    struct ufrpc_frame_decoder *dec = malloc(sizeof *dec);
    uint8_t *buf = malloc(UFRPC_FRAME_HEADER_LEN + UFRPC_FRAME_MAX_BODY + 4);
    assert_non_null(dec);
    assert_non_null(buf);
    char *body = malloc(UFRPC_FRAME_MAX_BODY + 1);
    assert_non_null(body);
    memset(body, 'x', UFRPC_FRAME_MAX_BODY + 1);

    size_t out_len;
    /* Exactly 10240 is accepted both ways. */
    assert_int_equal(ufrpc_frame_encode('u', body, UFRPC_FRAME_MAX_BODY, buf,
                                        UFRPC_FRAME_HEADER_LEN + UFRPC_FRAME_MAX_BODY, &out_len),
                     0);
    assert_int_equal(buf[7], 0x28);
    assert_int_equal(buf[8], 0x00);
    size_t used;
    struct ufrpc_frame fr;
    ufrpc_frame_decoder_init(dec);
    assert_int_equal(ufrpc_frame_decoder_feed(dec, buf, out_len, &used, &fr), 1);
    assert_int_equal(fr.body_len, UFRPC_FRAME_MAX_BODY);
    /* 10241 is refused by the encoders. */
    assert_int_equal(ufrpc_frame_encode('u', body, UFRPC_FRAME_MAX_BODY + 1, buf,
                                        UFRPC_FRAME_HEADER_LEN + UFRPC_FRAME_MAX_BODY + 4, &out_len),
                     UFRPC_ERR_MSG_TOO_LONG);
    uint8_t *heap = NULL;
    assert_int_equal(ufrpc_frame_encode_alloc('u', body, UFRPC_FRAME_MAX_BODY + 1, &heap, &out_len),
                     UFRPC_ERR_MSG_TOO_LONG);
    assert_null(heap);
    /* Unknown type and a too small buffer. */
    assert_int_equal(ufrpc_frame_encode('x', "{}", 2, buf, 64, &out_len), UFRPC_ERR_MSG_TYPE);
    assert_int_equal(ufrpc_frame_encode('h', "{}", 2, buf, 10, &out_len), UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_frame_encode('h', "{}", 2, buf, 11, &out_len), 0);
    /* An empty body is a complete frame right after the header. */
    uint8_t empty[] = {'r', 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
    ufrpc_frame_decoder_init(dec);
    assert_int_equal(ufrpc_frame_decoder_feed(dec, empty, sizeof empty, &used, &fr), 1);
    assert_int_equal(used, 9);
    assert_int_equal(fr.body_len, 0);
    assert_string_equal(fr.body, "");
    free(body);
    free(buf);
    free(dec);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ufrpc_frame_type_name('o'), "Login");
    assert_string_equal(ufrpc_frame_type_name('6'), "NatHoleReport");
    assert_string_equal(ufrpc_frame_type_name('x'), "unknown");
    int known = 0;
    for (int t = 0; t < 256; t++)
        known += ufrpc_frame_type_known((uint8_t)t);
    assert_int_equal(known, 18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_roundtrip), cmocka_unit_test(test_stream_of_frames),
        cmocka_unit_test(test_errors),            cmocka_unit_test(test_length_bounds),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
