/* ufrpc — per-proxy stream transforms (docs/PROTOCOL.md §5.3): the layering helper and the
 * filter-stream core shared by the encryption and compression adapters.
 *
 * frpc wraps a work stream, from the wire up, as
 *     wire <- bandwidth limiter (client mode) <- AES-128-CFB <- snappy <- application
 * so application writes are compressed first, then encrypted, then rate limited;
 * reads peel the layers in the opposite order. ufrpc_xform_wrap() builds exactly
 * that stack out of net/ratelimit.h, net/xform_crypt.h and net/xform_snappy.h.
 *
 * ---- filter streams ------------------------------------------------------------
 * A filter stream is a struct ufrpc_stream (net/stream.h) that owns a lower stream
 * and transforms bytes with a small sans-I/O codec (struct ufrpc_xform_ops):
 *
 * Writes: each upper write request is cut into pieces of at most
 * UFRPC_XFORM_BLOCK bytes (pieces never span two requests, so a codec sees the
 * same Write boundaries as Go's io.Writer would); each piece is encoded into one
 * output chunk and written to the lower stream. At most UFRPC_XFORM_MAX_INFLIGHT
 * chunks are in flight, so memory per direction is bounded by
 *     MAX_INFLIGHT * enc_bound(BLOCK) + one BLOCK of staging (only for pieces
 * that span two iovecs), whatever the size of the writes. A request completes
 * (in order) when the lower writes carrying its last piece have completed; a
 * request whose encoding produced no bytes completes after the ones before it.
 * queued() = bytes of requests accepted and not yet completed.
 * shutdown() = shutdown of the lower stream after every earlier write.
 *
 * Reads: every lower delivery is decoded into a 64 KiB refcounted buffer owned by
 * the filter (reused when the consumer kept no reference), and delivered as one
 * or more slices. If the consumer stops reading inside a callback, the undecoded
 * rest of the lower buffer is kept (one reference) and the lower stream is
 * paused; read_start resumes from there. A decoding error is delivered as that
 * status (then no more reads). At lower EOF ops->finish decides between
 * UFRPC_ERR_EOF and an error (e.g. a truncated snappy chunk).
 *
 * Lifetimes: as net/stream.h. The filter owns the lower stream and the codec
 * context (ops->free runs when the filter is freed, after its close callback);
 * closing the filter closes the lower stream. Constructors take ownership of the
 * lower stream even when they fail (it is closed then).
 */
#ifndef UFRPC_NET_XFORM_H
#define UFRPC_NET_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

struct ufrpc_ratelimit; /* net/ratelimit.h */

#define UFRPC_XFORM_BLOCK 65536u
#define UFRPC_XFORM_MAX_INFLIGHT 4u
/* Size of the decoded-output buffers; ops->decode always gets an empty one. */
#define UFRPC_XFORM_OUT_BUF 65536u

enum { UFRPC_XFORM_READ = 0, UFRPC_XFORM_WRITE = 1 };

/* A codec: all functions get the ctx given to ufrpc_xform_filter_new.
 * encode == NULL (then enc_bound unused): pass-through; the caller's bytes are
 * written as they are (no copy; pieces then also end at iovec boundaries).
 * decode == NULL: lower deliveries are passed up as they are (no copy). */
struct ufrpc_xform_ops {
    /* Upper bound of encode()'s output for len input bytes (state-independent
     * upper bound is fine). */
    size_t (*enc_bound)(void *ctx, size_t len);
    /* Encodes one piece (len <= UFRPC_XFORM_BLOCK, possibly 0 for an empty write)
     * into out[0..cap), cap >= enc_bound(len). *out_len may be 0. 0 or <0. */
    int (*encode)(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len);
    /* Decodes from in[0..len) into out[0..cap) (cap == UFRPC_XFORM_OUT_BUF, empty):
     * *consumed input bytes taken, *produced output bytes written. Must make
     * progress (consume or produce) when len > 0. 0 or <0 (fatal). */
    int (*decode)(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                  size_t *consumed, size_t *produced);
    /* Optional pacing (the bandwidth limiter), may be NULL: called once per output
     * chunk about to be written (dir UFRPC_XFORM_WRITE, its byte count) and once
     * per lower delivery before it is decoded (UFRPC_XFORM_READ); returns the
     * nanoseconds to wait before that chunk/delivery proceeds (0 = now). While
     * waiting, the direction is paused (no more lower reads / no more writes).
     * Reads are paced in slices of at most piece_max bytes. Only for
     * pass-through reads: delay != NULL requires decode == NULL. */
    uint64_t (*delay)(void *ctx, int dir, size_t len);
    /* Optional (NULL: UFRPC_XFORM_BLOCK): largest write piece, >= 1. */
    size_t (*piece_max)(void *ctx);
    /* At lower EOF: 0 (clean end) or <0. May be NULL (always clean). */
    int (*finish)(void *ctx);
    /* Frees ctx. May be NULL. */
    void (*free)(void *ctx);
};

/* Wraps lower with the codec. Takes ownership of lower and ctx in every case (on
 * failure both are released: lower closed, ops->free(ctx) called). NULL with *err
 * (UFRPC_ERR_NOMEM, libuv errors) on failure. The new stream's data is NULL. */
struct ufrpc_stream *ufrpc_xform_filter_new(struct ufrpc_stream *lower,
                                            const struct ufrpc_xform_ops *ops, void *ctx,
                                            int *err);

/* Builds frpc's work-stream stack over `stream` (docs/PROTOCOL.md §5.3):
 *   limiter != NULL  -> ufrpc_ratelimit_wrap(limiter, ...)   (closest to the wire)
 *   use_encryption   -> ufrpc_xform_crypt_new(..., key, ...)
 *   use_compression  -> ufrpc_xform_snappy_new(...)         (closest to the app)
 * key: the 16-byte PBKDF2 key (ufrpc_cfb_derive_key of auth.token for proxies, of
 * the secret key for visitors), used only when use_encryption; copied.
 * With nothing to do, *out = stream itself. Returns 0 and *out, or <0
 * (UFRPC_ERR_INVAL for use_encryption without a key, UFRPC_ERR_NOMEM, ...): then
 * stream (and any layer built so far) has been closed. */
int ufrpc_xform_wrap(struct ufrpc_stream *stream, bool use_encryption, const uint8_t key[16],
                     bool use_compression, struct ufrpc_ratelimit *limiter,
                     struct ufrpc_stream **out);

#endif
