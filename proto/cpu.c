/* CPU features: see cpu.h. */
#include "proto/cpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define UFRPC_CPU_X86 1
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define UFRPC_CPU_ARM64 1
#ifndef HWCAP_AES
#define HWCAP_AES (1 << 3)
#endif
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1 << 4)
#endif
#endif

bool ufrpc_cpu_has(enum ufrpc_cpu_feature f)
{
#if UFRPC_CPU_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) /* leaf 1, ECX: Intel SDM vol. 2A, CPUID */
        return false;
    switch (f) {
    case UFRPC_CPU_AES: return (c >> 25) & 1;
    case UFRPC_CPU_CLMUL: return (c >> 1) & 1;
    case UFRPC_CPU_SSSE3: return (c >> 9) & 1;
    case UFRPC_CPU_SSE41: return (c >> 19) & 1;
    case UFRPC_CPU_SSE42: return (c >> 20) & 1;
    }
    return false;
#elif UFRPC_CPU_ARM64
    unsigned long hw = getauxval(AT_HWCAP);
    switch (f) {
    case UFRPC_CPU_AES: return (hw & HWCAP_AES) != 0;
    case UFRPC_CPU_CLMUL: return (hw & HWCAP_PMULL) != 0;
    default: return false;
    }
#else
    (void)f;
    return false;
#endif
}
