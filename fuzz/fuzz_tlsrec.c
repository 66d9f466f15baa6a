/* libFuzzer target: the TLS 1.2 record parser and opener (proto/tlsrec.h).
 * Byte 0: bit 0 picks the cipher (0 = AES-256-GCM where the CPU has it, else
 * ChaCha20-Poly1305; 1 = ChaCha20-Poly1305), bits 1..7 seed the split pattern;
 * the rest is the wire stream, read with the key 32 x 0x5a / IV 12 x 0xa5 from
 * sequence number 1, as net/tls.c reads it: records out of ufrpc_tlsrec_next,
 * opened, classified, stopping at the first error. One-piece and split feeding
 * must agree on every record and on the error. Then the input is sealed as
 * records and must read back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/tlsrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c))                                                                         \
            __builtin_trap();                                                             \
    } while (0)

static const uint8_t KEY[32] = {
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
static const uint8_t IV[12] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
                               0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};

struct result {
    int rc;
    unsigned records;
    uint64_t hash;
    size_t plain;
};

/* (Re)keys d; d is zeroed or was initialised before (its backend context, if
 * any, is freed first). */
static void init_dir(struct ufrpc_tlsrec_dir *d, int cipher)
{
    ufrpc_tlsrec_dir_wipe(d);
    CHECK(ufrpc_tlsrec_dir_init(d, cipher, KEY, 32, IV,
                                cipher == UFRPC_TLSREC_AES_256_GCM ? 4 : 12, 1) == 0);
}

static struct result read_all(int cipher, const uint8_t *in, size_t len, uint32_t seed,
                              struct ufrpc_tlsrec_reader *rd, struct ufrpc_tlsrec_dir *d,
                              uint8_t *out)
{
    struct result res = {0, 0, 1469598103934665603ull, 0};
    init_dir(d, cipher);
    ufrpc_tlsrec_reader_free(rd);
    uint32_t s = seed | 1;
    size_t pos = 0;
    while (pos < len && res.rc == 0) {
        size_t piece = len - pos;
        if (seed != 0) {
            s = s * 1103515245u + 12345u;
            piece = 1 + (s >> 16) % 97;
            if (piece > len - pos)
                piece = len - pos;
        }
        const uint8_t *p = in + pos;
        size_t left = piece;
        const uint8_t *rec;
        size_t rec_len;
        int r;
        while (res.rc == 0 && (r = ufrpc_tlsrec_next(rd, &p, &left, &rec, &rec_len)) != 0) {
            if (r < 0) {
                res.rc = r;
                break;
            }
            CHECK(rec_len >= UFRPC_TLSREC_HDR && rec_len <= UFRPC_TLSREC_MAX_RECORD);
            uint8_t type;
            size_t n;
            r = ufrpc_tlsrec_open(d, rec, rec_len, out, UFRPC_TLSREC_MAX_PLAIN, &type, &n);
            if (r < 0) {
                CHECK(r != UFRPC_ERR_LIMIT);
                res.rc = r;
                break;
            }
            CHECK(n <= UFRPC_TLSREC_MAX_PLAIN);
            int alert;
            bool warn;
            r = ufrpc_tlsrec_classify(type, out, n, true, &alert, &warn);
            CHECK(r == UFRPC_TLSREC_EV_DATA || r == UFRPC_TLSREC_EV_SKIP || r < 0);
            res.records++;
            for (size_t i = 0; i < n; i++)
                res.hash = (res.hash ^ out[i]) * 1099511628211ull;
            res.plain += n;
            if (r < 0)
                res.rc = r;
        }
        CHECK(res.rc != 0 || left == 0);
        pos += piece;
    }
    return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int cipher = (data[0] & 1) || !ufrpc_tlsrec_available(UFRPC_TLSREC_AES_256_GCM)
                     ? UFRPC_TLSREC_CHACHA20_POLY1305
                     : UFRPC_TLSREC_AES_256_GCM;
    uint32_t seed = data[0] >> 1;
    data++;
    size--;
    struct ufrpc_tlsrec_reader *rd = calloc(1, sizeof *rd);
    struct ufrpc_tlsrec_dir *d = calloc(1, sizeof *d);
    uint8_t *out = malloc(UFRPC_TLSREC_MAX_PLAIN);
    size_t cap = size + (size / 16384 + 1) * UFRPC_TLSREC_MAX_OVERHEAD;
    uint8_t *wire = malloc(cap);
    if (rd == NULL || d == NULL || out == NULL || wire == NULL)
        goto out;
    ufrpc_tlsrec_reader_init(rd, NULL);
    struct result a = read_all(cipher, data, size, 0, rd, d, out);
    struct result b = read_all(cipher, data, size, seed, rd, d, out);
    CHECK(a.rc == b.rc && a.records == b.records && a.hash == b.hash && a.plain == b.plain);

    /* seal the input as application data (records of up to 2^14) and read it back */
    init_dir(d, cipher);
    size_t prefix = ufrpc_tlsrec_prefix(d), wl = 0, off = 0;
    uint64_t h = 1469598103934665603ull;
    do {
        size_t n = size - off > UFRPC_TLSREC_MAX_PLAIN ? UFRPC_TLSREC_MAX_PLAIN : size - off;
        memcpy(wire + wl + prefix, data + off, n);
        for (size_t i = 0; i < n; i++)
            h = (h ^ data[off + i]) * 1099511628211ull;
        size_t rl;
        CHECK(ufrpc_tlsrec_seal(d, UFRPC_TLSREC_APPDATA, wire + wl, n, &rl) == 0);
        CHECK(rl == prefix + n + UFRPC_TLSREC_TAG && wl + rl <= cap);
        wl += rl;
        off += n;
    } while (off < size);
    struct result c = read_all(cipher, wire, wl, seed, rd, d, out);
    CHECK(c.rc == 0 && c.plain == size && c.hash == h);
out:
    if (rd != NULL)
        ufrpc_tlsrec_reader_free(rd);
    free(rd);
    if (d != NULL)
        ufrpc_tlsrec_dir_wipe(d);
    free(d);
    free(out);
    free(wire);
    return 0;
}
