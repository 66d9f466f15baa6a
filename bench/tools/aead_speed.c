/* ufrpc — AEAD speed of candidate crypto libraries at TLS record size (16 KiB).
 *
 * Not part of the build: a one-off measurement tool, kept so the numbers in
 * bench/README.md ("TLS record layer: choice of AEAD library") can be redone.
 * Build (Debian: libmbedtls-dev nettle-dev libsodium-dev libssl-dev):
 *   cc -O2 -o /tmp/aead_speed bench/tools/aead_speed.c \
 *      -lmbedcrypto -lnettle -lsodium -lcrypto
 * Run: /tmp/aead_speed [seconds per figure, default 1], or
 *   valgrind --tool=callgrind /tmp/aead_speed -n 64  (then callgrind_annotate
 *   --inclusive=yes: the s_* functions' counts / 64 = instructions per record). Prints MB/s of sealing
 * (encrypt + tag) 16384-byte records with 13 bytes of AAD, best of 3 runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/gcm.h>
#include <openssl/evp.h>
#include <sodium.h>

enum { REC = 16384 };
static uint8_t in[REC], out[REC + 16], key[32], aad[13], nonce[12];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef void (*seal_fn)(void *ctx);

static mbedtls_gcm_context mgcm;
static mbedtls_chachapoly_context mcp;
static struct gcm_aes128_ctx ngcm;
static struct chacha_poly1305_ctx ncp;
static EVP_CIPHER_CTX *ogcm, *ocp;
static crypto_aead_aes256gcm_state sgcm;

static void s_mbed_gcm(void *c)
{
    (void)c;
    mbedtls_gcm_crypt_and_tag(&mgcm, MBEDTLS_GCM_ENCRYPT, REC, nonce, 12, aad, 13, in, out, 16,
                              out + REC);
}
static void s_mbed_cp(void *c)
{
    (void)c;
    mbedtls_chachapoly_encrypt_and_tag(&mcp, REC, nonce, aad, 13, in, out, out + REC);
}
static void s_nettle_gcm(void *c)
{
    (void)c;
    gcm_aes128_set_iv(&ngcm, 12, nonce);
    gcm_aes128_update(&ngcm, 13, aad);
    gcm_aes128_encrypt(&ngcm, REC, out, in);
    gcm_aes128_digest(&ngcm, 16, out + REC);
}
static void s_nettle_cp(void *c)
{
    (void)c;
    chacha_poly1305_set_nonce(&ncp, nonce);
    chacha_poly1305_update(&ncp, 13, aad);
    chacha_poly1305_encrypt(&ncp, REC, out, in);
    chacha_poly1305_digest(&ncp, 16, out + REC);
}
static void s_ossl(EVP_CIPHER_CTX *x)
{
    int n;
    EVP_EncryptInit_ex(x, NULL, NULL, NULL, nonce);
    EVP_EncryptUpdate(x, NULL, &n, aad, 13);
    EVP_EncryptUpdate(x, out, &n, in, REC);
    EVP_EncryptFinal_ex(x, out + n, &n);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, out + REC);
}
static void s_ossl_gcm(void *c)
{
    (void)c;
    s_ossl(ogcm);
}
static void s_ossl_cp(void *c)
{
    (void)c;
    s_ossl(ocp);
}
static void s_sod_cp(void *c)
{
    (void)c;
    unsigned long long cl;
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &cl, in, REC, aad, 13, NULL, nonce, key);
}
static void s_sod_gcm(void *c)
{
    (void)c;
    unsigned long long cl;
    crypto_aead_aes256gcm_encrypt_afternm(out, &cl, in, REC, aad, 13, NULL, nonce, &sgcm);
}

static long fixed_n;

static void run(const char *name, seal_fn f, double secs)
{
    if (fixed_n > 0) {
        for (long i = 0; i < fixed_n; i++)
            f(NULL);
        printf("%-34s %ld records\n", name, fixed_n);
        return;
    }
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now(), t;
        long n = 0;
        do {
            for (int i = 0; i < 16; i++)
                f(NULL);
            n += 16;
            t = now();
        } while (t - t0 < secs);
        double mbs = (double)n * REC / (t - t0) / 1e6;
        if (mbs > best)
            best = mbs;
    }
    printf("%-34s %8.0f MB/s\n", name, best);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    /* "-n N": exactly N records per figure, no timing (for callgrind's counts) */
    long fixed = argc > 2 && strcmp(argv[1], "-n") == 0 ? atol(argv[2]) : 0;
    mbedtls_gcm_init(&mgcm);
    mbedtls_gcm_setkey(&mgcm, MBEDTLS_CIPHER_ID_AES, key, 128);
    mbedtls_chachapoly_init(&mcp);
    mbedtls_chachapoly_setkey(&mcp, key);
    gcm_aes128_set_key(&ngcm, key);
    chacha_poly1305_set_key(&ncp, key);
    ogcm = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ogcm, EVP_aes_128_gcm(), NULL, key, nonce);
    ocp = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(ocp, EVP_chacha20_poly1305(), NULL, key, nonce);
    fixed_n = fixed;
    if (sodium_init() < 0)
        return 1;
    run("mbedtls AES-128-GCM", s_mbed_gcm, secs);
    run("mbedtls ChaCha20-Poly1305", s_mbed_cp, secs);
    run("nettle AES-128-GCM", s_nettle_gcm, secs);
    run("nettle ChaCha20-Poly1305", s_nettle_cp, secs);
    run("openssl AES-128-GCM", s_ossl_gcm, secs);
    run("openssl ChaCha20-Poly1305", s_ossl_cp, secs);
    run("libsodium ChaCha20-Poly1305-IETF", s_sod_cp, secs);
    if (crypto_aead_aes256gcm_is_available()) {
        crypto_aead_aes256gcm_beforenm(&sgcm, key);
        run("libsodium AES-256-GCM (AES-NI only)", s_sod_gcm, secs);
    }
    return 0;
}
