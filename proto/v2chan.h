/* ufrpc — the v2 control channel after LoginResp (sans-I/O), docs/PROTOCOL.md §13.2 step 6.
 *
 * Both directions of the control stream are an AEAD stream (proto/aead_stream.h)
 * whose plaintext is a sequence of v2 Message frames (proto/v2msg.h). The client
 * writes with K_c2s and reads with K_s2c (ufrpc_v2hs_keys), frps the other way.
 *
 * Sending: like frp's WriteFrame over the AEAD writer, one message becomes two
 * records, the 8-byte frame header and then the payload (message id + JSON), the
 * first output of the channel also carrying the stream nonce.
 * Receiving: ciphertext split anywhere; the plaintext is a byte stream (frames may
 * span records and records may hold several frames). Memory is bounded: one record
 * (64 KiB) in the AEAD reader plus one frame (64 KiB) in the frame decoder.
 *
 * Ownership: ufrpc_v2chan_new allocates; ufrpc_v2chan_free wipes keys and frees.
 * Encoded output buffers are malloc'd and belong to the caller.
 */
#ifndef UFRPC_PROTO_V2CHAN_H
#define UFRPC_PROTO_V2CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/aead_stream.h"
#include "proto/msg.h"

struct ufrpc_v2chan;

struct ufrpc_v2chan_opts {
    ufrpc_aead_alg_t alg;
    const uint8_t *write_key; /* 32 bytes: K_c2s for the client, K_s2c for frps */
    const uint8_t *read_key;  /* 32 bytes: the other one */
    /* Nonce of the outgoing stream (ufrpc_aead_nonce_len(alg) bytes), normally NULL:
     * then drawn from rng (mbedTLS f_rng signature). Fixed only for tests. */
    const uint8_t *write_nonce;
    int (*rng)(void *rng_ctx, unsigned char *buf, size_t len);
    void *rng_ctx;
};

/* Keys and nonce are copied. 0 and *out, or UFRPC_ERR_INVAL, _NOMEM, _CRYPTO. */
int ufrpc_v2chan_new(const struct ufrpc_v2chan_opts *o, struct ufrpc_v2chan **out);
void ufrpc_v2chan_free(struct ufrpc_v2chan *ch);

/* Encrypts m (as header record + payload record) into a malloc'd buffer (*out,
 * *len; caller frees). 0, message encoding errors, UFRPC_ERR_LIMIT/_CRYPTO (sticky
 * writer errors), UFRPC_ERR_NOMEM. */
int ufrpc_v2chan_encode(struct ufrpc_v2chan *ch, const struct ufrpc_msg *m, uint8_t **out,
                        size_t *len);

/* Encrypts raw plaintext bytes as frp's Write would (one record per 64 KiB), for
 * callers that frame themselves. Same returns. */
int ufrpc_v2chan_seal(struct ufrpc_v2chan *ch, const uint8_t *in, size_t in_len, uint8_t **out,
                      size_t *len);

/* Feeds ciphertext. *consumed = bytes used. Returns 1 when a message was decoded
 * into *out (initialised here; the caller frees it), 0 when all input is used and
 * no message is complete, <0 on a sticky error (UFRPC_ERR_AEAD_AUTH, _AEAD_RECORD,
 * _LIMIT, frame and JSON errors, _NOMEM). Decrypted bytes past the returned message
 * stay inside the channel: after a 1, call again (with the rest of the input, which
 * may be empty) until it returns 0. */
int ufrpc_v2chan_feed(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len, size_t *consumed,
                      struct ufrpc_msg *out);

/* Same, handing out the raw message (as ufrpc_v2msg_reader_feed_frame): out->type is
 * the v1 type byte, out->body the NUL-terminated JSON, valid until the next call on
 * ch. For callers that dispatch on struct ufrpc_frame (client/core/control.c). */
int ufrpc_v2chan_feed_frame(struct ufrpc_v2chan *ch, const uint8_t *in, size_t len,
                            size_t *consumed, struct ufrpc_frame *out);

/* At EOF of the control stream: 0 when it ended cleanly between messages, else
 * UFRPC_ERR_AEAD_RECORD / UFRPC_ERR_V2_FRAME (cut inside a record or frame) or the
 * sticky error. */
int ufrpc_v2chan_finish(const struct ufrpc_v2chan *ch);

#endif
