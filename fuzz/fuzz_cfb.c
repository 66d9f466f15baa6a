/* libFuzzer target: AES-128-CFB stream (proto/cfb.h).
 * Byte 0 seeds splits; the reader decrypts the rest (as if from the wire) in pieces,
 * in place and into a separate buffer, and both must agree with one-shot decryption.
 * Then the writer encrypts the bytes in pieces and the reader must restore them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/cfb.h"

/* PBKDF2("12345678") — fixed so the target does not spend its time in PBKDF2. */
static const uint8_t key[16] = {0xb7, 0xea, 0xc3, 0xf6, 0x63, 0x10, 0x82, 0x4c,
                                0x11, 0x4f, 0x56, 0xf8, 0x27, 0x4f, 0xdf, 0xea};

static size_t next_piece(uint32_t *s, size_t left)
{
    *s = *s * 1103515245u + 12345u;
    size_t p = (*s >> 16) % 41;
    return p > left ? left : p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t s = data[0] | 1u;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    uint8_t *one = malloc(len + 1), *split = malloc(len + 1), *inplace = malloc(len + 1);
    uint8_t *wire = malloc(len + 17);
    if (!one || !split || !inplace || !wire)
        goto out;

    ufrpc_cfb_reader_t r;
    size_t n1 = 0;
    CHECK(ufrpc_cfb_reader_init(&r, key) == 0);
    CHECK(ufrpc_cfb_reader_decrypt(&r, in, len, one, &n1) == 0);
    CHECK(n1 == (len > 16 ? len - 16 : 0));
    ufrpc_cfb_reader_free(&r);

    ufrpc_cfb_reader_t a, b;
    CHECK(ufrpc_cfb_reader_init(&a, key) == 0);
    CHECK(ufrpc_cfb_reader_init(&b, key) == 0);
    memcpy(inplace, in, len);
    size_t pos = 0, na = 0, nb = 0;
    while (pos < len) {
        size_t k = next_piece(&s, len - pos), got = 0;
        CHECK(ufrpc_cfb_reader_decrypt(&a, in + pos, k, split + na, &got) == 0);
        na += got;
        /* in place: output lands at the same offset as the input piece */
        CHECK(ufrpc_cfb_reader_decrypt(&b, inplace + pos, k, inplace + pos, &got) == 0);
        memmove(inplace + nb, inplace + pos, got);
        nb += got;
        pos += k;
    }
    CHECK(na == n1 && nb == n1);
    CHECK(n1 == 0 || (memcmp(split, one, n1) == 0 && memcmp(inplace, one, n1) == 0));
    ufrpc_cfb_reader_free(&a);
    ufrpc_cfb_reader_free(&b);

    /* Round trip: IV from the first bytes, writer in pieces, reader in one go. */
    uint8_t iv[16] = {0};
    memcpy(iv, in, len < 16 ? len : 16);
    ufrpc_cfb_writer_t w;
    CHECK(ufrpc_cfb_writer_init(&w, key, iv) == 0);
    size_t o = 0;
    pos = 0;
    do {
        size_t k = next_piece(&s, len - pos), got = 0;
        CHECK(ufrpc_cfb_writer_write(&w, in + pos, k, wire + o, len + 17 - o, &got) == 0);
        o += got;
        pos += k;
    } while (pos < len);
    ufrpc_cfb_writer_free(&w);
    CHECK(o == len + 16);
    CHECK(ufrpc_cfb_reader_init(&r, key) == 0);
    CHECK(ufrpc_cfb_reader_decrypt(&r, wire, o, wire, &n1) == 0);
    CHECK(n1 == len && (len == 0 || memcmp(wire, in, len) == 0));
    ufrpc_cfb_reader_free(&r);
out:
    free(one);
    free(split);
    free(inplace);
    free(wire);
    return 0;
}
