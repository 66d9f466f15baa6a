# musl: a fully static x86_64 binary with Debian's musl-tools (musl-gcc). The binaries
# run natively, no emulator. See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(UFRPC_TRIPLET x86_64-linux-musl)
set(CMAKE_C_COMPILER musl-gcc)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
# musl-gcc wraps the build machine's gcc: archives of LTO objects (MinSizeRel turns
# LTO on) need that gcc's gcc-ar and gcc-ranlib, which CMake does not find by the
# wrapper's name; without them check_ipo_supported fails and LTO stays off.
find_program(CMAKE_C_COMPILER_AR gcc-ar)
find_program(CMAKE_C_COMPILER_RANLIB gcc-ranlib)
