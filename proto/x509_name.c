/* ufrpc — empty X.509 Name rewrite (see x509_name.h). */
#include "proto/x509_name.h"

#include <string.h>

#include "proto/error.h"

#define TAG_SEQUENCE 0x30u
#define TAG_CTX0 0xa0u /* [0] EXPLICIT version */

/* One DER element at p[0..end): its tag, the offset of its contents and their
 * length. 0, or -1 when it is not a well-formed definite-length element that
 * fits. */
struct tlv {
    uint8_t tag;
    size_t hdr;  /* tag + length bytes */
    size_t len;  /* contents */
};

static int tlv_read(const uint8_t *p, size_t avail, struct tlv *t)
{
    if (avail < 2)
        return -1;
    t->tag = p[0];
    size_t n = p[1];
    t->hdr = 2;
    if (n & 0x80u) {
        size_t k = n & 0x7fu;
        if (k == 0 || k > 4 || avail < 2 + k)
            return -1;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = (n << 8) | p[2 + i];
        t->hdr += k;
    }
    if (n > avail - t->hdr)
        return -1;
    t->len = n;
    return 0;
}

/* Bytes a DER length field takes for n. */
static size_t len_size(size_t n)
{
    size_t k = 1;
    if (n >= 0x80u)
        for (size_t v = n; v > 0; v >>= 8)
            k++;
    return k;
}

/* Writes tag + length at out; returns the bytes written. The caller checked room. */
static size_t put_hdr(uint8_t *out, uint8_t tag, size_t n)
{
    size_t k = len_size(n);
    out[0] = tag;
    if (k == 1) {
        out[1] = (uint8_t)n;
        return 2;
    }
    out[1] = (uint8_t)(0x80u | (k - 1));
    for (size_t i = 0; i < k - 1; i++)
        out[2 + i] = (uint8_t)(n >> (8 * (k - 2 - i)));
    return 1 + k;
}

static int is_empty_name(const uint8_t *p, const struct tlv *t)
{
    return p[0] == TAG_SEQUENCE && t->len == 0;
}

int ufrpc_x509_fill_empty_names(const uint8_t *der, size_t len, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    *out_len = 0;
    struct tlv cert, tbs, f;
    if (der == NULL || tlv_read(der, len, &cert) != 0 || cert.tag != TAG_SEQUENCE)
        return 0;
    const uint8_t *cp = der + cert.hdr, *cend = cp + cert.len;
    if (tlv_read(cp, (size_t)(cend - cp), &tbs) != 0 || tbs.tag != TAG_SEQUENCE)
        return 0;
    const uint8_t *tp = cp + tbs.hdr, *tend = tp + tbs.len;

    /* TBSCertificate: [0] version OPTIONAL, serialNumber, signature, issuer,
     * validity, subject, ... Record where issuer and subject start. */
    const uint8_t *field[6];
    size_t flen[6];
    int n = 0;
    const uint8_t *q = tp;
    while (n < 6 && q < tend) {
        if (tlv_read(q, (size_t)(tend - q), &f) != 0)
            return 0;
        if (n == 0 && f.tag != TAG_CTX0)
            field[n] = NULL, flen[n] = 0, n++; /* v1: no version */
        field[n] = q;
        flen[n] = f.hdr + f.len;
        n++;
        q += f.hdr + f.len;
    }
    if (n < 6)
        return 0;
    const uint8_t *issuer = field[3], *subject = field[5];
    struct tlv ti, ts;
    if (tlv_read(issuer, flen[3], &ti) != 0 || tlv_read(subject, flen[5], &ts) != 0 ||
        ti.tag != TAG_SEQUENCE || ts.tag != TAG_SEQUENCE || !is_empty_name(issuer, &ti))
        return 0;

    size_t grow = UFRPC_X509_EMPTY_NAME_FILL_LEN - flen[3];
    if (is_empty_name(subject, &ts))
        grow += UFRPC_X509_EMPTY_NAME_FILL_LEN - flen[5];
    size_t tbs_len = tbs.len + grow;
    size_t tbs_total = 1 + len_size(tbs_len) + tbs_len;
    size_t rest = (size_t)(cend - tend); /* signatureAlgorithm, signatureValue */
    size_t cert_len = tbs_total + rest;
    size_t total = 1 + len_size(cert_len) + cert_len;
    /* what follows the certificate inside der[] is not ours to keep */
    if (total > cap)
        return UFRPC_ERR_LIMIT;

    uint8_t *w = out;
    w += put_hdr(w, TAG_SEQUENCE, cert_len);
    w += put_hdr(w, TAG_SEQUENCE, tbs_len);
    /* version, serial, signature: unchanged */
    memcpy(w, tp, (size_t)(issuer - tp));
    w += issuer - tp;
    memcpy(w, UFRPC_X509_EMPTY_NAME_FILL, UFRPC_X509_EMPTY_NAME_FILL_LEN);
    w += UFRPC_X509_EMPTY_NAME_FILL_LEN;
    memcpy(w, field[4], flen[4]); /* validity */
    w += flen[4];
    if (is_empty_name(subject, &ts)) {
        memcpy(w, UFRPC_X509_EMPTY_NAME_FILL, UFRPC_X509_EMPTY_NAME_FILL_LEN);
        w += UFRPC_X509_EMPTY_NAME_FILL_LEN;
    } else {
        memcpy(w, subject, flen[5]);
        w += flen[5];
    }
    const uint8_t *after = subject + flen[5];
    memcpy(w, after, (size_t)(cend - after)); /* rest of the TBS, then the signature */
    w += cend - after;
    *out_len = (size_t)(w - out);
    return 0;
}
