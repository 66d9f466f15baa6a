/* ufrpc — makes Mbed TLS accept frps's generated certificate (empty issuer).
 *
 * frps without transport.tls.certFile serves a self-signed certificate whose
 * issuer and subject are empty; Mbed TLS (2.28 and 3.x) cannot parse it, and its
 * TLS client parses the server's certificate inside the handshake, before any
 * verification setting matters (see proto/x509_name.h). There is no hook in Mbed
 * TLS's API between receiving the Certificate message and parsing it, and
 * rewriting the message on the wire would break the handshake transcript. So
 * this module puts itself in front of the two parse functions the TLS library
 * calls, mbedtls_x509_crt_parse_der() and mbedtls_x509_crt_parse_der_nocopy():
 * each certificate is passed through ufrpc_x509_fill_empty_names() and the result
 * handed to Mbed TLS's own parser. Certificates with an issuer pass unchanged;
 * verification against transport.tls.trustedCaFile stays Mbed TLS's (a rewritten
 * certificate's signature no longer matches, so it can never verify).
 *
 * How it gets in front, chosen at build time (CMake sets UFRPC_X509_WRAP):
 *  - shared Mbed TLS (Debian, OpenWrt; the default): the executable defines both
 *    functions, the dynamic linker binds libmbedtls's calls to them (symbol
 *    interposition), and they call the library's definitions through
 *    dlsym(RTLD_NEXT);
 *  - static Mbed TLS: the link redirects the calls with ld's --wrap and these
 *    call __real_*.
 * This keeps the system's unmodified Mbed TLS (no vendored or patched copy).
 *
 * No state: nothing is cached or allocated beyond the one call.
 */
#ifndef UFRPC_NET_X509_FILL_H
#define UFRPC_NET_X509_FILL_H

#include <stdbool.h>

/* True when Mbed TLS's calls reach the rewrite in this process (the interposition
 * took effect, or the build wraps statically). net/tls.c calls it, which also
 * keeps this object in every link that uses TLS. */
bool ufrpc_x509_fill_active(void);

#endif
