/* ufrpc — CRC-32C (Castagnoli) and snappy's masked form. Pure functions, no state.
 * Uses the SSE4.2 crc32 instruction on x86-64 when the CPU has it, otherwise a
 * slicing-by-8 table; both give identical results. */
#ifndef UFRPC_PROTO_CRC32C_H
#define UFRPC_PROTO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc = ufrpc_crc32c_update(0, a, n) then (crc, b, m) equals the
 * CRC of a||b. ufrpc_crc32c(p, n) == ufrpc_crc32c_update(0, p, n). Each call asks
 * the CPU which path to take (cpuid, several microseconds inside a VM): callers that
 * checksum a stream pick once with ufrpc_crc32c_pick() and keep the function. */
uint32_t ufrpc_crc32c_update(uint32_t crc, const uint8_t *p, size_t len);
uint32_t ufrpc_crc32c(const uint8_t *p, size_t len);

/* The table-driven path only (tests compare it against the hardware path). */
uint32_t ufrpc_crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t len);

/* The update function for this CPU (the hardware or the table path); the same
 * results either way. */
typedef uint32_t (*ufrpc_crc32c_fn)(uint32_t crc, const uint8_t *p, size_t len);
ufrpc_crc32c_fn ufrpc_crc32c_pick(void);

/* ufrpc_crc32c_masked with an update function from ufrpc_crc32c_pick(). */
uint32_t ufrpc_crc32c_masked_with(ufrpc_crc32c_fn f, const uint8_t *p, size_t len);

/* Snappy framing checksum: ((c >> 15) | (c << 17)) + 0xa282ead8 of c = crc32c(p). */
uint32_t ufrpc_crc32c_masked(const uint8_t *p, size_t len);

#endif
