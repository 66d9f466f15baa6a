/* ufrpc — snappy compression for frp's useCompression (docs/PROTOCOL.md §5.4), pure C.
 *
 * Three layers, all sans-I/O and free of global state:
 *  1. the snappy block format (varint length, literals, copy ops): one-shot
 *     compress/decompress between caller buffers (proto/snappy_block.c);
 *  2. a framed-stream ENCODER matching Go's unbuffered snappy.NewWriter, which frp
 *     uses: stream identifier once before the first chunk, input split into blocks
 *     of at most 65536 bytes, each sent as a compressed chunk (0x00) unless that
 *     saves less than 12.5 %, then as an uncompressed chunk (0x01);
 *  3. a framed-stream DECODER accepting all that Go's reader accepts, fed with input
 *     split anywhere, buffering at most one chunk.
 * Checksums are masked CRC-32C (proto/crc32c.h).
 *
 * Errors: UFRPC_ERR_SNAPPY_FORMAT (malformed block or stream), UFRPC_ERR_SNAPPY_CRC,
 * UFRPC_ERR_SNAPPY_TOO_LARGE (a chunk over the framing limits), UFRPC_ERR_LIMIT
 * (caller's output buffer too small), UFRPC_ERR_NOMEM, UFRPC_ERR_INVAL.
 */
#ifndef UFRPC_PROTO_SNAPPY_H
#define UFRPC_PROTO_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/crc32c.h"

/* Largest decoded chunk of the framing format, and the encoder's block size. */
#define UFRPC_SNAPPY_MAX_BLOCK 65536
/* Largest chunk body (CRC + data) the decoder accepts: 4 + max compressed length
 * of a 65536-byte block (as Go's reader). */
#define UFRPC_SNAPPY_MAX_CHUNK_BODY (4 + 32 + 65536 + 65536 / 6)

/* ---- block format ------------------------------------------------------------ */

/* Worst-case compressed size of n input bytes (32 + n + n/6). */
size_t ufrpc_snappy_max_compressed_length(size_t n);

/* Reads the varint length header of a compressed block: *out_len = decoded length,
 * *hdr_len = header bytes. 0 or UFRPC_ERR_SNAPPY_FORMAT. */
int ufrpc_snappy_uncompressed_length(const uint8_t *in, size_t len, size_t *out_len,
                                     size_t *hdr_len);

/* Decompresses one block into out[0..cap). in and out must not overlap. *out_len =
 * decoded length. UFRPC_ERR_LIMIT if the declared length exceeds cap,
 * UFRPC_ERR_SNAPPY_FORMAT for any malformed input. */
int ufrpc_snappy_block_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                                  size_t *out_len);

/* Compresses in[0..len) (len < 2^32) into out[0..cap) (greedy hash-table matcher,
 * 32 KiB of stack). UFRPC_ERR_LIMIT if the result would not fit in cap; a cap of
 * ufrpc_snappy_max_compressed_length(len) always suffices. */
int ufrpc_snappy_block_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                                size_t *out_len);

/* ---- framed encoder (caller-owned, no heap) ------------------------------------ */

typedef struct ufrpc_snappy_encoder {
    int wrote_ident;     /* stream identifier already emitted */
    ufrpc_crc32c_fn crc; /* picked once by init */
} ufrpc_snappy_encoder_t;

void ufrpc_snappy_encoder_init(ufrpc_snappy_encoder_t *e);

/* Output bytes ufrpc_snappy_encoder_write() needs at most for len input bytes:
 * (10 if the identifier is still due) + len + 8 per 65536-byte block; 0 for len 0. */
size_t ufrpc_snappy_encoder_bound(const ufrpc_snappy_encoder_t *e, size_t len);

/* Encodes one Write of in[0..len) as Go's snappy.Writer would, into out[0..cap)
 * (must not overlap in). An empty write emits nothing. *out_len = bytes produced.
 * UFRPC_ERR_LIMIT if cap < ufrpc_snappy_encoder_bound() (nothing emitted then). */
int ufrpc_snappy_encoder_write(ufrpc_snappy_encoder_t *e, const uint8_t *in, size_t len,
                               uint8_t *out, size_t cap, size_t *out_len);

/* ---- framed decoder (opaque, heap) -------------------------------------------- */

typedef struct ufrpc_snappy_decoder ufrpc_snappy_decoder_t;

/* *out = new decoder (about 140 KiB once chunks need buffering). 0 or NOMEM. */
int ufrpc_snappy_decoder_new(ufrpc_snappy_decoder_t **out);
void ufrpc_snappy_decoder_free(ufrpc_snappy_decoder_t *d); /* NULL is fine */

/* Feeds in[0..len). Consumes input until one chunk's decoded data is ready or the
 * input is used up: *consumed = input bytes taken; *data and *data_len = decoded bytes
 * (data_len 0 if none yet). Call again with the rest of the input until it is all
 * consumed and no data comes back. *data points into the decoder or into in and is
 * valid until the next call on d (and while in is unchanged).
 * Errors are sticky: after one, every call returns it. */
int ufrpc_snappy_decoder_feed(ufrpc_snappy_decoder_t *d, const uint8_t *in, size_t len,
                              size_t *consumed, const uint8_t **data, size_t *data_len);

/* At end of input: 0 if the stream stopped at a chunk boundary (including the empty
 * stream), else UFRPC_ERR_SNAPPY_FORMAT (truncated), or the sticky error. */
int ufrpc_snappy_decoder_finish(const ufrpc_snappy_decoder_t *d);

#endif
