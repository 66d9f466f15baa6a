/* ufrpc — functions of a shared library resolved at first use (dlopen) instead of
 * at start-up (a DT_NEEDED entry): the QUIC stack (net/quic_lib.h) and libcrypto's
 * AEADs (proto/aead.c). The loader maps, relocates and initialises every DT_NEEDED
 * library at every start, whether the configuration uses it or not: libcrypto and
 * GnuTLS with its dependencies cost ~1.4 MB and ~2.4 MB of an idle client's resident
 * pages that way (bench/README.md "Memory: where it goes").
 *
 * Not a codec: it lives in proto/ because proto/aead.c, the lowest user, needs it;
 * it touches no socket, clock or log.
 *
 * Ownership: the libraries opened by a successful ufrpc_dynlib_open stay loaded for
 * the life of the process (the functions resolved from them are used until exit);
 * a failed call leaves nothing open. The caller owns the slots array. Thread-safe
 * (dlopen is); callers make the table once (uv_once / pthread_once) and read it only
 * afterwards. */
#ifndef UFRPC_PROTO_DYNLIB_H
#define UFRPC_PROTO_DYNLIB_H

#include <stddef.h>

struct ufrpc_dynlib_spec {
    const char *const *libs;   /* sonames ("libgnutls.so.30"), NULL-terminated, opened in order */
    const char *const *names;  /* the symbols to resolve */
    size_t n;                  /* how many names (and slots) */
};

/* Opens every library of spec (RTLD_NOW | RTLD_LOCAL) and stores the address of
 * names[i] in slots[i], taken from the first library (or its dependencies) that
 * defines it. 0, or UFRPC_ERR_UNSUPPORTED: a library or symbol is missing; err (at
 * most errlen bytes, always terminated when errlen > 0) then says which, with the
 * loader's reason, every slot is NULL and nothing stays open. */
int ufrpc_dynlib_open(const struct ufrpc_dynlib_spec *spec, void **slots, char *err,
                      size_t errlen);

#endif
