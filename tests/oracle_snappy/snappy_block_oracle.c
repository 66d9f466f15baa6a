/* Block-format oracle: libsnappy (Debian, C API) and our proto/snappy_block.c must
 * read each other's output, over random, text-like and run-heavy data of many sizes.
 * libsnappy validates strictly (snappy_validate_compressed_buffer) before
 * uncompressing, so any encoding slip of ours fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <snappy-c.h>

#include "proto/error.h"
#include "proto/snappy.h"

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void fill(uint8_t *p, size_t n, int kind, uint64_t *seed)
{
    static const char *words[] = {"frp ", "proxy ", "tunnel ", "yamux ", "GET / HTTP/1.1\r\n",
                                  "Host: example.com\r\n", "\"run_id\":", "0123456789"};
    size_t i = 0;
    switch (kind) {
    case 0: /* random */
        for (; i < n; i++)
            p[i] = (uint8_t)(rnd(seed) >> 32);
        break;
    case 1: /* text */
        while (i < n) {
            const char *w = words[rnd(seed) % 8];
            for (size_t k = 0; w[k] && i < n; k++)
                p[i++] = (uint8_t)w[k];
        }
        break;
    case 2: /* long runs and short repeats: exercises overlapping copies */
        while (i < n) {
            uint64_t r = rnd(seed);
            size_t run = 1 + r % 300, period = 1 + (r >> 16) % 7;
            for (size_t k = 0; k < run && i < n; k++, i++)
                p[i] = (uint8_t)(i >= period && k >= period ? p[i - period] : (r >> 24) + k);
        }
        break;
    default: /* mostly random with repeated blocks far apart */
        for (; i < n; i++)
            p[i] = (uint8_t)(rnd(seed) >> 40);
        for (size_t k = 0; n > 5000 && k < n / 2000; k++) {
            size_t from = rnd(seed) % (n - 1000), to = rnd(seed) % (n - 1000);
            memmove(p + to, p + from, 1 + rnd(seed) % 999);
        }
        break;
    }
}

static void check_one(size_t n, int kind, uint64_t *seed)
{
    uint8_t *in = malloc(n + 1), *ours = malloc(ufrpc_snappy_max_compressed_length(n));
    size_t theirs_cap = snappy_max_compressed_length(n);
    char *theirs = malloc(theirs_cap), *back = malloc(n + 1);
    uint8_t *back2 = malloc(n + 1);
    assert_non_null(in);
    assert_non_null(ours);
    assert_non_null(theirs);
    assert_non_null(back);
    assert_non_null(back2);
    fill(in, n, kind, seed);

    /* ours -> libsnappy */
    size_t olen = 0;
    assert_int_equal(ufrpc_snappy_block_compress(in, n, ours, ufrpc_snappy_max_compressed_length(n),
                                                 &olen),
                     0);
    assert_int_equal(snappy_validate_compressed_buffer((const char *)ours, olen), SNAPPY_OK);
    size_t ulen = 0;
    assert_int_equal(snappy_uncompressed_length((const char *)ours, olen, &ulen), SNAPPY_OK);
    assert_int_equal(ulen, n);
    ulen = n + 1;
    assert_int_equal(snappy_uncompress((const char *)ours, olen, back, &ulen), SNAPPY_OK);
    assert_int_equal(ulen, n);
    assert_memory_equal(back, in, n);

    /* libsnappy -> ours */
    size_t tlen = theirs_cap;
    assert_int_equal(snappy_compress((const char *)in, n, theirs, &tlen), SNAPPY_OK);
    size_t blen = 0;
    assert_int_equal(ufrpc_snappy_block_decompress((const uint8_t *)theirs, tlen, back2, n, &blen),
                     0);
    assert_int_equal(blen, n);
    assert_memory_equal(back2, in, n);

    /* Our ratio is in the same league as libsnappy's on compressible data. */
    if (kind != 0 && n >= 4096)
        assert_true(olen <= tlen + tlen / 2 + 64);
    free(in);
    free(ours);
    free(theirs);
    free(back);
    free(back2);
}

static void test_blocks_both_ways(void **state)
{
    (void)state;
    static const size_t sizes[] = {0,    1,    2,     3,     4,     5,     15,    16,
                                   17,   18,   31,    32,    33,    59,    60,    61,
                                   64,   65,   100,   255,   256,   257,   1000,  2047,
                                   2048, 2049, 4096,  10000, 65535, 65536, 65537, 100000,
                                   (1 << 20) + 3};
    uint64_t seed = 2024;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int kind = 0; kind < 4; kind++)
            check_one(sizes[i], kind, &seed);
    /* plus random sizes */
    for (int k = 0; k < 200; k++)
        check_one((size_t)(rnd(&seed) % 70000), (int)(rnd(&seed) % 4), &seed);
}

/* Malformed blocks: whenever libsnappy rejects a mutated block, so do we; when it
 * accepts, we produce the same bytes. */
static void test_mutations_agree(void **state)
{
    (void)state;
    uint64_t seed = 31337;
    uint8_t in[3000], c[4000], ours[3100];
    char theirs[3100];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rnd(&seed) % sizeof in);
        fill(in, n, 1 + (int)(rnd(&seed) % 3), &seed);
        size_t clen = 0;
        assert_int_equal(ufrpc_snappy_block_compress(in, n, c, sizeof c, &clen), 0);
        int flips = 1 + (int)(rnd(&seed) % 3);
        for (int f = 0; f < flips && clen > 0; f++)
            c[rnd(&seed) % clen] ^= (uint8_t)(1u << (rnd(&seed) % 8));
        if (rnd(&seed) % 4 == 0)
            clen = (size_t)(rnd(&seed) % (clen + 1));
        size_t tl = sizeof theirs, ol = 0;
        size_t want_len = 0;
        int they_ok = snappy_uncompressed_length((const char *)c, clen, &want_len) == SNAPPY_OK &&
                      want_len <= sizeof theirs &&
                      snappy_uncompress((const char *)c, clen, theirs, &tl) == SNAPPY_OK;
        int rc = ufrpc_snappy_block_decompress(c, clen, ours, sizeof ours, &ol);
        if (they_ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(ol, tl);
            assert_memory_equal(ours, theirs, tl);
        } else {
            assert_int_not_equal(rc, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_both_ways),
        cmocka_unit_test(test_mutations_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
