/* ufrpc — the QUIC stack loaded at first use (net/quic_lib.h). */
#ifndef UFRPC_HAVE_QUIC
#define UFRPC_HAVE_QUIC 0
#endif
#ifndef UFRPC_QUIC_DLOPEN
#define UFRPC_QUIC_DLOPEN 0
#endif

#if UFRPC_HAVE_QUIC && UFRPC_QUIC_DLOPEN
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <string.h>
#include <uv.h>

#include "proto/dynlib.h"
#endif

#define UFRPC_QUIC_LIB_IMPL
#include "net/quic_lib.h"

#include "proto/error.h"

#if !UFRPC_HAVE_QUIC

int ufrpc_quic_lib_load(void)
{
    return UFRPC_ERR_UNSUPPORTED;
}

const char *ufrpc_quic_lib_error(void)
{
    return "QUIC support is not built in";
}

#elif !UFRPC_QUIC_DLOPEN

int ufrpc_quic_lib_load(void)
{
    return 0;
}

const char *ufrpc_quic_lib_error(void)
{
    return "";
}

#else

/* the sonames of the libraries ufrpc was built against (CMakeLists.txt reads them);
 * libngtcp2_crypto_gnutls last: its dependencies are then in place */
static const char *const libs[] = {UFRPC_QUIC_SONAMES, NULL};

static const char *const names[] = {
#define UFRPC_QUIC_NAME_(name) #name,
    UFRPC_QUIC_SYMS(UFRPC_QUIC_NAME_)
#undef UFRPC_QUIC_NAME_
};

#define NSYMS (sizeof names / sizeof names[0])
_Static_assert(sizeof(struct ufrpc_quic_lib) == NSYMS * sizeof(void *),
               "one pointer per symbol");

/* Written once, by load() under uv_once; read-only afterwards (net/quic_lib.h). */
static struct {
    int rc;
    char err[256];
    struct ufrpc_quic_lib fns;
} state;
static uv_once_t once = UV_ONCE_INIT;

static void load(void)
{
    void *slots[NSYMS];
    const struct ufrpc_dynlib_spec spec = {.libs = libs, .names = names, .n = NSYMS};
    state.rc = ufrpc_dynlib_open(&spec, slots, state.err, sizeof state.err);
    if (state.rc == 0)
        memcpy(&state.fns, slots, sizeof state.fns); /* function pointers, one per slot */
}

int ufrpc_quic_lib_load(void)
{
    uv_once(&once, load);
    return state.rc;
}

const char *ufrpc_quic_lib_error(void)
{
    return state.err;
}

const struct ufrpc_quic_lib *ufrpc_quic_lib(void)
{
    return &state.fns;
}

#endif
