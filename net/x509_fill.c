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
