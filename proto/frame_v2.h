/* ufrpc — wire protocol v2 framing (sans-I/O), docs/PROTOCOL.md §13.2.
 *
 * A v2 stream starts with the 7-byte magic "FRP\0\2\r\n", then carries frames:
 *   type u16 BE | flags u16 BE (must be 0) | length u32 BE (<= 65536) | payload
 * Frame types: 1 ClientHello, 2 ServerHello, 16 Message. A Message payload is
 * msgTypeID u16 BE followed by the same JSON body as v1.
 *
 * The decoder is incremental and never consumes a byte past the end of the frame it
 * completes. struct ufrpc_frame_v2_decoder is caller-owned (about 64 KiB, no heap
 * memory, no free needed). A delivered frame's payload points into the decoder and
 * stays valid until the next feed/reset call on it.
 */
#ifndef UFRPC_PROTO_FRAME_V2_H
#define UFRPC_PROTO_FRAME_V2_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_FRAME_V2_MAGIC "FRP\0\2\r\n"
#define UFRPC_FRAME_V2_MAGIC_LEN 7
#define UFRPC_FRAME_V2_HEADER_LEN 8
#define UFRPC_FRAME_V2_MAX_PAYLOAD 65536

enum ufrpc_frame_v2_type {
    UFRPC_FRAME_V2_CLIENT_HELLO = 1,
    UFRPC_FRAME_V2_SERVER_HELLO = 2,
    UFRPC_FRAME_V2_MESSAGE = 16,
};

/* Checks the start of a stream against the magic. Returns 1 when len >= 7 and the
 * first 7 bytes are the magic, 0 when the len (< 7) bytes seen so far are a prefix
 * of it (feed more), UFRPC_ERR_V2_MAGIC as soon as a byte differs (a v1 stream). */
int ufrpc_frame_v2_magic_check(const uint8_t *in, size_t len);

/* v2 message type id (1..18) for a v1 type byte, or 0 if the byte is unknown. */
uint16_t ufrpc_frame_v2_msg_id(uint8_t v1_type);
/* v1 type byte for a v2 message type id, or 0 if the id is unknown. */
uint8_t ufrpc_frame_v2_msg_type(uint16_t msg_id);

struct ufrpc_frame_v2 {
    uint16_t type;
    const uint8_t *payload; /* into the decoder; see the header comment */
    size_t payload_len;
};

struct ufrpc_frame_v2_decoder {
    uint8_t hdr[UFRPC_FRAME_V2_HEADER_LEN];
    size_t hdr_have;
    size_t payload_len;
    size_t payload_have;
    int err; /* sticky */
    uint8_t payload[UFRPC_FRAME_V2_MAX_PAYLOAD + 1]; /* +1: NUL after the payload */
};

void ufrpc_frame_v2_decoder_init(struct ufrpc_frame_v2_decoder *dec);
void ufrpc_frame_v2_decoder_reset(struct ufrpc_frame_v2_decoder *dec);
int ufrpc_frame_v2_decoder_pending(const struct ufrpc_frame_v2_decoder *dec);

/* Feeds frames (the magic must already have been checked and skipped). Same contract
 * as ufrpc_frame_decoder_feed(): 1 = frame complete (*consumed stops right after it),
 * 0 = all consumed and incomplete, <0 sticky error: UFRPC_ERR_V2_FRAME (non-zero
 * flags or length > 65536), UFRPC_ERR_INVAL. The frame type is not checked here.
 * The payload is followed by a NUL byte (not counted), handy for JSON hellos. */
int ufrpc_frame_v2_decoder_feed(struct ufrpc_frame_v2_decoder *dec, const uint8_t *in, size_t len,
                                size_t *consumed, struct ufrpc_frame_v2 *frame);

/* Splits a Message frame's payload into its v1 type byte and JSON body (pointers
 * into frame->payload). Returns 0, UFRPC_ERR_V2_FRAME (not a Message frame or payload
 * shorter than 2 bytes), UFRPC_ERR_MSG_TYPE (unknown message id). */
int ufrpc_frame_v2_split_message(const struct ufrpc_frame_v2 *frame, uint8_t *v1_type,
                                 const char **json, size_t *json_len);

/* Writes the 8-byte header. Returns 0 or UFRPC_ERR_V2_FRAME (payload_len > 65536). */
int ufrpc_frame_v2_encode_header(uint16_t type, size_t payload_len,
                                 uint8_t out[UFRPC_FRAME_V2_HEADER_LEN]);

/* Header + payload into out (capacity cap); *out_len = 8 + payload_len. Returns 0,
 * UFRPC_ERR_V2_FRAME, UFRPC_ERR_LIMIT (cap too small), UFRPC_ERR_INVAL. */
int ufrpc_frame_v2_encode(uint16_t type, const void *payload, size_t payload_len, uint8_t *out,
                          size_t cap, size_t *out_len);

/* A Message frame: header (type 16, length 2 + json_len), message id of v1_type, JSON.
 * Into a malloc'd buffer the caller frees. Returns 0, UFRPC_ERR_MSG_TYPE,
 * UFRPC_ERR_V2_FRAME (too long), UFRPC_ERR_NOMEM, UFRPC_ERR_INVAL. */
int ufrpc_frame_v2_encode_message_alloc(uint8_t v1_type, const void *json, size_t json_len,
                                        uint8_t **out, size_t *out_len);

#endif
