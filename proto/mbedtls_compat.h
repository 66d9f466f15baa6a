/* ufrpc — mbedTLS 2.28 / 3.x compatibility shims.
 *
 * Our code is written against these names only, so it builds unchanged with the
 * installed mbedTLS 2.28 (Debian bookworm) and with mbedTLS 3.x. Everything here is
 * a static inline function or a macro: no state, nothing to free. Return values are
 * raw mbedTLS codes (0 on success); callers map them to ufrpc errors (usually
 * UFRPC_ERR_CRYPTO) at their boundary.
 *
 * Keep the file organised by function (one section per primitive); add a section
 * rather than scattering version checks through the code.
 */
#ifndef UFRPC_PROTO_MBEDTLS_COMPAT_H
#define UFRPC_PROTO_MBEDTLS_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define UFRPC_MBEDTLS_3 1
#else
#define UFRPC_MBEDTLS_3 0
#endif

/* ---- MD5 (one shot; 2.x spells it *_ret) ------------------------------------ */
static inline int ufrpc_mbedtls_md5(const uint8_t *in, size_t len, uint8_t out[16])
{
#if UFRPC_MBEDTLS_3
    return mbedtls_md5(in, len, out);
#else
    return mbedtls_md5_ret(in, len, out);
#endif
}

/* MD5 incremental (ctx from mbedtls_md5_init/free). */
static inline int ufrpc_mbedtls_md5_starts(mbedtls_md5_context *ctx)
{
#if UFRPC_MBEDTLS_3
    return mbedtls_md5_starts(ctx);
#else
    return mbedtls_md5_starts_ret(ctx);
#endif
}

static inline int ufrpc_mbedtls_md5_update(mbedtls_md5_context *ctx, const uint8_t *in, size_t len)
{
#if UFRPC_MBEDTLS_3
    return mbedtls_md5_update(ctx, in, len);
#else
    return mbedtls_md5_update_ret(ctx, in, len);
#endif
}

static inline int ufrpc_mbedtls_md5_finish(mbedtls_md5_context *ctx, uint8_t out[16])
{
#if UFRPC_MBEDTLS_3
    return mbedtls_md5_finish(ctx, out);
#else
    return mbedtls_md5_finish_ret(ctx, out);
#endif
}

/* ---- SHA-1 (one shot) ------------------------------------------------------- */
static inline int ufrpc_mbedtls_sha1(const uint8_t *in, size_t len, uint8_t out[20])
{
#if UFRPC_MBEDTLS_3
    return mbedtls_sha1(in, len, out);
#else
    return mbedtls_sha1_ret(in, len, out);
#endif
}

/* ---- SHA-256 (one shot and incremental; ctx from mbedtls_sha256_init/free) --- */
static inline int ufrpc_mbedtls_sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
#if UFRPC_MBEDTLS_3
    return mbedtls_sha256(in, len, out, 0);
#else
    return mbedtls_sha256_ret(in, len, out, 0);
#endif
}

static inline int ufrpc_mbedtls_sha256_starts(mbedtls_sha256_context *ctx)
{
#if UFRPC_MBEDTLS_3
    return mbedtls_sha256_starts(ctx, 0);
#else
    return mbedtls_sha256_starts_ret(ctx, 0);
#endif
}

static inline int ufrpc_mbedtls_sha256_update(mbedtls_sha256_context *ctx, const uint8_t *in,
                                              size_t len)
{
#if UFRPC_MBEDTLS_3
    return mbedtls_sha256_update(ctx, in, len);
#else
    return mbedtls_sha256_update_ret(ctx, in, len);
#endif
}

static inline int ufrpc_mbedtls_sha256_finish(mbedtls_sha256_context *ctx, uint8_t out[32])
{
#if UFRPC_MBEDTLS_3
    return mbedtls_sha256_finish(ctx, out);
#else
    return mbedtls_sha256_finish_ret(ctx, out);
#endif
}

/* ---- PBKDF2-HMAC --------------------------------------------------------------
 * 3.3+ has mbedtls_pkcs5_pbkdf2_hmac_ext(md_type, ...); 2.x and 3.0–3.2 take an
 * HMAC-set-up md context. */
static inline int ufrpc_mbedtls_pbkdf2_hmac(mbedtls_md_type_t md, const uint8_t *pw,
                                            size_t pw_len, const uint8_t *salt,
                                            size_t salt_len, unsigned iterations,
                                            uint8_t *out, size_t out_len)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
    return mbedtls_pkcs5_pbkdf2_hmac_ext(md, pw, pw_len, salt, salt_len, iterations,
                                         (uint32_t)out_len, out);
#else
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    if (info == NULL)
        return MBEDTLS_ERR_MD_BAD_INPUT_DATA;
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    int rc = mbedtls_md_setup(&ctx, info, 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&ctx, pw, pw_len, salt, salt_len, iterations,
                                       (uint32_t)out_len, out);
    mbedtls_md_free(&ctx);
    return rc;
#endif
}

/* ---- TLS protocol version bounds (macros: include <mbedtls/ssl.h> where used) --
 * ufrpc_mbedtls_ssl_conf_min_tls12(conf): refuse anything below TLS 1.2.
 * ufrpc_mbedtls_ssl_conf_max_tls12(conf): cap at TLS 1.2 (e.g. to mirror Go peers
 * in tests, or where 1.3 is not wanted). Both return void. */
#if UFRPC_MBEDTLS_3
#define ufrpc_mbedtls_ssl_conf_min_tls12(conf) \
    mbedtls_ssl_conf_min_tls_version((conf), MBEDTLS_SSL_VERSION_TLS1_2)
#define ufrpc_mbedtls_ssl_conf_max_tls12(conf) \
    mbedtls_ssl_conf_max_tls_version((conf), MBEDTLS_SSL_VERSION_TLS1_2)
#else
#define ufrpc_mbedtls_ssl_conf_min_tls12(conf) \
    mbedtls_ssl_conf_min_version((conf), MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
#define ufrpc_mbedtls_ssl_conf_max_tls12(conf) \
    mbedtls_ssl_conf_max_version((conf), MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
#endif

/* ---- TLS session fields (macros: include <mbedtls/ssl.h> where used) -----------
 * ufrpc_mbedtls_ssl_cur_session(ssl): the connection's established session
 * (const mbedtls_ssl_session *, valid after the handshake);
 * ufrpc_mbedtls_session_master(sess): its 48-byte TLS 1.2 master secret. 2.x has
 * these as public fields; 3.x keeps them in the struct as MBEDTLS_PRIVATE. A
 * resumed TLS 1.2 handshake keeps the saved session's master secret, a full one
 * derives a fresh random one: comparing them tells whether it resumed. */
#if UFRPC_MBEDTLS_3
#define ufrpc_mbedtls_ssl_cur_session(ssl) ((const mbedtls_ssl_session *)(ssl)->MBEDTLS_PRIVATE(session))
#define ufrpc_mbedtls_session_master(sess) ((sess)->MBEDTLS_PRIVATE(master))
#else
#define ufrpc_mbedtls_ssl_cur_session(ssl) ((const mbedtls_ssl_session *)(ssl)->session)
#define ufrpc_mbedtls_session_master(sess) ((sess)->master)
#endif

/* ---- TLS record sequence numbers (macros: include <mbedtls/ssl.h> where used) ---
 * ufrpc_mbedtls_ssl_in_ctr(ssl) / _out_ctr(ssl): 8 big-endian bytes, the sequence
 * number of the next record read / written in the current epoch (TLS, not DTLS).
 * Read-only; private fields in 3.x. */
#if UFRPC_MBEDTLS_3
#define ufrpc_mbedtls_ssl_in_ctr(ssl) ((const unsigned char *)(ssl)->MBEDTLS_PRIVATE(in_ctr))
#define ufrpc_mbedtls_ssl_out_ctr(ssl) ((const unsigned char *)(ssl)->MBEDTLS_PRIVATE(cur_out_ctr))
#else
#define ufrpc_mbedtls_ssl_in_ctr(ssl) ((const unsigned char *)(ssl)->in_ctr)
#define ufrpc_mbedtls_ssl_out_ctr(ssl) ((const unsigned char *)(ssl)->cur_out_ctr)
#endif

/* ---- public-key signature (3.x takes the signature buffer's size) ------------ */
static inline int ufrpc_mbedtls_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md,
                                        const uint8_t *hash, size_t hash_len, uint8_t *sig,
                                        size_t sig_cap, size_t *sig_len,
                                        int (*rng)(void *, unsigned char *, size_t), void *rng_ctx)
{
#if UFRPC_MBEDTLS_3
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_cap, sig_len, rng, rng_ctx);
#else
    if (sig_cap < mbedtls_pk_get_len(pk))
        return -1;
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_len, rng, rng_ctx);
#endif
}

#endif
