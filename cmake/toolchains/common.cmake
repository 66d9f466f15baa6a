# Shared part of ufrpc's toolchain files (cmake/toolchains/<target>.cmake), which
# scripts/build-static.sh passes to CMake for ufrpc and for the libraries it builds
# from Debian's source packages. Each target file sets UFRPC_TRIPLET, the compiler
# and UFRPC_QEMU (the qemu-user program that runs its binaries) before including this.
#
# Two routes, chosen by UFRPC_DEPS_PREFIX (cache variable or environment):
#  - set (scripts/build-static.sh): the folder holding the static libraries built for
#    the target from Debian's source packages; find_* and pkg-config look there only;
#  - unset (scripts/build-cross.sh): Debian multiarch, the target's own -dev packages
#    (libuv1-dev:arm64, ...) in /usr/lib/<triplet>; pkg-config reads only that
#    architecture's .pc files and find_library searches lib/<triplet> only.
# Either way the build machine's own libraries are never picked up.
set(CMAKE_SYSTEM_NAME Linux)
if(NOT UFRPC_DEPS_PREFIX AND DEFINED ENV{UFRPC_DEPS_PREFIX})
  set(UFRPC_DEPS_PREFIX "$ENV{UFRPC_DEPS_PREFIX}")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES UFRPC_DEPS_PREFIX)
if(UFRPC_DEPS_PREFIX)
  set(CMAKE_FIND_ROOT_PATH "${UFRPC_DEPS_PREFIX}")
  set(ENV{PKG_CONFIG_LIBDIR} "${UFRPC_DEPS_PREFIX}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
elseif(UFRPC_TRIPLET MATCHES "-linux-gnu")
  set(CMAKE_LIBRARY_ARCHITECTURE ${UFRPC_TRIPLET})
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${UFRPC_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# CTest runs the target's test programs through qemu-user; glibc targets find their
# dynamic loader and libc in Debian's cross libc package (/usr/<triplet>) unless the
# architecture's own libc6:ARCH is installed (the multiarch route needs it): then "/",
# the loader and libc of that one package. The cross loader under -L /usr/<triplet>
# would search /lib/<triplet> first and pair itself with that other libc.so.6
# (2.36-8cross1 with 2.36-9+deb12u14 on bookworm): threads then crash or hang at
# pthread_create (tests/cross/run.sh's tunnel wrapper applies the same rule).
if(UFRPC_QEMU_LD_PREFIX AND EXISTS "/lib/${UFRPC_TRIPLET}/libc.so.6")
  set(UFRPC_QEMU_LD_PREFIX /)
endif()
if(UFRPC_QEMU)
  if(UFRPC_QEMU_LD_PREFIX)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${UFRPC_QEMU} -L ${UFRPC_QEMU_LD_PREFIX})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${UFRPC_QEMU})
  endif()
endif()
