/* ufrpc — rewrites an X.509 certificate whose issuer Name is empty into one that
 * Mbed TLS can parse. Sans-I/O: DER in, DER out.
 *
 * Why: when frps has no transport.tls.certFile it generates a self-signed
 * certificate with an empty issuer and an empty subject (an RDNSequence of zero
 * elements, DER `30 00`; frp v0.31 through v0.70, pkg/transport/tls.go). Go
 * accepts it; Mbed TLS 2.28 and 3.x refuse any certificate whose issuer has no
 * attribute (x509_crt.c: mbedtls_x509_get_name needs at least one SET), so the
 * TLS handshake to a stock frps dies in the certificate parse, before any
 * verification setting is looked at.
 *
 * The rewrite replaces each empty issuer/subject Name of such a certificate by
 * UFRPC_X509_EMPTY_NAME_FILL (one RDN: commonName, an empty UTF8String) and
 * re-encodes the lengths of the TBSCertificate and of the Certificate. Nothing
 * else changes: the key, the validity, the extensions and the signature bytes are
 * kept. Consequences a caller must accept:
 *  - the signature no longer matches the TBS bytes, so such a certificate never
 *    verifies against a CA (correct: no CA signs an empty issuer, and frps's
 *    generated certificate is only ever usable without verification);
 *  - issuer and subject stay equal to each other, so a self-signed certificate
 *    still looks self-signed.
 * Certificates whose issuer is not empty, and anything that is not a DER
 * certificate of the expected shape, are left alone (the caller parses the
 * original and gets Mbed TLS's own verdict).
 *
 * Ownership: nothing is allocated or kept; the input is only read during the
 * call and the result is written into the caller's buffer.
 */
#ifndef UFRPC_PROTO_X509_NAME_H
#define UFRPC_PROTO_X509_NAME_H

#include <stddef.h>
#include <stdint.h>

/* The Name written in place of an empty one: SEQUENCE { SET { SEQUENCE {
 * OID 2.5.4.3 (commonName), UTF8String "" } } }. */
#define UFRPC_X509_EMPTY_NAME_FILL \
    "\x30\x0b\x31\x09\x30\x07\x06\x03\x55\x04\x03\x0c\x00"
#define UFRPC_X509_EMPTY_NAME_FILL_LEN 13u

/* Most bytes the rewrite adds: two names, and length fields that may each grow
 * by a few bytes. out needs len + UFRPC_X509_FILL_GROWTH. */
#define UFRPC_X509_FILL_GROWTH (2u * UFRPC_X509_EMPTY_NAME_FILL_LEN + 8u)

/* der[0..len): one DER certificate. If its issuer Name is empty, writes the
 * rewritten certificate to out[0..cap), sets *out_len and returns 0. If there is
 * nothing to rewrite (issuer not empty, or not a certificate this recognises),
 * sets *out_len = 0 and returns 0. UFRPC_ERR_LIMIT: cap too small (see
 * UFRPC_X509_FILL_GROWTH); *out_len = 0 then. So a call with cap 0 (out may be
 * NULL) tells, without writing, whether a certificate needs the rewrite. */
int ufrpc_x509_fill_empty_names(const uint8_t *der, size_t len, uint8_t *out, size_t cap,
                                size_t *out_len);

#endif
