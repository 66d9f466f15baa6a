/* ufrpc — frp's AES-128-CFB stream encryption (docs/PROTOCOL.md §4.5, §5.3), sans-I/O.
 *
 * Used for the v1 control stream after LoginResp and for per-proxy useEncryption.
 * Per direction: the writer sends a 16-byte IV in clear with its first write, then
 * one continuous CFB-128 keystream for the whole life of the stream; the reader
 * takes the first 16 bytes it receives as the IV and decrypts everything after it
 * as one stream. Both accept input split at any byte boundary.
 *
 * Key: K = PBKDF2-HMAC-SHA1(secret, "frp", 64 iterations, 16 bytes). PBKDF2 is the
 * costly part: derive once per secret with ufrpc_cfb_derive_key() and reuse the
 * 16-byte key for every stream.
 *
 * Ownership: writer/reader structs are caller-owned (embed or allocate them); they
 * hold no heap memory, but ufrpc_cfb_*_free() must still be called to wipe the key
 * schedule. They must not be copied or moved after init (the mbedTLS 2.x AES context
 * points into itself). Not thread-safe; one object per direction per stream.
 */
#ifndef UFRPC_PROTO_CFB_H
#define UFRPC_PROTO_CFB_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/aes.h>

#define UFRPC_CFB_KEY_LEN 16
#define UFRPC_CFB_IV_LEN 16

/* Random-byte source with the mbedTLS f_rng signature (e.g. mbedtls_ctr_drbg_random):
 * fills buf[0..len) and returns 0, or non-zero on failure. */
typedef int (*ufrpc_rng_fn)(void *rng_ctx, unsigned char *buf, size_t len);

/* key = PBKDF2-HMAC-SHA1(secret, "frp", 64, 16). secret may be empty (len 0, any
 * pointer incl. NULL). Returns 0 or UFRPC_ERR_CRYPTO. */
int ufrpc_cfb_derive_key(const uint8_t *secret, size_t secret_len,
                         uint8_t key[UFRPC_CFB_KEY_LEN]);

typedef struct ufrpc_cfb_writer {
    mbedtls_aes_context aes;
    uint8_t iv[UFRPC_CFB_IV_LEN]; /* running CFB register */
    size_t off;                   /* position in the current keystream block */
    int iv_sent;                  /* the IV has been handed out for sending */
} ufrpc_cfb_writer_t;

/* Starts a writer with the given IV (normally 16 random bytes). 0 or
 * UFRPC_ERR_INVAL / UFRPC_ERR_CRYPTO. After an error nothing needs freeing. */
int ufrpc_cfb_writer_init(ufrpc_cfb_writer_t *w, const uint8_t key[UFRPC_CFB_KEY_LEN],
                          const uint8_t iv[UFRPC_CFB_IV_LEN]);

/* Same, drawing the IV from rng. UFRPC_ERR_CRYPTO if rng fails. */
int ufrpc_cfb_writer_init_rng(ufrpc_cfb_writer_t *w, const uint8_t key[UFRPC_CFB_KEY_LEN],
                              ufrpc_rng_fn rng, void *rng_ctx);

/* Bytes ufrpc_cfb_writer_write() may produce for len input bytes (16 more for the
 * first call). */
size_t ufrpc_cfb_writer_bound(const ufrpc_cfb_writer_t *w, size_t len);

/* Encrypts in[0..len) into out, preceded by the IV on the first call (even when len
 * is 0, as golib does). out must hold ufrpc_cfb_writer_bound(w, len) bytes; out == in
 * (in place, with room for the IV after the data) is allowed, other overlaps are not.
 * *out_len receives the bytes written. 0, or UFRPC_ERR_LIMIT if cap is too small
 * (nothing is consumed then). */
int ufrpc_cfb_writer_write(ufrpc_cfb_writer_t *w, const uint8_t *in, size_t len,
                           uint8_t *out, size_t cap, size_t *out_len);

/* Lower-level pair for callers that send the IV themselves:
 * take_iv copies the IV to iv_out and returns 1 the first time, 0 afterwards (then
 * iv_out is untouched); crypt encrypts len bytes (out == in allowed) and never fails.
 * crypt before take_iv is a usage error the caller must avoid. */
int ufrpc_cfb_writer_take_iv(ufrpc_cfb_writer_t *w, uint8_t iv_out[UFRPC_CFB_IV_LEN]);
void ufrpc_cfb_writer_crypt(ufrpc_cfb_writer_t *w, const uint8_t *in, uint8_t *out,
                            size_t len);

void ufrpc_cfb_writer_free(ufrpc_cfb_writer_t *w);

typedef struct ufrpc_cfb_reader {
    mbedtls_aes_context aes;
    uint8_t iv[UFRPC_CFB_IV_LEN]; /* IV being collected, then the CFB register */
    size_t iv_have;               /* IV bytes received so far (16 = decrypting) */
    size_t off;
} ufrpc_cfb_reader_t;

int ufrpc_cfb_reader_init(ufrpc_cfb_reader_t *r, const uint8_t key[UFRPC_CFB_KEY_LEN]);

/* Consumes all of in[0..len): the first 16 bytes of the stream are taken as the IV,
 * the rest is decrypted into out (out == in allowed, i.e. in place; otherwise out
 * must not overlap in). out needs len bytes. *out_len = plaintext bytes produced
 * (len minus the IV bytes absorbed). Never fails for valid arguments. */
int ufrpc_cfb_reader_decrypt(ufrpc_cfb_reader_t *r, const uint8_t *in, size_t len,
                             uint8_t *out, size_t *out_len);

/* 1 once the whole IV has been received. */
int ufrpc_cfb_reader_has_iv(const ufrpc_cfb_reader_t *r);

void ufrpc_cfb_reader_free(ufrpc_cfb_reader_t *r);

#endif
