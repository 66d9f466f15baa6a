/* CRC-32C, see crc32c.h. */
#include "proto/crc32c.h"

#include <string.h>

#include "proto/cpu.h"

/* UFRPC_CRC32C_SMALL (CMake option of the same name): one table, one byte per step
 * (about 4x slower where there is no CRC instruction, 7 KiB smaller). */
#if UFRPC_CRC32C_SMALL
#define UFRPC_CRC32C_SLICES 1
#else
#define UFRPC_CRC32C_SLICES 8
#endif
#include "proto/crc32c_table.h"

uint32_t ufrpc_crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t len)
{
    uint32_t c = ~crc;
#if UFRPC_CRC32C_SLICES == 8
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= c;
        c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
            crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
            crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
            crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
#endif
    while (len > 0) {
        c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW_CRC 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p,
                                                         size_t len)
{
    uint64_t c = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    return ~(uint32_t)c;
}
#endif

ufrpc_crc32c_fn ufrpc_crc32c_pick(void)
{
#ifdef HAVE_HW_CRC
    if (ufrpc_cpu_has(UFRPC_CPU_SSE42))
        return crc_hw;
#endif
    return ufrpc_crc32c_update_portable;
}

uint32_t ufrpc_crc32c_update(uint32_t crc, const uint8_t *p, size_t len)
{
    return ufrpc_crc32c_pick()(crc, p, len);
}

uint32_t ufrpc_crc32c(const uint8_t *p, size_t len)
{
    return ufrpc_crc32c_update(0, p, len);
}

uint32_t ufrpc_crc32c_masked_with(ufrpc_crc32c_fn f, const uint8_t *p, size_t len)
{
    uint32_t c = f(0, p, len);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

uint32_t ufrpc_crc32c_masked(const uint8_t *p, size_t len)
{
    return ufrpc_crc32c_masked_with(ufrpc_crc32c_pick(), p, len);
}
