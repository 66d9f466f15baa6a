# arm64: Debian's cross compiler (gcc-aarch64-linux-gnu), glibc linked dynamically, every other
# library static; binaries run under qemu-user (qemu-aarch64). See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(UFRPC_TRIPLET aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(UFRPC_QEMU qemu-aarch64)
set(UFRPC_QEMU_LD_PREFIX /usr/aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
