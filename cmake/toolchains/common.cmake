# Shared part of ufrpc's toolchain files (cmake/toolchains/<target>.cmake), which
# scripts/build-static.sh passes to CMake for ufrpc and for the libraries it builds
# from Debian's source packages. Each target file sets UFRPC_TRIPLET, the compiler
# and UFRPC_QEMU (the qemu-user program that runs its binaries) before including this.
#
# UFRPC_DEPS_PREFIX (cache variable or environment) names the folder holding the
# static libraries built for the target; find_* and pkg-config look there only, so
# the build machine's own libraries are never picked up.
set(CMAKE_SYSTEM_NAME Linux)
if(NOT UFRPC_DEPS_PREFIX AND DEFINED ENV{UFRPC_DEPS_PREFIX})
  set(UFRPC_DEPS_PREFIX "$ENV{UFRPC_DEPS_PREFIX}")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES UFRPC_DEPS_PREFIX)
if(UFRPC_DEPS_PREFIX)
  set(CMAKE_FIND_ROOT_PATH "${UFRPC_DEPS_PREFIX}")
  set(ENV{PKG_CONFIG_LIBDIR} "${UFRPC_DEPS_PREFIX}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# CTest runs the target's test programs through qemu-user; glibc targets find their
# dynamic loader and libc in Debian's cross libc package (/usr/<triplet>).
if(UFRPC_QEMU)
  if(UFRPC_QEMU_LD_PREFIX)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${UFRPC_QEMU} -L ${UFRPC_QEMU_LD_PREFIX})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${UFRPC_QEMU})
  endif()
endif()
