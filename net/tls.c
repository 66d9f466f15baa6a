/* ufrpc — TLS stream over a ufrpc_stream (mbedTLS), contexts, first-byte sniffer. */
#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "proto/error.h"
#include "proto/mbedtls_compat.h"
#include "proto/tlsrec.h"
#if UFRPC_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif
#include "net/layer.h"
#include "net/x509_fill.h"

#define STAGE_SIZE 16384u
#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
#define UFRPC_TLS_TICKETS 1
#else
#define UFRPC_TLS_TICKETS 0
#endif
/* Lifetime of the session tickets a server context issues (Go: 7 days max). */
#define TICKET_LIFETIME_S 86400
/* four full records of our own record layer (16 KiB + 29 bytes of AES-GCM
 * framing each) or 64 KiB of Mbed TLS's */
#define CHUNK_SIZE (4u * (UFRPC_TLSREC_MAX_PLAIN + UFRPC_TLSREC_MAX_OVERHEAD))
/* Go's crypto/tls gives up after this many records in a row without data */
#define MAX_USELESS_RECORDS 16

struct tls;

struct ufrpc_tls_ctx {
    unsigned refs; /* the owner's reference plus one per TLS stream not yet freed */
    int server;
    int has_ca, has_own;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    /* server, frps-style certificate: the bytes sent (empty names), while
     * own_cert's fields point into own_parsed, the rewritten copy parsed */
    mbedtls_x509_buf own_parsed;
    /* client: the session of the last full handshake, offered by the next
     * connections to the same server name (ticket or session id resumption) */
    mbedtls_ssl_session saved;
    char *saved_name;
    int has_saved;
#if UFRPC_TLS_TICKETS
    /* server: issues session tickets (what frps, Go crypto/tls, does by default) */
    mbedtls_ssl_ticket_context ticket;
#endif
    /* cipher suites offered (client) / accepted in order (server), 0-terminated;
     * read by conf for its whole life */
    int *suites;
    /* AES-256-GCM records are ours (the CPU has AES instructions): asked once
     * here, not per connection (ufrpc_aead_init leaves it to the caller) */
    bool aes_records;
    /* Mbed TLS 2.28 exports keys per config: the stream whose handshake step
     * is running (set around each mbedtls_ssl_handshake call), NULL otherwise */
    struct tls *hs_current;
};

/* ---- contexts ------------------------------------------------------------------- */
static void ctx_init(ufrpc_tls_ctx_t *c)
{
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own_cert);
    mbedtls_pk_init(&c->own_key);
    mbedtls_ssl_session_init(&c->saved);
#if UFRPC_TLS_TICKETS
    mbedtls_ssl_ticket_init(&c->ticket);
#endif
    c->refs = 1;
}

void ufrpc_tls_ctx_free(ufrpc_tls_ctx_t *c)
{
    /* A closing stream still frees its mbedtls_ssl (which reads conf) from the
     * loop after ufrpc_stream_close returned, so the last reference frees. */
    if (c == NULL || --c->refs > 0)
        return;
    mbedtls_ssl_config_free(&c->conf);
    free(c->suites);
    mbedtls_x509_crt_free(&c->ca);
    if (c->own_parsed.p != NULL) { /* give own_cert back its own buffer */
        free(c->own_cert.raw.p);
        c->own_cert.raw = c->own_parsed;
    }
    mbedtls_x509_crt_free(&c->own_cert);
    mbedtls_pk_free(&c->own_key);
    mbedtls_ssl_session_free(&c->saved);
    free(c->saved_name);
#if UFRPC_TLS_TICKETS
    mbedtls_ssl_ticket_free(&c->ticket);
#endif
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    free(c);
}

/* TLS 1.2 suites our record layer protects (proto/tlsrec.h), by cipher. */
static int suite_cipher(int id)
{
    switch (id) {
    case MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
    case MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
    case MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384:
        return UFRPC_TLSREC_AES_256_GCM;
    case MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
    case MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
    case MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
        return UFRPC_TLSREC_CHACHA20_POLY1305;
    default:
        return UFRPC_TLSREC_NONE;
    }
}

/* Cipher preference by CPU: where the CPU has AES and carry-less multiply
 * instructions (ufrpc_aead_available) AES-256-GCM comes first, and AES-128-GCM is not offered at all: Go's server, seeing a
 * client that prefers AES-GCM, picks by its own order, which puts AES-128-GCM
 * first, and that suite would stay on Mbed TLS's slow record layer. Elsewhere
 * ChaCha20-Poly1305 comes first (Go then picks it). Mbed TLS's other suites
 * follow, for servers that have none of these (they use Mbed TLS's records). */
static int set_suites(ufrpc_tls_ctx_t *c)
{
    static const int aes_first[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                                    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                                    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                                    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                                    MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
                                    MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256};
    static const int chacha_first[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                                       MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                                       MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256};
    enum { NPREF = sizeof aes_first / sizeof aes_first[0] };
    bool aes = ufrpc_tlsrec_available(UFRPC_TLSREC_AES_256_GCM);
    bool chacha = ufrpc_tlsrec_available(UFRPC_TLSREC_CHACHA20_POLY1305);
    const int *pref = aes ? aes_first : chacha_first;
    size_t npref = !chacha ? 0 : aes ? NPREF : sizeof chacha_first / sizeof chacha_first[0];
    const int *all = mbedtls_ssl_list_ciphersuites();
    size_t n_all = 0;
    while (all[n_all] != 0)
        n_all++;
    int *list = calloc(n_all + 1, sizeof *list);
    if (list == NULL)
        return UFRPC_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < npref; i++) /* ours first, if this Mbed TLS has them */
        for (size_t j = 0; j < n_all; j++)
            if (all[j] == pref[i]) {
                list[n++] = pref[i];
                break;
            }
    for (size_t j = 0; j < n_all; j++) {
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++)
            dup = list[i] == all[j];
        if (dup || (aes && strstr(mbedtls_ssl_get_ciphersuite_name(all[j]), "AES-128-GCM")))
            continue;
        list[n++] = all[j];
    }
    list[n] = 0;
    c->suites = list;
    c->aes_records = aes;
    mbedtls_ssl_conf_ciphersuites(&c->conf, c->suites);
    return 0;
}

#if !UFRPC_MBEDTLS_3
static int on_export_keys(void *p, const unsigned char *ms, const unsigned char *kb,
                          size_t maclen, size_t keylen, size_t ivlen,
                          const unsigned char client_random[32],
                          const unsigned char server_random[32], mbedtls_tls_prf_types prf);
#endif

static int ctx_common(ufrpc_tls_ctx_t *c, int endpoint, bool tls13)
{
    static const char pers[] = "ufrpc-tls";
#if UFRPC_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
    /* Mbed TLS 3.x runs TLS 1.3 (and more) on PSA, which the application must
     * initialise; repeated calls are no-ops. */
    if (psa_crypto_init() != PSA_SUCCESS)
        return UFRPC_ERR_CRYPTO;
#endif
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)pers, sizeof pers - 1) != 0)
        return UFRPC_ERR_CRYPTO;
    if (mbedtls_ssl_config_defaults(&c->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return UFRPC_ERR_TLS;
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    ufrpc_mbedtls_ssl_conf_min_tls12(&c->conf);
    /* TLS 1.2 unless asked: session resumption and our record layer are TLS 1.2
     * only (no TLS 1.3 records, KeyUpdate or NewSessionTicket handling); a 3.x
     * context asked for 1.3 keeps Mbed TLS's own records when 1.3 is chosen */
    if (!tls13)
        ufrpc_mbedtls_ssl_conf_max_tls12(&c->conf);
    /* Key exchange groups in Go's order of preference. mbedTLS's default list starts
     * with secp521r1, whose ECDHE costs ~25 ms per handshake on a small CPU: with
     * tcpMux off every work connection pays it. */
#if UFRPC_MBEDTLS_3
    static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mbedtls_ssl_conf_groups(&c->conf, groups);
#else
    static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519,
                                                  MBEDTLS_ECP_DP_SECP256R1,
                                                  MBEDTLS_ECP_DP_SECP384R1,
                                                  MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_NONE};
    mbedtls_ssl_conf_curves(&c->conf, curves);
#endif
#if !UFRPC_MBEDTLS_3
    mbedtls_ssl_conf_export_keys_ext_cb(&c->conf, on_export_keys, c);
#endif
    return set_suites(c);
}

static int load_own(ufrpc_tls_ctx_t *c, const char *cert, const char *key)
{
    if (mbedtls_x509_crt_parse_file(&c->own_cert, cert) != 0)
        return UFRPC_ERR_TLS;
#if UFRPC_MBEDTLS_3
    if (mbedtls_pk_parse_keyfile(&c->own_key, key, NULL, mbedtls_ctr_drbg_random, &c->drbg) != 0)
        return UFRPC_ERR_TLS;
#else
    if (mbedtls_pk_parse_keyfile(&c->own_key, key, NULL) != 0)
        return UFRPC_ERR_TLS;
#endif
    c->has_own = 1;
    return 0;
}

int ufrpc_tls_client_ctx_new(const struct ufrpc_tls_client_opts *o, ufrpc_tls_ctx_t **out)
{
    ufrpc_tls_ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return UFRPC_ERR_NOMEM;
    ctx_init(c);
    int rc = ctx_common(c, MBEDTLS_SSL_IS_CLIENT, o != NULL && o->tls13);
    if (rc == 0 && o != NULL && o->ca_file != NULL && o->ca_file[0] != '\0') {
        /* > 0: that many certificates failed to parse (bundles hold a few) */
        int pr = mbedtls_x509_crt_parse_file(&c->ca, o->ca_file);
        if (pr < 0 || (pr > 0 && (!o->ca_bundle || c->ca.raw.len == 0)))
            rc = UFRPC_ERR_TLS;
        c->has_ca = 1;
    }
    if (rc == 0 && o != NULL && o->cert_file != NULL && o->cert_file[0] != '\0') {
        if (o->key_file == NULL)
            rc = UFRPC_ERR_INVAL;
        else
            rc = load_own(c, o->cert_file, o->key_file);
    }
    if (rc == 0) {
        if (c->has_ca) {
            mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
            mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        } else {
            mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
        }
        if (c->has_own && mbedtls_ssl_conf_own_cert(&c->conf, &c->own_cert, &c->own_key) != 0)
            rc = UFRPC_ERR_TLS;
    }
    if (rc < 0) {
        ufrpc_tls_ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* The serial number of a certificate being written, from big-endian bytes (3.4+
 * takes them raw; the MPI form is deprecated there). 0 or Mbed TLS's error. */
static int set_serial(mbedtls_x509write_cert *w, const unsigned char *sn, size_t len)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
    return mbedtls_x509write_crt_set_serial_raw(w, (unsigned char *)sn, len);
#else
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    int r = mbedtls_mpi_read_binary(&serial, sn, len);
    if (r == 0)
        r = mbedtls_x509write_crt_set_serial(w, &serial);
    mbedtls_mpi_free(&serial);
    return r;
#endif
}

/* Self-signed EC P-256 certificate, CN=ufrpc-test, SAN DNS:localhost, CA:true. */
static int gen_self_signed(ufrpc_tls_ctx_t *c)
{
    int rc = UFRPC_ERR_CRYPTO;
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    unsigned char *pem = malloc(4096);
    if (pem == NULL) {
        rc = UFRPC_ERR_NOMEM;
        goto out;
    }
    if (mbedtls_pk_setup(&c->own_key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->own_key),
                            mbedtls_ctr_drbg_random, &c->drbg) != 0)
        goto out;
    unsigned char sn[16];
    if (mbedtls_ctr_drbg_random(&c->drbg, sn, sizeof sn) != 0)
        goto out;
    sn[0] &= 0x7f;
    sn[0] |= 0x01;
    /* SubjectAltName: SEQUENCE { [2] "localhost" } */
    static const unsigned char san[] = {0x30, 0x0b, 0x82, 0x09, 'l', 'o', 'c', 'a',
                                        'l',  'h',  'o',  's',  't'};
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &c->own_key);
    mbedtls_x509write_crt_set_issuer_key(&w, &c->own_key);
    if (set_serial(&w, sn, sizeof sn) != 0 ||
        mbedtls_x509write_crt_set_subject_name(&w, "CN=ufrpc-test") != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&w, "CN=ufrpc-test") != 0 ||
        mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959") != 0 ||
        mbedtls_x509write_crt_set_basic_constraints(&w, 1, -1) != 0 ||
        mbedtls_x509write_crt_set_extension(&w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san,
                                            sizeof san) != 0)
        goto out;
    if (mbedtls_x509write_crt_pem(&w, pem, 4096, mbedtls_ctr_drbg_random, &c->drbg) != 0)
        goto out;
    if (mbedtls_x509_crt_parse(&c->own_cert, pem, strlen((char *)pem) + 1) != 0)
        goto out;
    c->has_own = 1;
    rc = 0;
out:
    free(pem);
    mbedtls_x509write_crt_free(&w);
    return rc;
}

/* Mbed TLS writes an empty extensions field ([3] { SEQUENCE {} }) into every v3
 * certificate; Go writes none when there are none. Cuts it from der[0..*len)
 * (lengths in the two-byte long form, as an RSA-2048 certificate has) and signs
 * the shorter TBS again with key (the signature keeps its size). 0 or <0. */
static int drop_empty_extensions(ufrpc_tls_ctx_t *c, unsigned char *der, size_t *len)
{
    static const unsigned char empty_ext[4] = {0xa3, 0x02, 0x30, 0x00};
    size_t n = *len;
    if (n < 8 || der[0] != 0x30 || der[1] != 0x82 || der[4] != 0x30 || der[5] != 0x82)
        return UFRPC_ERR_CRYPTO;
    size_t cert_len = ((size_t)der[2] << 8) | der[3];
    size_t tbs_len = ((size_t)der[6] << 8) | der[7];
    size_t tbs_end = 8 + tbs_len;
    if (cert_len + 4 != n || tbs_end > n || tbs_len < 256 + 4 ||
        memcmp(der + tbs_end - 4, empty_ext, sizeof empty_ext) != 0)
        return UFRPC_ERR_CRYPTO;
    memmove(der + tbs_end - 4, der + tbs_end, n - tbs_end);
    n -= 4;
    cert_len -= 4;
    tbs_len -= 4;
    der[2] = (unsigned char)(cert_len >> 8), der[3] = (unsigned char)cert_len;
    der[6] = (unsigned char)(tbs_len >> 8), der[7] = (unsigned char)tbs_len;
    /* the signature BIT STRING (one unused-bits byte, then the signature) ends the
     * certificate */
    size_t sig_len = mbedtls_pk_get_len(&c->own_key);
    unsigned char hash[32];
    if (sig_len == 0 || sig_len > n - (tbs_end - 4) ||
        ufrpc_mbedtls_sha256(der + 4, 4 + tbs_len, hash) != 0)
        return UFRPC_ERR_CRYPTO;
    size_t got = 0;
    if (ufrpc_mbedtls_pk_sign(&c->own_key, MBEDTLS_MD_SHA256, hash, sizeof hash,
                              der + n - sig_len, sig_len, &got, mbedtls_ctr_drbg_random,
                              &c->drbg) != 0 ||
        got != sig_len)
        return UFRPC_ERR_CRYPTO;
    *len = n;
    return 0;
}

/* The certificate frps generates when it has none (frp v0.70 pkg/transport/tls.go
 * newRandomTLSKeyPair): RSA-2048, random positive 128-bit serial, empty issuer
 * and subject, valid from an hour ago for 3650 days, no extensions, signed with
 * SHA-256 (PKCS#1 v1.5). Mbed TLS parses it only rewritten (x509_fill.h); own_cert keeps the
 * rewritten parse for its fields and the original bytes as raw, which is what
 * the handshake sends. */
static int gen_frps_style(ufrpc_tls_ctx_t *c)
{
    int rc = UFRPC_ERR_CRYPTO;
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    enum { DER_CAP = 2048 };
    unsigned char *buf = malloc(DER_CAP);
    unsigned char *orig = NULL;
    if (buf == NULL) {
        rc = UFRPC_ERR_NOMEM;
        goto out;
    }
    if (mbedtls_pk_setup(&c->own_key, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
        mbedtls_rsa_gen_key(mbedtls_pk_rsa(c->own_key), mbedtls_ctr_drbg_random, &c->drbg, 2048,
                            65537) != 0)
        goto out;
    unsigned char sn[16];
    if (mbedtls_ctr_drbg_random(&c->drbg, sn, sizeof sn) != 0)
        goto out;
    sn[15] |= 0x01; /* positive and not zero; a leading 0x00 is added when needed */
    char from[16], to[16];
    time_t now = time(NULL);
    time_t t0 = now - 3600, t1 = now + (time_t)3650 * 86400;
    struct tm tm0, tm1;
    if (gmtime_r(&t0, &tm0) == NULL || gmtime_r(&t1, &tm1) == NULL ||
        strftime(from, sizeof from, "%Y%m%d%H%M%S", &tm0) != 14 ||
        strftime(to, sizeof to, "%Y%m%d%H%M%S", &tm1) != 14)
        goto out;
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &c->own_key);
    mbedtls_x509write_crt_set_issuer_key(&w, &c->own_key);
    /* issuer and subject are left unset: Mbed TLS writes an unset Name as the
     * empty RDNSequence frps has (3.x refuses "" as a name string) */
    if (set_serial(&w, sn, sizeof sn) != 0 ||
        mbedtls_x509write_crt_set_validity(&w, from, to) != 0)
        goto out;
    int n = mbedtls_x509write_crt_der(&w, buf, DER_CAP, mbedtls_ctr_drbg_random, &c->drbg);
    if (n <= 0)
        goto out;
    if ((orig = malloc((size_t)n)) == NULL) {
        rc = UFRPC_ERR_NOMEM;
        goto out;
    }
    memcpy(orig, buf + DER_CAP - n, (size_t)n); /* the DER is written at the end */
    size_t len = (size_t)n;
    if (drop_empty_extensions(c, orig, &len) != 0)
        goto out;
    n = (int)len;
    if (mbedtls_x509_crt_parse_der(&c->own_cert, orig, (size_t)n) != 0)
        goto out;
    c->own_parsed = c->own_cert.raw;
    c->own_cert.raw.p = orig;
    c->own_cert.raw.len = (size_t)n;
    orig = NULL;
    c->has_own = 1;
    rc = 0;
out:
    free(orig);
    free(buf);
    mbedtls_x509write_crt_free(&w);
    return rc;
}

int ufrpc_tls_server_ctx_new(const struct ufrpc_tls_server_opts *o, ufrpc_tls_ctx_t **out)
{
    ufrpc_tls_ctx_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return UFRPC_ERR_NOMEM;
    ctx_init(c);
    c->server = 1;
    int rc = ctx_common(c, MBEDTLS_SSL_IS_SERVER, o != NULL && o->tls13);
    if (rc == 0) {
        if (o != NULL && o->cert_file != NULL && o->cert_file[0] != '\0')
            rc = o->key_file != NULL ? load_own(c, o->cert_file, o->key_file) : UFRPC_ERR_INVAL;
        else if (o != NULL && o->generate == UFRPC_TLS_GEN_FRPS)
            rc = gen_frps_style(c);
        else
            rc = gen_self_signed(c);
    }
#if UFRPC_TLS_TICKETS
    if (rc == 0) {
        if (mbedtls_ssl_ticket_setup(&c->ticket, mbedtls_ctr_drbg_random, &c->drbg,
                                     MBEDTLS_CIPHER_AES_256_GCM, TICKET_LIFETIME_S) != 0)
            rc = UFRPC_ERR_TLS;
        else
            mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write,
                                                mbedtls_ssl_ticket_parse, &c->ticket);
    }
#endif
    if (rc == 0 && o != NULL && o->client_ca_file != NULL && o->client_ca_file[0] != '\0') {
        if (mbedtls_x509_crt_parse_file(&c->ca, o->client_ca_file) != 0)
            rc = UFRPC_ERR_TLS;
        c->has_ca = 1;
    }
    if (rc == 0) {
        mbedtls_ssl_conf_authmode(&c->conf, c->has_ca ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                      : MBEDTLS_SSL_VERIFY_NONE);
        if (c->has_ca)
            mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        if (mbedtls_ssl_conf_own_cert(&c->conf, &c->own_cert, &c->own_key) != 0)
            rc = UFRPC_ERR_TLS;
    }
    if (rc < 0) {
        ufrpc_tls_ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int ufrpc_tls_ctx_cert_pem(const ufrpc_tls_ctx_t *c, char *buf, size_t cap)
{
    if (!c->has_own)
        return UFRPC_ERR_STATE;
    size_t olen = 0;
    int rc = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
                                      "-----END CERTIFICATE-----\n", c->own_cert.raw.p,
                                      c->own_cert.raw.len, (unsigned char *)buf, cap, &olen);
    return rc == 0 ? 0 : UFRPC_ERR_LIMIT;
}

/* ---- the stream ----------------------------------------------------------------- */
enum { ST_HANDSHAKE, ST_OPEN, ST_DEAD };

struct chunk { /* lives in the bytes of a buffer of the stream's chunk pool */
    ufrpc_rbuf_t *rb;
    struct ufrpc_stream_write wr;
    struct tls *t;
    uv_buf_t b;
    size_t len, cap;
    struct ufrpc_stream_write *users, *users_tail;
    uint8_t data[];
};

struct tls {
    struct ufrpc_stream s;
    struct ufrpc_layer layer; /* the lower stream, reading it, closing */
    ufrpc_tls_ctx_t *ctx;
    mbedtls_ssl_context ssl;
    uv_timer_t timer;
    uv_idle_t idle;
    int state;
    int offered;  /* client: a saved session was offered for resumption */
    int resumed;  /* the handshake resumed it */
    char *name;   /* client: the server name, key of the saved session */
    ufrpc_tls_handshake_cb hs_cb;
    /* ciphertext received and not yet given to mbedTLS */
    ufrpc_rbuf_t *in_buf;
    const uint8_t *in_data;
    size_t in_len;
    int lower_status;  /* 0 while the lower stream can still deliver */
    int reading;
    int end_status;    /* EOF/error waiting to be delivered */
    int ended;         /* delivered */
    int shut;
    ufrpc_rbuf_t *rb;  /* plaintext buffer */
    ufrpc_rbuf_pool_t *rpool; /* plaintext buffers */
    ufrpc_rbuf_pool_t *cpool; /* output chunks */
    /* output */
    struct chunk *fill;
    struct chunk *last;   /* last chunk handed to the lower stream, while in flight */
    /* writes whose bytes all went out at once (ufrpc_stream_try_write) while no
     * chunk was in flight: completed from the idle handle, or by the next chunk
     * that goes in flight (so that writes complete in order) */
    struct ufrpc_stream_write *done, *done_tail;
    size_t out_queued;
    int out_err;
    uint8_t first_byte;
    int rx;            /* some bytes came from the peer */
    struct ufrpc_tls_failure fail; /* after a failed handshake */
    uv_buf_t fb_buf;
    struct ufrpc_stream_write fb_req;
    /* the TLS 1.2 secrets Mbed TLS exported during the handshake (wiped once
     * the record layer is set up) */
    int have_keys;
    int prf;
    uint8_t master[48];
    uint8_t randoms[64];     /* server_random | client_random: the key expansion seed */
#if !UFRPC_MBEDTLS_3
    uint8_t kb[88];          /* Mbed TLS's own key block, to check our derivation */
    size_t kb_len;
#endif
    struct fast *fast;       /* our record layer; NULL: Mbed TLS's */
    /* with our record layer, Mbed TLS's context (its 2 x 16 KiB record buffers,
     * the session and the peer's certificate) is freed after the handshake;
     * what is still asked of it is kept here (static strings) */
    int ssl_freed;
    const char *suite_name, *version_name;
    /* ufrpc_tls_conn_opts.keep_peer_info: the peer's details, taken before the
     * handshake state may be freed (NULL when not asked or out of memory) */
    int keep_peer, peer_rc; /* peer_rc: why peer is NULL although asked */
    struct ufrpc_tls_peer *peer;
};

/* Our record layer, after the handshake of a TLS 1.2 AEAD suite (proto/tlsrec.h).
 * Owned by the stream, freed (keys wiped) with it. About 1.3 KiB: the reader
 * holds a record's buffer only while one is split across reads. */
struct fast {
    struct ufrpc_tlsrec_dir rd, wr;
    unsigned useless; /* records in a row without application data */
    struct ufrpc_tlsrec_reader reader;
};

static const struct ufrpc_stream_vt tls_vt;

static int map_mbed(int r)
{
    switch (r) {
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        return UFRPC_ERR_TLS_VERIFY;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        return UFRPC_ERR_NOMEM;
    case MBEDTLS_ERR_NET_CONN_RESET:
        return UFRPC_ERR_CONN_RESET;
    case MBEDTLS_ERR_SSL_CONN_EOF:
        return UFRPC_ERR_EOF;
    default:
        return UFRPC_ERR_TLS;
    }
}

static void on_chunk_written(struct ufrpc_stream_write *w, int status)
{
    struct chunk *c = w->data;
    struct tls *t = c->t;
    t->out_queued -= c->b.len;
    if (t->last == c)
        t->last = NULL;
    if (status < 0 && t->out_err == 0)
        t->out_err = status;
    struct ufrpc_stream_write *u = c->users;
    ufrpc_rbuf_unref(c->rb);
    while (u != NULL) {
        struct ufrpc_stream_write *next = u->next;
        u->cb(u, status);
        u = next;
    }
}

/* Makes t->fill a new, empty chunk from the chunk pool (t->fill was NULL); false
 * when the pool has none. */
static bool new_fill(struct tls *t)
{
    ufrpc_rbuf_t *rb = ufrpc_rbuf_pool_get(t->cpool);
    if (rb == NULL)
        return false;
    t->fill = (struct chunk *)rb->base;
    t->fill->rb = rb;
    t->fill->t = t;
    t->fill->len = 0;
    t->fill->cap = CHUNK_SIZE;
    t->fill->users = t->fill->users_tail = NULL;
    return true;
}

/* Hands the fill chunk to the lower stream: what the kernel takes at once is
 * written from here, and a chunk that went out whole goes back to the pool now
 * (warm in the cache, for the next records of this or another connection) instead
 * of staying out until the next loop iteration; the rest is queued. */
static int flush_out(struct tls *t)
{
    struct chunk *c = t->fill;
    if (c == NULL || c->len == 0)
        return 0;
    t->fill = NULL;
    c->b = uv_buf_init((char *)c->data, (unsigned)c->len);
    int rc = t->out_err == 0 ? ufrpc_stream_try_write(t->layer.lower, &c->b, 1) : t->out_err;
    if (rc >= 0 && (size_t)rc == c->len) {
        ufrpc_rbuf_unref(c->rb);
        return 0;
    }
    if (rc >= 0) {
        c->b = uv_buf_init((char *)c->data + rc, (unsigned)(c->len - (size_t)rc));
        c->wr.data = c;
        rc = ufrpc_stream_write(t->layer.lower, &c->wr, &c->b, 1, on_chunk_written);
    }
    if (rc < 0) {
        ufrpc_rbuf_unref(c->rb);
        if (t->out_err == 0)
            t->out_err = rc;
        return rc;
    }
    /* writes that completed at once before it complete with it, in order */
    c->users = t->done;
    c->users_tail = t->done_tail;
    t->done = t->done_tail = NULL;
    t->out_queued += c->b.len;
    t->last = c;
    return 0;
}

/* Runs the callbacks of the writes that went out at once (see struct tls). */
static void complete_done(struct tls *t, int status)
{
    struct ufrpc_stream_write *u = t->done;
    t->done = t->done_tail = NULL;
    while (u != NULL) {
        struct ufrpc_stream_write *next = u->next;
        u->cb(u, status);
        u = next;
    }
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls *t = ctx;
    if (t->out_err != 0)
        return MBEDTLS_ERR_NET_CONN_RESET;
    size_t done = 0;
    while (done < len) {
        if (t->fill != NULL && t->fill->len == t->fill->cap && flush_out(t) < 0)
            return MBEDTLS_ERR_NET_CONN_RESET;
        if (t->fill == NULL && !new_fill(t))
            return MBEDTLS_ERR_SSL_ALLOC_FAILED;
        size_t n = t->fill->cap - t->fill->len;
        if (n > len - done)
            n = len - done;
        memcpy(t->fill->data + t->fill->len, buf + done, n);
        t->fill->len += n;
        done += n;
    }
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls *t = ctx;
    if (t->in_len == 0) {
        if (t->lower_status == UFRPC_ERR_EOF)
            return 0;
        if (t->lower_status < 0)
            return MBEDTLS_ERR_NET_CONN_RESET;
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    size_t n = t->in_len < len ? t->in_len : len;
    memcpy(buf, t->in_data, n);
    t->in_data += n;
    t->in_len -= n;
    return (int)n;
}

static void on_lower_read(struct ufrpc_stream *l, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len);

/* Lower reading is needed during the handshake, and afterwards while the user
 * reads and all received ciphertext has been consumed. */
static void update_lower_reading(struct tls *t)
{
    if (t->s.closing || t->state == ST_DEAD)
        return;
    int want = t->lower_status == 0 && t->in_len == 0 &&
               (t->state == ST_HANDSHAKE || (t->reading && !t->ended && t->end_status == 0));
    int rc = ufrpc_layer_read(&t->layer, want, on_lower_read);
    if (rc < 0)
        t->lower_status = rc;
}

static void deliver_end(struct tls *t)
{
    if (t->ended || !t->reading || t->s.closing)
        return;
    t->ended = 1;
    t->reading = 0;
    t->s.read_cb(&t->s, t->end_status, NULL, NULL, 0);
}

static void fast_pump_in(struct tls *t);

/* Drops the stream's reference on the plaintext buffer after a delivery or when
 * nothing was decrypted into it: a consumer's reference keeps it, otherwise it
 * goes back to the pool, so an idle stream holds no plaintext buffer. */
static void drop_rb(struct tls *t)
{
    ufrpc_rbuf_unref(t->rb);
    t->rb = NULL;
}

/* Makes t->rb a plaintext buffer no reader holds (one still referenced after a
 * delivery is let go, a new one taken from the pool). False when the pool has none:
 * t->end_status is then UFRPC_ERR_NOMEM, for the read loop to deliver. */
static bool own_rbuf(struct tls *t)
{
    if (t->rb != NULL && t->rb->refs != 1) {
        ufrpc_rbuf_unref(t->rb);
        t->rb = NULL;
    }
    if (t->rb == NULL && (t->rb = ufrpc_rbuf_pool_get(t->rpool)) == NULL) {
        t->end_status = UFRPC_ERR_NOMEM;
        return false;
    }
    return true;
}

/* Decrypts and delivers while the user reads. */
static void pump_in(struct tls *t)
{
    if (t->fast != NULL) {
        fast_pump_in(t);
        return;
    }
    while (t->reading && !t->s.closing && !t->ended && t->state == ST_OPEN) {
        if (t->end_status != 0) {
            deliver_end(t);
            return;
        }
        if (!own_rbuf(t))
            continue;
        size_t n = 0;
        int r = 0;
        while (n < t->rb->cap) {
            r = mbedtls_ssl_read(&t->ssl, t->rb->base + n, t->rb->cap - n);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == 0 || r == MBEDTLS_ERR_SSL_CONN_EOF)
            t->end_status = UFRPC_ERR_EOF;
        else if (r < 0 && r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            t->end_status = r == MBEDTLS_ERR_NET_CONN_RESET && t->lower_status < 0 &&
                                    t->lower_status != UFRPC_ERR_EOF
                                ? t->lower_status
                                : map_mbed(r);
        flush_out(t); /* alerts */
        if (n > 0) {
            t->s.read_cb(&t->s, 0, t->rb, t->rb->base, n);
            drop_rb(t);
            continue;
        }
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
            break;
    }
    drop_rb(t);
}

/* Where a handshake that failed with Mbed TLS's code mbed (0: not Mbed TLS's
 * own, e.g. the lower stream or the timer) stopped. */
static enum ufrpc_tls_step failed_step(const struct tls *t, int mbed)
{
    if (mbed == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
        return UFRPC_TLS_STEP_VERIFY;
    int high = (mbed < 0 ? -mbed : 0) & 0x7f80; /* the high-level part of the code */
    if (high >= 0x2000 && high <= 0x3000)       /* X509 errors */
        return UFRPC_TLS_STEP_CERT_PARSE;
    if (!t->rx && (mbed == 0 || mbed == MBEDTLS_ERR_NET_CONN_RESET ||
                   mbed == MBEDTLS_ERR_SSL_CONN_EOF))
        return UFRPC_TLS_STEP_HELLO;
    return UFRPC_TLS_STEP_HANDSHAKE;
}

static void fail_handshake(struct tls *t, int err, int mbed)
{
    t->fail.code = err;
    t->fail.mbed_err = mbed;
    t->fail.step = failed_step(t, mbed);
    t->fail.verify_flags = t->fail.step == UFRPC_TLS_STEP_VERIFY
                               ? mbedtls_ssl_get_verify_result(&t->ssl)
                               : 0;
    t->fail.bytes_received = t->rx != 0;
    t->fail.first_byte_sent = t->first_byte == 0x17;
    t->fail.fill_active = ufrpc_x509_fill_active();
    t->fail.lower_status = t->lower_status;
    t->state = ST_DEAD;
    uv_timer_stop(&t->timer);
    ufrpc_layer_read(&t->layer, 0, NULL);
    t->hs_cb(&t->s, err);
}

/* Client, after a successful handshake: was the offered session resumed? If not
 * (a full handshake), its session (with the server's ticket, if one came) becomes
 * the one the next connections to this server name offer. Best effort: a
 * failure only means the next handshake is a full one. */
static void session_after_handshake(struct tls *t)
{
    ufrpc_tls_ctx_t *c = t->ctx;
    if (c->server || t->name == NULL)
        return;
    const mbedtls_ssl_session *cur = ufrpc_mbedtls_ssl_cur_session(&t->ssl);
    static const unsigned char zero[sizeof ufrpc_mbedtls_session_master(cur)];
    const unsigned char *saved_master = ufrpc_mbedtls_session_master(&c->saved);
    /* (an all-zero master: a TLS 1.3 session under mbedTLS 3.x, which has none) */
    if (t->offered && cur != NULL && memcmp(saved_master, zero, sizeof zero) != 0 &&
        memcmp(ufrpc_mbedtls_session_master(cur), saved_master, sizeof zero) == 0) {
        t->resumed = 1;
        return;
    }
    char *name = strdup(t->name);
    if (name == NULL)
        return;
    mbedtls_ssl_session_free(&c->saved);
    mbedtls_ssl_session_init(&c->saved);
    free(c->saved_name);
    c->saved_name = NULL;
    c->has_saved = 0;
    if (mbedtls_ssl_get_session(&t->ssl, &c->saved) != 0) {
        mbedtls_ssl_session_free(&c->saved);
        mbedtls_ssl_session_init(&c->saved);
        free(name);
        return;
    }
    c->saved_name = name;
    c->has_saved = 1;
}


/* ---- our record layer (TLS 1.2 AEAD suites) ---------------------------------------- */
static void keep_secrets(struct tls *t, const unsigned char *ms,
                         const unsigned char client_random[32],
                         const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    memcpy(t->master, ms, sizeof t->master);
    memcpy(t->randoms, server_random, 32);
    memcpy(t->randoms + 32, client_random, 32);
    t->prf = (int)prf;
    t->have_keys = 1;
}

#if UFRPC_MBEDTLS_3
static void on_export_keys(void *p, mbedtls_ssl_key_export_type type, const unsigned char *secret,
                           size_t secret_len, const unsigned char client_random[32],
                           const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    struct tls *t = p;
    if (type != MBEDTLS_SSL_KEY_EXPORT_TLS12_MASTER_SECRET || secret_len != sizeof t->master)
        return;
    keep_secrets(t, secret, client_random, server_random, prf);
}
#else
static int on_export_keys(void *p, const unsigned char *ms, const unsigned char *kb,
                          size_t maclen, size_t keylen, size_t ivlen,
                          const unsigned char client_random[32],
                          const unsigned char server_random[32], mbedtls_tls_prf_types prf)
{
    struct tls *t = ((ufrpc_tls_ctx_t *)p)->hs_current;
    size_t len = 2 * (maclen + keylen + ivlen);
    if (t == NULL || len > sizeof t->kb)
        return 0; /* not ours to use: the handshake goes on, on Mbed TLS's records */
    keep_secrets(t, ms, client_random, server_random, prf);
    memcpy(t->kb, kb, len);
    t->kb_len = len;
    return 0;
}
#endif

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void wipe_secrets(struct tls *t)
{
    ufrpc_secure_zero(t->master, sizeof t->master);
#if !UFRPC_MBEDTLS_3
    ufrpc_secure_zero(t->kb, sizeof t->kb);
#endif
    t->have_keys = 0;
}

/* After a successful handshake: takes the records over when the suite is one of
 * ours, the version TLS 1.2 and Mbed TLS holds no record of the new epoch yet.
 * Any reason not to leaves the stream on Mbed TLS's record layer, which works. */
static void fast_start(struct tls *t)
{
    int cipher = suite_cipher(mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&t->ssl)));
    const char *ver = mbedtls_ssl_get_version(&t->ssl);
    if (!t->have_keys || cipher == UFRPC_TLSREC_NONE || strcmp(ver, "TLSv1.2") != 0 ||
        (cipher == UFRPC_TLSREC_AES_256_GCM && !t->ctx->aes_records) ||
        mbedtls_ssl_check_pending(&t->ssl) != 0 || mbedtls_ssl_get_bytes_avail(&t->ssl) != 0) {
        wipe_secrets(t);
        return;
    }
    size_t ivlen = cipher == UFRPC_TLSREC_AES_256_GCM ? 4 : 12;
    size_t len = 2 * 32 + 2 * ivlen;
    uint8_t kb[88];
    struct fast *f = NULL;
    /* RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random +
     * client_random): client key, server key, client IV, server IV (no MAC keys
     * for AEAD suites). Mbed TLS 2.28 exports the block it derived: taken as it
     * is rather than derived again (its PRF, HMAC-SHA384 in portable C, is
     * most of a resumed handshake's CPU); 3.x exports only the master secret. */
#if UFRPC_MBEDTLS_3
    if (mbedtls_ssl_tls_prf((mbedtls_tls_prf_types)t->prf, t->master, sizeof t->master,
                            "key expansion", t->randoms, sizeof t->randoms, kb, len) != 0)
        goto out;
#else
    if (t->kb_len != len)
        goto out; /* (never seen: the layout is RFC 5246's for these suites) */
    memcpy(kb, t->kb, len);
#endif
    /* Each direction's Finished was record 0 of the new epoch; take Mbed TLS's
     * counters rather than assume it. */
    uint64_t in_seq = be64(ufrpc_mbedtls_ssl_in_ctr(&t->ssl));
    uint64_t out_seq = be64(ufrpc_mbedtls_ssl_out_ctr(&t->ssl));
    if (in_seq != 1 || out_seq != 1)
        goto out;
    if ((f = calloc(1, sizeof *f)) == NULL)
        goto out;
    ufrpc_tlsrec_reader_init(&f->reader, NULL);
    const uint8_t *ck = kb, *sk = kb + 32, *civ = kb + 64, *siv = kb + 64 + ivlen;
    int server = t->ctx->server;
    if (ufrpc_tlsrec_dir_init(&f->wr, cipher, server ? sk : ck, 32, server ? siv : civ, ivlen,
                              out_seq) != 0 ||
        ufrpc_tlsrec_dir_init(&f->rd, cipher, server ? ck : sk, 32, server ? civ : siv, ivlen,
                              in_seq) != 0) {
        ufrpc_tlsrec_dir_wipe(&f->wr);
        ufrpc_tlsrec_dir_wipe(&f->rd);
        free(f);
        goto out;
    }
    t->fast = f;
    t->suite_name = mbedtls_ssl_get_ciphersuite(&t->ssl);
    t->version_name = mbedtls_ssl_get_version(&t->ssl);
    mbedtls_ssl_free(&t->ssl);
    t->ssl_freed = 1;
out:
    ufrpc_secure_zero(kb, sizeof kb);
    wipe_secrets(t);
}

static void fast_free(struct tls *t)
{
    if (t->fast == NULL)
        return;
    ufrpc_tlsrec_dir_wipe(&t->fast->wr);
    ufrpc_tlsrec_dir_wipe(&t->fast->rd);
    ufrpc_tlsrec_reader_free(&t->fast->reader);
    free(t->fast);
    t->fast = NULL;
}

/* The fill chunk with at least need bytes free (the full one handed on first).
 * NULL with t->out_err set, or UFRPC_ERR_NOMEM in *err. */
static struct chunk *chunk_room(struct tls *t, size_t need, int *err)
{
    if (t->fill != NULL && t->fill->cap - t->fill->len < need && flush_out(t) < 0) {
        *err = t->out_err;
        return NULL;
    }
    if (t->fill == NULL && !new_fill(t)) {
        *err = UFRPC_ERR_NOMEM;
        return NULL;
    }
    return t->fill;
}

/* Seals pt (<= 2^14 bytes) as one record of type into the fill chunk. */
static int fast_seal(struct tls *t, uint8_t type, const uint8_t *pt, size_t len)
{
    int err = 0;
    struct chunk *c = chunk_room(t, len + UFRPC_TLSREC_MAX_OVERHEAD, &err);
    if (c == NULL)
        return err;
    uint8_t *rec = c->data + c->len;
    memcpy(rec + ufrpc_tlsrec_prefix(&t->fast->wr), pt, len);
    size_t rec_len;
    int rc = ufrpc_tlsrec_seal(&t->fast->wr, type, rec, len, &rec_len);
    if (rc < 0)
        return rc;
    c->len += rec_len;
    return 0;
}

/* Best effort: an alert record, handed to the lower stream at once. */
static void fast_alert(struct tls *t, int desc, bool warning)
{
    if (t->out_err != 0 || t->shut)
        return;
    uint8_t a[2] = {warning ? 1 : 2, (uint8_t)desc};
    if (fast_seal(t, UFRPC_TLSREC_ALERT, a, sizeof a) == 0)
        flush_out(t);
}

/* Writes req's bytes as records of up to 2^14 bytes: a record inside one iovec
 * is encrypted from there straight into the chunk (no copy); one that spans
 * iovecs is gathered into the chunk and sealed in place (one copy). */
static int fast_write(struct tls *t, const struct ufrpc_stream_write *req)
{
    size_t total = 0;
    for (unsigned i = 0; i < req->nbufs; i++)
        total += req->bufs[i].len;
    unsigned bi = 0;
    size_t boff = 0;
    size_t prefix = ufrpc_tlsrec_prefix(&t->fast->wr);
    while (total > 0) {
        size_t n = total < UFRPC_TLSREC_MAX_PLAIN ? total : UFRPC_TLSREC_MAX_PLAIN;
        int err = 0;
        struct chunk *c = chunk_room(t, n + UFRPC_TLSREC_MAX_OVERHEAD, &err);
        if (c == NULL)
            return err;
        uint8_t *rec = c->data + c->len;
        size_t rec_len;
        if (req->bufs[bi].len - boff >= n) { /* one iovec holds the record: no copy */
            int rc = ufrpc_tlsrec_seal_from(&t->fast->wr, UFRPC_TLSREC_APPDATA,
                                            (const uint8_t *)req->bufs[bi].base + boff, n, rec,
                                            &rec_len);
            if (rc < 0)
                return rc;
            boff += n;
            if (boff == req->bufs[bi].len) {
                bi++;
                boff = 0;
            }
            c->len += rec_len;
            total -= n;
            continue;
        }
        size_t got = 0;
        while (got < n) {
            size_t k = req->bufs[bi].len - boff;
            if (k > n - got)
                k = n - got;
            memcpy(rec + prefix + got, (const uint8_t *)req->bufs[bi].base + boff, k);
            got += k;
            boff += k;
            if (boff == req->bufs[bi].len) {
                bi++;
                boff = 0;
            }
        }
        int rc = ufrpc_tlsrec_seal(&t->fast->wr, UFRPC_TLSREC_APPDATA, rec, n, &rec_len);
        if (rc < 0)
            return rc;
        c->len += rec_len;
        total -= n;
    }
    return 0;
}

/* Opens records from the received ciphertext straight into the plaintext buffer
 * and delivers it, while the user reads. Errors end the stream: an alert goes
 * out first where TLS wants one. */
static void fast_pump_in(struct tls *t)
{
    struct fast *f = t->fast;
    while (t->reading && !t->s.closing && !t->ended && t->state == ST_OPEN) {
        if (t->end_status != 0) {
            deliver_end(t);
            return;
        }
        /* nothing to open (no record is ever complete without new input): no
         * plaintext buffer taken and dropped, as from the idle callback that
         * completes writes */
        if (t->in_len == 0 && t->lower_status == 0)
            break;
        if (!own_rbuf(t))
            continue;
        size_t n = 0;
        int alert = -1;
        bool warning = false;
        while (t->end_status == 0 && t->rb->cap - n >= UFRPC_TLSREC_MAX_PLAIN) {
            const uint8_t *rec;
            size_t rec_len, pt_len;
            uint8_t type;
            int r = ufrpc_tlsrec_next(&f->reader, &t->in_data, &t->in_len, &rec, &rec_len);
            if (r == 0) {
                if (t->lower_status == UFRPC_ERR_EOF) /* no close_notify: EOF all the same, */
                    t->end_status = f->reader.have == 0 ? UFRPC_ERR_EOF /* as Mbed TLS */
                                                        : UFRPC_ERR_TLS; /* cut record */
                else if (t->lower_status < 0)
                    t->end_status = t->lower_status;
                break;
            }
            if (r == UFRPC_ERR_NOMEM) {
                t->end_status = r;
                break;
            }
            if (r < 0) {
                alert = r == UFRPC_ERR_AEAD_RECORD ? UFRPC_TLSREC_ALERT_RECORD_OVERFLOW
                                                   : UFRPC_TLSREC_ALERT_DECODE_ERROR;
                t->end_status = UFRPC_ERR_TLS;
                break;
            }
            r = ufrpc_tlsrec_open(&f->rd, rec, rec_len, t->rb->base + n, t->rb->cap - n, &type,
                                  &pt_len);
            if (r < 0) { /* as Go: too much plaintext is an overflow, the rest bad MACs */
                size_t overhead = ufrpc_tlsrec_prefix(&f->rd) + UFRPC_TLSREC_TAG;
                alert = rec_len > overhead + UFRPC_TLSREC_MAX_PLAIN
                            ? UFRPC_TLSREC_ALERT_RECORD_OVERFLOW
                            : UFRPC_TLSREC_ALERT_BAD_RECORD_MAC;
                t->end_status = UFRPC_ERR_TLS;
                break;
            }
            r = ufrpc_tlsrec_classify(type, t->rb->base + n, pt_len, !t->ctx->server, &alert,
                                      &warning);
            if (r == UFRPC_TLSREC_EV_DATA) {
                n += pt_len;
                f->useless = 0;
            } else if (r == UFRPC_TLSREC_EV_SKIP) {
                if (++f->useless > MAX_USELESS_RECORDS) {
                    alert = UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE;
                    t->end_status = UFRPC_ERR_TLS;
                }
            } else {
                t->end_status = r; /* UFRPC_ERR_EOF (close_notify) or _TLS */
            }
        }
        /* the records opened are done with: a record gathered across reads
         * gives its buffer back unless the next one has begun */
        ufrpc_tlsrec_reader_trim(&f->reader);
        if (alert >= 0)
            fast_alert(t, alert, warning);
        if (n > 0) {
            t->s.read_cb(&t->s, 0, t->rb, t->rb->base, n);
            drop_rb(t);
            continue;
        }
        if (t->end_status == 0)
            break; /* more ciphertext needed */
    }
    drop_rb(t);
}

static void x509_time_str(const mbedtls_x509_time *t, char out[24])
{
    snprintf(out, 24, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day, t->hour,
             t->min, t->sec);
}

/* Reads the peer's details from Mbed TLS's context (not yet freed). */
static int peer_from_ssl(const struct tls *t, struct ufrpc_tls_peer *out)
{
    memset(out, 0, sizeof *out);
    out->verify_on = t->ctx->has_ca != 0;
    out->verified = out->verify_on && mbedtls_ssl_get_verify_result(&t->ssl) == 0;
    const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&t->ssl);
    if (crt == NULL)
        return UFRPC_ERR_NOT_FOUND;
    if (mbedtls_x509_dn_gets(out->subject, sizeof out->subject, &crt->subject) < 0)
        out->subject[0] = '\0';
    if (mbedtls_x509_dn_gets(out->issuer, sizeof out->issuer, &crt->issuer) < 0)
        out->issuer[0] = '\0';
    /* frps's generated certificate has empty names, filled with one empty CN to parse */
    if (strcmp(out->subject, "CN=") == 0)
        out->subject[0] = '\0';
    if (strcmp(out->issuer, "CN=") == 0)
        out->issuer[0] = '\0';
    x509_time_str(&crt->valid_from, out->not_before);
    x509_time_str(&crt->valid_to, out->not_after);
    return 0;
}

static void keep_peer_info(struct tls *t)
{
    if ((t->peer = malloc(sizeof *t->peer)) == NULL) {
        t->peer_rc = UFRPC_ERR_NOMEM;
    } else if ((t->peer_rc = peer_from_ssl(t, t->peer)) != 0) {
        free(t->peer);
        t->peer = NULL;
    }
}

static void drive(struct tls *t)
{
    if (t->state == ST_HANDSHAKE) {
        t->ctx->hs_current = t;
        int r = mbedtls_ssl_handshake(&t->ssl);
        t->ctx->hs_current = NULL;
        flush_out(t);
        if (r == 0) {
            t->state = ST_OPEN;
            uv_timer_stop(&t->timer);
            session_after_handshake(t);
            if (t->keep_peer)
                keep_peer_info(t);
            fast_start(t);
            update_lower_reading(t);
            t->hs_cb(&t->s, 0);
            return; /* app data already received waits for read_start */
        }
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (t->out_err != 0)
                fail_handshake(t, t->out_err, 0);
            else if (t->lower_status < 0)
                fail_handshake(t,
                               t->lower_status == UFRPC_ERR_EOF ? UFRPC_ERR_TLS_HANDSHAKE
                                                                : t->lower_status,
                               0);
            else
                update_lower_reading(t);
            return;
        }
        int err = map_mbed(r);
        if (err == UFRPC_ERR_TLS || err == UFRPC_ERR_EOF)
            err = UFRPC_ERR_TLS_HANDSHAKE;
        if (r == MBEDTLS_ERR_NET_CONN_RESET && t->lower_status < 0 &&
            t->lower_status != UFRPC_ERR_EOF)
            err = t->lower_status;
        fail_handshake(t, err, r);
        return;
    }
    if (t->state == ST_OPEN) {
        pump_in(t);
        update_lower_reading(t);
    }
}

static void on_lower_read(struct ufrpc_stream *l, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct tls *t = (struct tls *)ufrpc_layer_up(l);
    if (status < 0) {
        t->layer.lower_reading = 0;
        t->lower_status = status;
        drive(t);
        return;
    }
    if (len > 0)
        t->rx = 1;
    ufrpc_rbuf_ref(buf);
    t->in_buf = buf;
    t->in_data = data;
    t->in_len = len;
    drive(t);
    if (t->in_len == 0 && t->in_buf != NULL) {
        ufrpc_rbuf_unref(t->in_buf);
        t->in_buf = NULL;
    }
    if (t->state != ST_DEAD && !t->s.closing)
        update_lower_reading(t);
}

static void on_idle(uv_idle_t *i)
{
    struct tls *t = i->data;
    uv_idle_stop(i);
    if (t->s.closing)
        return;
    complete_done(t, 0);
    if (t->s.closing)
        return;
    if (t->state == ST_HANDSHAKE) { /* first flight, deferred from tls_new */
        drive(t);
        return;
    }
    if (t->state != ST_OPEN)
        return;
    pump_in(t);
    if (t->in_len == 0 && t->in_buf != NULL) {
        ufrpc_rbuf_unref(t->in_buf);
        t->in_buf = NULL;
    }
    update_lower_reading(t);
}

static void on_timer(uv_timer_t *tm)
{
    struct tls *t = tm->data;
    if (t->state == ST_HANDSHAKE)
        fail_handshake(t, UFRPC_ERR_TIMEOUT, 0);
}

static int tls_read_start(struct ufrpc_stream *s)
{
    struct tls *t = (struct tls *)s;
    if (t->state != ST_OPEN || t->ended)
        return UFRPC_ERR_STATE;
    if (t->reading)
        return 0;
    t->reading = 1;
    /* Our records with nothing received and not opened (the usual state of a
     * pump resuming after a full local socket): the lower stream reads again at
     * once, without a loop iteration for the idle handle. Otherwise buffered
     * ciphertext or plaintext (Mbed TLS's) or a pending end is delivered from
     * the loop. */
    if (t->fast != NULL && t->in_len == 0 && t->end_status == 0 && t->lower_status == 0) {
        update_lower_reading(t);
        if (t->lower_status == 0)
            return 0; /* (else the error is delivered from the loop) */
    }
    uv_idle_start(&t->idle, on_idle);
    return 0;
}

static int tls_read_stop(struct ufrpc_stream *s)
{
    struct tls *t = (struct tls *)s;
    t->reading = 0;
    if (t->done == NULL) /* else the idle still has writes to complete */
        uv_idle_stop(&t->idle);
    if (t->state == ST_OPEN)
        update_lower_reading(t);
    return 0;
}

static int ssl_write_all(struct tls *t, const uint8_t *p, size_t len)
{
    while (len > 0) {
        int r = mbedtls_ssl_write(&t->ssl, p, len);
        if (r < 0)
            return t->out_err != 0 ? t->out_err : map_mbed(r);
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

static int tls_write(struct ufrpc_stream *s, struct ufrpc_stream_write *req)
{
    struct tls *t = (struct tls *)s;
    if (t->state != ST_OPEN || t->shut)
        return UFRPC_ERR_STATE;
    if (t->out_err != 0)
        return t->out_err;
    if (req->len == 0)
        return UFRPC_ERR_INVAL;
    int rc = 0;
    if (t->fast != NULL) {
        rc = fast_write(t, req);
        if (rc == 0)
            rc = flush_out(t);
        if (rc < 0)
            return rc;
        goto queued;
    }
    /* Small iovecs are gathered here into full records (a stack buffer: it never
     * outlives the call, and an idle connection must not keep 16 KiB for it). */
    uint8_t stage[STAGE_SIZE];
    size_t stage_len = 0;
    for (unsigned i = 0; i < req->nbufs && rc == 0; i++) {
        const uint8_t *p = (const uint8_t *)req->bufs[i].base;
        size_t len = req->bufs[i].len;
        while (len > 0 && rc == 0) {
            if (stage_len == 0 && len >= STAGE_SIZE) {
                size_t n = len - len % STAGE_SIZE;
                rc = ssl_write_all(t, p, n);
                p += n;
                len -= n;
                continue;
            }
            size_t n = STAGE_SIZE - stage_len;
            if (n > len)
                n = len;
            memcpy(stage + stage_len, p, n);
            stage_len += n;
            p += n;
            len -= n;
            if (stage_len == STAGE_SIZE) {
                rc = ssl_write_all(t, stage, STAGE_SIZE);
                stage_len = 0;
            }
        }
    }
    if (rc == 0 && stage_len > 0) {
        rc = ssl_write_all(t, stage, stage_len);
        stage_len = 0;
    }
    if (rc == 0)
        rc = flush_out(t);
    if (rc < 0)
        return rc;
queued:;
    /* every byte is now in the kernel or in a chunk in flight: the last chunk in
     * flight completes the request, or the idle handle when none is */
    req->next = NULL;
    struct chunk *c = t->last;
    struct ufrpc_stream_write **head = c != NULL ? &c->users : &t->done;
    struct ufrpc_stream_write **tail = c != NULL ? &c->users_tail : &t->done_tail;
    if (*tail != NULL)
        (*tail)->next = req;
    else
        *head = req;
    *tail = req;
    if (c == NULL)
        uv_idle_start(&t->idle, on_idle);
    return 0;
}

static int tls_copies_writes(const struct ufrpc_stream *s)
{
    (void)s;
    return 1; /* records are sealed (or Mbed TLS copies) in tls_write */
}

static size_t tls_queued(const struct ufrpc_stream *s)
{
    return ((const struct tls *)s)->out_queued;
}

static void on_lower_shutdown(struct ufrpc_stream *l, int status)
{
    struct tls *t = (struct tls *)ufrpc_layer_up(l);
    complete_done(t, 0); /* the writes before the shutdown complete before it */
    t->s.shutdown_cb(&t->s, status);
}

static int tls_shutdown(struct ufrpc_stream *s)
{
    struct tls *t = (struct tls *)s;
    if (t->state != ST_OPEN || t->shut)
        return UFRPC_ERR_STATE;
    if (t->fast != NULL) {
        uint8_t a[2] = {1, UFRPC_TLSREC_ALERT_CLOSE_NOTIFY};
        int rc = fast_seal(t, UFRPC_TLSREC_ALERT, a, sizeof a);
        if (rc == 0)
            rc = flush_out(t);
        t->shut = 1;
        if (rc < 0)
            return rc;
        return ufrpc_stream_shutdown(t->layer.lower, on_lower_shutdown);
    }
    t->shut = 1;
    int r = mbedtls_ssl_close_notify(&t->ssl);
    flush_out(t);
    if (r < 0 && r != MBEDTLS_ERR_SSL_WANT_WRITE)
        return map_mbed(r);
    return ufrpc_stream_shutdown(t->layer.lower, on_lower_shutdown);
}

/* The lower stream's close completed (before the close callback): the writes sent
 * straight to it did go out, so they complete as such. */
static void tls_lower_closed(struct ufrpc_stream *s)
{
    complete_done((struct tls *)s, 0);
}

static void tls_destroy(struct ufrpc_stream *s)
{
    struct tls *t = (struct tls *)s;
    if (!t->ssl_freed)
        mbedtls_ssl_free(&t->ssl);
    fast_free(t);
    wipe_secrets(t);
    free(t->peer);
    ufrpc_tls_ctx_free(t->ctx);
    free(t->name);
    ufrpc_rbuf_unref(t->in_buf);
    ufrpc_rbuf_unref(t->rb);
    if (t->fill != NULL)
        ufrpc_rbuf_unref(t->fill->rb);
    ufrpc_rbuf_pool_free(t->rpool);
    ufrpc_rbuf_pool_free(t->cpool);
    free(t);
}

static void tls_close(struct ufrpc_stream *s)
{
    struct tls *t = (struct tls *)s;
    t->state = ST_DEAD;
    t->reading = 0;
    uv_handle_t *const hs[] = {(uv_handle_t *)&t->timer, (uv_handle_t *)&t->idle};
    ufrpc_layer_close(&t->layer, hs, 2);
}

static int tls_set_read_pool(struct ufrpc_stream *s, unsigned max_free)
{
    ufrpc_rbuf_pool_set_max_free(((struct tls *)s)->rpool, max_free);
    return 0;
}

static const struct ufrpc_stream_vt tls_vt = {
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .write = tls_write,
    .copies_writes = tls_copies_writes,
    .queued = tls_queued,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .unread = NULL,
    .set_read_pool = tls_set_read_pool,
};

static void on_first_byte(struct ufrpc_stream_write *w, int status)
{
    (void)w;
    (void)status; /* a failure shows up as a handshake error */
}

static int is_ip_literal(const char *h)
{
    unsigned char a[16];
    return uv_inet_pton(AF_INET, h, a) == 0 || uv_inet_pton(AF_INET6, h, a) == 0;
}

static struct ufrpc_stream *tls_new(ufrpc_tls_ctx_t *ctx, struct ufrpc_stream *lower,
                                    const struct ufrpc_tls_conn_opts *o, uint32_t timeout_ms,
                                    ufrpc_tls_handshake_cb cb, void *data, int *err)
{
    struct tls *t = calloc(1, sizeof *t);
    if (t == NULL) {
        *err = UFRPC_ERR_NOMEM;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    mbedtls_ssl_init(&t->ssl);
    int rc = 0;
    t->rpool = ufrpc_rbuf_pool_new(UFRPC_READ_BUF_SIZE, UFRPC_READ_POOL_FREE);
    t->cpool = ufrpc_rbuf_pool_new(sizeof(struct chunk) + CHUNK_SIZE, UFRPC_READ_POOL_FREE);
    if (t->rpool == NULL || t->cpool == NULL || mbedtls_ssl_setup(&t->ssl, &ctx->conf) != 0)
        rc = UFRPC_ERR_NOMEM;
    if (rc == 0 && o != NULL && o->server_name != NULL && o->server_name[0] != '\0' &&
        !is_ip_literal(o->server_name) && mbedtls_ssl_set_hostname(&t->ssl, o->server_name) != 0)
        rc = UFRPC_ERR_INVAL;
    t->keep_peer = o != NULL && o->keep_peer_info;
    if (rc == 0 && !ctx->server) {
        const char *name = o != NULL && o->server_name != NULL ? o->server_name : "";
        if ((t->name = strdup(name)) == NULL)
            rc = UFRPC_ERR_NOMEM;
        /* offer the saved session (same server name only); the server may still
         * choose a full handshake */
        else if (ctx->has_saved && strcmp(ctx->saved_name, name) == 0 &&
                 mbedtls_ssl_set_session(&t->ssl, &ctx->saved) == 0)
            t->offered = 1;
    }
    if (rc < 0) {
        mbedtls_ssl_free(&t->ssl);
        free(t->name);
        ufrpc_rbuf_pool_free(t->rpool);
        ufrpc_rbuf_pool_free(t->cpool);
        free(t);
        ufrpc_stream_close(lower, NULL);
        *err = rc;
        return NULL;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
#if UFRPC_MBEDTLS_3
    mbedtls_ssl_set_export_keys_cb(&t->ssl, on_export_keys, t);
#endif
    ufrpc_layer_init(&t->layer, &t->s, &tls_vt, data, lower, tls_lower_closed, tls_destroy);
    t->ctx = ctx;
    ctx->refs++;
    t->hs_cb = cb;
    uv_timer_init(lower->loop, &t->timer);
    uv_idle_init(lower->loop, &t->idle);
    t->timer.data = t;
    t->idle.data = t;
    if (o != NULL && o->first_byte_0x17) {
        t->first_byte = 0x17;
        t->fb_buf = uv_buf_init((char *)&t->first_byte, 1);
        rc = ufrpc_stream_write(lower, &t->fb_req, &t->fb_buf, 1, on_first_byte);
        if (rc < 0)
            t->out_err = rc;
    }
    uv_timer_start(&t->timer, on_timer, timeout_ms ? timeout_ms : 10000, 0);
    /* The first flight goes out from the loop, so that cb never runs from here. */
    uv_idle_start(&t->idle, on_idle);
    *err = 0;
    return &t->s;
}

struct ufrpc_stream *ufrpc_tls_client_new(ufrpc_tls_ctx_t *ctx, struct ufrpc_stream *lower,
                                          const struct ufrpc_tls_conn_opts *o,
                                          ufrpc_tls_handshake_cb cb, void *data, int *err)
{
    if (ctx->server) {
        *err = UFRPC_ERR_INVAL;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    return tls_new(ctx, lower, o, o != NULL ? o->handshake_timeout_ms : 0, cb, data, err);
}

struct ufrpc_stream *ufrpc_tls_server_new(ufrpc_tls_ctx_t *ctx, struct ufrpc_stream *lower,
                                          uint32_t handshake_timeout_ms,
                                          ufrpc_tls_handshake_cb cb, void *data, int *err)
{
    if (!ctx->server) {
        *err = UFRPC_ERR_INVAL;
        ufrpc_stream_close(lower, NULL);
        return NULL;
    }
    return tls_new(ctx, lower, NULL, handshake_timeout_ms, cb, data, err);
}

/* ---- failures ------------------------------------------------------------------- */
int ufrpc_tls_get_failure(const struct ufrpc_stream *s, struct ufrpc_tls_failure *f)
{
    const struct tls *t = (const struct tls *)s;
    if (s == NULL || s->vt != &tls_vt || t->fail.step == UFRPC_TLS_STEP_NONE)
        return UFRPC_ERR_STATE;
    *f = t->fail;
    return 0;
}

const char *ufrpc_tls_step_name(enum ufrpc_tls_step step)
{
    switch (step) {
    case UFRPC_TLS_STEP_HELLO:
        return "waiting for the server's hello";
    case UFRPC_TLS_STEP_HANDSHAKE:
        return "handshake";
    case UFRPC_TLS_STEP_CERT_PARSE:
        return "certificate parse";
    case UFRPC_TLS_STEP_VERIFY:
        return "certificate verification";
    default:
        return "none";
    }
}

void ufrpc_tls_failure_text(const struct ufrpc_tls_failure *f, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    char mbed[160] = "";
    if (f->mbed_err != 0 && f->step != UFRPC_TLS_STEP_HELLO) /* EOF/reset: ours say more */
        mbedtls_strerror(f->mbed_err, mbed, sizeof mbed);
    const char *cause = mbed[0] ? mbed
                        : f->code == UFRPC_ERR_TIMEOUT ? "timed out"
                        : f->lower_status < 0 && f->lower_status != UFRPC_ERR_EOF
                            ? ufrpc_strerror(f->lower_status)
                        : f->bytes_received ? "the server closed the connection"
                                            : "the server closed the connection without answering";
    int n = snprintf(buf, cap, "%s failed: %s", ufrpc_tls_step_name(f->step), cause);
    if (f->step != UFRPC_TLS_STEP_VERIFY || n < 0 || (size_t)n >= cap)
        return;
    /* Mbed TLS's one line per reason, joined */
    char info[512];
    int m = mbedtls_x509_crt_verify_info(info, sizeof info, "", f->verify_flags);
    if (m <= 0)
        return;
    size_t at = (size_t)n;
    const char *sep = " (";
    char *save = NULL;
    for (char *line = strtok_r(info, "\n", &save); line != NULL && at < cap;
         line = strtok_r(NULL, "\n", &save)) {
        int k = snprintf(buf + at, cap - at, "%s%s", sep, line);
        if (k < 0)
            return;
        at += (size_t)k;
        sep = "; ";
    }
    if (at < cap && sep[0] == ';')
        snprintf(buf + at, cap - at, ")");
}

/* ---- sniffer ---------------------------------------------------------------------- */
struct sniff {
    uv_timer_t timer;
    struct ufrpc_stream *s;
    void *saved_data;
    ufrpc_sniff_cb cb;
    void *data;
    int done;
};

static void on_sniff_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sniff_finish(struct sniff *sn, int result)
{
    if (sn->done)
        return;
    sn->done = 1;
    ufrpc_stream_read_stop(sn->s);
    sn->s->data = sn->saved_data;
    uv_close((uv_handle_t *)&sn->timer, on_sniff_timer_closed);
    sn->cb(sn->s, result, sn->data);
}

static void on_sniff_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct sniff *sn = s->data;
    if (status < 0) {
        sniff_finish(sn, status);
        return;
    }
    int kind = UFRPC_SNIFF_PLAIN;
    if (data[0] == 0x17) {
        kind = UFRPC_SNIFF_TLS_0x17;
        data++;
        len--;
    } else if (data[0] == 0x16) {
        kind = UFRPC_SNIFF_TLS;
    }
    int rc = ufrpc_stream_unread(s, buf, data, len);
    sniff_finish(sn, rc < 0 ? rc : kind);
}

static void on_sniff_timeout(uv_timer_t *tm)
{
    sniff_finish(tm->data, UFRPC_ERR_TIMEOUT);
}

int ufrpc_tls_sniff(struct ufrpc_stream *s, uint32_t timeout_ms, ufrpc_sniff_cb cb, void *data)
{
    if (s->vt->unread == NULL)
        return UFRPC_ERR_UNSUPPORTED;
    struct sniff *sn = calloc(1, sizeof *sn);
    if (sn == NULL)
        return UFRPC_ERR_NOMEM;
    sn->s = s;
    sn->saved_data = s->data;
    sn->cb = cb;
    sn->data = data;
    s->data = sn;
    int rc = ufrpc_stream_read_start(s, on_sniff_read);
    if (rc < 0) {
        s->data = sn->saved_data;
        free(sn);
        return rc;
    }
    uv_timer_init(s->loop, &sn->timer);
    sn->timer.data = sn;
    uv_timer_start(&sn->timer, on_sniff_timeout, timeout_ms ? timeout_ms : 10000, 0);
    return 0;
}

const char *ufrpc_tls_suite(const struct ufrpc_stream *s, bool *own_records)
{
    const struct tls *t = (const struct tls *)s;
    if (own_records != NULL)
        *own_records = false;
    if (s == NULL || s->vt != &tls_vt || t->state != ST_OPEN)
        return NULL;
    if (own_records != NULL)
        *own_records = t->fast != NULL;
    return t->ssl_freed ? t->suite_name : mbedtls_ssl_get_ciphersuite(&t->ssl);
}

int ufrpc_tls_peer_info(const struct ufrpc_stream *s, struct ufrpc_tls_peer *out)
{
    const struct tls *t = (const struct tls *)s;
    memset(out, 0, sizeof *out);
    if (s == NULL || s->vt != &tls_vt || t->state != ST_OPEN)
        return UFRPC_ERR_STATE;
    if (t->peer != NULL) {
        *out = *t->peer;
        return 0;
    }
    if (t->ssl_freed)
        return t->keep_peer ? t->peer_rc : UFRPC_ERR_NOT_FOUND;
    return peer_from_ssl(t, out);
}

bool ufrpc_tls_resumed(const struct ufrpc_stream *s)
{
    return s->vt == &tls_vt && ((const struct tls *)s)->resumed;
}

const char *ufrpc_tls_version(const struct ufrpc_stream *s)
{
    const struct tls *t = (const struct tls *)s;
    if (s->vt != &tls_vt || t->state != ST_OPEN)
        return "";
    return t->ssl_freed ? t->version_name : mbedtls_ssl_get_version(&t->ssl);
}
