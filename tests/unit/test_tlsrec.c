/* proto/tlsrec: the TLS 1.2 AEAD record layer. The AEADs against RFC 8439 2.8.2
 * (ChaCha20-Poly1305) and the GCM spec's test case 16 (AES-256-GCM); record
 * framing byte for byte against Mbed TLS's own AEADs (an independent
 * implementation) with the nonce and AAD built here from RFC 5288 / RFC 7905,
 * records of 0..2^14 bytes, sequence numbers past 2^32 and at 2^64-1, tampered,
 * truncated and oversized records, reassembly across every split, and what
 * post-handshake records mean (alerts, renegotiation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#include "proto/error.h"
#include "proto/tlsrec.h"
#include "testutil.h"

static const int CIPHERS[] = {UFRPC_TLSREC_AES_256_GCM, UFRPC_TLSREC_CHACHA20_POLY1305};

static bool have(int cipher)
{
    if (ufrpc_tlsrec_available(cipher))
        return true;
    printf("(cipher %d not available on this CPU: skipped)\n", cipher);
    return false;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    int n = ufrpc_test_unhex(hex, out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

/* ---- the AEADs ---------------------------------------------------------------------- */
static void check_vector(int cipher, const char *k, const char *n, const char *a, const char *p,
                         const char *c, const char *t)
{
    if (!have(cipher))
        return;
    uint8_t key[32], nonce[12], aad[64], pt[256], ct[256], tag[16], out[256], got_tag[16];
    assert_int_equal(unhex(k, key, sizeof key), 32);
    assert_int_equal(unhex(n, nonce, sizeof nonce), 12);
    size_t al = unhex(a, aad, sizeof aad);
    size_t pl = unhex(p, pt, sizeof pt);
    assert_int_equal(unhex(c, ct, sizeof ct), pl);
    assert_int_equal(unhex(t, tag, sizeof tag), 16);
    assert_int_equal(ufrpc_tlsrec_aead(cipher, true, key, nonce, aad, al, pt, pl, out, got_tag), 0);
    assert_memory_equal(out, ct, pl);
    assert_memory_equal(got_tag, tag, 16);
    assert_int_equal(ufrpc_tlsrec_aead(cipher, false, key, nonce, aad, al, ct, pl, out, tag), 0);
    assert_memory_equal(out, pt, pl);
    tag[15] ^= 1;
    assert_int_equal(ufrpc_tlsrec_aead(cipher, false, key, nonce, aad, al, ct, pl, out, tag),
                     UFRPC_ERR_AEAD_AUTH);
}

static void test_rfc8439_chacha20_poly1305(void **state)
{
    (void)state;
    char p[300];
    ufrpc_test_hex((const uint8_t *)"Ladies and Gentlemen of the class of '99: If I could offer "
                                     "you only one tip for the future, sunscreen would be it.",
                   114, p);
    check_vector(UFRPC_TLSREC_CHACHA20_POLY1305,
                 "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
                 "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", p,
                 "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                 "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                 "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                 "3ff4def08e4b7a9de576d26586cec64b6116",
                 "1ae10b594f09e26a7e902ecbd0600691");
}

static void test_gcm_spec_case16(void **state)
{
    (void)state;
    check_vector(UFRPC_TLSREC_AES_256_GCM,
                 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                 "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                 "76fc6ece0f4e1768cddf8853bb2d551b");
}

/* ---- framing, against Mbed TLS's AEADs ------------------------------------------------ */
static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t IV[12] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                               0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

/* d: zeroed or initialised before (a libcrypto context is freed first) */
static void init_dir(struct ufrpc_tlsrec_dir *d, int cipher, uint64_t seq)
{
    ufrpc_tlsrec_dir_wipe(d);
    assert_int_equal(ufrpc_tlsrec_dir_init(d, cipher, KEY, 32, IV,
                                           cipher == UFRPC_TLSREC_AES_256_GCM ? 4 : 12, seq),
                     0);
}

/* The record Mbed TLS's primitives give for (seq, type, pt), built by hand from
 * the RFCs; returns its length. */
static size_t reference_record(int cipher, uint64_t seq, uint8_t type, const uint8_t *pt,
                               size_t len, uint8_t *out)
{
    uint8_t aad[13], nonce[12];
    for (int i = 0; i < 8; i++)
        aad[i] = (uint8_t)(seq >> (56 - 8 * i));
    aad[8] = type;
    aad[9] = aad[10] = 3;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
    size_t explicit_len = cipher == UFRPC_TLSREC_AES_256_GCM ? 8 : 0;
    size_t body = explicit_len + len + 16;
    out[0] = type;
    out[1] = out[2] = 3;
    out[3] = (uint8_t)(body >> 8);
    out[4] = (uint8_t)body;
    uint8_t *ct = out + 5 + explicit_len;
    if (cipher == UFRPC_TLSREC_AES_256_GCM) {
        memcpy(out + 5, aad, 8); /* explicit nonce = seq */
        memcpy(nonce, IV, 4);
        memcpy(nonce + 4, aad, 8);
        mbedtls_gcm_context g;
        mbedtls_gcm_init(&g);
        assert_int_equal(mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, KEY, 256), 0);
        assert_int_equal(mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, nonce, 12, aad,
                                                   13, pt, ct, 16, ct + len),
                         0);
        mbedtls_gcm_free(&g);
    } else {
        memcpy(nonce, IV, 12);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= aad[i];
        mbedtls_chachapoly_context c;
        mbedtls_chachapoly_init(&c);
        assert_int_equal(mbedtls_chachapoly_setkey(&c, KEY), 0);
        assert_int_equal(mbedtls_chachapoly_encrypt_and_tag(&c, len, nonce, aad, 13, pt, ct,
                                                            ct + len),
                         0);
        mbedtls_chachapoly_free(&c);
    }
    return 5 + body;
}

static uint8_t *pattern(size_t len, uint64_t seed)
{
    uint8_t *p = malloc(len + 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)ufrpc_test_rand(&seed);
    return p;
}

/* seals (type, pt) at seq with ours, compares with the reference, opens it back */
static void roundtrip(int cipher, uint64_t seq, uint8_t type, size_t len)
{
    struct ufrpc_tlsrec_dir *w = calloc(1, sizeof *w), *r = calloc(1, sizeof *r);
    assert_non_null(w);
    assert_non_null(r);
    init_dir(w, cipher, seq);
    init_dir(r, cipher, seq);
    uint8_t *pt = pattern(len, seq + len);
    uint8_t *rec = malloc(len + UFRPC_TLSREC_MAX_OVERHEAD);
    uint8_t *ref = malloc(len + UFRPC_TLSREC_MAX_OVERHEAD);
    uint8_t *out = malloc(len + 1);
    assert_non_null(rec);
    assert_non_null(ref);
    assert_non_null(out);
    size_t prefix = ufrpc_tlsrec_prefix(w);
    memcpy(rec + prefix, pt, len);
    size_t rec_len = 0;
    assert_int_equal(ufrpc_tlsrec_seal(w, type, rec, len, &rec_len), 0);
    size_t ref_len = reference_record(cipher, seq, type, pt, len, ref);
    assert_int_equal(rec_len, ref_len);
    assert_memory_equal(rec, ref, rec_len);
    assert_true(w->seq == seq + 1);
    /* the same record sealed straight from a separate plaintext buffer */
    init_dir(w, cipher, seq);
    memset(rec, 0xee, len + UFRPC_TLSREC_MAX_OVERHEAD);
    assert_int_equal(ufrpc_tlsrec_seal_from(w, type, pt, len, rec, &rec_len), 0);
    assert_int_equal(rec_len, ref_len);
    assert_memory_equal(rec, ref, rec_len);
    uint8_t t = 0;
    size_t n = 0;
    assert_int_equal(ufrpc_tlsrec_open(r, ref, ref_len, out, len + 1, &t, &n), 0);
    assert_int_equal(t, type);
    assert_int_equal(n, len);
    assert_memory_equal(out, pt, len);
    assert_true(r->seq == seq + 1);
    /* in place, as net/tls.c does when a record sits in its own buffer */
    init_dir(r, cipher, seq);
    assert_int_equal(ufrpc_tlsrec_open(r, ref, ref_len, ref + prefix, len, &t, &n), 0);
    assert_memory_equal(ref + prefix, pt, len);
    ufrpc_tlsrec_dir_wipe(w);
    ufrpc_tlsrec_dir_wipe(r);
    free(w);
    free(r);
    free(pt);
    free(rec);
    free(ref);
    free(out);
}

static void test_framing_sizes(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1000, 4096, 16383, 16384};
    for (unsigned c = 0; c < 2; c++) {
        if (!have(CIPHERS[c]))
            continue;
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            roundtrip(CIPHERS[c], 1, UFRPC_TLSREC_APPDATA, sizes[i]);
            roundtrip(CIPHERS[c], 7 + i, UFRPC_TLSREC_ALERT, sizes[i] % 3);
        }
    }
}

static void test_sequence_past_2_32(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 2; c++) {
        if (!have(CIPHERS[c]))
            continue;
        /* the counter carries into the upper 32 bits (and the AAD/nonce follow) */
        for (uint64_t s = 0xfffffffeu; s < 0x100000003u; s++)
            roundtrip(CIPHERS[c], s, UFRPC_TLSREC_APPDATA, 300);
        roundtrip(CIPHERS[c], 0x0123456789abcdefull, UFRPC_TLSREC_APPDATA, 64);
        /* a record sealed under seq 2^32 does not open under 0 (the high bits count) */
        struct ufrpc_tlsrec_dir w = {0}, r = {0};
        init_dir(&w, CIPHERS[c], 0x100000000ull);
        init_dir(&r, CIPHERS[c], 0);
        uint8_t rec[64 + UFRPC_TLSREC_MAX_OVERHEAD] = {0}, out[64], t;
        size_t len, n;
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, 64, &len), 0);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_AUTH);
        /* the last sequence number is usable, then the direction is exhausted */
        init_dir(&w, CIPHERS[c], UINT64_MAX);
        init_dir(&r, CIPHERS[c], UINT64_MAX);
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, 64, &len), 0);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, sizeof out, &t, &n), 0);
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, 64, &len),
                         UFRPC_ERR_LIMIT);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, sizeof out, &t, &n),
                         UFRPC_ERR_LIMIT);
        ufrpc_tlsrec_dir_wipe(&w);
        ufrpc_tlsrec_dir_wipe(&r);
    }
}

static void test_tampered(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 2; c++) {
        if (!have(CIPHERS[c]))
            continue;
        struct ufrpc_tlsrec_dir w = {0}, r = {0};
        init_dir(&w, CIPHERS[c], 5);
        enum { LEN = 200 };
        uint8_t rec[LEN + UFRPC_TLSREC_MAX_OVERHEAD], bad[sizeof rec], out[LEN], t;
        size_t prefix = ufrpc_tlsrec_prefix(&w), len, n;
        memset(rec + prefix, 'x', LEN);
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, LEN, &len), 0);
        for (size_t i = 0; i < len; i++) {
            if (i >= 1 && i <= 4)
                continue; /* version/length: framing errors, below */
            memcpy(bad, rec, len);
            bad[i] ^= 0x40;
            init_dir(&r, CIPHERS[c], 5);
            int rc = ufrpc_tlsrec_open(&r, bad, len, out, sizeof out, &t, &n);
            if (i == 0) /* 0x17 ^ 0x40 is no content type; still never accepted */
                assert_true(rc == UFRPC_ERR_TLS);
            else
                assert_int_equal(rc, UFRPC_ERR_AEAD_AUTH);
            assert_true(r.seq == 5);
        }
        /* the content type is authenticated: an app-data record relabelled alert */
        memcpy(bad, rec, len);
        bad[0] = UFRPC_TLSREC_ALERT;
        init_dir(&r, CIPHERS[c], 5);
        assert_int_equal(ufrpc_tlsrec_open(&r, bad, len, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_AUTH);
        /* wrong sequence number */
        init_dir(&r, CIPHERS[c], 6);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_AUTH);
        /* and the untouched record opens */
        init_dir(&r, CIPHERS[c], 5);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, sizeof out, &t, &n), 0);
        ufrpc_tlsrec_dir_wipe(&w);
        ufrpc_tlsrec_dir_wipe(&r);
    }
}

static void test_truncated_oversized(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 2; c++) {
        if (!have(CIPHERS[c]))
            continue;
        struct ufrpc_tlsrec_dir w = {0}, r = {0};
        init_dir(&w, CIPHERS[c], 1);
        init_dir(&r, CIPHERS[c], 1);
        static uint8_t rec[UFRPC_TLSREC_MAX_RECORD + 64], out[UFRPC_TLSREC_MAX_BODY];
        size_t prefix = ufrpc_tlsrec_prefix(&w), len, n, body;
        uint8_t t;
        memset(rec, 0, sizeof rec);
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, 100, &len), 0);
        /* rec_len not matching the header, either way */
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len - 1, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_RECORD);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len + 1, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_RECORD);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, 3, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_RECORD);
        /* out too small: nothing consumed */
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, 99, &t, &n), UFRPC_ERR_LIMIT);
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, len, out, 100, &t, &n), 0);
        /* a body too short for the nonce and the tag */
        uint8_t tiny[5 + 23] = {UFRPC_TLSREC_APPDATA, 3, 3, 0, 0};
        for (size_t b = 0; b < prefix - 5 + 16; b++) {
            tiny[4] = (uint8_t)b;
            assert_int_equal(ufrpc_tlsrec_open(&r, tiny, 5 + b, out, sizeof out, &t, &n),
                             UFRPC_ERR_AEAD_RECORD);
        }
        /* 2^14 + 1 bytes of plaintext: record_overflow, even if the body fits 2^14+2048 */
        size_t big = prefix - 5 + 16385 + 16;
        rec[0] = UFRPC_TLSREC_APPDATA;
        rec[3] = (uint8_t)(big >> 8);
        rec[4] = (uint8_t)big;
        assert_int_equal(ufrpc_tlsrec_open(&r, rec, 5 + big, out, sizeof out, &t, &n),
                         UFRPC_ERR_AEAD_RECORD);
        /* and sealing more than 2^14 is refused */
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, rec, 16385, &len),
                         UFRPC_ERR_LIMIT);
        /* headers */
        uint8_t h[5] = {UFRPC_TLSREC_APPDATA, 3, 3, (16384 + 2048) >> 8, (16384 + 2048) & 255};
        assert_int_equal(ufrpc_tlsrec_header(h, &body), 0);
        assert_int_equal(body, 16384 + 2048);
        h[4]++;
        assert_int_equal(ufrpc_tlsrec_header(h, &body), UFRPC_ERR_AEAD_RECORD);
        h[3] = h[4] = 0xff;
        assert_int_equal(ufrpc_tlsrec_header(h, &body), UFRPC_ERR_AEAD_RECORD);
        uint8_t v[5] = {UFRPC_TLSREC_APPDATA, 3, 1, 0, 32};
        assert_int_equal(ufrpc_tlsrec_header(v, &body), UFRPC_ERR_TLS);
        uint8_t ty[5] = {24, 3, 3, 0, 32};
        assert_int_equal(ufrpc_tlsrec_header(ty, &body), UFRPC_ERR_TLS);
        ufrpc_tlsrec_dir_wipe(&w);
        ufrpc_tlsrec_dir_wipe(&r);
        ty[0] = 19;
        assert_int_equal(ufrpc_tlsrec_header(ty, &body), UFRPC_ERR_TLS);
    }
}

/* ---- reassembly ----------------------------------------------------------------------- */
static void test_reader_splits(void **state)
{
    (void)state;
    int cipher = have(UFRPC_TLSREC_AES_256_GCM) ? UFRPC_TLSREC_AES_256_GCM
                                                : UFRPC_TLSREC_CHACHA20_POLY1305;
    static const size_t sizes[] = {0, 1, 300, 16384, 5, 16384, 77};
    enum { N = sizeof sizes / sizeof sizes[0] };
    size_t cap = N * (16384 + UFRPC_TLSREC_MAX_OVERHEAD);
    uint8_t *stream = malloc(cap);
    assert_non_null(stream);
    struct ufrpc_tlsrec_dir w = {0}, r = {0};
    init_dir(&w, cipher, 1);
    size_t total = 0, prefix = ufrpc_tlsrec_prefix(&w);
    for (unsigned i = 0; i < N; i++) {
        size_t len;
        memset(stream + total + prefix, (int)i, sizes[i]);
        assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, stream + total, sizes[i],
                                           &len),
                         0);
        total += len;
    }
    struct ufrpc_tlsrec_reader *rd = calloc(1, sizeof *rd);
    uint8_t *out = malloc(16384);
    assert_non_null(rd);
    assert_non_null(out);
    ufrpc_tlsrec_reader_init(rd, NULL);
    uint64_t seed = 42;
    /* fixed chunk sizes (1 byte at a time included) and random ones */
    static const size_t chunks[] = {1, 2, 4, 5, 6, 13, 4096, 65536, 0};
    for (unsigned k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        init_dir(&r, cipher, 1);
        ufrpc_tlsrec_reader_free(rd);
        unsigned got = 0;
        size_t off = 0;
        while (off < total) {
            size_t step = chunks[k] ? chunks[k] : 1 + ufrpc_test_rand(&seed) % 20000;
            if (step > total - off)
                step = total - off;
            const uint8_t *d = stream + off;
            size_t l = step;
            const uint8_t *rec;
            size_t rec_len;
            int rc;
            while ((rc = ufrpc_tlsrec_next(rd, &d, &l, &rec, &rec_len)) == 1) {
                uint8_t t;
                size_t n;
                assert_true(got < N);
                assert_int_equal(ufrpc_tlsrec_open(&r, rec, rec_len, out, 16384, &t, &n), 0);
                assert_int_equal(n, sizes[got]);
                for (size_t j = 0; j < n; j++)
                    assert_int_equal(out[j], got);
                got++;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(l, 0);
            off += step;
        }
        assert_int_equal(got, N);
        assert_int_equal(rd->have, 0);
        /* the last record was whole in one chunk, or gathered: nothing kept */
        ufrpc_tlsrec_reader_trim(rd);
        assert_null(rd->buf);
    }
    /* a bad header, whole or split */
    uint8_t badh[5] = {UFRPC_TLSREC_APPDATA, 3, 3, 0xff, 0xff};
    for (size_t split = 1; split <= 5; split++) {
        ufrpc_tlsrec_reader_free(rd);
        const uint8_t *d = badh, *rec;
        size_t l = split, rec_len;
        int rc = ufrpc_tlsrec_next(rd, &d, &l, &rec, &rec_len);
        if (split < 5) {
            assert_int_equal(rc, 0);
            l = 5 - split;
            rc = ufrpc_tlsrec_next(rd, &d, &l, &rec, &rec_len);
        }
        assert_int_equal(rc, UFRPC_ERR_AEAD_RECORD);
    }
    ufrpc_tlsrec_dir_wipe(&w);
    ufrpc_tlsrec_dir_wipe(&r);
    ufrpc_tlsrec_reader_free(rd);
    free(rd);
    free(out);
    free(stream);
}

/* The reader holds memory only while a record is split across reads: a buffer of
 * that record's length, through its ufrpc_mem, given back once the record is
 * taken; an allocation that fails is UFRPC_ERR_NOMEM, not a crash. */
struct count_mem {
    int allocs, frees, fail;
    size_t last;
};

static void *cm_malloc(size_t n, void *u)
{
    struct count_mem *c = u;
    if (c->fail)
        return NULL;
    c->allocs++;
    c->last = n;
    return malloc(n);
}

static void *cm_calloc(size_t n, size_t k, void *u)
{
    (void)n, (void)k, (void)u;
    fail_msg("reader: calloc not expected");
    return NULL;
}

static void *cm_realloc(void *p, size_t n, void *u)
{
    (void)p, (void)n, (void)u;
    fail_msg("reader: realloc not expected");
    return NULL;
}

static void cm_free(void *p, void *u)
{
    struct count_mem *c = u;
    if (p != NULL)
        c->frees++;
    free(p);
}

static void test_reader_memory(void **state)
{
    (void)state;
    int cipher = have(UFRPC_TLSREC_AES_256_GCM) ? UFRPC_TLSREC_AES_256_GCM
                                                : UFRPC_TLSREC_CHACHA20_POLY1305;
    struct count_mem cm = {0};
    const struct ufrpc_mem mem = {&cm, cm_malloc, cm_calloc, cm_realloc, cm_free};
    struct ufrpc_tlsrec_dir w = {0};
    init_dir(&w, cipher, 1);
    uint8_t *stream = malloc(2 * (1000 + UFRPC_TLSREC_MAX_OVERHEAD));
    assert_non_null(stream);
    size_t l1, l2, prefix = ufrpc_tlsrec_prefix(&w);
    memset(stream + prefix, 'a', 1000);
    assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, stream, 1000, &l1), 0);
    memset(stream + l1 + prefix, 'b', 10);
    assert_int_equal(ufrpc_tlsrec_seal(&w, UFRPC_TLSREC_APPDATA, stream + l1, 10, &l2), 0);

    struct ufrpc_tlsrec_reader rd;
    ufrpc_tlsrec_reader_init(&rd, &mem);
    const uint8_t *d = stream, *rec;
    size_t l = l1 + l2, rec_len;
    /* whole records in the input: no allocation */
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 1);
    assert_ptr_equal(rec, stream);
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 1);
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 0);
    assert_int_equal(cm.allocs, 0);
    assert_null(rd.buf);

    /* 3 header bytes: kept in the struct; then half the record: one buffer of
     * exactly the record's length */
    d = stream;
    l = 3;
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 0);
    assert_int_equal(cm.allocs, 0);
    l = l1 / 2 - 3;
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 0);
    assert_int_equal(cm.allocs, 1);
    assert_int_equal(cm.last, l1);
    /* the rest and the next record whole: the first comes from the buffer */
    l = l1 - l1 / 2 + l2;
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 1);
    assert_ptr_equal(rec, rd.buf);
    assert_int_equal(rec_len, l1);
    struct ufrpc_tlsrec_dir r = {0};
    init_dir(&r, cipher, 1);
    uint8_t out[1000], type;
    size_t n;
    assert_int_equal(ufrpc_tlsrec_open(&r, rec, rec_len, out, sizeof out, &type, &n), 0);
    assert_int_equal(n, 1000);
    assert_int_equal(out[999], 'a');
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 1);
    assert_int_equal(cm.frees, 1); /* the gathered record was let go */
    assert_int_equal(ufrpc_tlsrec_open(&r, rec, rec_len, out, sizeof out, &type, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 0);

    /* a partial record dropped with the reader is freed; trim keeps it */
    d = stream;
    l = 100;
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), 0);
    assert_int_equal(cm.allocs, 2);
    ufrpc_tlsrec_reader_trim(&rd);
    assert_non_null(rd.buf);
    ufrpc_tlsrec_reader_free(&rd);
    assert_null(rd.buf);
    assert_int_equal(cm.frees, 2);

    /* no memory for a split record: an error, nothing consumed beyond the header */
    cm.fail = 1;
    d = stream;
    l = 100;
    assert_int_equal(ufrpc_tlsrec_next(&rd, &d, &l, &rec, &rec_len), UFRPC_ERR_NOMEM);
    assert_int_equal(l, 100 - UFRPC_TLSREC_HDR);
    ufrpc_tlsrec_reader_free(&rd);
    assert_int_equal(cm.allocs, cm.frees);
    ufrpc_tlsrec_dir_wipe(&w);
    ufrpc_tlsrec_dir_wipe(&r);
    free(stream);
}

/* ---- after the handshake -------------------------------------------------------------- */
static void test_classify(void **state)
{
    (void)state;
    int a;
    bool warn;
    const uint8_t x[2] = {'h', 'i'};
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_APPDATA, x, 2, true, &a, &warn),
                     UFRPC_TLSREC_EV_DATA);
    assert_int_equal(a, -1);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_APPDATA, x, 0, true, &a, &warn),
                     UFRPC_TLSREC_EV_SKIP);
    const uint8_t cn[2] = {1, 0}, cn_fatal[2] = {2, 0}, warn_a[2] = {1, 100},
                  fatal[2] = {2, 20};
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_ALERT, cn, 2, true, &a, &warn),
                     UFRPC_ERR_EOF);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_ALERT, cn_fatal, 2, true, &a, &warn),
                     UFRPC_ERR_EOF);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_ALERT, warn_a, 2, true, &a, &warn),
                     UFRPC_TLSREC_EV_SKIP);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_ALERT, fatal, 2, true, &a, &warn),
                     UFRPC_ERR_TLS);
    assert_int_equal(a, -1);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_ALERT, fatal, 1, true, &a, &warn),
                     UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_DECODE_ERROR);
    const uint8_t hello_req[4] = {0, 0, 0, 0}, client_hello[4] = {1, 0, 0, 40},
                  ticket[4] = {4, 0, 0, 10};
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_HANDSHAKE, hello_req, 4, true, &a, &warn),
                     UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_NO_RENEGOTIATION);
    assert_true(warn);
    assert_int_equal(
        ufrpc_tlsrec_classify(UFRPC_TLSREC_HANDSHAKE, client_hello, 4, false, &a, &warn),
        UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_NO_RENEGOTIATION);
    assert_int_equal(
        ufrpc_tlsrec_classify(UFRPC_TLSREC_HANDSHAKE, client_hello, 4, true, &a, &warn),
        UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE);
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_HANDSHAKE, ticket, 4, true, &a, &warn),
                     UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE);
    const uint8_t ccs[1] = {1};
    assert_int_equal(ufrpc_tlsrec_classify(UFRPC_TLSREC_CCS, ccs, 1, true, &a, &warn),
                     UFRPC_ERR_TLS);
    assert_int_equal(a, UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE);
}

static void test_init_errors(void **state)
{
    (void)state;
    struct ufrpc_tlsrec_dir d;
    assert_int_equal(ufrpc_tlsrec_dir_init(&d, 0, KEY, 32, IV, 12, 0), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_tlsrec_dir_init(&d, UFRPC_TLSREC_CHACHA20_POLY1305, KEY, 16, IV, 12, 0),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_tlsrec_dir_init(&d, UFRPC_TLSREC_CHACHA20_POLY1305, KEY, 32, IV, 4, 0),
                     UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_tlsrec_dir_init(&d, UFRPC_TLSREC_AES_256_GCM, KEY, 32, IV, 12, 0),
                     UFRPC_ERR_INVAL);
    uint8_t rec[64];
    size_t len;
    assert_int_equal(ufrpc_tlsrec_seal(&d, UFRPC_TLSREC_APPDATA, rec, 1, &len), UFRPC_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8439_chacha20_poly1305),
        cmocka_unit_test(test_gcm_spec_case16),
        cmocka_unit_test(test_framing_sizes),
        cmocka_unit_test(test_sequence_past_2_32),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_truncated_oversized),
        cmocka_unit_test(test_reader_splits),
        cmocka_unit_test(test_reader_memory),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_init_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
