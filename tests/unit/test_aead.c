/* proto/aead.h: the record layer's AEAD backend (libcrypto or libsodium, by build).
 * RFC 8439 2.8.2's ChaCha20-Poly1305 vector, an AES-256-GCM vector (the GCM spec's
 * test case 16 with a 96-bit IV), seal and open on one object in turn, a damaged
 * tag, in-place operation, and the helpers. The record framing around it is
 * tests/unit/test_tlsrec.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/aead.h"
#include "proto/error.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

struct vec {
    int cipher;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
};

static const struct vec vecs[] = {
    {UFRPC_AEAD_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966"
     "204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572"
     "652c2073756e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da"
     "92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585"
     "808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    {UFRPC_AEAD_AES_256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449"
     "a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056"
     "828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const struct vec *v = &vecs[i];
        if (!ufrpc_aead_available(v->cipher)) {
            printf("cipher %d not available on this CPU/build: skipped\n", v->cipher);
            continue;
        }
        uint8_t key[32], nonce[12], aad[64], pt[256], ct[256], tag[16], buf[256], t[16];
        unhex(v->key, key);
        unhex(v->nonce, nonce);
        size_t al = unhex(v->aad, aad), pl = unhex(v->pt, pt);
        assert_int_equal(unhex(v->ct, ct), pl);
        unhex(v->tag, tag);
        struct ufrpc_aead a;
        assert_int_equal(ufrpc_aead_init(&a, v->cipher, key), 0);
        /* seal, open, seal again on the same object: directions may alternate */
        for (int round = 0; round < 2; round++) {
            assert_int_equal(ufrpc_aead_seal(&a, nonce, aad, al, pt, pl, buf, t), 0);
            assert_memory_equal(buf, ct, pl);
            assert_memory_equal(t, tag, 16);
            assert_int_equal(ufrpc_aead_open(&a, nonce, aad, al, buf, pl, tag, buf), 0);
            assert_memory_equal(buf, pt, pl); /* in place */
        }
        memcpy(buf, ct, pl);
        t[0] ^= 1; /* t holds the tag: damage it */
        assert_int_equal(ufrpc_aead_open(&a, nonce, aad, al, buf, pl, t, buf),
                         UFRPC_ERR_AEAD_AUTH);
        aad[0] ^= 1;
        assert_int_equal(ufrpc_aead_open(&a, nonce, aad, al, ct, pl, tag, buf),
                         UFRPC_ERR_AEAD_AUTH);
        ufrpc_aead_wipe(&a);
        assert_int_equal(a.cipher, UFRPC_AEAD_NONE);
        assert_null(a.evp);
    }
}

static void test_init_errors_and_helpers(void **state)
{
    (void)state;
    uint8_t key[32] = {0};
    struct ufrpc_aead a;
    assert_int_equal(ufrpc_aead_init(&a, 7, key), UFRPC_ERR_INVAL);
    ufrpc_aead_wipe(&a); /* safe on a failed init */
    assert_true(ufrpc_aead_available(UFRPC_AEAD_CHACHA20_POLY1305));
    assert_false(ufrpc_aead_available(UFRPC_AEAD_NONE));
    const char *b = ufrpc_aead_backend();
    assert_true(strcmp(b, "libcrypto") == 0 || strcmp(b, "libsodium") == 0);
    assert_true(ufrpc_ct_equal("abcd", "abcd", 4));
    assert_false(ufrpc_ct_equal("abcd", "abce", 4));
    assert_true(ufrpc_ct_equal("x", "y", 0));
    char s[8] = "secret";
    ufrpc_secure_zero(s, sizeof s);
    for (size_t i = 0; i < sizeof s; i++)
        assert_int_equal(s[i], 0);
}

/* With libcrypto loaded at first use, an object starts on Mbed TLS's AEAD and moves
 * to libcrypto at a record of more than 2 KiB (proto/aead.c "Slow start"): records
 * sealed before, across and after the move open on an object that has not moved,
 * and the bytes are those of an object that has (the same key and nonce give the
 * same record whichever code made it). Elsewhere the same checks hold trivially. */
static void test_move_between_records(void **state)
{
    (void)state;
    static const int ciphers[] = {UFRPC_AEAD_AES_256_GCM, UFRPC_AEAD_CHACHA20_POLY1305};
    for (size_t c = 0; c < 2; c++) {
        if (!ufrpc_aead_available(ciphers[c]))
            continue;
        uint8_t key[32], nonce[12] = {0}, aad[13] = {23, 3, 3}, pt[4096], ct[4096], t1[16];
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (uint8_t)(i * 7 + c);
        for (size_t i = 0; i < sizeof pt; i++)
            pt[i] = (uint8_t)(i * 31);
        struct ufrpc_aead tx, rx, fresh, early; /* early: small records only */
        assert_int_equal(ufrpc_aead_init(&early, ciphers[c], key), 0);
        assert_int_equal(ufrpc_aead_init(&tx, ciphers[c], key), 0);
        assert_int_equal(ufrpc_aead_init(&rx, ciphers[c], key), 0);
        size_t lens[] = {100, 4096, 100}; /* small, large (moves tx), small again */
        for (size_t r = 0; r < 3; r++) {
            nonce[11] = (uint8_t)r;
            size_t n = lens[r];
            assert_int_equal(ufrpc_aead_seal(&tx, nonce, aad, sizeof aad, pt, n, ct, t1), 0);
            /* the same record from a new object, whatever it runs on */
            uint8_t ct2[4096], t2[16];
            assert_int_equal(ufrpc_aead_init(&fresh, ciphers[c], key), 0);
            assert_int_equal(ufrpc_aead_seal(&fresh, nonce, aad, sizeof aad, pt, n, ct2, t2), 0);
            ufrpc_aead_wipe(&fresh);
            assert_memory_equal(ct, ct2, n);
            assert_memory_equal(t1, t2, 16);
            if (n <= 2048) { /* early has not moved: its code against tx's */
                assert_int_equal(ufrpc_aead_seal(&early, nonce, aad, sizeof aad, pt, n, ct2, t2), 0);
                assert_memory_equal(ct, ct2, n);
                assert_memory_equal(t1, t2, 16);
            }
            uint8_t back[4096];
            assert_int_equal(ufrpc_aead_open(&rx, nonce, aad, sizeof aad, ct, n, t1, back), 0);
            assert_memory_equal(back, pt, n);
            t1[3] ^= 1;
            assert_int_equal(ufrpc_aead_open(&rx, nonce, aad, sizeof aad, ct, n, t1, back),
                             UFRPC_ERR_AEAD_AUTH);
        }
        /* a record above 2 KiB moved both off Mbed TLS, when libcrypto is loaded late */
        if (strcmp(ufrpc_aead_backend(), "libcrypto") == 0) {
            assert_false(tx.slow);
            assert_non_null(tx.evp);
            assert_false(rx.slow);
        }
        ufrpc_aead_wipe(&early);
        ufrpc_aead_wipe(&tx);
        ufrpc_aead_wipe(&rx);
        assert_false(tx.slow);
        assert_null(tx.evp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_move_between_records),
        cmocka_unit_test(test_init_errors_and_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
