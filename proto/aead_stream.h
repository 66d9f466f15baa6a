/* ufrpc — wire v2 AEAD stream (golib crypto/aead_stream.go; docs/PROTOCOL.md §13.2), sans-I/O.
 *
 * Per direction:  streamNonce (12 bytes for AES-256-GCM, 24 for XChaCha20-Poly1305),
 * sent in clear just before the first record, then records
 *     ctLen u32 BE | AEAD.Seal(nonce_i, plaintext, AAD = streamNonce || ctLen bytes)
 * with ctLen = plaintext length + 16, plaintext 1..65536 bytes, nonce_0 = streamNonce
 * and nonce_{i+1} = nonce_i + 1 (big-endian over all nonce bytes).
 * The writer turns each write into records (split at 64 KiB; empty writes produce
 * nothing). The reader takes input split anywhere, buffers at most one record, and
 * rejects ctLen < 16 or > 65536 + 16 (UFRPC_ERR_AEAD_RECORD), bad tags
 * (UFRPC_ERR_AEAD_AUTH), and more than 2^32 GCM records (UFRPC_ERR_LIMIT).
 *
 * Ownership: writer and reader are caller-owned structs; init, then free (free wipes
 * keys and releases the reader's 64 KiB record buffer). Do not copy or move them
 * after init. Errors are sticky. Keys come from ufrpc_v2crypto_derive_keys().
 */
#ifndef UFRPC_PROTO_AEAD_STREAM_H
#define UFRPC_PROTO_AEAD_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/gcm.h>

#include "proto/xchacha20poly1305.h"

typedef enum ufrpc_aead_alg {
    UFRPC_AEAD_AES_256_GCM = 1,       /* "aes-256-gcm" */
    UFRPC_AEAD_XCHACHA20_POLY1305 = 2 /* "xchacha20-poly1305" */
} ufrpc_aead_alg_t;

#define UFRPC_AEAD_KEY_LEN 32
#define UFRPC_AEAD_TAG_LEN 16
#define UFRPC_AEAD_MAX_NONCE_LEN 24
#define UFRPC_AEAD_MAX_PLAINTEXT 65536
#define UFRPC_AEAD_RECORD_HDR 4

/* The wire name ("aes-256-gcm", "xchacha20-poly1305"), or NULL for an unknown value. */
const char *ufrpc_aead_alg_name(ufrpc_aead_alg_t alg);
/* Parses a wire name (exact, case-sensitive; name need not be NUL-terminated).
 * 0 or UFRPC_ERR_UNSUPPORTED. */
int ufrpc_aead_alg_from_name(const char *name, size_t len, ufrpc_aead_alg_t *out);
/* 12, 24, or 0 for an unknown algorithm. */
size_t ufrpc_aead_nonce_len(ufrpc_aead_alg_t alg);

/* One AEAD instance, either algorithm (internal to writer and reader). */
typedef struct ufrpc_aead {
    ufrpc_aead_alg_t alg;
    size_t nonce_len;
    uint8_t stream_nonce[UFRPC_AEAD_MAX_NONCE_LEN];
    uint8_t nonce[UFRPC_AEAD_MAX_NONCE_LEN]; /* nonce of the next record */
    uint64_t records;                        /* records sealed/opened */
    union {
        mbedtls_gcm_context gcm;
        ufrpc_xchacha_t xchacha;
    } u;
} ufrpc_aead_t;

typedef struct ufrpc_aead_writer {
    ufrpc_aead_t a;
    int nonce_sent;
    int err;
} ufrpc_aead_writer_t;

/* stream_nonce: ufrpc_aead_nonce_len(alg) bytes, normally random. 0,
 * UFRPC_ERR_INVAL (unknown alg, NULL) or UFRPC_ERR_CRYPTO. Nothing to free on error. */
int ufrpc_aead_writer_init(ufrpc_aead_writer_t *w, ufrpc_aead_alg_t alg,
                           const uint8_t key[UFRPC_AEAD_KEY_LEN], const uint8_t *stream_nonce);

/* Same with the nonce from rng (mbedTLS f_rng signature, e.g. mbedtls_ctr_drbg_random). */
int ufrpc_aead_writer_init_rng(ufrpc_aead_writer_t *w, ufrpc_aead_alg_t alg,
                               const uint8_t key[UFRPC_AEAD_KEY_LEN],
                               int (*rng)(void *, unsigned char *, size_t), void *rng_ctx);

/* Output bytes one ufrpc_aead_writer_write() of len bytes produces: the nonce if not
 * yet sent, plus 20 bytes per started 64 KiB, plus len. 0 for len 0. */
size_t ufrpc_aead_writer_bound(const ufrpc_aead_writer_t *w, size_t len);

/* Encrypts one write into out[0..cap) (must not overlap in); *out_len = bytes
 * produced (exactly the bound). UFRPC_ERR_LIMIT if cap is too small (nothing
 * happens then, not sticky), UFRPC_ERR_LIMIT/UFRPC_ERR_CRYPTO (sticky) when the
 * record counter is exhausted or the library fails. */
int ufrpc_aead_writer_write(ufrpc_aead_writer_t *w, const uint8_t *in, size_t len,
                            uint8_t *out, size_t cap, size_t *out_len);

void ufrpc_aead_writer_free(ufrpc_aead_writer_t *w);

typedef struct ufrpc_aead_reader {
    ufrpc_aead_t a;
    size_t nonce_have; /* stream nonce bytes received (into a.stream_nonce) */
    uint8_t hdr[UFRPC_AEAD_RECORD_HDR];
    size_t hdr_have;
    size_t ct_len;   /* current record's ctLen (valid when hdr_have == 4) */
    size_t ct_have;  /* its bytes buffered */
    uint8_t *buf;    /* UFRPC_AEAD_MAX_PLAINTEXT + tag, heap */
    int err;
} ufrpc_aead_reader_t;

/* 0, UFRPC_ERR_INVAL or UFRPC_ERR_NOMEM. Nothing to free on error. */
int ufrpc_aead_reader_init(ufrpc_aead_reader_t *r, ufrpc_aead_alg_t alg,
                           const uint8_t key[UFRPC_AEAD_KEY_LEN]);

/* Feeds in[0..len): consumes input until one record's plaintext is ready or the
 * input is used up. *consumed = bytes taken; *data and *data_len = the plaintext
 * (data_len 0 if none yet), pointing into the reader and valid until the next call.
 * Call again with the rest of the input until all is consumed and no data comes. */
int ufrpc_aead_reader_feed(ufrpc_aead_reader_t *r, const uint8_t *in, size_t len,
                           size_t *consumed, const uint8_t **data, size_t *data_len);

/* At end of input: 0 at a record boundary (also before the nonce: an empty stream),
 * UFRPC_ERR_AEAD_RECORD if the input stopped inside the nonce or a record (Go's
 * io.ErrUnexpectedEOF), or the sticky error. */
int ufrpc_aead_reader_finish(const ufrpc_aead_reader_t *r);

void ufrpc_aead_reader_free(ufrpc_aead_reader_t *r);

#endif
