/* ufrpc — TLS 1.2 AEAD record layer, sans I/O (see tlsrec.h). */
#include "proto/tlsrec.h"

#include <string.h>

#include "proto/error.h"

bool ufrpc_tlsrec_available(int cipher)
{
    return ufrpc_aead_available(cipher);
}

int ufrpc_tlsrec_dir_init(struct ufrpc_tlsrec_dir *d, int cipher, const uint8_t *key,
                          size_t key_len, const uint8_t *iv, size_t iv_len, uint64_t seq)
{
    memset(d, 0, sizeof *d);
    size_t want_iv = cipher == UFRPC_TLSREC_AES_256_GCM ? 4u : 12u;
    if ((cipher != UFRPC_TLSREC_AES_256_GCM && cipher != UFRPC_TLSREC_CHACHA20_POLY1305) ||
        key_len != 32 || iv_len != want_iv)
        return UFRPC_ERR_INVAL;
    int rc = ufrpc_aead_init(&d->aead, cipher, key);
    if (rc < 0)
        return rc;
    memcpy(d->iv, iv, iv_len);
    d->cipher = cipher;
    d->seq = seq;
    return 0;
}

void ufrpc_tlsrec_dir_wipe(struct ufrpc_tlsrec_dir *d)
{
    ufrpc_aead_wipe(&d->aead);
    ufrpc_secure_zero(d, sizeof *d);
}

size_t ufrpc_tlsrec_prefix(const struct ufrpc_tlsrec_dir *d)
{
    return UFRPC_TLSREC_HDR + (d->cipher == UFRPC_TLSREC_AES_256_GCM ? 8u : 0u);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* AAD = seq | type | 3,3 | length (the plaintext's) */
static void make_aad(uint8_t aad[13], uint64_t seq, uint8_t type, size_t pt_len)
{
    put_be64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(pt_len >> 8);
    aad[12] = (uint8_t)pt_len;
}

/* nonce for record seq; for AES-GCM explicit is the 8 bytes carried in the record */
static void make_nonce(const struct ufrpc_tlsrec_dir *d, uint64_t seq, const uint8_t *explicit_,
                       uint8_t nonce[12])
{
    if (d->cipher == UFRPC_TLSREC_AES_256_GCM) {
        memcpy(nonce, d->iv, 4);
        memcpy(nonce + 4, explicit_, 8);
        return;
    }
    uint8_t s[8];
    put_be64(s, seq);
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= s[i];
}

static int aead_dir(struct ufrpc_tlsrec_dir *d, bool encrypt, const uint8_t nonce[12],
                    const uint8_t aad[13], const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t *tag)
{
    if (d->cipher == UFRPC_TLSREC_NONE)
        return UFRPC_ERR_STATE;
    return encrypt ? ufrpc_aead_seal(&d->aead, nonce, aad, 13, in, len, out, tag)
                   : ufrpc_aead_open(&d->aead, nonce, aad, 13, in, len, tag, out);
}

static int seal(struct ufrpc_tlsrec_dir *d, uint8_t type, const uint8_t *pt, size_t pt_len,
                uint8_t *rec, size_t *rec_len);

int ufrpc_tlsrec_seal(struct ufrpc_tlsrec_dir *d, uint8_t type, uint8_t *rec, size_t pt_len,
                      size_t *rec_len)
{
    return seal(d, type, NULL, pt_len, rec, rec_len);
}

int ufrpc_tlsrec_seal_from(struct ufrpc_tlsrec_dir *d, uint8_t type, const uint8_t *pt,
                           size_t pt_len, uint8_t *rec, size_t *rec_len)
{
    return seal(d, type, pt, pt_len, rec, rec_len);
}

/* pt NULL: the plaintext is already in place inside rec */
static int seal(struct ufrpc_tlsrec_dir *d, uint8_t type, const uint8_t *pt, size_t pt_len,
                uint8_t *rec, size_t *rec_len)
{
    if (pt_len > UFRPC_TLSREC_MAX_PLAIN || d->exhausted)
        return UFRPC_ERR_LIMIT;
    if (d->cipher == UFRPC_TLSREC_NONE)
        return UFRPC_ERR_STATE;
    size_t prefix = ufrpc_tlsrec_prefix(d);
    size_t body = prefix - UFRPC_TLSREC_HDR + pt_len + UFRPC_TLSREC_TAG;
    rec[0] = type;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(body >> 8);
    rec[4] = (uint8_t)body;
    if (d->cipher == UFRPC_TLSREC_AES_256_GCM)
        put_be64(rec + UFRPC_TLSREC_HDR, d->seq); /* explicit nonce = seq (unique) */
    uint8_t aad[13], nonce[12];
    make_aad(aad, d->seq, type, pt_len);
    make_nonce(d, d->seq, rec + UFRPC_TLSREC_HDR, nonce);
    uint8_t *ct = rec + prefix;
    int rc = aead_dir(d, true, nonce, aad, pt != NULL ? pt : ct, pt_len, ct, ct + pt_len);
    if (rc < 0)
        return rc;
    if (++d->seq == 0)
        d->exhausted = 1;
    *rec_len = prefix + pt_len + UFRPC_TLSREC_TAG;
    return 0;
}

int ufrpc_tlsrec_header(const uint8_t hdr[UFRPC_TLSREC_HDR], size_t *body_len)
{
    if (hdr[0] < UFRPC_TLSREC_CCS || hdr[0] > UFRPC_TLSREC_APPDATA || hdr[1] != 3 || hdr[2] != 3)
        return UFRPC_ERR_TLS;
    size_t n = ((size_t)hdr[3] << 8) | hdr[4];
    if (n > UFRPC_TLSREC_MAX_BODY)
        return UFRPC_ERR_AEAD_RECORD;
    *body_len = n;
    return 0;
}

int ufrpc_tlsrec_open(struct ufrpc_tlsrec_dir *d, const uint8_t *rec, size_t rec_len,
                      uint8_t *out, size_t out_cap, uint8_t *type, size_t *pt_len)
{
    if (d->cipher == UFRPC_TLSREC_NONE)
        return UFRPC_ERR_STATE;
    if (d->exhausted)
        return UFRPC_ERR_LIMIT;
    size_t body;
    if (rec_len < UFRPC_TLSREC_HDR)
        return UFRPC_ERR_AEAD_RECORD;
    int rc = ufrpc_tlsrec_header(rec, &body);
    if (rc < 0)
        return rc;
    size_t prefix = ufrpc_tlsrec_prefix(d);
    if (body + UFRPC_TLSREC_HDR != rec_len || rec_len < prefix + UFRPC_TLSREC_TAG)
        return UFRPC_ERR_AEAD_RECORD;
    size_t n = rec_len - prefix - UFRPC_TLSREC_TAG;
    if (n > UFRPC_TLSREC_MAX_PLAIN)
        return UFRPC_ERR_AEAD_RECORD;
    if (n > out_cap)
        return UFRPC_ERR_LIMIT;
    uint8_t aad[13], nonce[12];
    make_aad(aad, d->seq, rec[0], n);
    make_nonce(d, d->seq, rec + UFRPC_TLSREC_HDR, nonce);
    /* (the tag is only read: the cast is for the shared helper's signature; on a
     * bad tag out may hold garbage, the caller drops the connection) */
    rc = aead_dir(d, false, nonce, aad, rec + prefix, n, out, (uint8_t *)(rec + prefix + n));
    if (rc < 0)
        return rc;
    if (++d->seq == 0)
        d->exhausted = 1;
    *type = rec[0];
    *pt_len = n;
    return 0;
}

void ufrpc_tlsrec_reader_init(struct ufrpc_tlsrec_reader *r, const struct ufrpc_mem *mem)
{
    memset(r, 0, sizeof *r);
    r->mem = ufrpc_mem_or_default(mem);
}

void ufrpc_tlsrec_reader_trim(struct ufrpc_tlsrec_reader *r)
{
    if (r->have > 0 || r->buf == NULL)
        return;
    ufrpc_mem_free(ufrpc_mem_or_default(r->mem), r->buf);
    r->buf = NULL;
}

void ufrpc_tlsrec_reader_free(struct ufrpc_tlsrec_reader *r)
{
    r->have = 0;
    ufrpc_tlsrec_reader_trim(r);
}

/* Moves up to want - r->have bytes of the input to dst + r->have. */
static void gather(struct ufrpc_tlsrec_reader *r, uint8_t *dst, size_t want,
                   const uint8_t **data, size_t *len)
{
    size_t n = want - r->have;
    if (n > *len)
        n = *len;
    memcpy(dst + r->have, *data, n);
    r->have += n;
    *data += n;
    *len -= n;
}

int ufrpc_tlsrec_next(struct ufrpc_tlsrec_reader *r, const uint8_t **data, size_t *len,
                      const uint8_t **rec, size_t *rec_len)
{
    size_t body;
    int rc;
    if (r->have == 0) {
        ufrpc_tlsrec_reader_trim(r); /* the record last returned is done with */
        if (*len >= UFRPC_TLSREC_HDR) {
            if ((rc = ufrpc_tlsrec_header(*data, &body)) < 0)
                return rc;
            size_t need = UFRPC_TLSREC_HDR + body;
            if (*len >= need) { /* whole record in the input: no copy */
                *rec = *data;
                *rec_len = need;
                *data += need;
                *len -= need;
                return 1;
            }
        }
        if (*len == 0)
            return 0;
    }
    /* the record continues in (or starts with) the partial record kept */
    if (r->have < UFRPC_TLSREC_HDR) {
        gather(r, r->hdr, UFRPC_TLSREC_HDR, data, len);
        if (r->have < UFRPC_TLSREC_HDR)
            return 0;
    }
    if ((rc = ufrpc_tlsrec_header(r->buf != NULL ? r->buf : r->hdr, &body)) < 0)
        return rc;
    size_t need = UFRPC_TLSREC_HDR + body; /* <= UFRPC_TLSREC_MAX_RECORD */
    if (r->buf == NULL) {
        if ((r->buf = ufrpc_mem_malloc(ufrpc_mem_or_default(r->mem), need)) == NULL)
            return UFRPC_ERR_NOMEM;
        memcpy(r->buf, r->hdr, UFRPC_TLSREC_HDR);
    }
    gather(r, r->buf, need, data, len);
    if (r->have < need)
        return 0;
    r->have = 0; /* buf stays until the next call or a trim */
    *rec = r->buf;
    *rec_len = need;
    return 1;
}

int ufrpc_tlsrec_classify(uint8_t type, const uint8_t *pt, size_t pt_len, bool is_client,
                          int *send_alert, bool *warning)
{
    *send_alert = -1;
    *warning = false;
    switch (type) {
    case UFRPC_TLSREC_APPDATA:
        return pt_len > 0 ? UFRPC_TLSREC_EV_DATA : UFRPC_TLSREC_EV_SKIP;
    case UFRPC_TLSREC_ALERT:
        if (pt_len != 2) {
            *send_alert = UFRPC_TLSREC_ALERT_DECODE_ERROR;
            return UFRPC_ERR_TLS;
        }
        if (pt[1] == UFRPC_TLSREC_ALERT_CLOSE_NOTIFY)
            return UFRPC_ERR_EOF;
        if (pt[0] == 1) /* warning: dropped, as Go does */
            return UFRPC_TLSREC_EV_SKIP;
        return UFRPC_ERR_TLS; /* fatal (or an unknown level): the peer gave up */
    case UFRPC_TLSREC_HANDSHAKE:
        /* post-handshake TLS 1.2 messages can only be renegotiation requests */
        if (pt_len >= 1 && ((is_client && pt[0] == 0 /* HelloRequest */) ||
                            (!is_client && pt[0] == 1 /* ClientHello */))) {
            *send_alert = UFRPC_TLSREC_ALERT_NO_RENEGOTIATION;
            *warning = true;
            return UFRPC_ERR_TLS;
        }
        *send_alert = UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE;
        return UFRPC_ERR_TLS;
    default: /* change_cipher_spec: only valid inside a handshake */
        *send_alert = UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE;
        return UFRPC_ERR_TLS;
    }
}

int ufrpc_tlsrec_aead(int cipher, bool encrypt, const uint8_t key[32], const uint8_t nonce[12],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                      uint8_t *out, uint8_t tag[16])
{
    struct ufrpc_aead a;
    int rc = ufrpc_aead_init(&a, cipher, key);
    if (rc == UFRPC_ERR_INVAL)
        rc = UFRPC_ERR_UNSUPPORTED;
    if (rc < 0)
        return rc;
    rc = encrypt ? ufrpc_aead_seal(&a, nonce, aad, aad_len, in, len, out, tag)
                 : ufrpc_aead_open(&a, nonce, aad, aad_len, in, len, tag, out);
    ufrpc_aead_wipe(&a);
    return rc;
}
