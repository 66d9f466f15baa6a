/* libFuzzer target: snappy framed decoding (proto/snappy.h).
 * Input: byte 0 seeds the split pattern, the rest is a framed stream fed to the
 * decoder in pieces. Checks the decoder's contract (progress, bounds, sticky errors,
 * same result for one-piece and split feeding), runs the block decompressor on the
 * raw bytes, and round-trips the bytes through our encoder and decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/snappy.h"

/* Decodes in pieces; returns rc, total decoded bytes in *total and their running
 * hash in *hash (so two feedings can be compared without storing output). */
static int decode(const uint8_t *in, size_t len, uint32_t split_seed, size_t *total,
                  uint64_t *hash)
{
    ufrpc_snappy_decoder_t *d;
    if (ufrpc_snappy_decoder_new(&d) != 0)
        return UFRPC_ERR_NOMEM;
    size_t pos = 0;
    int rc = 0;
    *total = 0;
    *hash = 1469598103934665603ull;
    uint32_t s = split_seed | 1;
    while (pos < len && rc == 0) {
        size_t piece = len - pos;
        if (split_seed != 0) {
            s = s * 1103515245u + 12345u;
            piece = 1 + (s >> 16) % 97;
            if (piece > len - pos)
                piece = len - pos;
        }
        const uint8_t *p = in + pos;
        size_t left = piece;
        for (;;) {
            size_t used = 0, dl = 0;
            const uint8_t *out = NULL;
            rc = ufrpc_snappy_decoder_feed(d, p, left, &used, &out, &dl);
            if (rc != 0)
                break;
            CHECK(used <= left);
            CHECK(dl <= UFRPC_SNAPPY_MAX_BLOCK);
            CHECK(used > 0 || dl > 0 || left == 0);
            for (size_t i = 0; i < dl; i++)
                *hash = (*hash ^ out[i]) * 1099511628211ull;
            *total += dl;
            p += used;
            left -= used;
            if (left == 0 && dl == 0)
                break;
        }
        pos += piece;
    }
    if (rc == 0) {
        rc = ufrpc_snappy_decoder_finish(d);
    } else {
        size_t used = 7, dl = 7;
        const uint8_t *out = NULL;
        CHECK(ufrpc_snappy_decoder_feed(d, in, len, &used, &out, &dl) == rc);
        CHECK(used == 0 && dl == 0);
    }
    ufrpc_snappy_decoder_free(d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    size_t t1, t2;
    uint64_t h1, h2;
    int rc1 = decode(in, len, 0, &t1, &h1);
    int rc2 = decode(in, len, seed, &t2, &h2);
    CHECK(rc1 == rc2);
    if (rc1 == 0)
        CHECK(t1 == t2 && h1 == h2);

    /* Block decompressor on the raw bytes. */
    static uint8_t block_out[1 << 17];
    size_t n = 0;
    int rc = ufrpc_snappy_block_decompress(in, len, block_out, sizeof block_out, &n);
    CHECK(rc == 0 || rc == UFRPC_ERR_SNAPPY_FORMAT || rc == UFRPC_ERR_LIMIT);

    /* Round trip through the encoder (as one write, then split writes). */
    ufrpc_snappy_encoder_t e;
    ufrpc_snappy_encoder_init(&e);
    /* at most len writes, each adding one or two chunk headers */
    size_t cap = ufrpc_snappy_encoder_bound(&e, len) + 16 * (len + 1);
    uint8_t *enc = malloc(cap + 1);
    if (enc == NULL)
        return 0;
    size_t o = 0;
    for (size_t pos = 0; pos < len;) {
        size_t k = 1 + (pos * 31 + seed) % 7 * (len / 5 + 1);
        if (k > len - pos)
            k = len - pos;
        size_t got = 0;
        CHECK(ufrpc_snappy_encoder_write(&e, in + pos, k, enc + o, cap - o, &got) == 0);
        o += got;
        pos += k;
    }
    uint64_t want = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        want = (want ^ in[i]) * 1099511628211ull;
    CHECK(decode(enc, o, seed, &t1, &h1) == 0);
    CHECK(t1 == len && h1 == want);
    free(enc);
    return 0;
}
