/* ufrpc — CRC-32C (Castagnoli) and snappy's masked form. Pure functions, no state.
 * Uses the SSE4.2 crc32 instruction on x86-64 when the CPU has it, otherwise a
 * slicing-by-8 table; both give identical results. */
#ifndef UFRPC_PROTO_CRC32C_H
#define UFRPC_PROTO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc = ufrpc_crc32c_update(0, a, n) then (crc, b, m) equals the
 * CRC of a||b. ufrpc_crc32c(p, n) == ufrpc_crc32c_update(0, p, n). */
uint32_t ufrpc_crc32c_update(uint32_t crc, const uint8_t *p, size_t len);
uint32_t ufrpc_crc32c(const uint8_t *p, size_t len);

/* The table-driven path only (tests compare it against the hardware path). */
uint32_t ufrpc_crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t len);

/* Snappy framing checksum: ((c >> 15) | (c << 17)) + 0xa282ead8 of c = crc32c(p). */
uint32_t ufrpc_crc32c_masked(const uint8_t *p, size_t len);

#endif
