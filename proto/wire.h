/* ufrpc — message framing on plaintext streams, v1 or v2 chosen by
 * transport.wireProtocol (frp pkg/msg NewReadWriter; client/connector.go
 * messageConnector). One reader type and one encoder for both versions so that the
 * code of work streams, visitor streams and UDP/SUDP channels stays the same:
 *
 *   v1: type u8 | length i64 BE | JSON (<= 10240)        (proto/frame.h)
 *   v2: [magic at the start of the stream] | Message frames (proto/v2msg.h)
 *
 * Where frpc writes a magic: as the very first bytes of every stream it opens with
 * v2 (control, work, visitor). frps never writes one. The control stream's v2 login
 * is not handled here (proto/v2hello.h, proto/v2chan.h).
 *
 * Type checks differ (Go's ReadMsgInto): v1 never checks the type byte against the
 * expected message (frp unmarshals the body into whatever it wanted); v2 rejects a
 * different message id ("unexpected message type"). ufrpc_wire_check_type() gives
 * that rule.
 *
 * Ownership: the reader is a caller-owned value (about 64 KiB; embed or allocate it)
 * with no heap memory: nothing to free. Frames handed out point into it.
 */
#ifndef UFRPC_PROTO_WIRE_H
#define UFRPC_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/v2msg.h"

enum ufrpc_wire_version {
    UFRPC_WIRE_V1 = 1,
    UFRPC_WIRE_V2 = 2,
};

/* transport.wireProtocol: NULL, "" or "v1" -> V1, "v2" -> V2 (exact), else
 * UFRPC_ERR_INVAL (*out untouched). */
int ufrpc_wire_parse(const char *s, enum ufrpc_wire_version *out);

struct ufrpc_wire_reader {
    enum ufrpc_wire_version ver;
    union {
        struct ufrpc_frame_decoder v1;
        struct ufrpc_v2msg_reader v2;
    } u;
};

/* Bytes a reader of version ver occupies: a heap reader that will only ever be
 * initialised with ver may be allocated with this many bytes instead of sizeof
 * (a v1 reader needs about 10 KiB, the union 64 KiB for v2's payload). */
size_t ufrpc_wire_reader_size(enum ufrpc_wire_version ver);

/* expect_magic only matters for v2 (true on the frps side of a new stream). */
void ufrpc_wire_reader_init(struct ufrpc_wire_reader *r, enum ufrpc_wire_version ver,
                            bool expect_magic);

/* Same contract as ufrpc_frame_decoder_feed() for both versions: 1 = one message,
 * *out = {v1 type byte, NUL-terminated JSON body} valid until the next feed/init,
 * *consumed stops right after it (never over-reads); 0 = all consumed, incomplete;
 * <0 sticky error (v1: UFRPC_ERR_MSG_TYPE/_MSG_LENGTH/_MSG_TOO_LONG; v2:
 * UFRPC_ERR_V2_MAGIC/_V2_FRAME/_MSG_TYPE). */
int ufrpc_wire_reader_feed(struct ufrpc_wire_reader *r, const uint8_t *in, size_t len,
                           size_t *consumed, struct ufrpc_frame *out);

/* 1 when a partial frame (or magic) is buffered. */
int ufrpc_wire_reader_pending(const struct ufrpc_wire_reader *r);

/* Encodes m as one frame into a malloc'd buffer (caller frees). stream_start: this is
 * the first message frpc writes on a stream it opened (NewWorkConn, NewVisitorConn):
 * with v2 the magic goes in front. Returns 0, UFRPC_ERR_MSG_TYPE, UFRPC_ERR_NOMEM,
 * UFRPC_ERR_MSG_TOO_LONG (v1, JSON > 10240), UFRPC_ERR_V2_FRAME (v2, JSON > 65534). */
int ufrpc_wire_encode(const struct ufrpc_msg *m, enum ufrpc_wire_version ver, bool stream_start,
                      uint8_t **out, size_t *len);

/* Go's ReadMsgInto rule: 0 if a frame of type `got` may be read as `want` (always
 * with v1, only when equal with v2), else UFRPC_ERR_MSG_TYPE. */
int ufrpc_wire_check_type(enum ufrpc_wire_version ver, uint8_t got, uint8_t want);

#endif
