/* Snappy framing format: encoder and incremental decoder (see snappy.h). */
#include "proto/snappy.h"

#include <stdlib.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/crc32c.h"
#include "proto/error.h"

#define CHUNK_COMPRESSED 0x00
#define CHUNK_UNCOMPRESSED 0x01
#define CHUNK_IDENT 0xff
#define CHUNK_HDR 4
#define CRC_LEN 4

static const uint8_t ident_chunk[10] = {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'};

/* ---- encoder ------------------------------------------------------------------ */

void ufrpc_snappy_encoder_init(ufrpc_snappy_encoder_t *e)
{
    e->wrote_ident = 0;
    e->crc = ufrpc_crc32c_pick();
}

size_t ufrpc_snappy_encoder_bound(const ufrpc_snappy_encoder_t *e, size_t len)
{
    if (len == 0)
        return 0;
    size_t blocks = len / UFRPC_SNAPPY_MAX_BLOCK + (len % UFRPC_SNAPPY_MAX_BLOCK != 0);
    return (e->wrote_ident ? 0 : sizeof ident_chunk) + len + blocks * (CHUNK_HDR + CRC_LEN);
}

int ufrpc_snappy_encoder_write(ufrpc_snappy_encoder_t *e, const uint8_t *in, size_t len,
                               uint8_t *out, size_t cap, size_t *out_len)
{
    size_t need = ufrpc_snappy_encoder_bound(e, len);
    *out_len = 0;
    if (need < len || cap < need)
        return UFRPC_ERR_LIMIT;
    size_t o = 0;
    if (len > 0 && !e->wrote_ident) {
        memcpy(out, ident_chunk, sizeof ident_chunk);
        o = sizeof ident_chunk;
        e->wrote_ident = 1;
    }
    while (len > 0) {
        size_t n = len < UFRPC_SNAPPY_MAX_BLOCK ? len : UFRPC_SNAPPY_MAX_BLOCK;
        uint8_t *hdr = out + o;
        ufrpc_put_le32(hdr + CHUNK_HDR, ufrpc_crc32c_masked_with(e->crc, in, n));
        /* Keep the compressed form only if it is under n - n/8 bytes (Go's rule);
         * bounding the compressor by that makes "too big" a cheap LIMIT. */
        size_t limit = n - n / 8 - 1, clen = 0;
        uint8_t type = CHUNK_COMPRESSED;
        if (ufrpc_snappy_block_compress(in, n, hdr + CHUNK_HDR + CRC_LEN, limit, &clen) != 0) {
            type = CHUNK_UNCOMPRESSED;
            memcpy(hdr + CHUNK_HDR + CRC_LEN, in, n);
            clen = n;
        }
        size_t chunk_len = CRC_LEN + clen;
        hdr[0] = type;
        hdr[1] = (uint8_t)chunk_len;
        hdr[2] = (uint8_t)(chunk_len >> 8);
        hdr[3] = (uint8_t)(chunk_len >> 16);
        o += CHUNK_HDR + chunk_len;
        in += n;
        len -= n;
    }
    *out_len = o;
    return 0;
}

/* ---- decoder ------------------------------------------------------------------ */

struct ufrpc_snappy_decoder {
    uint8_t hdr[CHUNK_HDR];
    size_t hdr_have;   /* header bytes of the current chunk received */
    uint8_t type;      /* current chunk (valid when hdr_have == 4) */
    size_t chunk_len;  /* its body length */
    size_t body_have;  /* body bytes received (buffered, or skipped) */
    int seen_ident;    /* the first chunk (stream identifier) was seen */
    int err;           /* sticky */
    uint8_t *body;     /* UFRPC_SNAPPY_MAX_CHUNK_BODY, allocated when first needed */
    uint8_t *decoded;  /* UFRPC_SNAPPY_MAX_BLOCK, allocated when first needed */
    ufrpc_crc32c_fn crc; /* picked once by new */
};

int ufrpc_snappy_decoder_new(ufrpc_snappy_decoder_t **out)
{
    ufrpc_snappy_decoder_t *d = calloc(1, sizeof *d);
    if (d == NULL)
        return UFRPC_ERR_NOMEM;
    d->crc = ufrpc_crc32c_pick();
    *out = d;
    return 0;
}

void ufrpc_snappy_decoder_free(ufrpc_snappy_decoder_t *d)
{
    if (d == NULL)
        return;
    free(d->body);
    free(d->decoded);
    free(d);
}

static int skippable(uint8_t type)
{
    return type >= 0x80 && type != CHUNK_IDENT;
}

/* Validates a complete chunk header (Go's reader order of checks). */
static int check_header(ufrpc_snappy_decoder_t *d)
{
    d->type = d->hdr[0];
    d->chunk_len = (size_t)d->hdr[1] | (size_t)d->hdr[2] << 8 | (size_t)d->hdr[3] << 16;
    d->body_have = 0;
    if (!d->seen_ident && d->type != CHUNK_IDENT)
        return UFRPC_ERR_SNAPPY_FORMAT;
    if (d->chunk_len > UFRPC_SNAPPY_MAX_CHUNK_BODY)
        return UFRPC_ERR_SNAPPY_TOO_LARGE;
    switch (d->type) {
    case CHUNK_COMPRESSED:
        return d->chunk_len < CRC_LEN ? UFRPC_ERR_SNAPPY_FORMAT : 0;
    case CHUNK_UNCOMPRESSED:
        if (d->chunk_len < CRC_LEN)
            return UFRPC_ERR_SNAPPY_FORMAT;
        return d->chunk_len - CRC_LEN > UFRPC_SNAPPY_MAX_BLOCK ? UFRPC_ERR_SNAPPY_TOO_LARGE : 0;
    case CHUNK_IDENT:
        return d->chunk_len != sizeof ident_chunk - CHUNK_HDR ? UFRPC_ERR_SNAPPY_FORMAT : 0;
    default:
        return skippable(d->type) ? 0 : UFRPC_ERR_SNAPPY_FORMAT;
    }
}

/* A complete chunk body: verify and decode. Sets *data and *data_len for data chunks. */
static int process_body(ufrpc_snappy_decoder_t *d, const uint8_t *body, const uint8_t **data,
                        size_t *data_len)
{
    if (d->type == CHUNK_IDENT) {
        if (memcmp(body, ident_chunk + CHUNK_HDR, d->chunk_len) != 0)
            return UFRPC_ERR_SNAPPY_FORMAT;
        d->seen_ident = 1;
        return 0;
    }
    uint32_t want = ufrpc_get_le32(body);
    const uint8_t *payload = body + CRC_LEN;
    size_t plen = d->chunk_len - CRC_LEN;
    if (d->type == CHUNK_COMPRESSED) {
        size_t n, hdr;
        int rc = ufrpc_snappy_uncompressed_length(payload, plen, &n, &hdr);
        if (rc != 0)
            return rc;
        if (n > UFRPC_SNAPPY_MAX_BLOCK)
            return UFRPC_ERR_SNAPPY_TOO_LARGE;
        if (d->decoded == NULL && (d->decoded = malloc(UFRPC_SNAPPY_MAX_BLOCK)) == NULL)
            return UFRPC_ERR_NOMEM;
        rc = ufrpc_snappy_block_decompress(payload, plen, d->decoded, UFRPC_SNAPPY_MAX_BLOCK, &n);
        if (rc != 0)
            return UFRPC_ERR_SNAPPY_FORMAT;
        payload = d->decoded;
        plen = n;
    }
    if (ufrpc_crc32c_masked_with(d->crc, payload, plen) != want)
        return UFRPC_ERR_SNAPPY_CRC;
    *data = payload;
    *data_len = plen;
    return 0;
}

static int feed(ufrpc_snappy_decoder_t *d, const uint8_t *in, size_t len, size_t *pos,
                const uint8_t **data, size_t *data_len)
{
    while (*pos < len) {
        size_t avail = len - *pos;
        if (d->hdr_have < CHUNK_HDR) {
            size_t n = CHUNK_HDR - d->hdr_have;
            if (n > avail)
                n = avail;
            memcpy(d->hdr + d->hdr_have, in + *pos, n);
            d->hdr_have += n;
            *pos += n;
            if (d->hdr_have < CHUNK_HDR)
                return 0;
            int rc = check_header(d);
            if (rc != 0)
                return rc;
            avail = len - *pos;
        }
        size_t need = d->chunk_len - d->body_have;
        const uint8_t *body;
        if (skippable(d->type)) {
            size_t n = need < avail ? need : avail;
            d->body_have += n;
            *pos += n;
            if (d->body_have < d->chunk_len)
                return 0;
            d->hdr_have = 0;
            continue;
        }
        if (d->body_have == 0 && avail >= need) {
            body = in + *pos; /* whole chunk present: no copy */
            *pos += need;
        } else {
            if (d->body == NULL && (d->body = malloc(UFRPC_SNAPPY_MAX_CHUNK_BODY)) == NULL)
                return UFRPC_ERR_NOMEM;
            size_t n = need < avail ? need : avail;
            memcpy(d->body + d->body_have, in + *pos, n);
            d->body_have += n;
            *pos += n;
            if (d->body_have < d->chunk_len)
                return 0;
            body = d->body;
        }
        d->hdr_have = 0;
        int rc = process_body(d, body, data, data_len);
        if (rc != 0)
            return rc;
        if (*data_len > 0)
            return 0;
    }
    return 0;
}

int ufrpc_snappy_decoder_feed(ufrpc_snappy_decoder_t *d, const uint8_t *in, size_t len,
                              size_t *consumed, const uint8_t **data, size_t *data_len)
{
    size_t pos = 0;
    *data = NULL;
    *data_len = 0;
    *consumed = 0;
    if (d->err != 0)
        return d->err;
    if (in == NULL && len != 0)
        return UFRPC_ERR_INVAL;
    int rc = feed(d, in, len, &pos, data, data_len);
    *consumed = pos;
    if (rc != 0) {
        d->err = rc;
        *data = NULL;
        *data_len = 0;
    }
    return rc;
}

int ufrpc_snappy_decoder_finish(const ufrpc_snappy_decoder_t *d)
{
    if (d->err != 0)
        return d->err;
    return d->hdr_have == 0 ? 0 : UFRPC_ERR_SNAPPY_FORMAT;
}
