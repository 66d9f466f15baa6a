/* Wire v2 transcript hash and HKDF keys, see v2crypto.h. */
#include "proto/v2crypto.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

#include "proto/error.h"
#include "proto/mbedtls_compat.h"

static const char th_label[] = "frp wire v2 crypto transcript";

static int th_part(mbedtls_sha256_context *c, const char *label, const uint8_t *p, size_t n)
{
    static const uint8_t zero = 0;
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    int rc = ufrpc_mbedtls_sha256_update(c, &zero, 1);
    rc |= ufrpc_mbedtls_sha256_update(c, (const uint8_t *)label, strlen(label));
    rc |= ufrpc_mbedtls_sha256_update(c, &zero, 1);
    rc |= ufrpc_mbedtls_sha256_update(c, len, sizeof len);
    if (n > 0)
        rc |= ufrpc_mbedtls_sha256_update(c, p, n);
    return rc;
}

int ufrpc_v2crypto_transcript_hash(const uint8_t *client_hello, size_t ch_len,
                                   const uint8_t *server_hello, size_t sh_len,
                                   uint8_t th[UFRPC_V2_TH_LEN])
{
    if ((client_hello == NULL && ch_len != 0) || (server_hello == NULL && sh_len != 0) ||
        th == NULL)
        return UFRPC_ERR_INVAL;
    mbedtls_sha256_context c;
    mbedtls_sha256_init(&c);
    int rc = ufrpc_mbedtls_sha256_starts(&c);
    rc |= ufrpc_mbedtls_sha256_update(&c, (const uint8_t *)th_label, sizeof th_label - 1);
    rc |= th_part(&c, "client hello", client_hello, ch_len);
    rc |= th_part(&c, "server hello", server_hello, sh_len);
    rc |= ufrpc_mbedtls_sha256_finish(&c, th);
    mbedtls_sha256_free(&c);
    return rc == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

static int derive_one(const mbedtls_md_info_t *md, const uint8_t *token, size_t token_len,
                      const uint8_t *th, const char *alg, const char *dir, uint8_t *out)
{
    char info[96];
    int n = snprintf(info, sizeof info, "frp wire v2 control aead %s %s", alg, dir);
    if (n < 0 || (size_t)n >= sizeof info)
        return UFRPC_ERR_INVAL;
    int rc = mbedtls_hkdf(md, th, UFRPC_V2_TH_LEN, token, token_len, (const uint8_t *)info,
                          (size_t)n, out, UFRPC_AEAD_KEY_LEN);
    return rc == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

int ufrpc_v2crypto_derive_keys(const uint8_t *token, size_t token_len,
                               const uint8_t th[UFRPC_V2_TH_LEN], ufrpc_aead_alg_t alg,
                               uint8_t k_c2s[UFRPC_AEAD_KEY_LEN],
                               uint8_t k_s2c[UFRPC_AEAD_KEY_LEN])
{
    static const uint8_t empty[1] = {0};
    const char *name = ufrpc_aead_alg_name(alg);
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (name == NULL || th == NULL || k_c2s == NULL || k_s2c == NULL ||
        (token == NULL && token_len != 0))
        return UFRPC_ERR_INVAL;
    if (md == NULL)
        return UFRPC_ERR_CRYPTO;
    if (token == NULL)
        token = empty;
    int rc = derive_one(md, token, token_len, th, name, "client-to-server", k_c2s);
    if (rc == 0)
        rc = derive_one(md, token, token_len, th, name, "server-to-client", k_s2c);
    return rc;
}
