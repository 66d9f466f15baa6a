/* ufrpc — v2 message codec for streams (sans-I/O), docs/PROTOCOL.md §13.2 "Other v2 streams".
 *
 * With transport.wireProtocol = "v2" every new work or visitor stream starts with the
 * magic "FRP\0\2\r\n" and carries v2 Message frames (NewWorkConn / StartWorkConn,
 * NewVisitorConn / NewVisitorConnResp) in plaintext; after StartWorkConn a UDP or
 * SUDP stream keeps carrying Message frames (UDPPacket, Ping), an xtcp one a
 * NatHoleSid. The control stream carries the same frames inside the AEAD stream
 * (proto/v2chan.h).
 *
 * Encoding reuses ufrpc_msg_encode_frame_v2() (proto/msg.h); this file adds the
 * optional magic in front. Decoding: struct ufrpc_v2msg_reader turns bytes, split
 * anywhere, into struct ufrpc_msg values and never consumes a byte past the frame it
 * completes (raw proxy payload follows StartWorkConn directly).
 *
 * Ownership: the reader is a caller-owned value of about 64 KiB (embed or allocate
 * it), with no heap memory of its own: nothing to free. Decoded messages belong to
 * the caller (ufrpc_msg_free).
 */
#ifndef UFRPC_PROTO_V2MSG_H
#define UFRPC_PROTO_V2MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame_v2.h"
#include "proto/msg.h"

/* m as a v2 Message frame, preceded by the 7-byte magic when with_magic (the first
 * message of a work/visitor stream), in a malloc'd buffer the caller frees. Returns
 * 0 or the errors of ufrpc_msg_encode_frame_v2 (UFRPC_ERR_MSG_TYPE, _V2_FRAME,
 * _NOMEM, _INVAL). */
int ufrpc_v2msg_encode(const struct ufrpc_msg *m, bool with_magic, uint8_t **out, size_t *len);

struct ufrpc_v2msg_reader {
    bool expect_magic; /* the magic is still to be checked */
    uint8_t magic_have;
    int err; /* sticky */
    struct ufrpc_frame_v2_decoder dec;
};

/* expect_magic: true on the server side of a fresh v2 stream (the magic comes first),
 * false on the client side (frps never sends a magic) and inside the AEAD stream. */
void ufrpc_v2msg_reader_init(struct ufrpc_v2msg_reader *r, bool expect_magic);

/* Feeds in[0..len). *consumed = bytes used. Returns
 *   1  a message is decoded into *out (initialised here; caller frees it); *consumed
 *      stops right after its frame: feed the rest again, or hand it on (raw data);
 *   0  all input used, no complete message yet;
 *  <0  sticky error: UFRPC_ERR_V2_MAGIC (the stream does not start with the magic),
 *      UFRPC_ERR_V2_FRAME (bad header, or a frame that is not a Message frame),
 *      UFRPC_ERR_MSG_TYPE (unknown message id), JSON errors, UFRPC_ERR_NOMEM,
 *      UFRPC_ERR_INVAL. The stream is unusable then (frp closes it). */
int ufrpc_v2msg_reader_feed(struct ufrpc_v2msg_reader *r, const uint8_t *in, size_t len,
                            size_t *consumed, struct ufrpc_msg *out);

/* Same, but hands out the raw message instead of decoding it: on 1, out->type is the
 * v1 type byte of the message id, out->body its JSON (NUL-terminated, not counted in
 * body_len), pointing into the reader and valid until the next feed/init on it. The
 * JSON is not checked. Errors as above minus the JSON ones. */
int ufrpc_v2msg_reader_feed_frame(struct ufrpc_v2msg_reader *r, const uint8_t *in, size_t len,
                                  size_t *consumed, struct ufrpc_frame *out);

/* 1 when bytes of an incomplete magic or frame are buffered. At EOF this means the
 * stream was cut inside a frame. */
int ufrpc_v2msg_reader_pending(const struct ufrpc_v2msg_reader *r);

#endif
