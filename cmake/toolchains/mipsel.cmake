# mipsel: Debian's cross compiler (gcc-mipsel-linux-gnu), glibc linked dynamically, every other
# library static; binaries run under qemu-user (qemu-mipsel). See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR mipsel)
set(UFRPC_TRIPLET mipsel-linux-gnu)
set(CMAKE_C_COMPILER mipsel-linux-gnu-gcc)
set(UFRPC_QEMU qemu-mipsel)
set(UFRPC_QEMU_LD_PREFIX /usr/mipsel-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
