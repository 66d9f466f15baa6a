/* ufrpc — AES-128-CFB stream adapter for per-proxy useEncryption (docs/PROTOCOL.md §5.3,
 * construction of §4.5), over any struct ufrpc_stream.
 *
 * Writes: the first write sends a fresh random 16-byte IV (in clear, in the same
 * lower write as the first ciphertext; golib sends it with its own Write, which is
 * the same byte stream) -- also for an empty first write, as golib does. After
 * that, one continuous CFB-128 keystream. Each write is encrypted into one
 * adapter-owned buffer per piece (no per-byte allocation, caller's bytes untouched).
 * Reads: the first 16 bytes from the peer are its IV, the rest is decrypted as one
 * stream into 64 KiB refcounted buffers. See net/xform.h for the buffering,
 * ordering and memory bounds shared with the compression adapter.
 *
 * Ownership: the adapter owns `lower` (closing it closes lower; on failure lower is
 * closed). The key is copied (and wiped when the adapter is freed).
 */
#ifndef UFRPC_NET_XFORM_CRYPT_H
#define UFRPC_NET_XFORM_CRYPT_H

#include <stdint.h>

#include "net/stream.h"
#include "proto/cfb.h"

/* key: 16 bytes from ufrpc_cfb_derive_key(secret) -- derive once per secret.
 * rng: IV source with the mbedTLS f_rng signature, or NULL for getrandom(2)
 * (rng_ctx must outlive the call only: the IV is drawn here). NULL with *err
 * (UFRPC_ERR_CRYPTO, UFRPC_ERR_NOMEM, ...) on failure. */
struct ufrpc_stream *ufrpc_xform_crypt_new(struct ufrpc_stream *lower,
                                           const uint8_t key[UFRPC_CFB_KEY_LEN],
                                           ufrpc_rng_fn rng, void *rng_ctx, int *err);

/* getrandom(2) with the ufrpc_rng_fn signature (ctx unused): 0 or non-zero. */
int ufrpc_xform_getrandom(void *ctx, unsigned char *buf, size_t len);

#endif
