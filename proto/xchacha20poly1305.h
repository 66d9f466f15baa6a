/* ufrpc — XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) on top of mbedTLS's
 * ChaCha20-Poly1305, which lacks the extended-nonce variant.
 *
 * XChaCha20-Poly1305(key, nonce24) = ChaCha20-Poly1305(HChaCha20(key, nonce24[0..16)),
 * 00000000 || nonce24[16..24)). The HChaCha20 core is our own (20 rounds, no final
 * addition, output words 0-3 and 12-15).
 *
 * The context is caller-owned; init it, use it, free it (free wipes keys). It
 * caches the subkey, so consecutive nonces that share their first 16 bytes (as the
 * AEAD stream's counter nonces do) cost one HChaCha20 per 2^64 records.
 */
#ifndef UFRPC_PROTO_XCHACHA20POLY1305_H
#define UFRPC_PROTO_XCHACHA20POLY1305_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/chachapoly.h>

#define UFRPC_XCHACHA_KEY_LEN 32
#define UFRPC_XCHACHA_NONCE_LEN 24
#define UFRPC_XCHACHA_TAG_LEN 16

/* out = HChaCha20(key, in16). */
void ufrpc_hchacha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]);

typedef struct ufrpc_xchacha {
    mbedtls_chachapoly_context cp;
    uint8_t key[32];
    uint8_t prefix[16]; /* nonce prefix the current subkey was derived for */
    int have_subkey;
} ufrpc_xchacha_t;

void ufrpc_xchacha_init(ufrpc_xchacha_t *x, const uint8_t key[32]);
void ufrpc_xchacha_free(ufrpc_xchacha_t *x);

/* Seals len bytes of in into out (same length; out == in allowed) and writes the
 * 16-byte tag. 0 or UFRPC_ERR_CRYPTO. */
int ufrpc_xchacha_seal(ufrpc_xchacha_t *x, const uint8_t nonce[24], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                       uint8_t tag[16]);

/* Opens len bytes of ciphertext (tag separate); out == in allowed. 0,
 * UFRPC_ERR_AEAD_AUTH (out is zeroed then) or UFRPC_ERR_CRYPTO. */
int ufrpc_xchacha_open(ufrpc_xchacha_t *x, const uint8_t nonce[24], const uint8_t *aad,
                       size_t aad_len, const uint8_t tag[16], const uint8_t *in, size_t len,
                       uint8_t *out);

#endif
