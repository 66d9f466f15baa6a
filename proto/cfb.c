/* AES-128-CFB stream for frp (see cfb.h). CFB-128 state is the mbedTLS register
 * (iv) plus the offset into the current keystream block, so arbitrary splits of the
 * stream give the same bytes as one call. */
#include "proto/cfb.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#include "proto/error.h"
#include "proto/mbedtls_compat.h"

#define CFB_SALT "frp"
#define CFB_ITERATIONS 64

int ufrpc_cfb_derive_key(const uint8_t *secret, size_t secret_len,
                         uint8_t key[UFRPC_CFB_KEY_LEN])
{
    static const uint8_t empty[1] = {0};
    if (key == NULL || (secret == NULL && secret_len != 0))
        return UFRPC_ERR_INVAL;
    if (secret == NULL)
        secret = empty;
    int rc = ufrpc_mbedtls_pbkdf2_hmac(MBEDTLS_MD_SHA1, secret, secret_len,
                                       (const uint8_t *)CFB_SALT, sizeof CFB_SALT - 1,
                                       CFB_ITERATIONS, key, UFRPC_CFB_KEY_LEN);
    return rc == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

static int aes_setup(mbedtls_aes_context *aes, const uint8_t key[UFRPC_CFB_KEY_LEN])
{
    mbedtls_aes_init(aes);
    /* CFB uses the forward cipher in both directions. */
    if (mbedtls_aes_setkey_enc(aes, key, UFRPC_CFB_KEY_LEN * 8) != 0) {
        mbedtls_aes_free(aes);
        return UFRPC_ERR_CRYPTO;
    }
    return 0;
}

/* CFB-128 over the forward cipher. iv holds E(register) while a block is in use and
 * takes each ciphertext byte as it passes (as mbedTLS does), so off and iv carry the
 * state across calls. Each input block (or byte) is read completely before the
 * matching output is written, so out == in, or out below in (a shift), is safe. */
static void cfb_crypt(mbedtls_aes_context *aes, int encrypt, size_t *offp, uint8_t iv[16],
                      const uint8_t *in, uint8_t *out, size_t len)
{
    size_t off = *offp;
    while (len > 0 && off != 0) {
        uint8_t c = *in++;
        uint8_t p = (uint8_t)(c ^ iv[off]);
        *out++ = p;
        iv[off] = encrypt ? p : c;
        off = (off + 1) & 15;
        len--;
    }
    while (len >= 16) {
        uint64_t k[2], x[2], y[2];
        (void)mbedtls_aes_crypt_ecb(aes, MBEDTLS_AES_ENCRYPT, iv, iv);
        memcpy(k, iv, 16);
        memcpy(x, in, 16);
        y[0] = x[0] ^ k[0];
        y[1] = x[1] ^ k[1];
        memcpy(out, y, 16);
        memcpy(iv, encrypt ? y : x, 16);
        in += 16;
        out += 16;
        len -= 16;
    }
    while (len > 0) {
        if (off == 0)
            (void)mbedtls_aes_crypt_ecb(aes, MBEDTLS_AES_ENCRYPT, iv, iv);
        uint8_t c = *in++;
        uint8_t p = (uint8_t)(c ^ iv[off]);
        *out++ = p;
        iv[off] = encrypt ? p : c;
        off = (off + 1) & 15;
        len--;
    }
    *offp = off;
}

int ufrpc_cfb_writer_init(ufrpc_cfb_writer_t *w, const uint8_t key[UFRPC_CFB_KEY_LEN],
                          const uint8_t iv[UFRPC_CFB_IV_LEN])
{
    if (w == NULL || key == NULL || iv == NULL)
        return UFRPC_ERR_INVAL;
    memset(w, 0, sizeof *w);
    int rc = aes_setup(&w->aes, key);
    if (rc != 0)
        return rc;
    memcpy(w->iv, iv, UFRPC_CFB_IV_LEN);
    return 0;
}

int ufrpc_cfb_writer_init_rng(ufrpc_cfb_writer_t *w, const uint8_t key[UFRPC_CFB_KEY_LEN],
                              ufrpc_rng_fn rng, void *rng_ctx)
{
    uint8_t iv[UFRPC_CFB_IV_LEN];
    if (rng == NULL)
        return UFRPC_ERR_INVAL;
    if (rng(rng_ctx, iv, sizeof iv) != 0)
        return UFRPC_ERR_CRYPTO;
    return ufrpc_cfb_writer_init(w, key, iv);
}

size_t ufrpc_cfb_writer_bound(const ufrpc_cfb_writer_t *w, size_t len)
{
    return len + (w->iv_sent ? 0 : UFRPC_CFB_IV_LEN);
}

int ufrpc_cfb_writer_take_iv(ufrpc_cfb_writer_t *w, uint8_t iv_out[UFRPC_CFB_IV_LEN])
{
    if (w->iv_sent)
        return 0;
    memcpy(iv_out, w->iv, UFRPC_CFB_IV_LEN);
    w->iv_sent = 1;
    return 1;
}

void ufrpc_cfb_writer_crypt(ufrpc_cfb_writer_t *w, const uint8_t *in, uint8_t *out,
                            size_t len)
{
    cfb_crypt(&w->aes, 1, &w->off, w->iv, in, out, len);
}

int ufrpc_cfb_writer_write(ufrpc_cfb_writer_t *w, const uint8_t *in, size_t len,
                           uint8_t *out, size_t cap, size_t *out_len)
{
    size_t need = ufrpc_cfb_writer_bound(w, len);
    *out_len = 0;
    if (need < len || cap < need)
        return UFRPC_ERR_LIMIT;
    size_t pos = 0;
    if (!w->iv_sent) {
        if (len > 0)
            memmove(out + UFRPC_CFB_IV_LEN, in, len);
        (void)ufrpc_cfb_writer_take_iv(w, out);
        pos = UFRPC_CFB_IV_LEN;
        in = out + pos;
    }
    ufrpc_cfb_writer_crypt(w, in, out + pos, len);
    *out_len = need;
    return 0;
}

void ufrpc_cfb_writer_free(ufrpc_cfb_writer_t *w)
{
    if (w == NULL)
        return;
    mbedtls_aes_free(&w->aes);
    mbedtls_platform_zeroize(w, sizeof *w);
}

int ufrpc_cfb_reader_init(ufrpc_cfb_reader_t *r, const uint8_t key[UFRPC_CFB_KEY_LEN])
{
    if (r == NULL || key == NULL)
        return UFRPC_ERR_INVAL;
    memset(r, 0, sizeof *r);
    return aes_setup(&r->aes, key);
}

int ufrpc_cfb_reader_decrypt(ufrpc_cfb_reader_t *r, const uint8_t *in, size_t len,
                             uint8_t *out, size_t *out_len)
{
    size_t skip = 0;
    if (r->iv_have < UFRPC_CFB_IV_LEN) {
        skip = UFRPC_CFB_IV_LEN - r->iv_have;
        if (skip > len)
            skip = len;
        memcpy(r->iv + r->iv_have, in, skip);
        r->iv_have += skip;
    }
    size_t n = len - skip;
    cfb_crypt(&r->aes, 0, &r->off, r->iv, in + skip, out, n);
    *out_len = n;
    return 0;
}

int ufrpc_cfb_reader_has_iv(const ufrpc_cfb_reader_t *r)
{
    return r->iv_have == UFRPC_CFB_IV_LEN;
}

void ufrpc_cfb_reader_free(ufrpc_cfb_reader_t *r)
{
    if (r == NULL)
        return;
    mbedtls_aes_free(&r->aes);
    mbedtls_platform_zeroize(r, sizeof *r);
}
