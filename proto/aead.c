/* ufrpc — AEAD backends of the record layer (proto/aead.h). */
#include "proto/aead.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#include "proto/cpu.h"
#include "proto/error.h"

#ifndef UFRPC_AEAD_OPENSSL
#define UFRPC_AEAD_OPENSSL 0
#endif

#ifndef UFRPC_AEAD_DLOPEN
#define UFRPC_AEAD_DLOPEN 0
#endif

#if UFRPC_AEAD_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#if UFRPC_AEAD_DLOPEN
#include <stdatomic.h>

#include "proto/dynlib.h"
#endif
#else
#include <sodium.h>
#endif


void ufrpc_secure_zero(void *p, size_t n)
{
    mbedtls_platform_zeroize(p, n);
}

bool ufrpc_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

#if UFRPC_AEAD_OPENSSL

#if UFRPC_AEAD_DLOPEN
/* libcrypto loaded at first use (UFRPC_AEAD_LINK=dlopen, the default for a shared
 * build), not at start-up: mapping and relocating it costs ~1.4 MB of resident
 * pages (BIND_NOW, 17 000 relocations), its init another 1.3 MB, which a client
 * without TLS, or with only a control connection's small records (see "Slow start"
 * below), does not need (bench/README.md "Memory: where it goes"). Where it cannot
 * be loaded, objects stay on Mbed TLS's AEADs.
 *
 * The table is once-initialised and immutable: evp_load fills it under
 * pthread_once, and it is read only after that (through the #defines below, from
 * code reached only with a context made by a successful init). The loaded library is
 * the dynamic loader's process-wide state; it stays until exit. */
#define EVP_SYMS(X)                                                                        \
    X(EVP_aes_256_gcm) X(EVP_chacha20_poly1305) X(EVP_CIPHER_CTX_new) X(EVP_CIPHER_CTX_free) \
    X(EVP_CipherInit_ex) X(EVP_CipherUpdate) X(EVP_CipherFinal_ex) X(EVP_CIPHER_CTX_ctrl)  \
    X(OPENSSL_init_crypto)

struct evp_lib {
#define EVP_SYM_(name) __typeof__(name) *name;
    EVP_SYMS(EVP_SYM_)
#undef EVP_SYM_
};

static const char *const evp_libs[] = {UFRPC_LIBCRYPTO_SONAME, NULL};
static const char *const evp_names[] = {
#define EVP_NAME_(name) #name,
    EVP_SYMS(EVP_NAME_)
#undef EVP_NAME_
};
#define EVP_NSYMS (sizeof evp_names / sizeof evp_names[0])
_Static_assert(sizeof(struct evp_lib) == EVP_NSYMS * sizeof(void *), "one pointer per symbol");

/* Written once, by evp_load under pthread_once; read-only afterwards. evp_loaded
 * becomes 1 (release) once the table is complete: ufrpc_aead_init reads it (acquire)
 * to start new objects on libcrypto without loading it. */
static struct {
    int rc;
    char err[256];
    struct evp_lib fns;
} evp;
static atomic_int evp_loaded;

#define EVP_aes_256_gcm (evp.fns.EVP_aes_256_gcm)
#define EVP_chacha20_poly1305 (evp.fns.EVP_chacha20_poly1305)
#define EVP_CIPHER_CTX_new (evp.fns.EVP_CIPHER_CTX_new)
#define EVP_CIPHER_CTX_free (evp.fns.EVP_CIPHER_CTX_free)
#define EVP_CipherInit_ex (evp.fns.EVP_CipherInit_ex)
#define EVP_CipherUpdate (evp.fns.EVP_CipherUpdate)
#define EVP_CipherFinal_ex (evp.fns.EVP_CipherFinal_ex)
#define EVP_CIPHER_CTX_ctrl (evp.fns.EVP_CIPHER_CTX_ctrl)
#define OPENSSL_init_crypto (evp.fns.OPENSSL_init_crypto)
#else
/* Written once, by evp_load under pthread_once; read-only afterwards. */
static struct {
    int rc;
} evp;
#endif

/* libcrypto initialised without reading the system's openssl.cnf: our records need
 * only the default provider's AES-GCM and ChaCha20-Poly1305, and the configuration's
 * modules (providers, engines, their settings) cost ~0.7 MB of resident pages
 * (bench/README.md "Memory: where it goes"). Before any other libcrypto call. */
static void evp_load(void)
{
#if UFRPC_AEAD_DLOPEN
    void *slots[EVP_NSYMS];
    const struct ufrpc_dynlib_spec spec = {.libs = evp_libs, .names = evp_names, .n = EVP_NSYMS};
    evp.rc = ufrpc_dynlib_open(&spec, slots, evp.err, sizeof evp.err);
    if (evp.rc != 0)
        return;
    memcpy(&evp.fns, slots, sizeof evp.fns); /* function pointers, one per slot */
#endif
    evp.rc = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) == 1 ? 0 : UFRPC_ERR_CRYPTO;
#if UFRPC_AEAD_DLOPEN
    atomic_store_explicit(&evp_loaded, evp.rc == 0 ? 1 : -1, memory_order_release);
#endif
}

static int evp_ready(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    return pthread_once(&once, evp_load) != 0 ? UFRPC_ERR_UNSUPPORTED : evp.rc;
}

const char *ufrpc_aead_backend(void)
{
    return "libcrypto";
}

/* AES with hardware instructions: constant time, and what makes GCM fast. */
static bool cpu_has_aes(void)
{
    return ufrpc_cpu_has(UFRPC_CPU_AES) && ufrpc_cpu_has(UFRPC_CPU_CLMUL);
}

bool ufrpc_aead_available(int cipher)
{
    switch (cipher) {
    case UFRPC_AEAD_AES_256_GCM: return cpu_has_aes();
    case UFRPC_AEAD_CHACHA20_POLY1305: return true;
    default: return false;
    }
}

/* libcrypto's context for a's cipher and key: 0, UFRPC_ERR_UNSUPPORTED (libcrypto
 * cannot be loaded), UFRPC_ERR_NOMEM, UFRPC_ERR_CRYPTO. */
static int evp_make(int cipher, const uint8_t key[32], EVP_CIPHER_CTX **out)
{
    int rc = evp_ready();
    if (rc != 0)
        return rc;
    const EVP_CIPHER *c = cipher == UFRPC_AEAD_AES_256_GCM ? EVP_aes_256_gcm()
                                                           : EVP_chacha20_poly1305();
    /* no CPU check here (see aead.h): libcrypto has AES-GCM code for every CPU */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return UFRPC_ERR_NOMEM;
    if (EVP_CipherInit_ex(ctx, c, NULL, key, NULL, 1) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return UFRPC_ERR_CRYPTO;
    }
    *out = ctx;
    return 0;
}

#if UFRPC_AEAD_DLOPEN
/* Slow start: while libcrypto is not loaded, a new object seals and opens with Mbed
 * TLS's AEADs (libmbedcrypto is loaded anyway, for the handshake; AES-NI and
 * carry-less multiply where the CPU has them) until a record of more than
 * SLOW_MAX_RECORD bytes, or SLOW_MAX_BYTES in all, comes through it: then it loads
 * libcrypto (the first time) and moves to it for good. The records of a control
 * connection (login, proxies, heartbeats) stay far below both, so that an idle
 * client with TLS does not map libcrypto (2.8 MB of resident pages, bench/README.md
 * "Memory: where it goes"); bulk data moves at its first full record. Once
 * libcrypto is loaded, new objects start on it. The two give the same bytes (each
 * record has its own nonce), so a move between two records is invisible. */
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#define SLOW_MAX_RECORD 2048u
#define SLOW_MAX_BYTES (256u * 1024u)

union mbed_ctx {
    mbedtls_gcm_context gcm;
    mbedtls_chachapoly_context cp;
};
_Static_assert(sizeof(union mbed_ctx) + 16 <= sizeof(((struct ufrpc_aead *)0)->state_raw),
               "state_raw too small for Mbed TLS's AEAD context");

static union mbed_ctx *mbed(struct ufrpc_aead *a)
{
    uintptr_t p = (uintptr_t)a->state_raw;
    p = (p + 15u) & ~(uintptr_t)15u;
    return (union mbed_ctx *)p;
}

static void mbed_free(struct ufrpc_aead *a)
{
    if (a->cipher == UFRPC_AEAD_AES_256_GCM)
        mbedtls_gcm_free(&mbed(a)->gcm); /* frees and zeroes the key schedule */
    else
        mbedtls_chachapoly_free(&mbed(a)->cp);
    a->slow = false;
}

static int mbed_init(struct ufrpc_aead *a, int cipher, const uint8_t key[32])
{
    union mbed_ctx *m = mbed(a);
    int r;
    if (cipher == UFRPC_AEAD_AES_256_GCM) {
        mbedtls_gcm_init(&m->gcm);
        r = mbedtls_gcm_setkey(&m->gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
        if (r != 0)
            mbedtls_gcm_free(&m->gcm);
    } else {
        mbedtls_chachapoly_init(&m->cp);
        r = mbedtls_chachapoly_setkey(&m->cp, key);
        if (r != 0)
            mbedtls_chachapoly_free(&m->cp);
    }
    if (r != 0)
        return r == MBEDTLS_ERR_CIPHER_ALLOC_FAILED ? UFRPC_ERR_NOMEM : UFRPC_ERR_CRYPTO;
    memcpy(a->key, key, 32); /* for the move to libcrypto */
    a->slow = true;
    return 0;
}

static int mbed_run(struct ufrpc_aead *a, int enc, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    union mbed_ctx *m = mbed(a);
    int r;
    if (a->cipher == UFRPC_AEAD_AES_256_GCM)
        r = enc ? mbedtls_gcm_crypt_and_tag(&m->gcm, MBEDTLS_GCM_ENCRYPT, len, nonce, 12, aad,
                                            aad_len, in, out, 16, tag)
                : mbedtls_gcm_auth_decrypt(&m->gcm, len, nonce, 12, aad, aad_len, tag, 16, in,
                                           out);
    else
        r = enc ? mbedtls_chachapoly_encrypt_and_tag(&m->cp, len, nonce, aad, aad_len, in, out,
                                                     tag)
                : mbedtls_chachapoly_auth_decrypt(&m->cp, len, nonce, aad, aad_len, tag, in, out);
    if (r == MBEDTLS_ERR_GCM_AUTH_FAILED || r == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED)
        return UFRPC_ERR_AEAD_AUTH;
    return r == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

/* Moves a from Mbed TLS to libcrypto; when that fails (libcrypto missing, no
 * memory), a stays on Mbed TLS for good. */
static void speed_up(struct ufrpc_aead *a)
{
    EVP_CIPHER_CTX *ctx = NULL;
    if (evp_make(a->cipher, a->key, &ctx) != 0) {
        a->slow_bytes = 0;
        a->stay_slow = true;
        return;
    }
    mbed_free(a);
    ufrpc_secure_zero(a->key, sizeof a->key);
    ufrpc_secure_zero(a->state_raw, sizeof a->state_raw);
    a->evp = ctx;
}

static int run(struct ufrpc_aead *a, int enc, const uint8_t nonce[12], const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag);
#endif /* UFRPC_AEAD_DLOPEN */

int ufrpc_aead_init(struct ufrpc_aead *a, int cipher, const uint8_t key[32])
{
    memset(a, 0, sizeof *a);
    if (cipher != UFRPC_AEAD_AES_256_GCM && cipher != UFRPC_AEAD_CHACHA20_POLY1305)
        return UFRPC_ERR_INVAL;
#if UFRPC_AEAD_DLOPEN
    if (atomic_load_explicit(&evp_loaded, memory_order_acquire) != 1) {
        int rc = mbed_init(a, cipher, key);
        if (rc == 0)
            a->cipher = cipher;
        return rc;
    }
#endif
    EVP_CIPHER_CTX *ctx = NULL;
    int rc = evp_make(cipher, key, &ctx);
    if (rc != 0)
        return rc;
    a->evp = ctx;
    a->cipher = cipher;
    return 0;
}

/* One AEAD pass over in (enc: 1 seal, 0 open); tag read (open) or written (seal). */
static int evp_run(struct ufrpc_aead *a, int enc, const uint8_t nonce[12], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = a->evp;
    int n = 0;
    if (ctx == NULL || len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX ||
        EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, enc) != 1 ||
        (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
        (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1))
        return UFRPC_ERR_CRYPTO;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        return UFRPC_ERR_CRYPTO;
    int fin = 0;
    if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1)
        return enc ? UFRPC_ERR_CRYPTO : UFRPC_ERR_AEAD_AUTH;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1)
        return UFRPC_ERR_CRYPTO;
    return 0;
}

#if UFRPC_AEAD_DLOPEN
static int run(struct ufrpc_aead *a, int enc, const uint8_t nonce[12], const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    if (a->slow) {
        if (!a->stay_slow && (len > SLOW_MAX_RECORD || a->slow_bytes + len > SLOW_MAX_BYTES))
            speed_up(a);
        if (a->slow) {
            a->slow_bytes += len;
            return mbed_run(a, enc, nonce, aad, aad_len, in, len, out, tag);
        }
    }
    return evp_run(a, enc, nonce, aad, aad_len, in, len, out, tag);
}
#else
#define run evp_run
#endif

int ufrpc_aead_seal(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[16])
{
    return run(a, 1, nonce, aad, aad_len, in, len, out, tag);
}

int ufrpc_aead_open(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                    uint8_t *out)
{
    uint8_t t[16];
    memcpy(t, tag, 16);
    return run(a, 0, nonce, aad, aad_len, in, len, out, t);
}

void ufrpc_aead_wipe(struct ufrpc_aead *a)
{
#if UFRPC_AEAD_DLOPEN
    if (a->slow)
        mbed_free(a);
#endif
    if (a->evp != NULL)
        EVP_CIPHER_CTX_free(a->evp); /* it cleanses the key schedule */
    ufrpc_secure_zero(a, sizeof *a);
}

#else /* libsodium */

const char *ufrpc_aead_backend(void)
{
    return "libsodium";
}

bool ufrpc_aead_available(int cipher)
{
    if (sodium_init() < 0)
        return false;
    switch (cipher) {
    case UFRPC_AEAD_AES_256_GCM: return crypto_aead_aes256gcm_is_available() != 0;
    case UFRPC_AEAD_CHACHA20_POLY1305: return true;
    default: return false;
    }
}

_Static_assert(sizeof(crypto_aead_aes256gcm_state) <= 512, "state_raw too small");

static crypto_aead_aes256gcm_state *gcm_state(struct ufrpc_aead *a)
{
    uintptr_t p = (uintptr_t)a->state_raw;
    p = (p + 15u) & ~(uintptr_t)15u;
    return (crypto_aead_aes256gcm_state *)p;
}

int ufrpc_aead_init(struct ufrpc_aead *a, int cipher, const uint8_t key[32])
{
    memset(a, 0, sizeof *a);
    if (cipher != UFRPC_AEAD_AES_256_GCM && cipher != UFRPC_AEAD_CHACHA20_POLY1305)
        return UFRPC_ERR_INVAL;
    if (!ufrpc_aead_available(cipher))
        return UFRPC_ERR_UNSUPPORTED;
    memcpy(a->key, key, 32);
    if (cipher == UFRPC_AEAD_AES_256_GCM &&
        crypto_aead_aes256gcm_beforenm(gcm_state(a), a->key) != 0) {
        ufrpc_secure_zero(a, sizeof *a);
        return UFRPC_ERR_CRYPTO;
    }
    a->cipher = cipher;
    return 0;
}

int ufrpc_aead_seal(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[16])
{
    int r;
    if (a->cipher == UFRPC_AEAD_AES_256_GCM)
        r = crypto_aead_aes256gcm_encrypt_detached_afternm(out, tag, NULL, in, len, aad, aad_len,
                                                           NULL, nonce, gcm_state(a));
    else if (a->cipher == UFRPC_AEAD_CHACHA20_POLY1305)
        r = crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, NULL, in, len, aad,
                                                               aad_len, NULL, nonce, a->key);
    else
        return UFRPC_ERR_CRYPTO;
    return r == 0 ? 0 : UFRPC_ERR_CRYPTO;
}

int ufrpc_aead_open(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                    uint8_t *out)
{
    int r;
    if (a->cipher == UFRPC_AEAD_AES_256_GCM)
        r = crypto_aead_aes256gcm_decrypt_detached_afternm(out, NULL, in, len, tag, aad, aad_len,
                                                           nonce, gcm_state(a));
    else if (a->cipher == UFRPC_AEAD_CHACHA20_POLY1305)
        r = crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, in, len, tag, aad,
                                                               aad_len, nonce, a->key);
    else
        return UFRPC_ERR_CRYPTO;
    return r == 0 ? 0 : UFRPC_ERR_AEAD_AUTH;
}

void ufrpc_aead_wipe(struct ufrpc_aead *a)
{
    ufrpc_secure_zero(a, sizeof *a);
}

#endif
