# mips: Debian's cross compiler (gcc-mips-linux-gnu), glibc linked dynamically, every other
# library static; binaries run under qemu-user (qemu-mips). See common.cmake.
set(CMAKE_SYSTEM_PROCESSOR mips)
set(UFRPC_TRIPLET mips-linux-gnu)
set(CMAKE_C_COMPILER mips-linux-gnu-gcc)
set(UFRPC_QEMU qemu-mips)
set(UFRPC_QEMU_LD_PREFIX /usr/mips-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
