/* ufrpc — v1 message framing (sans-I/O).
 *
 * A v1 frame is: type u8 | length int64 big-endian | JSON body (length bytes).
 * The type byte must be one of the 18 message types of docs/PROTOCOL.md §3.2, the length must
 * be in 0..10240 (frp's defaultMaxMsgLength).
 *
 * The decoder is incremental: input may be cut at any byte. It never consumes a byte
 * past the end of the frame it is completing, because raw payload or ciphertext
 * follows a frame directly on the same stream.
 *
 * Ownership: struct ufrpc_frame_decoder is a caller-owned value (about 10 KiB; embed
 * it or allocate it) with no heap memory, so it needs no free. A delivered frame's
 * body points into the decoder and stays valid until the next feed/reset call on it.
 */
#ifndef UFRPC_PROTO_FRAME_H
#define UFRPC_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_FRAME_HEADER_LEN 9
#define UFRPC_FRAME_MAX_BODY 10240

/* v1 type bytes (frp pkg/msg/msg.go). */
enum ufrpc_msg_type {
    UFRPC_MSG_LOGIN = 'o',
    UFRPC_MSG_LOGIN_RESP = '1',
    UFRPC_MSG_NEW_PROXY = 'p',
    UFRPC_MSG_NEW_PROXY_RESP = '2',
    UFRPC_MSG_CLOSE_PROXY = 'c',
    UFRPC_MSG_NEW_WORK_CONN = 'w',
    UFRPC_MSG_REQ_WORK_CONN = 'r',
    UFRPC_MSG_START_WORK_CONN = 's',
    UFRPC_MSG_NEW_VISITOR_CONN = 'v',
    UFRPC_MSG_NEW_VISITOR_CONN_RESP = '3',
    UFRPC_MSG_PING = 'h',
    UFRPC_MSG_PONG = '4',
    UFRPC_MSG_UDP_PACKET = 'u',
    UFRPC_MSG_NAT_HOLE_VISITOR = 'i',
    UFRPC_MSG_NAT_HOLE_CLIENT = 'n',
    UFRPC_MSG_NAT_HOLE_RESP = 'm',
    UFRPC_MSG_NAT_HOLE_SID = '5',
    UFRPC_MSG_NAT_HOLE_REPORT = '6',
};

/* 1 if type is one of the type bytes above, else 0. */
int ufrpc_frame_type_known(uint8_t type);

/* The Go name of the message ("Login", "NewProxyResp"…), or "unknown". Static. */
const char *ufrpc_frame_type_name(uint8_t type);

/* A complete frame handed out by the decoder. body points into the decoder, is
 * NUL-terminated (terminator not counted in body_len), valid until the next
 * ufrpc_frame_decoder_feed() or ufrpc_frame_decoder_reset() on that decoder. */
struct ufrpc_frame {
    uint8_t type;
    const char *body;
    size_t body_len;
};

struct ufrpc_frame_decoder {
    uint8_t hdr[UFRPC_FRAME_HEADER_LEN];
    size_t hdr_have;  /* header bytes collected */
    size_t body_len;  /* valid once hdr_have == 9 */
    size_t body_have; /* body bytes collected */
    int err;          /* sticky error once one occurred, else 0 */
    char body[UFRPC_FRAME_MAX_BODY + 1];
};

/* Prepares a decoder for the first frame. Cannot fail. */
void ufrpc_frame_decoder_init(struct ufrpc_frame_decoder *dec);
/* Forgets any partial frame and a sticky error (same as init). */
void ufrpc_frame_decoder_reset(struct ufrpc_frame_decoder *dec);

/* Feeds up to len bytes. *consumed is always set to the number of bytes used.
 * Returns:
 *   1  a frame is complete: *frame is filled; *consumed stops right after it, so the
 *      caller must feed the rest (in + *consumed) again, or hand it to another
 *      consumer (payload, ciphertext). The next feed starts a new frame.
 *   0  all len bytes were consumed and the frame is still incomplete.
 *  <0  UFRPC_ERR_MSG_TYPE (unknown type byte), UFRPC_ERR_MSG_LENGTH (negative
 *      length), UFRPC_ERR_MSG_TOO_LONG (length > 10240), UFRPC_ERR_INVAL (NULL
 *      arguments). The error is sticky: every later feed returns it until reset.
 *      The stream is unusable after such an error (frp drops the connection). */
int ufrpc_frame_decoder_feed(struct ufrpc_frame_decoder *dec, const uint8_t *in, size_t len,
                             size_t *consumed, struct ufrpc_frame *frame);

/* 1 if a partial frame is buffered (some bytes fed but no frame returned yet). */
int ufrpc_frame_decoder_pending(const struct ufrpc_frame_decoder *dec);

/* Writes the 9-byte header for a body of body_len bytes into out. Returns 0,
 * UFRPC_ERR_MSG_TYPE or UFRPC_ERR_MSG_TOO_LONG. */
int ufrpc_frame_encode_header(uint8_t type, size_t body_len, uint8_t out[UFRPC_FRAME_HEADER_LEN]);

/* Writes header + body into out (capacity cap). *out_len = 9 + body_len. Returns 0,
 * UFRPC_ERR_MSG_TYPE, UFRPC_ERR_MSG_TOO_LONG, UFRPC_ERR_LIMIT (cap too small). */
int ufrpc_frame_encode(uint8_t type, const void *body, size_t body_len, uint8_t *out, size_t cap,
                       size_t *out_len);

/* Same into a malloc'd buffer that the caller frees (free()). UFRPC_ERR_NOMEM too. */
int ufrpc_frame_encode_alloc(uint8_t type, const void *body, size_t body_len, uint8_t **out,
                             size_t *out_len);

#endif
