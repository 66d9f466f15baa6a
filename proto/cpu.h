/* ufrpc — what the CPU offers, for the code paths that pick hardware instructions
 * (AES-GCM preference, CRC-32C). One home for the CPU checks: cpuid on x86 (no
 * __builtin_cpu_supports: that links libgcc's 5 KB CPU model table), the kernel's
 * hwcaps on arm64. Pure queries: nothing is kept, any thread may call. */
#ifndef UFRPC_PROTO_CPU_H
#define UFRPC_PROTO_CPU_H

#include <stdbool.h>

enum ufrpc_cpu_feature {
    UFRPC_CPU_AES,    /* AES round instructions (x86 AES-NI, arm64 AES) */
    UFRPC_CPU_CLMUL,  /* carry-less multiply (x86 PCLMULQDQ, arm64 PMULL) */
    UFRPC_CPU_SSSE3,  /* x86 only */
    UFRPC_CPU_SSE41,  /* x86 only */
    UFRPC_CPU_SSE42,  /* x86 only: the CRC32 instruction */
};

/* True when this CPU has f; false for a feature of another architecture. */
bool ufrpc_cpu_has(enum ufrpc_cpu_feature f);

#endif
