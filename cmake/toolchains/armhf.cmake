# armhf: Debian's cross compiler (gcc-arm-linux-gnueabihf), glibc linked dynamically, every other
# library static; binaries run under qemu-user (qemu-arm). See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(UFRPC_TRIPLET arm-linux-gnueabihf)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(UFRPC_QEMU qemu-arm)
set(UFRPC_QEMU_LD_PREFIX /usr/arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
