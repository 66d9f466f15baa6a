/* Snappy block format (see snappy.h). The compressor is a plain greedy matcher:
 * a 4-byte hash table per 64 KiB fragment, literal runs, copy-1/copy-2 ops, and an
 * accelerating skip over incompressible input. Every write is bounds-checked so a
 * too-small output buffer is a clean UFRPC_ERR_LIMIT. */
#include "proto/snappy.h"

#include <string.h>

#include "proto/error.h"

#define TAG_LITERAL 0
#define TAG_COPY1 1
#define TAG_COPY2 2
#define TAG_COPY4 3

#define HASH_BITS 14
#define FRAGMENT 65536
#define MIN_MATCH_INPUT 17 /* shorter inputs are emitted as one literal */

size_t ufrpc_snappy_max_compressed_length(size_t n)
{
    return 32 + n + n / 6;
}

int ufrpc_snappy_uncompressed_length(const uint8_t *in, size_t len, size_t *out_len,
                                     size_t *hdr_len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 5; i++) {
        v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
        if ((in[i] & 0x80) == 0) {
            if (v > 0xffffffffu)
                return UFRPC_ERR_SNAPPY_FORMAT;
            *out_len = (size_t)v;
            *hdr_len = i + 1;
            return 0;
        }
    }
    return UFRPC_ERR_SNAPPY_FORMAT;
}

static uint32_t load_le(const uint8_t *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

int ufrpc_snappy_block_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                                  size_t *out_len)
{
    size_t total, s;
    int rc = ufrpc_snappy_uncompressed_length(in, len, &total, &s);
    if (rc != 0)
        return rc;
    if (total > cap)
        return UFRPC_ERR_LIMIT;
    size_t d = 0;
    while (s < len) {
        uint8_t tag = in[s];
        size_t length, offset;
        if ((tag & 3) == TAG_LITERAL) {
            size_t x = tag >> 2;
            s++;
            if (x >= 60) {
                size_t nb = x - 59;
                if (len - s < nb)
                    return UFRPC_ERR_SNAPPY_FORMAT;
                x = load_le(in + s, nb);
                s += nb;
            }
            length = x + 1;
            if (length == 0 || length > total - d || length > len - s)
                return UFRPC_ERR_SNAPPY_FORMAT;
            memcpy(out + d, in + s, length);
            d += length;
            s += length;
            continue;
        }
        if ((tag & 3) == TAG_COPY1) {
            if (len - s < 2)
                return UFRPC_ERR_SNAPPY_FORMAT;
            length = 4 + ((tag >> 2) & 7);
            offset = ((size_t)(tag & 0xe0) << 3) | in[s + 1];
            s += 2;
        } else if ((tag & 3) == TAG_COPY2) {
            if (len - s < 3)
                return UFRPC_ERR_SNAPPY_FORMAT;
            length = 1 + (tag >> 2);
            offset = load_le(in + s + 1, 2);
            s += 3;
        } else {
            if (len - s < 5)
                return UFRPC_ERR_SNAPPY_FORMAT;
            length = 1 + (tag >> 2);
            offset = load_le(in + s + 1, 4);
            s += 5;
        }
        if (offset == 0 || offset > d || length > total - d)
            return UFRPC_ERR_SNAPPY_FORMAT;
        uint8_t *dst = out + d;
        const uint8_t *src = dst - offset;
        if (offset >= length) {
            memcpy(dst, src, length);
        } else if (offset == 1) {
            memset(dst, src[0], length);
        } else {
            /* Overlapping copy repeats the last offset bytes. Copying offset bytes at
             * a time keeps each memcpy free of overlap. */
            size_t left = length;
            while (left > 0) {
                size_t k = left < offset ? left : offset;
                memcpy(dst, dst - offset, k);
                dst += k;
                left -= k;
            }
        }
        d += length;
    }
    if (d != total)
        return UFRPC_ERR_SNAPPY_FORMAT;
    *out_len = total;
    return 0;
}

/* ---- compressor --------------------------------------------------------------- */

struct sink {
    uint8_t *out;
    size_t cap, pos;
    int overflow;
};

static void put(struct sink *k, const void *p, size_t n)
{
    if (k->overflow || n > k->cap - k->pos) {
        k->overflow = 1;
        return;
    }
    memcpy(k->out + k->pos, p, n);
    k->pos += n;
}

static void put_byte(struct sink *k, uint8_t b)
{
    put(k, &b, 1);
}

static void emit_literal(struct sink *k, const uint8_t *p, size_t len)
{
    if (len == 0)
        return;
    size_t n = len - 1;
    if (n < 60) {
        put_byte(k, (uint8_t)(n << 2 | TAG_LITERAL));
    } else {
        uint8_t hdr[5];
        size_t nb = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
        hdr[0] = (uint8_t)((59 + nb) << 2 | TAG_LITERAL);
        for (size_t i = 0; i < nb; i++)
            hdr[1 + i] = (uint8_t)(n >> (8 * i));
        put(k, hdr, 1 + nb);
    }
    put(k, p, len);
}

/* offset < 65536, 1 <= len <= 64 */
static void emit_copy2(struct sink *k, size_t offset, size_t len)
{
    uint8_t b[3] = {(uint8_t)((len - 1) << 2 | TAG_COPY2), (uint8_t)offset,
                    (uint8_t)(offset >> 8)};
    put(k, b, 3);
}

/* offset < 65536, len >= 4 */
static void emit_copy(struct sink *k, size_t offset, size_t len)
{
    while (len >= 68) {
        emit_copy2(k, offset, 64);
        len -= 64;
    }
    if (len > 64) {
        emit_copy2(k, offset, 60);
        len -= 60;
    }
    if (len >= 12 || offset >= 2048) {
        emit_copy2(k, offset, len);
    } else {
        uint8_t b[2] = {(uint8_t)((offset >> 8) << 5 | (len - 4) << 2 | TAG_COPY1),
                        (uint8_t)offset};
        put(k, b, 2);
    }
}

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint32_t hash4(const uint8_t *p)
{
    return (load32(p) * 0x1e35a7bdu) >> (32 - HASH_BITS);
}

/* One fragment (n <= 65536, so positions fit in uint16_t). */
static void compress_fragment(struct sink *k, const uint8_t *in, size_t n, uint16_t *table)
{
    size_t next_emit = 0;
    if (n >= MIN_MATCH_INPUT) {
        memset(table, 0, sizeof(uint16_t) << HASH_BITS);
        size_t ip = 1, skip = 32;
        const size_t last = n - 4; /* a 4-byte load at ip needs ip <= last */
        while (ip <= last && !k->overflow) {
            uint32_t h = hash4(in + ip);
            size_t cand = table[h];
            table[h] = (uint16_t)ip;
            if (cand < ip && load32(in + cand) == load32(in + ip)) {
                emit_literal(k, in + next_emit, ip - next_emit);
                size_t m = ip + 4, c = cand + 4;
                while (m < n && in[m] == in[c]) {
                    m++;
                    c++;
                }
                emit_copy(k, ip - cand, m - ip);
                if (m <= last)
                    table[hash4(in + m - 1)] = (uint16_t)(m - 1);
                ip = m;
                next_emit = m;
                skip = 32;
            } else {
                ip += skip >> 5;
                skip++;
            }
        }
    }
    emit_literal(k, in + next_emit, n - next_emit);
}

int ufrpc_snappy_block_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                                size_t *out_len)
{
    uint16_t table[1u << HASH_BITS];
    struct sink k = {out, cap, 0, 0};
    if (len > 0xffffffffu)
        return UFRPC_ERR_LIMIT;
    uint8_t hdr[5];
    size_t nh = 0;
    size_t v = len;
    do {
        hdr[nh++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    put(&k, hdr, nh);
    for (size_t pos = 0; pos < len && !k.overflow; pos += FRAGMENT) {
        size_t n = len - pos < FRAGMENT ? len - pos : FRAGMENT;
        compress_fragment(&k, in + pos, n, table);
    }
    if (k.overflow)
        return UFRPC_ERR_LIMIT;
    *out_len = k.pos;
    return 0;
}
