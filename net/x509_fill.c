/* ufrpc — Mbed TLS certificate parse interposition (see x509_fill.h). */
#include "net/x509_fill.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "proto/error.h"
#include "proto/x509_name.h"

typedef int (*parse_fn)(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len);

#if UFRPC_X509_WRAP
int __real_mbedtls_x509_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf,
                                      size_t len);
int __real_mbedtls_x509_crt_parse_der_nocopy(mbedtls_x509_crt *chain, const unsigned char *buf,
                                             size_t len);
int __wrap_mbedtls_x509_crt_parse_der(mbedtls_x509_crt *chain, const unsigned char *buf,
                                      size_t len);
int __wrap_mbedtls_x509_crt_parse_der_nocopy(mbedtls_x509_crt *chain, const unsigned char *buf,
                                             size_t len);
#define HOOK(name) __wrap_##name

static parse_fn real_parse(int copy)
{
    return copy ? __real_mbedtls_x509_crt_parse_der : __real_mbedtls_x509_crt_parse_der_nocopy;
}

bool ufrpc_x509_fill_active(void)
{
    return true;
}
#else
#define HOOK(name) name

/* Looked up on every call rather than cached (no mutable state); a certificate
 * parse happens once per full handshake. */
static parse_fn real_parse(int copy)
{
    void *sym = dlsym(RTLD_NEXT, copy ? "mbedtls_x509_crt_parse_der"
                                      : "mbedtls_x509_crt_parse_der_nocopy");
    parse_fn f = NULL;
    memcpy(&f, &sym, sizeof f < sizeof sym ? sizeof f : sizeof sym);
    return f;
}

bool ufrpc_x509_fill_active(void)
{
    void *seen = dlsym(RTLD_DEFAULT, "mbedtls_x509_crt_parse_der");
    parse_fn ours = mbedtls_x509_crt_parse_der;
    void *p = NULL;
    memcpy(&p, &ours, sizeof p < sizeof ours ? sizeof p : sizeof ours);
    return seen != NULL && seen == p;
}
#endif

/* Parses buf[0..len) into chain through Mbed TLS, rewritten first when its issuer
 * is empty. A rewritten certificate is always parsed with copying (the temporary
 * buffer is freed here), also for a _nocopy call. */
static int parse(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len, int copy)
{
    unsigned char *fixed = NULL;
    size_t flen = 0;
    /* with no room, the rewrite answers UFRPC_ERR_LIMIT exactly when it has work */
    if (buf != NULL && len <= SIZE_MAX - UFRPC_X509_FILL_GROWTH &&
        ufrpc_x509_fill_empty_names(buf, len, NULL, 0, &flen) == UFRPC_ERR_LIMIT) {
        size_t cap = len + UFRPC_X509_FILL_GROWTH;
        fixed = malloc(cap);
        if (fixed == NULL)
            return MBEDTLS_ERR_X509_ALLOC_FAILED;
        if (ufrpc_x509_fill_empty_names(buf, len, fixed, cap, &flen) != 0 || flen == 0) {
            free(fixed);
            fixed = NULL;
        }
    }
    parse_fn real = real_parse(copy || fixed != NULL);
    if (real == NULL) {
        free(fixed);
        return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
    }
    int r = fixed ? real(chain, fixed, flen) : real(chain, buf, len);
    free(fixed);
    return r;
}

#if UFRPC_X509_WRAP
/* With static archives, --wrap only redirects calls between object files: the calls
 * mbedtls_x509_crt_parse() and _parse_file() make to mbedtls_x509_crt_parse_der() stay
 * inside x509_crt.c and would skip the rewrite (a trustedCaFile holding frps's generated
 * certificate failed to load). ufrpc's own calls to these two are wrapped too and
 * redo their work (Mbed TLS 2.28's PEM loop, same return values) on the hooked
 * parse_der. With shared libraries the interposition above covers them. */
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

int __wrap_mbedtls_x509_crt_parse(mbedtls_x509_crt *chain, const unsigned char *buf,
                                  size_t len);
int __wrap_mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path);

int __wrap_mbedtls_x509_crt_parse(mbedtls_x509_crt *chain, const unsigned char *buf,
                                  size_t len)
{
    if (chain == NULL || buf == NULL)
        return MBEDTLS_ERR_X509_BAD_INPUT_DATA;
    if (len == 0 || buf[len - 1] != '\0' ||
        strstr((const char *)buf, "-----BEGIN CERTIFICATE-----") == NULL)
        return parse(chain, buf, len, 1);
    int success = 0, first_error = 0, total_failed = 0;
    while (len > 1) {
        mbedtls_pem_context pem;
        size_t use_len = 0;
        mbedtls_pem_init(&pem);
        int ret = mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----",
                                          "-----END CERTIFICATE-----", buf, NULL, 0, &use_len);
        if (ret == MBEDTLS_ERR_PEM_BAD_INPUT_DATA)
            return ret;
        if (ret == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT) {
            mbedtls_pem_free(&pem);
            break;
        }
        len -= use_len;
        buf += use_len;
        if (ret == 0)
            ret = parse(chain, pem.buf, pem.buflen, 1);
        mbedtls_pem_free(&pem);
        if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
            return ret;
        if (ret != 0) {
            if (first_error == 0)
                first_error = ret;
            total_failed++;
            continue;
        }
        success = 1;
    }
    if (success)
        return total_failed;
    return first_error != 0 ? first_error : MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT;
}

int __wrap_mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    int ret = mbedtls_pk_load_file(path, &buf, &n);
    if (ret != 0)
        return ret;
    ret = __wrap_mbedtls_x509_crt_parse(chain, buf, n);
    mbedtls_platform_zeroize(buf, n);
    free(buf);
    return ret;
}
#endif

__attribute__((visibility("default"))) int
HOOK(mbedtls_x509_crt_parse_der)(mbedtls_x509_crt *chain, const unsigned char *buf, size_t len)
{
    return parse(chain, buf, len, 1);
}

__attribute__((visibility("default"))) int HOOK(mbedtls_x509_crt_parse_der_nocopy)(
    mbedtls_x509_crt *chain, const unsigned char *buf, size_t len)
{
    return parse(chain, buf, len, 0);
}
