/* Token auth keys: see auth.h. */
#include "proto/auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md5.h>

#include "proto/error.h"
#include "proto/mbedtls_compat.h"

int ufrpc_auth_key(const char *secret, size_t secret_len, int64_t timestamp,
                   char out[UFRPC_AUTH_KEY_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char ts[24];
    uint8_t digest[16];
    mbedtls_md5_context ctx;
    int rc;

    if (out == NULL || (secret == NULL && secret_len > 0))
        return UFRPC_ERR_INVAL;
    int n = snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    if (n <= 0 || (size_t)n >= sizeof ts)
        return UFRPC_ERR_INVAL;

    mbedtls_md5_init(&ctx);
    rc = ufrpc_mbedtls_md5_starts(&ctx);
    if (rc == 0 && secret_len > 0)
        rc = ufrpc_mbedtls_md5_update(&ctx, (const uint8_t *)secret, secret_len);
    if (rc == 0)
        rc = ufrpc_mbedtls_md5_update(&ctx, (const uint8_t *)ts, (size_t)n);
    if (rc == 0)
        rc = ufrpc_mbedtls_md5_finish(&ctx, digest);
    mbedtls_md5_free(&ctx);
    if (rc != 0)
        return UFRPC_ERR_CRYPTO;

    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[UFRPC_AUTH_KEY_LEN] = '\0';
    return 0;
}

int ufrpc_auth_key_str(const char *secret, int64_t timestamp, char out[UFRPC_AUTH_KEY_LEN + 1])
{
    return ufrpc_auth_key(secret, secret == NULL ? 0 : strlen(secret), timestamp, out);
}

int ufrpc_auth_verify(const char *secret, int64_t timestamp, const char *key)
{
    char want[UFRPC_AUTH_KEY_LEN + 1];
    if (ufrpc_auth_key_str(secret, timestamp, want) != 0)
        return 0;
    if (key == NULL)
        key = "";
    /* Constant time over the expected length; a shorter key differs at its NUL. */
    size_t klen = strnlen(key, UFRPC_AUTH_KEY_LEN + 1);
    unsigned diff = klen != UFRPC_AUTH_KEY_LEN;
    for (size_t i = 0; i < UFRPC_AUTH_KEY_LEN; i++) {
        char k = i < klen ? key[i] : '\0';
        diff |= (unsigned)(uint8_t)(k ^ want[i]);
    }
    return diff == 0;
}
