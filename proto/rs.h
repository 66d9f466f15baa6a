/* ufrpc — systematic Reed–Solomon erasure code over GF(2^8), the code kcp-go's
 * FEC uses (klauspost/reedsolomon v1.12's default matrix, docs/PROTOCOL.md §1.4):
 * field polynomial x^8+x^4+x^3+x^2+1 (0x11d), generator 2; the encoding matrix is
 * the (data+parity) x data Vandermonde matrix V[r][c] = r^c multiplied by the
 * inverse of its top data x data square, so data shards pass unchanged and any
 * `data` of the data+parity shards determine the rest.
 *
 * A codec is a caller-owned struct filled by ufrpc_rs_init; it holds its tables
 * and matrix by value (no allocation, no globals) and is read-only afterwards, so
 * one codec may serve any number of encodes and decodes. Shards are caller
 * buffers of one common length.
 */
#ifndef UFRPC_PROTO_RS_H
#define UFRPC_PROTO_RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UFRPC_RS_MAX_DATA 32u
#define UFRPC_RS_MAX_PARITY 16u
#define UFRPC_RS_MAX_SHARDS (UFRPC_RS_MAX_DATA + UFRPC_RS_MAX_PARITY)

struct ufrpc_rs {
    unsigned data, parity;
    uint8_t exp[512];
    uint8_t log[256];
    /* rows data..data+parity-1 of the encoding matrix */
    uint8_t parity_rows[UFRPC_RS_MAX_PARITY][UFRPC_RS_MAX_DATA];
};

/* 0, or UFRPC_ERR_INVAL when data is 0 or over UFRPC_RS_MAX_DATA, or parity is 0
 * or over UFRPC_RS_MAX_PARITY. */
int ufrpc_rs_init(struct ufrpc_rs *rs, unsigned data, unsigned parity);

/* The element (row, col) of the encoding matrix, row < data+parity, col < data
 * (for tests and documentation). */
uint8_t ufrpc_rs_matrix_at(const struct ufrpc_rs *rs, unsigned row, unsigned col);

/* Computes the parity shards from the data shards: shards[0..data-1] are read,
 * shards[data..data+parity-1] written, each len bytes. */
void ufrpc_rs_encode(const struct ufrpc_rs *rs, uint8_t *const *shards, size_t len);

/* Rebuilds the missing data shards. shards has data+parity entries of len bytes
 * each (every entry a writable buffer); present[i] says which hold received
 * bytes. Missing data shards are written; parity shards are never written.
 * 0, or UFRPC_ERR_KCP_FEC when fewer than `data` shards are present. */
int ufrpc_rs_reconstruct_data(const struct ufrpc_rs *rs, uint8_t *const *shards,
                              const bool *present, size_t len);

#endif
