/* Snappy (proto/snappy, proto/crc32c): the 'hello' vector byte for byte, CRC-32C
 * known answers, block and framed round trips over random and compressible data,
 * every split of the input for the decoder, and the framing error cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/crc32c.h"
#include "proto/error.h"
#include "proto/snappy.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

static void fill_random(uint8_t *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(ufrpc_test_rand(seed) >> 24);
}

/* Text-like data: words from a small vocabulary with random numbers mixed in. */
static void fill_compressible(uint8_t *p, size_t n, uint64_t *seed)
{
    static const char *words[] = {"frp ", "proxy ", "tunnel ", "yamux ", "stream ",
                                  "{\"run_id\":", "\"a1b2c3\", ", "\n"};
    size_t i = 0;
    while (i < n) {
        uint64_t r = ufrpc_test_rand(seed);
        const char *w = words[r % 8];
        if ((r >> 8) % 5 == 0) {
            p[i++] = (uint8_t)('0' + (r >> 16) % 10);
            continue;
        }
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
}

struct out {
    uint8_t *buf;
    size_t len, cap;
};

static void out_append(struct out *o, const uint8_t *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 16;
        o->buf = realloc(o->buf, o->cap);
        assert_non_null(o->buf);
    }
    if (n)
        memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* Feeds in[] in pieces whose sizes come from step(): 0 = random 1..max_piece. Returns
 * the first error or the finish() result; the decoded bytes go to *o. */
static int decode_pieces(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                         uint64_t *seed, size_t max_piece, struct out *o)
{
    ufrpc_snappy_decoder_t *d = NULL;
    assert_int_equal(ufrpc_snappy_decoder_new(&d), 0);
    size_t pos = 0, ci = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t end;
        if (cuts != NULL)
            end = ci < ncuts ? cuts[ci++] : len;
        else
            end = pos + 1 + (size_t)(ufrpc_test_rand(seed) % max_piece);
        if (end > len)
            end = len;
        if (end < pos)
            end = pos;
        const uint8_t *p = in + pos;
        size_t n = end - pos;
        for (;;) {
            size_t used = 0, dlen = 0;
            const uint8_t *data = NULL;
            rc = ufrpc_snappy_decoder_feed(d, p, n, &used, &data, &dlen);
            if (rc != 0)
                break;
            assert_true(used <= n);
            out_append(o, data, dlen);
            p += used;
            n -= used;
            if (n == 0 && dlen == 0)
                break;
            assert_true(used > 0 || dlen > 0);
        }
        pos = end;
    }
    if (rc == 0)
        rc = ufrpc_snappy_decoder_finish(d);
    ufrpc_snappy_decoder_free(d);
    return rc;
}

static int decode_all(const uint8_t *in, size_t len, struct out *o)
{
    size_t cut = len;
    return decode_pieces(in, len, &cut, 1, NULL, 0, o);
}

/* Encodes with writes of the given size pattern (0 = all at once). */
static void encode_writes(const uint8_t *in, size_t len, size_t write_size, struct out *o)
{
    ufrpc_snappy_encoder_t e;
    ufrpc_snappy_encoder_init(&e);
    size_t pos = 0;
    do {
        size_t n = write_size == 0 ? len - pos : write_size;
        if (n > len - pos)
            n = len - pos;
        size_t cap = ufrpc_snappy_encoder_bound(&e, n), got = 0;
        uint8_t *buf = malloc(cap + 1);
        assert_non_null(buf);
        if (cap > 0)
            assert_int_equal(ufrpc_snappy_encoder_write(&e, in + pos, n, buf, cap - 1, &got),
                             UFRPC_ERR_LIMIT);
        assert_int_equal(ufrpc_snappy_encoder_write(&e, in + pos, n, buf, cap, &got), 0);
        assert_true(got <= cap);
        out_append(o, buf, got);
        free(buf);
        pos += n;
    } while (pos < len);
}

/* Walks the chunk headers of an encoded stream: counts by type, checks sizes. */
static void count_chunks(const uint8_t *s, size_t len, size_t counts[256])
{
    memset(counts, 0, 256 * sizeof counts[0]);
    size_t pos = 0;
    while (pos < len) {
        assert_true(len - pos >= 4);
        size_t clen = s[pos + 1] | (size_t)s[pos + 2] << 8 | (size_t)s[pos + 3] << 16;
        counts[s[pos]]++;
        pos += 4 + clen;
    }
    assert_int_equal(pos, len);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(ufrpc_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u);
    assert_int_equal(ufrpc_crc32c_update_portable(0, (const uint8_t *)"123456789", 9),
                     0xe3069283u);
    assert_int_equal(ufrpc_crc32c(NULL, 0), 0);
    uint8_t zeros[32] = {0};
    assert_int_equal(ufrpc_crc32c(zeros, 32), 0x8a9136aau); /* RFC 3720 B.4 */
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    assert_int_equal(ufrpc_crc32c(ff, 32), 0x62a8ab43u);
    /* Table and hardware paths agree at every length and alignment, and
     * incremental updates equal one-shot. */
    uint64_t seed = 7;
    uint8_t buf[300];
    fill_random(buf, sizeof buf, &seed);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= sizeof buf; n += 7) {
            uint32_t a = ufrpc_crc32c(buf + off, n);
            assert_int_equal(a, ufrpc_crc32c_update_portable(0, buf + off, n));
            uint32_t half = ufrpc_crc32c_update(0, buf + off, n / 3);
            assert_int_equal(a, ufrpc_crc32c_update(half, buf + off + n / 3, n - n / 3));
        }
    }
}

static void test_hello_vector(void **state)
{
    (void)state;
    uint8_t *want = NULL;
    size_t want_len = 0;
    assert_int_equal(ufrpc_test_vector_bytes("snappy framed stream of 'hello'", &want, &want_len),
                     0);
    assert_int_equal(want_len, 23);
    struct out o = {0};
    encode_writes((const uint8_t *)"hello", 5, 0, &o);
    assert_int_equal(o.len, 23);
    assert_memory_equal(o.buf, want, 23);
    /* A second write gets no new identifier. */
    ufrpc_snappy_encoder_t e;
    ufrpc_snappy_encoder_init(&e);
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(ufrpc_snappy_encoder_write(&e, NULL, 0, buf, 0, &n), 0);
    assert_int_equal(n, 0); /* empty writes emit nothing, not even the identifier */
    assert_int_equal(ufrpc_snappy_encoder_write(&e, (const uint8_t *)"hello", 5, buf,
                                                sizeof buf, &n),
                     0);
    assert_memory_equal(buf, want, 23);
    assert_int_equal(ufrpc_snappy_encoder_write(&e, (const uint8_t *)"hello", 5, buf,
                                                sizeof buf, &n),
                     0);
    assert_int_equal(n, 13);
    assert_memory_equal(buf, want + 10, 13);
    free(o.buf);

    /* Decoder: every two- and three-way split gives "hello". */
    for (size_t a = 0; a <= want_len; a++) {
        for (size_t b = a; b <= want_len; b++) {
            size_t cuts[3] = {a, b, want_len};
            struct out r = {0};
            assert_int_equal(decode_pieces(want, want_len, cuts, 3, NULL, 0, &r), 0);
            assert_int_equal(r.len, 5);
            assert_memory_equal(r.buf, "hello", 5);
            free(r.buf);
        }
    }
    free(want);
}

static void test_block_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 4, 15, 16, 17, 18, 63, 64, 65, 100, 1000,
                                   4096, 65535, 65536, 65537, 200000};
    uint64_t seed = 99;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        for (int kind = 0; kind < 3; kind++) {
            uint8_t *in = malloc(n + 1), *c = malloc(ufrpc_snappy_max_compressed_length(n));
            uint8_t *back = malloc(n + 1);
            assert_non_null(in);
            assert_non_null(c);
            assert_non_null(back);
            if (kind == 0)
                fill_random(in, n, &seed);
            else if (kind == 1)
                fill_compressible(in, n, &seed);
            else
                memset(in, 'a', n);
            size_t clen = 0, blen = 0;
            assert_int_equal(ufrpc_snappy_block_compress(
                                 in, n, c, ufrpc_snappy_max_compressed_length(n), &clen),
                             0);
            assert_true(clen <= ufrpc_snappy_max_compressed_length(n));
            if (kind == 2 && n >= 1000)
                assert_true(clen < n / 10);
            if (kind == 1 && n >= 4096)
                assert_true(clen < n / 2);
            size_t dl = 0, hl = 0;
            assert_int_equal(ufrpc_snappy_uncompressed_length(c, clen, &dl, &hl), 0);
            assert_int_equal(dl, n);
            assert_int_equal(ufrpc_snappy_block_decompress(c, clen, back, n, &blen), 0);
            assert_int_equal(blen, n);
            assert_memory_equal(back, in, n);
            if (n > 0) {
                assert_int_equal(ufrpc_snappy_block_decompress(c, clen, back, n - 1, &blen),
                                 UFRPC_ERR_LIMIT);
                /* Too small an output cap for the compressor: clean LIMIT. */
                assert_int_equal(ufrpc_snappy_block_compress(in, n, c, clen - 1, &blen),
                                 UFRPC_ERR_LIMIT);
                /* Every truncation of the block fails. */
                for (size_t t = 0; t < clen; t += (clen > 64 ? clen / 17 + 1 : 1))
                    assert_int_not_equal(ufrpc_snappy_block_decompress(c, t, back, n, &blen),
                                         0);
            }
            free(in);
            free(c);
            free(back);
        }
    }
}

static void test_block_malformed(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    /* Hand-made blocks: header 5, literal "ab", copy-1 len 4 offset 2 -> "ababab"? */
    const uint8_t good[] = {0x06, 0x04, 'a', 'b', 0x01, 0x02};
    assert_int_equal(ufrpc_snappy_block_decompress(good, sizeof good, out, sizeof out, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "ababab", 6);
    /* copy-4 op (the compressor never emits it) */
    const uint8_t c4[] = {0x06, 0x04, 'a', 'b', 0x0f, 0x02, 0x00, 0x00, 0x00};
    assert_int_equal(ufrpc_snappy_block_decompress(c4, sizeof c4, out, sizeof out, &n), 0);
    assert_memory_equal(out, "ababab", 6);
    /* literal with a 1-byte length extension (tag 60): 61 bytes */
    uint8_t lit[64] = {61, 60 << 2, 60};
    memset(lit + 3, 'z', 61);
    uint8_t big[80];
    assert_int_equal(ufrpc_snappy_block_decompress(lit, 3 + 61, big, sizeof big, &n), 0);
    assert_int_equal(n, 61);

    const struct {
        uint8_t b[12];
        size_t len;
    } bad[] = {
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6}, /* varint too long */
        {{0xff, 0xff, 0xff, 0xff, 0x1f}, 5},       /* length over 2^32-1 */
        {{0x80}, 1},                               /* truncated varint */
        {{0x06, 0x04, 'a', 'b', 0x01, 0x00}, 6},   /* offset 0 */
        {{0x06, 0x04, 'a', 'b', 0x01, 0x03}, 6},   /* offset beyond output */
        {{0x06, 0x04, 'a', 'b', 0x05, 0x02}, 6},   /* copy past declared length */
        {{0x03, 0x08, 'a', 'b'}, 4},               /* literal longer than input */
        {{0x02, 0x08, 'a', 'b', 'c'}, 5},          /* literal past declared length */
        {{0x05, 0x04, 'a', 'b'}, 4},               /* shorter than declared */
        {{0x04, 0x04, 'a', 'b', 0x02, 0x02}, 6},   /* truncated copy-2 */
        {{0x04, 0x04, 'a', 'b', 0x03, 0x02, 0, 0}, 8}, /* truncated copy-4 */
        {{0x04, 0xf0, 0x00}, 3},                   /* literal length bytes missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ufrpc_snappy_block_decompress(bad[i].b, bad[i].len, out, sizeof out, &n),
                         UFRPC_ERR_SNAPPY_FORMAT);
    assert_int_equal(ufrpc_snappy_block_decompress((const uint8_t *)"\x40", 1, out, 63, &n),
                     UFRPC_ERR_LIMIT);
}

static void test_framed_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 65535, 65536, 65537, 1 << 20};
    static const size_t writes[] = {0, 1000, 65536, 70000};
    uint64_t seed = 1234;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        for (int kind = 0; kind < 2; kind++) {
            uint8_t *in = malloc(n + 1);
            assert_non_null(in);
            if (kind == 0)
                fill_random(in, n, &seed);
            else
                fill_compressible(in, n, &seed);
            for (size_t wi = 0; wi < sizeof writes / sizeof writes[0]; wi++) {
                if (writes[wi] == 1000 && n > 70000)
                    continue; /* keeps the test quick */
                struct out enc = {0}, dec = {0};
                encode_writes(in, n, writes[wi], &enc);
                size_t counts[256];
                count_chunks(enc.buf, enc.len, counts);
                assert_int_equal(counts[0xff], n > 0 ? 1 : 0);
                if (n >= 1000 && kind == 0)
                    assert_int_equal(counts[0x00], 0); /* random data: stored */
                if (n >= 1000 && kind == 1) /* text: every full block compressed */
                    assert_true(counts[0x00] >= 1 && counts[0x00] >= n / 65536);
                if (writes[wi] == 0)
                    assert_int_equal(counts[0x00] + counts[0x01],
                                     (n + 65535) / 65536);
                assert_int_equal(decode_pieces(enc.buf, enc.len, NULL, 0, &seed, 9000, &dec),
                                 0);
                assert_int_equal(dec.len, n);
                if (n)
                    assert_memory_equal(dec.buf, in, n);
                free(enc.buf);
                free(dec.buf);
            }
            free(in);
        }
    }
}

/* A stream with every chunk kind: ident, compressed, padding, skippable, repeated
 * ident, uncompressed, empty uncompressed. Every two-way split decodes the same. */
static void test_every_split_mixed_stream(void **state)
{
    (void)state;
    uint64_t seed = 5;
    uint8_t text[300], rnd[40];
    fill_compressible(text, sizeof text, &seed);
    fill_random(rnd, sizeof rnd, &seed);
    struct out s = {0}, want = {0};
    encode_writes(text, sizeof text, 0, &s);
    assert_int_equal(s.buf[10], 0x00);
    out_append(&want, text, sizeof text);
    const uint8_t pad[] = {0xfe, 0x03, 0x00, 0x00, 0, 0, 0};
    const uint8_t skip[] = {0x80, 0x02, 0x00, 0x00, 'x', 'y'};
    const uint8_t ident[] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};
    out_append(&s, pad, sizeof pad);
    out_append(&s, skip, sizeof skip);
    out_append(&s, ident, sizeof ident);
    struct out u = {0};
    encode_writes(rnd, sizeof rnd, 0, &u);
    out_append(&s, u.buf + 10, u.len - 10);
    out_append(&want, rnd, sizeof rnd);
    uint8_t empty[8] = {0x01, 0x04, 0x00, 0x00};
    uint32_t c = ufrpc_crc32c_masked(NULL, 0);
    for (int i = 0; i < 4; i++)
        empty[4 + i] = (uint8_t)(c >> (8 * i));
    out_append(&s, empty, sizeof empty);
    free(u.buf);

    for (size_t a = 0; a <= s.len; a++) {
        size_t cuts[2] = {a, s.len};
        struct out r = {0};
        assert_int_equal(decode_pieces(s.buf, s.len, cuts, 2, NULL, 0, &r), 0);
        assert_int_equal(r.len, want.len);
        assert_memory_equal(r.buf, want.buf, want.len);
        free(r.buf);
    }
    /* Byte by byte. */
    struct out r = {0};
    assert_int_equal(decode_pieces(s.buf, s.len, NULL, 0, &seed, 1, &r), 0);
    assert_int_equal(r.len, want.len);
    assert_memory_equal(r.buf, want.buf, want.len);
    free(r.buf);
    /* Truncated anywhere inside a chunk: finish reports it. */
    for (size_t t = 1; t < s.len; t++) {
        struct out tr = {0};
        int rc = decode_all(s.buf, t, &tr);
        size_t counts_ok = 0;
        /* t is a chunk boundary iff decoding succeeded. */
        size_t pos = 0;
        while (pos < t) {
            size_t clen = s.buf[pos + 1] | (size_t)s.buf[pos + 2] << 8;
            pos += 4 + clen;
        }
        counts_ok = pos == t;
        assert_int_equal(rc, counts_ok ? 0 : UFRPC_ERR_SNAPPY_FORMAT);
        free(tr.buf);
    }
    free(s.buf);
    free(want.buf);
}

static void test_framed_errors(void **state)
{
    (void)state;
    uint8_t *hello = NULL;
    size_t hlen = 0;
    assert_int_equal(ufrpc_test_vector_bytes("snappy framed stream of 'hello'", &hello, &hlen), 0);
    struct out r = {0};
    uint8_t buf[128];

    /* Corrupted CRC, corrupted data. */
    memcpy(buf, hello, hlen);
    buf[14] ^= 1;
    assert_int_equal(decode_all(buf, hlen, &r), UFRPC_ERR_SNAPPY_CRC);
    memcpy(buf, hello, hlen);
    buf[hlen - 1] ^= 0x20;
    assert_int_equal(decode_all(buf, hlen, &r), UFRPC_ERR_SNAPPY_CRC);
    /* Corrupted CRC of a compressed chunk. */
    {
        uint8_t text[200];
        memset(text, 'q', sizeof text);
        struct out e = {0};
        encode_writes(text, sizeof text, 0, &e);
        assert_int_equal(e.buf[10], 0x00);
        e.buf[15] ^= 0x80;
        assert_int_equal(decode_all(e.buf, e.len, &r), UFRPC_ERR_SNAPPY_CRC);
        e.buf[15] ^= 0x80;
        e.buf[e.len - 1] ^= 0xff; /* damage the block itself */
        int rc = decode_all(e.buf, e.len, &r);
        assert_true(rc == UFRPC_ERR_SNAPPY_FORMAT || rc == UFRPC_ERR_SNAPPY_CRC);
        free(e.buf);
    }
    /* Reserved unskippable chunk types 0x02..0x7f. */
    for (int t = 0x02; t <= 0x7f; t += 0x1f) {
        memcpy(buf, hello, hlen);
        buf[10] = (uint8_t)t;
        assert_int_equal(decode_all(buf, hlen, &r), UFRPC_ERR_SNAPPY_FORMAT);
    }
    /* First chunk must be the identifier. */
    assert_int_equal(decode_all(hello + 10, hlen - 10, &r), UFRPC_ERR_SNAPPY_FORMAT);
    /* Bad identifier body or length. */
    memcpy(buf, hello, hlen);
    buf[4] = 'S';
    assert_int_equal(decode_all(buf, hlen, &r), UFRPC_ERR_SNAPPY_FORMAT);
    memcpy(buf, hello, hlen);
    buf[1] = 5;
    assert_int_equal(decode_all(buf, hlen, &r), UFRPC_ERR_SNAPPY_FORMAT);
    /* Chunk length below the CRC size. */
    memcpy(buf, hello, hlen);
    buf[11] = 3;
    assert_int_equal(decode_all(buf, 14, &r), UFRPC_ERR_SNAPPY_FORMAT);
    buf[10] = 0x00;
    assert_int_equal(decode_all(buf, 14, &r), UFRPC_ERR_SNAPPY_FORMAT);
    /* Uncompressed chunk over 65536 data bytes; any chunk over the body limit. */
    const uint8_t too_big_unc[] = {0x01, 0x05, 0x00, 0x01};      /* 65541 */
    const uint8_t too_big_any[] = {0xfe, 0xff, 0xff, 0xff};      /* 16 MiB padding */
    const uint8_t ok_unc_max[] = {0x01, 0x04, 0x00, 0x01};       /* 65540 = 4 + 65536 */
    uint8_t s[32];
    memcpy(s, hello, 10);
    memcpy(s + 10, too_big_unc, 4);
    assert_int_equal(decode_all(s, 14, &r), UFRPC_ERR_SNAPPY_TOO_LARGE);
    memcpy(s + 10, too_big_any, 4);
    assert_int_equal(decode_all(s, 14, &r), UFRPC_ERR_SNAPPY_TOO_LARGE);
    memcpy(s + 10, ok_unc_max, 4);
    assert_int_equal(decode_all(s, 14, &r), UFRPC_ERR_SNAPPY_FORMAT); /* just truncated */
    /* Compressed chunk that decodes to more than 65536 bytes. */
    {
        uint8_t *big = malloc(70000), *c = malloc(ufrpc_snappy_max_compressed_length(70000));
        assert_non_null(big);
        assert_non_null(c);
        memset(big, 'x', 70000);
        size_t clen = 0;
        assert_int_equal(ufrpc_snappy_block_compress(big, 70000, c, ufrpc_snappy_max_compressed_length(70000), &clen), 0);
        struct out st = {0};
        out_append(&st, hello, 10);
        uint8_t h[8] = {0x00, (uint8_t)(clen + 4), (uint8_t)((clen + 4) >> 8), 0};
        uint32_t crc = ufrpc_crc32c_masked(big, 70000);
        for (int i = 0; i < 4; i++)
            h[4 + i] = (uint8_t)(crc >> (8 * i));
        out_append(&st, h, 8);
        out_append(&st, c, clen);
        assert_int_equal(decode_all(st.buf, st.len, &r), UFRPC_ERR_SNAPPY_TOO_LARGE);
        free(st.buf);
        free(big);
        free(c);
    }
    /* Errors are sticky. */
    {
        ufrpc_snappy_decoder_t *d = NULL;
        assert_int_equal(ufrpc_snappy_decoder_new(&d), 0);
        const uint8_t *data;
        size_t used, dlen;
        assert_int_equal(ufrpc_snappy_decoder_feed(d, hello + 10, 4, &used, &data, &dlen),
                         UFRPC_ERR_SNAPPY_FORMAT);
        assert_int_equal(ufrpc_snappy_decoder_feed(d, hello, hlen, &used, &data, &dlen),
                         UFRPC_ERR_SNAPPY_FORMAT);
        assert_int_equal(used, 0);
        assert_int_equal(ufrpc_snappy_decoder_finish(d), UFRPC_ERR_SNAPPY_FORMAT);
        ufrpc_snappy_decoder_free(d);
    }
    assert_int_equal(r.len, 0); /* no error case produced output */
    free(r.buf);
    free(hello);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_hello_vector),
        cmocka_unit_test(test_block_round_trip),
        cmocka_unit_test(test_block_malformed),
        cmocka_unit_test(test_framed_round_trip),
        cmocka_unit_test(test_every_split_mixed_stream),
        cmocka_unit_test(test_framed_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
