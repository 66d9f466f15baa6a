/* fuzz/fuzz_check.h — shared by the fuzz targets: CHECK(c) traps (a crash libFuzzer
 * reports with the input) when a property c of the code under test does not hold.
 * Also declares the libFuzzer entry point each target defines. */
#ifndef UFRPC_FUZZ_CHECK_H
#define UFRPC_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c))                                                                         \
            __builtin_trap();                                                             \
    } while (0)

#endif
