/* proto/cpu.h: the CPU features read with cpuid (x86) or the kernel's hwcaps
 * (arm64) agree with what the compiler's runtime or the kernel report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/cpu.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static void test_cpu_features(void **state)
{
    (void)state;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_AES), !!__builtin_cpu_supports("aes"));
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_CLMUL), !!__builtin_cpu_supports("pclmul"));
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_SSSE3), !!__builtin_cpu_supports("ssse3"));
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_SSE41), !!__builtin_cpu_supports("sse4.1"));
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_SSE42), !!__builtin_cpu_supports("sse4.2"));
#elif defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_AES), (hw & (1 << 3)) != 0);
    assert_int_equal(ufrpc_cpu_has(UFRPC_CPU_CLMUL), (hw & (1 << 4)) != 0);
    assert_false(ufrpc_cpu_has(UFRPC_CPU_SSE42));
#else
    assert_false(ufrpc_cpu_has(UFRPC_CPU_AES));
    assert_false(ufrpc_cpu_has(UFRPC_CPU_SSE42));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
