/* ufrpc — the wire v2 AEAD stream (proto/aead_stream.h) as a struct ufrpc_stream
 * adapter over another stream: the v2 control stream after LoginResp (docs/PROTOCOL.md §13.2).
 *
 * Writes: each upper write request is one Go Write: its bytes (all iovecs together)
 * become records of at most 64 KiB, the first output of the stream starting with
 * the stream nonce; an empty request produces nothing and completes after the
 * requests before it. At most UFRPC_XFORM_AEAD_INFLIGHT records are written to the
 * lower stream at a time, so the adapter's own write memory is bounded (about
 * 4 x 64 KiB plus one 64 KiB gather buffer for records that span iovecs) whatever
 * the size of the requests. Requests complete in order, after the lower writes of
 * their last record completed. queued() = bytes of requests not yet completed.
 * shutdown() = lower shutdown after every earlier record (the AEAD stream has no
 * end marker; a clean end is EOF at a record boundary).
 *
 * Reads: ciphertext from the lower stream, split anywhere, is decrypted record by
 * record; each record's plaintext is delivered as one slice of a 64 KiB refcounted
 * buffer (reused when the consumer kept no reference). Memory is bounded: one record
 * inside the AEAD reader plus the lower delivery being processed. read_stop inside
 * the callback pauses at once: the undecoded rest is kept (one reference on the
 * lower buffer) and the lower stream is paused; read_start resumes from there (from
 * the loop, never from inside read_start). Errors are delivered as the status
 * (UFRPC_ERR_AEAD_AUTH, UFRPC_ERR_AEAD_RECORD, UFRPC_ERR_LIMIT, lower errors); a
 * lower EOF is UFRPC_ERR_EOF at a record boundary, else UFRPC_ERR_AEAD_RECORD.
 *
 * Lifetimes: as net/stream.h. The adapter owns the lower stream (closing it closes
 * the lower one; lower->data is taken over) and copies keys and initial bytes. On
 * close, upper write requests not yet completed get UFRPC_ERR_CANCELED, a pending
 * shutdown callback too, before the close callback.
 */
#ifndef UFRPC_NET_XFORM_AEAD_H
#define UFRPC_NET_XFORM_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"
#include "proto/aead_stream.h"

struct ufrpc_v2hs; /* proto/v2hello.h */

#define UFRPC_XFORM_AEAD_INFLIGHT 4u

struct ufrpc_xform_aead_opts {
    ufrpc_aead_alg_t alg;
    const uint8_t *write_key; /* 32 bytes (client: K_c2s) */
    const uint8_t *read_key;  /* 32 bytes (client: K_s2c) */
    /* nonce of the outgoing stream; NULL: drawn from rng (normal use) */
    const uint8_t *write_nonce;
    int (*rng)(void *rng_ctx, unsigned char *buf, size_t len); /* mbedTLS f_rng */
    void *rng_ctx;
    /* ciphertext already read from lower (the bytes that followed LoginResp in the
     * same delivery); decrypted first. Copied. */
    const uint8_t *initial;
    size_t initial_len;
};

/* Wraps lower. Takes ownership of lower in every case (closed on failure). The
 * lower stream must not be used by the caller afterwards; its reading is stopped
 * until the adapter's read_start. NULL with *err (UFRPC_ERR_INVAL, _NOMEM,
 * _CRYPTO) on failure. The new stream's data is NULL. */
struct ufrpc_stream *ufrpc_xform_aead_new(struct ufrpc_stream *lower,
                                          const struct ufrpc_xform_aead_opts *o, int *err);

/* The client's control stream after a v2 handshake reached UFRPC_V2HS_DONE: keys and
 * algorithm from hs (writes with K_c2s, reads with K_s2c), nonce from rng,
 * `initial` = the bytes after LoginResp. Same ownership and errors
 * (UFRPC_ERR_STATE if hs is not DONE). hs may be freed afterwards. */
struct ufrpc_stream *ufrpc_xform_aead_client(struct ufrpc_stream *lower,
                                             const struct ufrpc_v2hs *hs,
                                             int (*rng)(void *, unsigned char *, size_t),
                                             void *rng_ctx, const uint8_t *initial,
                                             size_t initial_len, int *err);

#endif
