/* libFuzzer target: wire v2 AEAD stream reader (proto/aead_stream.h).
 * Byte 0: bit 0 picks the algorithm (0 = AES-256-GCM with docs/PROTOCOL.md §14.6's K_s2c,
 * 1 = XChaCha20-Poly1305 with key 32 x 0x44), bits 1..7 seed the split pattern;
 * the rest is the wire stream. One-piece and split feeding must agree; errors must
 * be sticky. Then the bytes are written through the writer and must read back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/aead_stream.h"
#include "proto/error.h"

static const uint8_t k_s2c[32] = {0x93, 0xd3, 0xca, 0x20, 0x08, 0x73, 0x9a, 0x3f,
                                  0x8a, 0xe9, 0xaa, 0x38, 0xf6, 0x58, 0x02, 0x49,
                                  0xb4, 0x8c, 0xaa, 0x2c, 0x4a, 0x9e, 0xfd, 0x16,
                                  0xba, 0x5b, 0x9e, 0x21, 0x78, 0x3c, 0xd7, 0xa1};

static int read_all(ufrpc_aead_alg_t alg, const uint8_t *key, const uint8_t *in, size_t len,
                    uint32_t seed, size_t *total, uint64_t *hash)
{
    ufrpc_aead_reader_t r;
    if (ufrpc_aead_reader_init(&r, alg, key) != 0)
        return UFRPC_ERR_NOMEM;
    size_t pos = 0;
    int rc = 0;
    uint32_t s = seed | 1;
    *total = 0;
    *hash = 1469598103934665603ull;
    while (pos < len && rc == 0) {
        size_t piece = len - pos;
        if (seed != 0) {
            s = s * 1103515245u + 12345u;
            piece = 1 + (s >> 16) % 53;
            if (piece > len - pos)
                piece = len - pos;
        }
        const uint8_t *p = in + pos;
        size_t left = piece;
        for (;;) {
            size_t used = 0, dl = 0;
            const uint8_t *out = NULL;
            rc = ufrpc_aead_reader_feed(&r, p, left, &used, &out, &dl);
            if (rc != 0)
                break;
            CHECK(used <= left && dl <= UFRPC_AEAD_MAX_PLAINTEXT);
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
        rc = ufrpc_aead_reader_finish(&r);
    } else {
        size_t used = 9, dl = 9;
        const uint8_t *out;
        CHECK(ufrpc_aead_reader_feed(&r, in, len, &used, &out, &dl) == rc && used == 0 &&
              dl == 0);
    }
    ufrpc_aead_reader_free(&r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t xkey[32];
    memset(xkey, 0x44, sizeof xkey);
    ufrpc_aead_alg_t alg = (data[0] & 1) ? UFRPC_AEAD_XCHACHA20_POLY1305 : UFRPC_AEAD_AES_256_GCM;
    const uint8_t *key = (data[0] & 1) ? xkey : k_s2c;
    uint32_t seed = data[0] >> 1;
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    size_t t1, t2;
    uint64_t h1, h2;
    int rc1 = read_all(alg, key, in, len, 0, &t1, &h1);
    int rc2 = read_all(alg, key, in, len, seed, &t2, &h2);
    CHECK(rc1 == rc2);
    if (rc1 == 0)
        CHECK(t1 == t2 && h1 == h2);

    /* Round trip: the input as plaintext, nonce from its first bytes. */
    uint8_t nonce[24] = {0};
    memcpy(nonce, in, len < 24 ? len : 24);
    nonce[0] = 0; /* an all-ones nonce would (rightly) exhaust the counter at once */
    ufrpc_aead_writer_t w;
    CHECK(ufrpc_aead_writer_init(&w, alg, key, nonce) == 0);
    /* at most len writes, each at most two records here */
    size_t cap = ufrpc_aead_nonce_len(alg) + len + 40 * (len + 1);
    uint8_t *wire = malloc(cap);
    if (wire == NULL) {
        ufrpc_aead_writer_free(&w);
        return 0;
    }
    size_t o = 0;
    for (size_t pos = 0; pos < len;) {
        size_t k = 1 + (pos + seed) % (len / 3 + 1), got = 0;
        if (k > len - pos)
            k = len - pos;
        CHECK(ufrpc_aead_writer_write(&w, in + pos, k, wire + o, cap - o, &got) == 0);
        o += got;
        pos += k;
    }
    ufrpc_aead_writer_free(&w);
    uint64_t want = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        want = (want ^ in[i]) * 1099511628211ull;
    CHECK(read_all(alg, key, wire, o, seed, &t1, &h1) == 0);
    CHECK(t1 == len && h1 == want);
    free(wire);
    return 0;
}
