/* XChaCha20-Poly1305, see xchacha20poly1305.h. */
#include "proto/xchacha20poly1305.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#include "proto/byteorder.h"
#include "proto/error.h"

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                                                    \
    do {                                                                                  \
        a += b; d ^= a; d = ROTL(d, 16);                                                  \
        c += d; b ^= c; b = ROTL(b, 12);                                                  \
        a += b; d ^= a; d = ROTL(d, 8);                                                   \
        c += d; b ^= c; b = ROTL(b, 7);                                                   \
    } while (0)

void ufrpc_hchacha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32])
{
    uint32_t s[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};
    for (int i = 0; i < 8; i++)
        s[4 + i] = ufrpc_get_le32(key + 4 * i);
    for (int i = 0; i < 4; i++)
        s[12 + i] = ufrpc_get_le32(in + 4 * i);
    for (int round = 0; round < 10; round++) {
        QR(s[0], s[4], s[8], s[12]);
        QR(s[1], s[5], s[9], s[13]);
        QR(s[2], s[6], s[10], s[14]);
        QR(s[3], s[7], s[11], s[15]);
        QR(s[0], s[5], s[10], s[15]);
        QR(s[1], s[6], s[11], s[12]);
        QR(s[2], s[7], s[8], s[13]);
        QR(s[3], s[4], s[9], s[14]);
    }
    for (int i = 0; i < 4; i++) {
        ufrpc_put_le32(out + 4 * i, s[i]);
        ufrpc_put_le32(out + 16 + 4 * i, s[12 + i]);
    }
    mbedtls_platform_zeroize(s, sizeof s);
}

void ufrpc_xchacha_init(ufrpc_xchacha_t *x, const uint8_t key[32])
{
    memset(x, 0, sizeof *x);
    mbedtls_chachapoly_init(&x->cp);
    memcpy(x->key, key, 32);
}

void ufrpc_xchacha_free(ufrpc_xchacha_t *x)
{
    if (x == NULL)
        return;
    mbedtls_chachapoly_free(&x->cp);
    mbedtls_platform_zeroize(x, sizeof *x);
}

/* Sets the ChaCha20-Poly1305 key for this nonce and builds the 12-byte inner nonce. */
static int prepare(ufrpc_xchacha_t *x, const uint8_t nonce[24], uint8_t inner[12])
{
    if (!x->have_subkey || memcmp(x->prefix, nonce, 16) != 0) {
        uint8_t sub[32];
        ufrpc_hchacha20(x->key, nonce, sub);
        int rc = mbedtls_chachapoly_setkey(&x->cp, sub);
        mbedtls_platform_zeroize(sub, sizeof sub);
        if (rc != 0) {
            x->have_subkey = 0;
            return UFRPC_ERR_CRYPTO;
        }
        memcpy(x->prefix, nonce, 16);
        x->have_subkey = 1;
    }
    memset(inner, 0, 4);
    memcpy(inner + 4, nonce + 16, 8);
    return 0;
}

int ufrpc_xchacha_seal(ufrpc_xchacha_t *x, const uint8_t nonce[24], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                       uint8_t tag[16])
{
    uint8_t inner[12];
    int rc = prepare(x, nonce, inner);
    if (rc != 0)
        return rc;
    rc = mbedtls_chachapoly_encrypt_and_tag(&x->cp, len, inner, aad, aad_len, in, out, tag);
    return rc == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

int ufrpc_xchacha_open(ufrpc_xchacha_t *x, const uint8_t nonce[24], const uint8_t *aad,
                       size_t aad_len, const uint8_t tag[16], const uint8_t *in, size_t len,
                       uint8_t *out)
{
    uint8_t inner[12];
    int rc = prepare(x, nonce, inner);
    if (rc != 0)
        return rc;
    rc = mbedtls_chachapoly_auth_decrypt(&x->cp, len, inner, aad, aad_len, tag, in, out);
    if (rc == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED)
        return UFRPC_ERR_AEAD_AUTH;
    return rc == 0 ? 0 : UFRPC_ERR_CRYPTO;
}
