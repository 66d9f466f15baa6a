/* proto/x509_name: the empty-Name rewrite, and net/x509_fill: Mbed TLS parsing
 * frps's generated certificates (tests/data/protocol/tls, captured from frps
 * v0.70.0 and v0.31.2) through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/x509_crt.h>

#include "net/x509_fill.h"
#include "proto/error.h"
#include "proto/x509_name.h"
#include "testutil.h"

static uint8_t *load_cert(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "protocol/tls/%s", name);
    char *path = ufrpc_test_data_path(rel);
    assert_non_null(path);
    uint8_t *der = NULL;
    assert_int_equal(ufrpc_test_read_file(path, &der, len), 0);
    free(path);
    return der;
}

/* Layout of a capture: where the TBS contents start (after the two headers),
 * where the serial's length byte is, where the issuer Name starts. */
struct layout {
    size_t tbs_at, serial_at, issuer_at;
};

static void check_frps_cert(const char *file, const struct layout *l, int bits, int year_from)
{
    const size_t ISSUER_AT = l->issuer_at;
    size_t len;
    uint8_t *der = load_cert(file, &len);
    assert_memory_equal(der + ISSUER_AT, "\x30\x00", 2); /* empty issuer, as captured */

    uint8_t out[4096];
    size_t olen = 99;
    /* with no room it says there is work, without writing */
    assert_int_equal(ufrpc_x509_fill_empty_names(der, len, NULL, 0, &olen), UFRPC_ERR_LIMIT);
    assert_int_equal(olen, 0);
    assert_int_equal(ufrpc_x509_fill_empty_names(der, len, out, len + 21, &olen),
                     len + 22 > len + 21 ? UFRPC_ERR_LIMIT : 0);
    assert_int_equal(ufrpc_x509_fill_empty_names(der, len, out, sizeof out, &olen), 0);
    assert_int_equal(olen, len + 2 * (UFRPC_X509_EMPTY_NAME_FILL_LEN - 2));
    /* same version, serial and signature algorithm; the name filled in */
    assert_memory_equal(out + l->tbs_at, der + l->tbs_at, ISSUER_AT - l->tbs_at);
    assert_memory_equal(out + ISSUER_AT, UFRPC_X509_EMPTY_NAME_FILL,
                        UFRPC_X509_EMPTY_NAME_FILL_LEN);
    /* the signature (the last 256 or 128 bytes) is untouched */
    assert_memory_equal(out + olen - bits / 8, der + len - bits / 8, (size_t)bits / 8);
    /* rewritten once is final */
    uint8_t again[4096];
    size_t alen = 99;
    assert_int_equal(ufrpc_x509_fill_empty_names(out, olen, again, sizeof again, &alen), 0);
    assert_int_equal(alen, 0);

    /* Mbed TLS parses the rewritten bytes, and (through net/x509_fill) the
     * captured ones: the same key, serial and dates as frps generated */
    assert_true(ufrpc_x509_fill_active());
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_der(&crt, der, len), 0);
    assert_int_equal((int)mbedtls_pk_get_bitlen(&crt.pk), bits);
    assert_int_equal(crt.valid_from.year, year_from);
    assert_int_equal(crt.serial.len, der[l->serial_at]);
    assert_memory_equal(crt.serial.p, der + l->serial_at + 1, der[l->serial_at]);
    char dn[64];
    assert_true(mbedtls_x509_dn_gets(dn, sizeof dn, &crt.issuer) >= 0);
    assert_string_equal(dn, "CN=");
    mbedtls_x509_crt_free(&crt);
    /* the no-copy entry point too (the TLS library calls either) */
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_der_nocopy(&crt, der, len), 0);
    assert_int_equal((int)mbedtls_pk_get_bitlen(&crt.pk), bits);
    mbedtls_x509_crt_free(&crt);
    free(der);
}

static void test_frps_v0_70_certificate(void **state)
{
    (void)state;
    /* 30 82 LL LL 30 82 LL LL a0 03 02 01 02 02 10 <16> 30 0d <13> 30 00 */
    static const struct layout l = {8, 14, 46};
    check_frps_cert("frps-v0.70.0-autogen-cert.der", &l, 2048, 2026);
}

static void test_frps_v0_31_certificate(void **state)
{
    (void)state;
    /* 30 82 LL LL 30 81 LL a0 03 02 01 02 02 01 01 30 0d <13> 30 00 */
    static const struct layout l = {7, 13, 30};
    check_frps_cert("frps-v0.31.2-autogen-cert.der", &l, 1024, 1); /* Go's zero time */
}

/* A certificate with an issuer is never touched. */
static void test_named_certificate_untouched(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = load_cert("frps-v0.70.0-autogen-cert.der", &len);
    uint8_t fixed[4096], out[4096];
    size_t flen, olen = 99;
    assert_int_equal(ufrpc_x509_fill_empty_names(der, len, fixed, sizeof fixed, &flen), 0);
    assert_int_equal(ufrpc_x509_fill_empty_names(fixed, flen, out, sizeof out, &olen), 0);
    assert_int_equal(olen, 0);
    free(der);
}

/* Builds a minimal certificate-shaped DER: SEQ { SEQ { [version] INT serial,
 * SEQ{} sigalg, issuer, SEQ{} validity, subject, pad }, SEQ{}, BIT STRING }. */
static size_t make_cert(uint8_t *out, int with_version, const uint8_t *issuer, size_t ilen,
                        const uint8_t *subject, size_t slen, size_t pad)
{
    uint8_t tbs[1024];
    size_t t = 0;
    if (with_version) {
        memcpy(tbs + t, "\xa0\x03\x02\x01\x02", 5);
        t += 5;
    }
    memcpy(tbs + t, "\x02\x01\x07\x30\x00", 5);
    t += 5;
    memcpy(tbs + t, issuer, ilen);
    t += ilen;
    memcpy(tbs + t, "\x30\x00", 2);
    t += 2;
    memcpy(tbs + t, subject, slen);
    t += slen;
    assert_true(pad < 200);
    tbs[t++] = 0x04; /* OCTET STRING of pad zero bytes */
    tbs[t++] = (uint8_t)pad;
    memset(tbs + t, 0, pad);
    t += pad;
    uint8_t body[1100];
    size_t b = 0;
    body[b++] = 0x30;
    if (t < 128) {
        body[b++] = (uint8_t)t;
    } else {
        body[b++] = 0x81;
        body[b++] = (uint8_t)t;
    }
    memcpy(body + b, tbs, t);
    b += t;
    memcpy(body + b, "\x30\x00\x03\x01\x00", 5);
    b += 5;
    size_t o = 0;
    out[o++] = 0x30;
    if (b < 128) {
        out[o++] = (uint8_t)b;
    } else if (b < 256) {
        out[o++] = 0x81;
        out[o++] = (uint8_t)b;
    } else {
        out[o++] = 0x82;
        out[o++] = (uint8_t)(b >> 8);
        out[o++] = (uint8_t)b;
    }
    memcpy(out + o, body, b);
    return o + b;
}

/* Lengths that move from the short to the long form grow their header; a v1
 * certificate (no version field) is handled; only the issuer being empty
 * triggers the rewrite, a non-empty subject is kept. */
static void test_shapes(void **state)
{
    (void)state;
    static const uint8_t empty[] = {0x30, 0x00};
    static const uint8_t named[] = {0x30, 0x09, 0x31, 0x07, 0x30, 0x05, 0x06,
                                    0x03, 0x55, 0x04, 0x03};
    uint8_t in[1200], out[1300], expect[1200];
    for (int v = 0; v <= 1; v++) {
        for (size_t pad = 80; pad < 130; pad++) {
            size_t n = make_cert(in, v, empty, 2, empty, 2, pad);
            size_t olen;
            assert_int_equal(ufrpc_x509_fill_empty_names(in, n, out, sizeof out, &olen), 0);
            size_t en = make_cert(expect, v, (const uint8_t *)UFRPC_X509_EMPTY_NAME_FILL,
                                  UFRPC_X509_EMPTY_NAME_FILL_LEN,
                                  (const uint8_t *)UFRPC_X509_EMPTY_NAME_FILL,
                                  UFRPC_X509_EMPTY_NAME_FILL_LEN, pad);
            assert_int_equal(olen, en);
            assert_memory_equal(out, expect, en);
            assert_true(olen <= n + UFRPC_X509_FILL_GROWTH);

            n = make_cert(in, v, empty, 2, named, sizeof named, pad);
            assert_int_equal(ufrpc_x509_fill_empty_names(in, n, out, sizeof out, &olen), 0);
            en = make_cert(expect, v, (const uint8_t *)UFRPC_X509_EMPTY_NAME_FILL,
                           UFRPC_X509_EMPTY_NAME_FILL_LEN, named, sizeof named, pad);
            assert_int_equal(olen, en);
            assert_memory_equal(out, expect, en);

            n = make_cert(in, v, named, sizeof named, empty, 2, pad);
            olen = 99;
            assert_int_equal(ufrpc_x509_fill_empty_names(in, n, out, sizeof out, &olen), 0);
            assert_int_equal(olen, 0);
        }
    }
}

/* Every truncation and every single-byte change of a real certificate: no
 * crash, no read or write out of bounds (ASan), and a result only when it fits. */
static void test_damaged_inputs(void **state)
{
    (void)state;
    size_t len;
    uint8_t *der = load_cert("frps-v0.70.0-autogen-cert.der", &len);
    uint8_t out[4096];
    size_t olen;
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        assert_non_null(cut);
        memcpy(cut, der, n);
        assert_int_equal(ufrpc_x509_fill_empty_names(cut, n, out, sizeof out, &olen), 0);
        assert_int_equal(olen, 0); /* a truncated certificate is not recognised */
        free(cut);
    }
    uint64_t seed = 42;
    for (size_t i = 0; i < 64 && i < len; i++) {
        for (int k = 0; k < 8; k++) {
            uint8_t *mod = malloc(len);
            assert_non_null(mod);
            memcpy(mod, der, len);
            mod[i] = (uint8_t)ufrpc_test_rand(&seed);
            int rc = ufrpc_x509_fill_empty_names(mod, len, out, sizeof out, &olen);
            assert_true(rc == 0);
            assert_true(olen <= len + UFRPC_X509_FILL_GROWTH);
            free(mod);
        }
    }
    assert_int_equal(ufrpc_x509_fill_empty_names(NULL, 0, out, sizeof out, &olen), 0);
    assert_int_equal(olen, 0);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frps_v0_70_certificate),
        cmocka_unit_test(test_frps_v0_31_certificate),
        cmocka_unit_test(test_named_certificate_untouched),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_damaged_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
