# musl: a fully static x86_64 binary with Debian's musl-tools (musl-gcc). The binaries
# run natively, no emulator. See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(UFRPC_TRIPLET x86_64-linux-musl)
set(CMAKE_C_COMPILER musl-gcc)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
