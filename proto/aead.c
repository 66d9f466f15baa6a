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
/* libcrypto loaded at the first ufrpc_aead_init (UFRPC_AEAD_LINK=dlopen, the default
 * for a shared build), not at start-up: mapping and relocating it costs ~1.4 MB of
 * resident pages (BIND_NOW, 17 000 relocations), which a client without TLS, or
 * before its first TLS handshake, does not need (bench/README.md "Memory: where it
 * goes"). Without it ufrpc_aead_init fails with UFRPC_ERR_UNSUPPORTED and net/tls.c
 * keeps the connection on Mbed TLS's record layer.
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

/* Written once, by evp_load under pthread_once; read-only afterwards. */
static struct {
    int rc;
    char err[256];
    struct evp_lib fns;
} evp;

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

int ufrpc_aead_init(struct ufrpc_aead *a, int cipher, const uint8_t key[32])
{
    memset(a, 0, sizeof *a);
    if (cipher != UFRPC_AEAD_AES_256_GCM && cipher != UFRPC_AEAD_CHACHA20_POLY1305)
        return UFRPC_ERR_INVAL;
    int rc = evp_ready();
    if (rc != 0)
        return rc;
    const EVP_CIPHER *c = cipher == UFRPC_AEAD_AES_256_GCM          ? EVP_aes_256_gcm()
                          : cipher == UFRPC_AEAD_CHACHA20_POLY1305 ? EVP_chacha20_poly1305()
                                                                   : NULL;
    if (c == NULL)
        return UFRPC_ERR_INVAL;
    /* no CPU check here (see aead.h): libcrypto has AES-GCM code for every CPU */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return UFRPC_ERR_NOMEM;
    if (EVP_CipherInit_ex(ctx, c, NULL, key, NULL, 1) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return UFRPC_ERR_CRYPTO;
    }
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

int ufrpc_aead_seal(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[16])
{
    return evp_run(a, 1, nonce, aad, aad_len, in, len, out, tag);
}

int ufrpc_aead_open(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                    uint8_t *out)
{
    uint8_t t[16];
    memcpy(t, tag, 16);
    return evp_run(a, 0, nonce, aad, aad_len, in, len, out, t);
}

void ufrpc_aead_wipe(struct ufrpc_aead *a)
{
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
