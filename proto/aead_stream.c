/* Wire v2 AEAD stream, see aead_stream.h. */
#include "proto/aead_stream.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "proto/byteorder.h"
#include "proto/error.h"

#define GCM_NONCE_LEN 12
#define GCM_MAX_RECORDS (UINT64_C(1) << 32)
#define MAX_CT_LEN (UFRPC_AEAD_MAX_PLAINTEXT + UFRPC_AEAD_TAG_LEN)

const char *ufrpc_aead_alg_name(ufrpc_aead_alg_t alg)
{
    switch (alg) {
    case UFRPC_AEAD_AES_256_GCM:
        return "aes-256-gcm";
    case UFRPC_AEAD_XCHACHA20_POLY1305:
        return "xchacha20-poly1305";
    }
    return NULL;
}

int ufrpc_aead_alg_from_name(const char *name, size_t len, ufrpc_aead_alg_t *out)
{
    static const ufrpc_aead_alg_t all[] = {UFRPC_AEAD_AES_256_GCM,
                                           UFRPC_AEAD_XCHACHA20_POLY1305};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = ufrpc_aead_alg_name(all[i]);
        if (name != NULL && strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return UFRPC_ERR_UNSUPPORTED;
}

size_t ufrpc_aead_nonce_len(ufrpc_aead_alg_t alg)
{
    switch (alg) {
    case UFRPC_AEAD_AES_256_GCM:
        return GCM_NONCE_LEN;
    case UFRPC_AEAD_XCHACHA20_POLY1305:
        return UFRPC_XCHACHA_NONCE_LEN;
    }
    return 0;
}

/* ---- one AEAD, either algorithm ------------------------------------------------- */

static int aead_init(ufrpc_aead_t *a, ufrpc_aead_alg_t alg, const uint8_t *key)
{
    memset(a, 0, sizeof *a);
    a->alg = alg;
    a->nonce_len = ufrpc_aead_nonce_len(alg);
    if (a->nonce_len == 0 || key == NULL)
        return UFRPC_ERR_INVAL;
    if (alg == UFRPC_AEAD_AES_256_GCM) {
        mbedtls_gcm_init(&a->u.gcm);
        if (mbedtls_gcm_setkey(&a->u.gcm, MBEDTLS_CIPHER_ID_AES, key, 256) != 0) {
            mbedtls_gcm_free(&a->u.gcm);
            return UFRPC_ERR_CRYPTO;
        }
    } else {
        ufrpc_xchacha_init(&a->u.xchacha, key);
    }
    return 0;
}

static void aead_free(ufrpc_aead_t *a)
{
    if (a->alg == UFRPC_AEAD_AES_256_GCM)
        mbedtls_gcm_free(&a->u.gcm);
    else if (a->alg == UFRPC_AEAD_XCHACHA20_POLY1305)
        ufrpc_xchacha_free(&a->u.xchacha);
    mbedtls_platform_zeroize(a, sizeof *a);
}

static void aead_set_nonce(ufrpc_aead_t *a, const uint8_t *nonce)
{
    memcpy(a->stream_nonce, nonce, a->nonce_len);
    memcpy(a->nonce, nonce, a->nonce_len);
}

/* Checks the record budget before a record is processed. */
static int aead_check_budget(const ufrpc_aead_t *a)
{
    if (a->alg == UFRPC_AEAD_AES_256_GCM && a->records >= GCM_MAX_RECORDS)
        return UFRPC_ERR_LIMIT;
    return 0;
}

/* Advances to the next record's nonce; a wrap of the whole nonce is an error. */
static int aead_next(ufrpc_aead_t *a)
{
    a->records++;
    for (size_t i = a->nonce_len; i-- > 0;) {
        if (++a->nonce[i] != 0)
            return 0;
    }
    return UFRPC_ERR_LIMIT;
}

static void build_aad(const ufrpc_aead_t *a, const uint8_t hdr[4], uint8_t *aad, size_t *len)
{
    memcpy(aad, a->stream_nonce, a->nonce_len);
    memcpy(aad + a->nonce_len, hdr, 4);
    *len = a->nonce_len + 4;
}

/* hdr = the 4-byte ctLen; ciphertext to out, tag to tag. */
static int aead_seal(ufrpc_aead_t *a, const uint8_t hdr[4], const uint8_t *in, size_t len,
                     uint8_t *out, uint8_t *tag)
{
    uint8_t aad[UFRPC_AEAD_MAX_NONCE_LEN + 4];
    size_t aad_len;
    int rc = aead_check_budget(a);
    if (rc != 0)
        return rc;
    build_aad(a, hdr, aad, &aad_len);
    if (a->alg == UFRPC_AEAD_AES_256_GCM) {
        if (mbedtls_gcm_crypt_and_tag(&a->u.gcm, MBEDTLS_GCM_ENCRYPT, len, a->nonce,
                                      a->nonce_len, aad, aad_len, in, out, UFRPC_AEAD_TAG_LEN,
                                      tag) != 0)
            return UFRPC_ERR_CRYPTO;
    } else {
        rc = ufrpc_xchacha_seal(&a->u.xchacha, a->nonce, aad, aad_len, in, len, out, tag);
        if (rc != 0)
            return rc;
    }
    return aead_next(a);
}

static int aead_open(ufrpc_aead_t *a, const uint8_t hdr[4], const uint8_t *in, size_t len,
                     const uint8_t *tag, uint8_t *out)
{
    uint8_t aad[UFRPC_AEAD_MAX_NONCE_LEN + 4];
    size_t aad_len;
    int rc = aead_check_budget(a);
    if (rc != 0)
        return rc;
    build_aad(a, hdr, aad, &aad_len);
    if (a->alg == UFRPC_AEAD_AES_256_GCM) {
        rc = mbedtls_gcm_auth_decrypt(&a->u.gcm, len, a->nonce, a->nonce_len, aad, aad_len,
                                      tag, UFRPC_AEAD_TAG_LEN, in, out);
        if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
            return UFRPC_ERR_AEAD_AUTH;
        if (rc != 0)
            return UFRPC_ERR_CRYPTO;
    } else {
        rc = ufrpc_xchacha_open(&a->u.xchacha, a->nonce, aad, aad_len, tag, in, len, out);
        if (rc != 0)
            return rc;
    }
    return aead_next(a);
}

/* ---- writer ------------------------------------------------------------------- */

int ufrpc_aead_writer_init(ufrpc_aead_writer_t *w, ufrpc_aead_alg_t alg,
                           const uint8_t key[UFRPC_AEAD_KEY_LEN], const uint8_t *stream_nonce)
{
    if (w == NULL || stream_nonce == NULL)
        return UFRPC_ERR_INVAL;
    memset(w, 0, sizeof *w);
    int rc = aead_init(&w->a, alg, key);
    if (rc != 0)
        return rc;
    aead_set_nonce(&w->a, stream_nonce);
    return 0;
}

int ufrpc_aead_writer_init_rng(ufrpc_aead_writer_t *w, ufrpc_aead_alg_t alg,
                               const uint8_t key[UFRPC_AEAD_KEY_LEN],
                               int (*rng)(void *, unsigned char *, size_t), void *rng_ctx)
{
    uint8_t nonce[UFRPC_AEAD_MAX_NONCE_LEN];
    size_t n = ufrpc_aead_nonce_len(alg);
    if (rng == NULL || n == 0)
        return UFRPC_ERR_INVAL;
    if (rng(rng_ctx, nonce, n) != 0)
        return UFRPC_ERR_CRYPTO;
    return ufrpc_aead_writer_init(w, alg, key, nonce);
}

size_t ufrpc_aead_writer_bound(const ufrpc_aead_writer_t *w, size_t len)
{
    if (len == 0)
        return 0;
    size_t records = len / UFRPC_AEAD_MAX_PLAINTEXT + (len % UFRPC_AEAD_MAX_PLAINTEXT != 0);
    return (w->nonce_sent ? 0 : w->a.nonce_len) +
           records * (UFRPC_AEAD_RECORD_HDR + UFRPC_AEAD_TAG_LEN) + len;
}

int ufrpc_aead_writer_write(ufrpc_aead_writer_t *w, const uint8_t *in, size_t len,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (w->err != 0)
        return w->err;
    size_t need = ufrpc_aead_writer_bound(w, len);
    if (need < len || cap < need)
        return UFRPC_ERR_LIMIT;
    size_t o = 0;
    if (len > 0 && !w->nonce_sent) {
        memcpy(out, w->a.stream_nonce, w->a.nonce_len);
        o = w->a.nonce_len;
        w->nonce_sent = 1;
    }
    while (len > 0) {
        size_t n = len < UFRPC_AEAD_MAX_PLAINTEXT ? len : UFRPC_AEAD_MAX_PLAINTEXT;
        uint32_t ct_len = (uint32_t)(n + UFRPC_AEAD_TAG_LEN);
        uint8_t *hdr = out + o;
        ufrpc_put_be32(hdr, ct_len);
        int rc = aead_seal(&w->a, hdr, in, n, hdr + UFRPC_AEAD_RECORD_HDR,
                           hdr + UFRPC_AEAD_RECORD_HDR + n);
        if (rc != 0) {
            w->err = rc;
            return rc;
        }
        o += UFRPC_AEAD_RECORD_HDR + ct_len;
        in += n;
        len -= n;
    }
    *out_len = o;
    return 0;
}

void ufrpc_aead_writer_free(ufrpc_aead_writer_t *w)
{
    if (w == NULL)
        return;
    aead_free(&w->a);
    mbedtls_platform_zeroize(w, sizeof *w);
}

/* ---- reader ------------------------------------------------------------------- */

int ufrpc_aead_reader_init(ufrpc_aead_reader_t *r, ufrpc_aead_alg_t alg,
                           const uint8_t key[UFRPC_AEAD_KEY_LEN])
{
    if (r == NULL)
        return UFRPC_ERR_INVAL;
    memset(r, 0, sizeof *r);
    int rc = aead_init(&r->a, alg, key);
    if (rc != 0)
        return rc;
    r->buf = malloc(MAX_CT_LEN);
    if (r->buf == NULL) {
        aead_free(&r->a);
        return UFRPC_ERR_NOMEM;
    }
    return 0;
}

static int reader_feed(ufrpc_aead_reader_t *r, const uint8_t *in, size_t len, size_t *pos,
                       const uint8_t **data, size_t *data_len)
{
    while (*pos < len) {
        size_t avail = len - *pos;
        if (r->nonce_have < r->a.nonce_len) {
            size_t n = r->a.nonce_len - r->nonce_have;
            if (n > avail)
                n = avail;
            memcpy(r->a.stream_nonce + r->nonce_have, in + *pos, n);
            r->nonce_have += n;
            *pos += n;
            if (r->nonce_have == r->a.nonce_len)
                memcpy(r->a.nonce, r->a.stream_nonce, r->a.nonce_len);
            continue;
        }
        if (r->hdr_have < UFRPC_AEAD_RECORD_HDR) {
            size_t n = UFRPC_AEAD_RECORD_HDR - r->hdr_have;
            if (n > avail)
                n = avail;
            memcpy(r->hdr + r->hdr_have, in + *pos, n);
            r->hdr_have += n;
            *pos += n;
            if (r->hdr_have < UFRPC_AEAD_RECORD_HDR)
                return 0;
            int rc = aead_check_budget(&r->a);
            if (rc != 0)
                return rc;
            r->ct_len = ufrpc_get_be32(r->hdr);
            r->ct_have = 0;
            if (r->ct_len < UFRPC_AEAD_TAG_LEN || r->ct_len > MAX_CT_LEN)
                return UFRPC_ERR_AEAD_RECORD;
            avail = len - *pos;
        }
        const uint8_t *ct;
        size_t need = r->ct_len - r->ct_have;
        if (r->ct_have == 0 && avail >= need) {
            ct = in + *pos; /* whole record present: decrypt straight from the input */
            *pos += need;
        } else {
            size_t n = need < avail ? need : avail;
            memcpy(r->buf + r->ct_have, in + *pos, n);
            r->ct_have += n;
            *pos += n;
            if (r->ct_have < r->ct_len)
                return 0;
            ct = r->buf;
        }
        r->hdr_have = 0;
        size_t pt_len = r->ct_len - UFRPC_AEAD_TAG_LEN;
        int rc = aead_open(&r->a, r->hdr, ct, pt_len, ct + pt_len, r->buf);
        if (rc != 0)
            return rc;
        *data = r->buf;
        *data_len = pt_len;
        if (pt_len > 0)
            return 0;
    }
    return 0;
}

int ufrpc_aead_reader_feed(ufrpc_aead_reader_t *r, const uint8_t *in, size_t len,
                           size_t *consumed, const uint8_t **data, size_t *data_len)
{
    size_t pos = 0;
    *consumed = 0;
    *data = NULL;
    *data_len = 0;
    if (r->err != 0)
        return r->err;
    if (in == NULL && len != 0)
        return UFRPC_ERR_INVAL;
    int rc = reader_feed(r, in, len, &pos, data, data_len);
    *consumed = pos;
    if (rc != 0) {
        r->err = rc;
        *data = NULL;
        *data_len = 0;
    }
    return rc;
}

int ufrpc_aead_reader_finish(const ufrpc_aead_reader_t *r)
{
    if (r->err != 0)
        return r->err;
    if (r->nonce_have != 0 && r->nonce_have < r->a.nonce_len)
        return UFRPC_ERR_AEAD_RECORD;
    return r->hdr_have == 0 ? 0 : UFRPC_ERR_AEAD_RECORD;
}

void ufrpc_aead_reader_free(ufrpc_aead_reader_t *r)
{
    if (r == NULL)
        return;
    aead_free(&r->a);
    if (r->buf != NULL) {
        mbedtls_platform_zeroize(r->buf, MAX_CT_LEN);
        free(r->buf);
    }
    mbedtls_platform_zeroize(r, sizeof *r);
}
