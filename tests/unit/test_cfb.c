/* AES-128-CFB stream (proto/cfb): PBKDF2 keys and the Ping ciphertexts from
 * vectors.txt byte for byte, every split of the wire bytes, in-place operation,
 * and round trips across uneven writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/cfb.h"
#include "proto/error.h"
#include "testutil.h"

static void key_from_vector(const char *prefix, uint8_t key[16])
{
    char *hex = ufrpc_test_vector_text(prefix);
    assert_non_null(hex);
    assert_int_equal(ufrpc_test_unhex(hex, key, 16), 16);
    free(hex);
}

static void test_pbkdf2_vectors(void **state)
{
    (void)state;
    uint8_t want[16], got[16];
    key_from_vector("pbkdf2-sha1(12345678, frp, 64, 16) = ", want);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)"12345678", 8, got), 0);
    assert_memory_equal(got, want, 16);

    key_from_vector("pbkdf2-sha1('', frp, 64, 16) = ", want);
    assert_int_equal(ufrpc_cfb_derive_key(NULL, 0, got), 0);
    assert_memory_equal(got, want, 16);
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)"", 0, got), 0);
    assert_memory_equal(got, want, 16);
    assert_int_equal(ufrpc_cfb_derive_key(NULL, 3, got), UFRPC_ERR_INVAL);
}

/* The wire bytes for two Pings: IV || CFB(ping1) || CFB(ping2). */
static void load_ping_vectors(uint8_t key[16], uint8_t **ping, size_t *ping_len,
                              uint8_t **wire, size_t *wire_len)
{
    uint8_t *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    key_from_vector("pbkdf2-sha1(12345678, frp, 64, 16) = ", key);
    assert_int_equal(ufrpc_test_vector_bytes("v1 Ping frame", ping, ping_len), 0);
    assert_int_equal(*ping_len, 11);
    assert_int_equal(ufrpc_test_vector_bytes("AES-128-CFB(Ping frame)", &first, &first_len), 0);
    assert_int_equal(first_len, 27);
    assert_int_equal(ufrpc_test_vector_bytes("next Ping on same stream", &second, &second_len),
                     0);
    assert_int_equal(second_len, 11);
    *wire_len = first_len + second_len;
    *wire = malloc(*wire_len);
    assert_non_null(*wire);
    memcpy(*wire, first, first_len);
    memcpy(*wire + first_len, second, second_len);
    free(first);
    free(second);
}

static void test_writer_ping_vectors(void **state)
{
    (void)state;
    uint8_t key[16], *ping, *wire;
    size_t ping_len, wire_len;
    load_ping_vectors(key, &ping, &ping_len, &wire, &wire_len);
    uint8_t iv[16];
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)i;

    ufrpc_cfb_writer_t w;
    assert_int_equal(ufrpc_cfb_writer_init(&w, key, iv), 0);
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(ufrpc_cfb_writer_bound(&w, ping_len), 27);
    assert_int_equal(ufrpc_cfb_writer_write(&w, ping, ping_len, out, 26, &n),
                     UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_cfb_writer_write(&w, ping, ping_len, out, sizeof out, &n), 0);
    assert_int_equal(n, 27);
    assert_memory_equal(out, wire, 27);
    /* Second write continues the keystream, no IV; here in place. */
    memcpy(out, ping, ping_len);
    assert_int_equal(ufrpc_cfb_writer_write(&w, out, ping_len, out, ping_len, &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(out, wire + 27, 11);
    ufrpc_cfb_writer_free(&w);

    /* First write in place (room for the IV after the data), then byte by byte. */
    assert_int_equal(ufrpc_cfb_writer_init(&w, key, iv), 0);
    memcpy(out, ping, ping_len);
    assert_int_equal(ufrpc_cfb_writer_write(&w, out, ping_len, out, sizeof out, &n), 0);
    assert_int_equal(n, 27);
    assert_memory_equal(out, wire, 27);
    for (size_t i = 0; i < ping_len; i++) {
        uint8_t b;
        assert_int_equal(ufrpc_cfb_writer_write(&w, ping + i, 1, &b, 1, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(b, wire[27 + i]);
    }
    ufrpc_cfb_writer_free(&w);
    free(ping);
    free(wire);
}

static int fixed_rng(void *ctx, unsigned char *buf, size_t len)
{
    int *calls = ctx;
    ++*calls;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)i;
    return 0;
}

static int failing_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return -1;
}

static void test_writer_rng_and_low_level(void **state)
{
    (void)state;
    uint8_t key[16], *ping, *wire;
    size_t ping_len, wire_len;
    load_ping_vectors(key, &ping, &ping_len, &wire, &wire_len);
    int calls = 0;
    ufrpc_cfb_writer_t w;
    assert_int_equal(ufrpc_cfb_writer_init_rng(&w, key, failing_rng, NULL), UFRPC_ERR_CRYPTO);
    assert_int_equal(ufrpc_cfb_writer_init_rng(&w, key, fixed_rng, &calls), 0);
    assert_int_equal(calls, 1);
    uint8_t iv[16], buf[11];
    assert_int_equal(ufrpc_cfb_writer_take_iv(&w, iv), 1);
    assert_memory_equal(iv, wire, 16);
    assert_int_equal(ufrpc_cfb_writer_take_iv(&w, iv), 0);
    ufrpc_cfb_writer_crypt(&w, ping, buf, 5);
    ufrpc_cfb_writer_crypt(&w, ping + 5, buf + 5, 6);
    assert_memory_equal(buf, wire + 16, 11);
    /* An empty first write still emits the IV (golib behaviour). */
    ufrpc_cfb_writer_free(&w);
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(ufrpc_cfb_writer_init(&w, key, wire), 0);
    assert_int_equal(ufrpc_cfb_writer_write(&w, NULL, 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(out, wire, 16);
    assert_int_equal(ufrpc_cfb_writer_write(&w, NULL, 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 0);
    ufrpc_cfb_writer_free(&w);
    free(ping);
    free(wire);
}

/* Reader: every split into two parts and into three parts, in place and not. */
static void test_reader_every_split(void **state)
{
    (void)state;
    uint8_t key[16], *ping, *wire;
    size_t ping_len, wire_len;
    load_ping_vectors(key, &ping, &ping_len, &wire, &wire_len);
    uint8_t want[22];
    memcpy(want, ping, 11);
    memcpy(want + 11, ping, 11);
    for (size_t a = 0; a <= wire_len; a++) {
        for (size_t b = a; b <= wire_len; b++) {
            for (int inplace = 0; inplace < 2; inplace++) {
                ufrpc_cfb_reader_t r;
                assert_int_equal(ufrpc_cfb_reader_init(&r, key), 0);
                uint8_t copy[64], out[64], got[64];
                memcpy(copy, wire, wire_len);
                size_t cuts[4] = {0, a, b, wire_len}, have = 0;
                for (int k = 0; k < 3; k++) {
                    size_t len = cuts[k + 1] - cuts[k], n = 99;
                    uint8_t *dst = inplace ? copy + cuts[k] : out;
                    assert_int_equal(
                        ufrpc_cfb_reader_decrypt(&r, copy + cuts[k], len, dst, &n), 0);
                    assert_true(n <= len);
                    memcpy(got + have, dst, n);
                    have += n;
                    assert_int_equal(ufrpc_cfb_reader_has_iv(&r), cuts[k + 1] >= 16);
                }
                assert_int_equal(have, 22);
                assert_memory_equal(got, want, 22);
                ufrpc_cfb_reader_free(&r);
            }
        }
    }
    free(ping);
    free(wire);
}

/* Round trip over many uneven writes and reads, crossing block boundaries. */
static void test_round_trip_random(void **state)
{
    (void)state;
    uint64_t seed = 42;
    uint8_t key[16], iv[16];
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)"secret", 6, key), 0);
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)ufrpc_test_rand(&seed);
    enum { TOTAL = 100000 };
    uint8_t *plain = malloc(TOTAL), *wire = malloc(TOTAL + 16), *back = malloc(TOTAL + 16);
    assert_non_null(plain);
    assert_non_null(wire);
    assert_non_null(back);
    for (size_t i = 0; i < TOTAL; i++)
        plain[i] = (uint8_t)ufrpc_test_rand(&seed);

    ufrpc_cfb_writer_t w;
    assert_int_equal(ufrpc_cfb_writer_init(&w, key, iv), 0);
    size_t in_pos = 0, wire_len = 0;
    while (in_pos < TOTAL) {
        size_t len = (size_t)(ufrpc_test_rand(&seed) % 100);
        if (len > TOTAL - in_pos)
            len = TOTAL - in_pos;
        size_t n = 0;
        assert_int_equal(ufrpc_cfb_writer_write(&w, plain + in_pos, len, wire + wire_len,
                                                TOTAL + 16 - wire_len, &n),
                         0);
        in_pos += len;
        wire_len += n;
    }
    ufrpc_cfb_writer_free(&w);
    assert_int_equal(wire_len, TOTAL + 16);
    assert_memory_equal(wire, iv, 16);
    assert_memory_not_equal(wire + 16, plain, 64);

    ufrpc_cfb_reader_t r;
    assert_int_equal(ufrpc_cfb_reader_init(&r, key), 0);
    size_t pos = 0, got = 0;
    while (pos < wire_len) {
        size_t len = (size_t)(ufrpc_test_rand(&seed) % 70);
        if (len > wire_len - pos)
            len = wire_len - pos;
        size_t n = 0;
        assert_int_equal(ufrpc_cfb_reader_decrypt(&r, wire + pos, len, back + got, &n), 0);
        pos += len;
        got += n;
    }
    ufrpc_cfb_reader_free(&r);
    assert_int_equal(got, TOTAL);
    assert_memory_equal(back, plain, TOTAL);

    /* A reader with another key gets garbage (no integrity, but not the plaintext). */
    uint8_t other[16];
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)"Secret", 6, other), 0);
    assert_int_equal(ufrpc_cfb_reader_init(&r, other), 0);
    size_t n = 0;
    assert_int_equal(ufrpc_cfb_reader_decrypt(&r, wire, wire_len, back, &n), 0);
    assert_int_equal(n, TOTAL);
    assert_memory_not_equal(back, plain, 64);
    ufrpc_cfb_reader_free(&r);
    free(plain);
    free(wire);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pbkdf2_vectors),
        cmocka_unit_test(test_writer_ping_vectors),
        cmocka_unit_test(test_writer_rng_and_low_level),
        cmocka_unit_test(test_reader_every_split),
        cmocka_unit_test(test_round_trip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
