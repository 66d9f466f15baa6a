/* ufrpc — TLS 1.2 AEAD record layer, sans I/O (RFC 5246 6.2, RFC 5288, RFC 7905).
 *
 * After Mbed TLS has done the handshake, net/tls.c protects application records
 * with these functions instead of Mbed TLS's record layer: the AEAD is
 * proto/aead.h's (OpenSSL's libcrypto or libsodium, chosen at build time;
 * AES-256-GCM where the CPU has AES and carry-less multiply instructions,
 * ChaCha20-Poly1305 everywhere), several times faster than Mbed TLS's on the
 * same CPU (bench/README.md, "AEAD library"). Nothing here does I/O; only
 * ufrpc_tlsrec_dir_init (the backend's context) and ufrpc_tlsrec_next (a
 * partial record's buffer, through the reader's ufrpc_mem) allocate.
 *
 * Record framing (one direction = one struct ufrpc_tlsrec_dir):
 *   header  type(1) | 0x03 0x03 | length(2, big-endian, the rest of the record)
 *   AES-256-GCM (RFC 5288): explicit nonce(8) | ciphertext | tag(16);
 *     nonce = salt(4, from the key block) | explicit nonce; we send the
 *     sequence number as the explicit nonce (as Go and Mbed TLS do) and take
 *     whatever the peer sent.
 *   ChaCha20-Poly1305 (RFC 7905): ciphertext | tag(16);
 *     nonce = iv(12) xor (0^4 | sequence number, big-endian).
 *   AAD (both) = sequence(8, BE) | type | 0x03 0x03 | plaintext length(2, BE).
 * The sequence number of a direction starts where the handshake left it (its
 * Finished was record 0 of the new epoch, so application data starts at 1) and
 * goes up by one per record; a direction whose counter would wrap refuses to
 * seal or open (UFRPC_ERR_LIMIT): TLS 1.2 has no way on but a new connection.
 *
 * Codes: 0 or a negative enum ufrpc_err (proto/error.h): UFRPC_ERR_AEAD_AUTH (tag
 * mismatch: tampered or mis-keyed), UFRPC_ERR_AEAD_RECORD (a length no record of
 * this cipher can have, or plaintext over 2^14), UFRPC_ERR_TLS (bad header: type
 * or version), UFRPC_ERR_LIMIT (buffer too small, sequence exhausted),
 * UFRPC_ERR_UNSUPPORTED (cipher not available on this CPU/build), _INVAL.
 *
 * Thread safety: a direction is used by one thread at a time; the backends need
 * nothing more (libsodium's sodium_init() is called by ufrpc_tlsrec_available,
 * which every user calls before init).
 */
#ifndef UFRPC_PROTO_TLSREC_H
#define UFRPC_PROTO_TLSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/aead.h"
#include "proto/mem.h"

enum ufrpc_tlsrec_cipher {
    UFRPC_TLSREC_NONE = 0,
    UFRPC_TLSREC_AES_256_GCM = UFRPC_AEAD_AES_256_GCM,             /* key 32, salt 4 */
    UFRPC_TLSREC_CHACHA20_POLY1305 = UFRPC_AEAD_CHACHA20_POLY1305, /* key 32, IV 12 */
};

/* content types (RFC 5246 6.2.1) */
enum {
    UFRPC_TLSREC_CCS = 20,
    UFRPC_TLSREC_ALERT = 21,
    UFRPC_TLSREC_HANDSHAKE = 22,
    UFRPC_TLSREC_APPDATA = 23,
};

#define UFRPC_TLSREC_HDR 5u
#define UFRPC_TLSREC_TAG 16u
#define UFRPC_TLSREC_MAX_PLAIN 16384u                 /* 2^14 */
#define UFRPC_TLSREC_MAX_BODY (16384u + 2048u)       /* RFC 5246 6.2.3 */
#define UFRPC_TLSREC_MAX_RECORD (UFRPC_TLSREC_HDR + UFRPC_TLSREC_MAX_BODY)
#define UFRPC_TLSREC_MAX_OVERHEAD (UFRPC_TLSREC_HDR + 8u + UFRPC_TLSREC_TAG)

/* One direction's keys and sequence number. Caller-owned storage; after a
 * successful ufrpc_tlsrec_dir_init it must be wiped with ufrpc_tlsrec_dir_wipe
 * (which frees the AEAD backend's context, if it has one). Not copyable. */
struct ufrpc_tlsrec_dir {
    int cipher;           /* enum ufrpc_tlsrec_cipher; NONE until init */
    uint64_t seq;         /* sequence number of the next record */
    int exhausted;        /* seq passed 2^64-1: no more records */
    uint8_t iv[12];       /* AES-GCM: only the first 4 bytes (salt) are used */
    struct ufrpc_aead aead;
};

/* True when cipher can be used on this CPU with this build
 * (ufrpc_aead_available: AES-256-GCM needs AES and carry-less multiply
 * instructions). */
bool ufrpc_tlsrec_available(int cipher);

/* Sets d up for cipher with the key and fixed IV of one direction from the key
 * block (key_len 32; iv_len 4 for AES-GCM, 12 for ChaCha20-Poly1305) and the
 * sequence number of its next record. 0, UFRPC_ERR_INVAL (lengths),
 * UFRPC_ERR_UNSUPPORTED (not in this build: ufrpc_aead_init), UFRPC_ERR_NOMEM,
 * UFRPC_ERR_CRYPTO. Whether the CPU suits the cipher is the caller's choice,
 * made once with ufrpc_tlsrec_available. */
int ufrpc_tlsrec_dir_init(struct ufrpc_tlsrec_dir *d, int cipher, const uint8_t *key,
                          size_t key_len, const uint8_t *iv, size_t iv_len, uint64_t seq);
/* Frees the backend's context and zeroes the keys (and everything else) of d.
 * Safe on a zeroed or wiped d. */
void ufrpc_tlsrec_dir_wipe(struct ufrpc_tlsrec_dir *d);

/* Bytes in front of the plaintext in a sealed record: header (5) plus, for
 * AES-GCM, the explicit nonce (8). A record is prefix + plaintext + 16 bytes. */
size_t ufrpc_tlsrec_prefix(const struct ufrpc_tlsrec_dir *d);

/* Seals one record in place: the caller put pt_len (<= 2^14) bytes of plaintext
 * at rec + ufrpc_tlsrec_prefix(d); this writes the header (and explicit nonce)
 * in front, encrypts the plaintext where it is and appends the tag, so rec must
 * have prefix + pt_len + 16 bytes. *rec_len gets that total. The sequence number
 * goes up. 0, UFRPC_ERR_LIMIT (pt_len too big, sequence exhausted), _CRYPTO. */
int ufrpc_tlsrec_seal(struct ufrpc_tlsrec_dir *d, uint8_t type, uint8_t *rec, size_t pt_len,
                      size_t *rec_len);

/* The same, reading the plaintext from pt (pt_len bytes, not overlapping rec)
 * instead of from inside rec: encrypts straight from the caller's buffer, which
 * saves copying it into place first. */
int ufrpc_tlsrec_seal_from(struct ufrpc_tlsrec_dir *d, uint8_t type, const uint8_t *pt,
                           size_t pt_len, uint8_t *rec, size_t *rec_len);

/* Checks a record header (5 bytes): content type 20..23, version 3.3, length
 * <= 2^14 + 2048. 0 and *body_len, or UFRPC_ERR_TLS (type/version),
 * UFRPC_ERR_AEAD_RECORD (length). */
int ufrpc_tlsrec_header(const uint8_t hdr[UFRPC_TLSREC_HDR], size_t *body_len);

/* Opens one whole record rec[0..rec_len) (header included, as checked by
 * ufrpc_tlsrec_header) into out (out_cap bytes; out may be exactly rec + prefix,
 * decrypting in place, but must not overlap rec otherwise). 0 with *type and
 * *pt_len (<= 2^14); the sequence number goes up only on success. Errors:
 * UFRPC_ERR_AEAD_RECORD (too short for nonce + tag, plaintext over 2^14,
 * rec_len not matching the header), UFRPC_ERR_AEAD_AUTH, UFRPC_ERR_LIMIT
 * (out_cap too small: nothing consumed; sequence exhausted), UFRPC_ERR_TLS. */
int ufrpc_tlsrec_open(struct ufrpc_tlsrec_dir *d, const uint8_t *rec, size_t rec_len,
                      uint8_t *out, size_t out_cap, uint8_t *type, size_t *pt_len);

/* ---- reassembly ------------------------------------------------------------------
 * Records arrive split across reads. A reader keeps the part of one record that
 * a read ended in: up to 5 header bytes inside the struct, then a buffer of the
 * record's own length (at most UFRPC_TLSREC_MAX_RECORD bytes) allocated through
 * mem when its header is in. The buffer is held only while a record is being
 * gathered and until the caller is done with it (ufrpc_tlsrec_reader_trim, or
 * the next call): a connection whose reads end on record boundaries, or that is
 * idle, holds none. Caller-owned storage (a zeroed struct is an empty reader
 * on libc's allocator); free with ufrpc_tlsrec_reader_free. */
struct ufrpc_tlsrec_reader {
    const struct ufrpc_mem *mem;
    size_t have;                 /* bytes of a partial record held (hdr, then buf) */
    uint8_t hdr[UFRPC_TLSREC_HDR];
    uint8_t *buf;                /* the record being gathered or last returned, or NULL */
};

/* Sets r up empty; mem NULL means libc (ufrpc_mem_or_default). */
void ufrpc_tlsrec_reader_init(struct ufrpc_tlsrec_reader *r, const struct ufrpc_mem *mem);
/* Frees the buffer unless a partial record is in it (have > 0): call when the
 * record last returned by ufrpc_tlsrec_next is no longer needed. */
void ufrpc_tlsrec_reader_trim(struct ufrpc_tlsrec_reader *r);
/* Drops any partial record and frees the buffer; r is then empty, as after init
 * (and may be reused or dropped). Safe on an empty reader. */
void ufrpc_tlsrec_reader_free(struct ufrpc_tlsrec_reader *r);

/* Takes the next record from the input (*data, *len), which it advances past
 * what it consumed. 1: a whole record is at *rec (*rec_len bytes, header
 * included, already checked by ufrpc_tlsrec_header): either inside the input
 * or inside r, valid until the next call on r (or trim/free) or until the input
 * goes. 0: the input is used up (a partial record, if any, is kept in r). <0: a
 * bad header (UFRPC_ERR_TLS / UFRPC_ERR_AEAD_RECORD) or no memory for the
 * partial record (UFRPC_ERR_NOMEM); the stream cannot go on. */
int ufrpc_tlsrec_next(struct ufrpc_tlsrec_reader *r, const uint8_t **data, size_t *len,
                      const uint8_t **rec, size_t *rec_len);

/* ---- what a decrypted record means after the handshake ------------------------ */
enum {
    UFRPC_TLSREC_EV_DATA = 1, /* application data, pt_len > 0: deliver it */
    UFRPC_TLSREC_EV_SKIP = 2, /* nothing to do: empty data, warning alert (as Go) */
};
/* alert descriptions we send */
enum {
    UFRPC_TLSREC_ALERT_CLOSE_NOTIFY = 0,
    UFRPC_TLSREC_ALERT_UNEXPECTED_MESSAGE = 10,
    UFRPC_TLSREC_ALERT_BAD_RECORD_MAC = 20,
    UFRPC_TLSREC_ALERT_RECORD_OVERFLOW = 22,
    UFRPC_TLSREC_ALERT_DECODE_ERROR = 50,
    UFRPC_TLSREC_ALERT_NO_RENEGOTIATION = 100,
};
/* Classifies a record opened after the handshake, as Go's crypto/tls does:
 * application data -> EV_DATA (EV_SKIP if empty); alert close_notify ->
 * UFRPC_ERR_EOF; other warning alerts -> EV_SKIP; fatal alerts -> UFRPC_ERR_TLS;
 * a renegotiation request (HelloRequest to a client, ClientHello to a server)
 * -> UFRPC_ERR_TLS with *send_alert = no_renegotiation (Go refuses and ends the
 * connection); any other handshake message, change_cipher_spec, or a malformed
 * alert -> UFRPC_ERR_TLS with *send_alert = unexpected_message / decode_error.
 * *send_alert is -1 when nothing is to be sent. *warning is set for alerts we
 * send as warnings (no_renegotiation). */
int ufrpc_tlsrec_classify(uint8_t type, const uint8_t *pt, size_t pt_len, bool is_client,
                          int *send_alert, bool *warning);

/* ---- raw AEAD (for the test vectors) --------------------------------------------
 * One AEAD operation with a full 12-byte nonce: seal (encrypt=true: in -> out,
 * tag written to tag) or open (in -> out, tag checked). 0, UFRPC_ERR_AEAD_AUTH,
 * UFRPC_ERR_UNSUPPORTED. */
int ufrpc_tlsrec_aead(int cipher, bool encrypt, const uint8_t key[32], const uint8_t nonce[12],
                      const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                      uint8_t *out, uint8_t tag[16]);

#endif
