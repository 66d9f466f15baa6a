/* ufrpc — prefix stream: a stream that first delivers some bytes already read from
 * a lower stream, then the lower stream's own reads.
 *
 * Use: a handshake reader (NewVisitorConnResp, StartWorkConn) gets a read buffer
 * holding its frame plus the first bytes of the payload. Streams without unread()
 * (yamux, TLS, filters) cannot take those bytes back; wrapping the lower stream in
 * a prefix stream puts them in front again, so a decryption layer stacked on top
 * sees the whole byte sequence.
 *
 * Contract: as net/stream.h. The prefix is copied. Reads: after read_start the
 * prefix is delivered on a later loop iteration (never from inside read_start), in
 * one callback, then the lower stream's reads follow. Writes, queued(), shutdown go
 * straight to the lower stream (write callbacks receive the caller's request).
 * The prefix stream owns the lower stream (closing it closes the lower one); the
 * lower stream's `data` field belongs to the prefix stream from now on. The caller
 * must have stopped reading the lower stream.
 */
#ifndef UFRPC_NET_PREFIX_H
#define UFRPC_NET_PREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

/* Returns the new stream, or NULL with *err (UFRPC_ERR_NOMEM, libuv errors); on
 * failure the lower stream has been closed. len 0 is allowed (then it only adds
 * a layer). */
struct ufrpc_stream *ufrpc_prefix_stream_new(struct ufrpc_stream *lower, const uint8_t *data,
                                             size_t len, int *err);

#endif
