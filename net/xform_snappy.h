/* ufrpc — snappy framed-stream adapter for per-proxy useCompression
 * (docs/PROTOCOL.md §5.4), over any struct ufrpc_stream.
 *
 * Writes: each write request is encoded as Go's unbuffered snappy.Writer encodes
 * one Write: the stream identifier before the first chunk of the stream, the data
 * in blocks of at most 65536 bytes, each a compressed (0x00) chunk unless that
 * saves less than 12.5 %, else an uncompressed (0x01) chunk. An empty write emits
 * nothing. Reads: chunks are decoded incrementally (input split anywhere; the
 * decoder buffers at most one chunk, ~140 KiB); malformed input, a CRC mismatch
 * or an oversized chunk is delivered as UFRPC_ERR_SNAPPY_*; EOF inside a chunk as
 * UFRPC_ERR_SNAPPY_FORMAT. Buffering and bounds: net/xform.h.
 *
 * Ownership: the adapter owns `lower` (closed with it, and on failure).
 */
#ifndef UFRPC_NET_XFORM_SNAPPY_H
#define UFRPC_NET_XFORM_SNAPPY_H

#include "net/stream.h"

/* NULL with *err (UFRPC_ERR_NOMEM) on failure. */
struct ufrpc_stream *ufrpc_xform_snappy_new(struct ufrpc_stream *lower, int *err);

#endif
