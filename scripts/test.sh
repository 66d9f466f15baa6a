#!/usr/bin/env bash
# README's test command: the whole suite.
#   1. normal build, every CTest test;
#   2. the same tests in an ASan+UBSan build (skip with UFRPC_SKIP_SANITIZE=1);
#   2b. the "tiny" preset (seventeen features left out, LTO): built with the unit tests
#      that apply, its size checked (<= 300 000 bytes stripped), those tests, a TLS +
#      tcpMux tunnel and every left-out key and command refused by name
#      (tests/tiny/run.sh; 80 s of CPU, ~40 s on 2 idle cores; skip with UFRPC_SKIP_TINY=1);
#   3. a short libFuzzer smoke run of every fuzz target (UFRPC_FUZZ_SECONDS each,
#      default 6; skip with UFRPC_SKIP_FUZZ=1);
#   4. one cross target under qemu-user (skip with UFRPC_SKIP_CROSS=1): arm64, armhf or
#      mipsel, chosen by the commit's hash so that successive runs cover all three,
#      built with Debian's cross compiler and that architecture's -dev packages
#      (scripts/build-cross.sh, installed by scripts/install-deps.sh), its unit tests
#      through qemu-user and a TLS+tcpMux tunnel (tests/cross/run.sh). 70-100 s on
#      this 2-core machine from scratch (build ~40 s with Ninja, unit tests 25-55 s,
#      tunnel 2 s; 2-2.6 min of CPU; README, "Static and cross builds").
#      With UFRPC_CROSS=1 every target instead (tests/cross/run.sh --install): also the
#      static musl build and big-endian mips through scripts/build-static.sh (libraries
#      from Debian's source packages: 40 min wall a target; UFRPC_CROSS_TARGETS="..."
#      narrows it), as a separate CI job.
# Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
# Most tests wait on sockets and timers, not on the CPU: twice as many at once as
# there are cores (every wait in them is on an event with a generous deadline).
TEST_JOBS=${UFRPC_TEST_JOBS:-$((JOBS * 2))}

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUFRPC_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
echo "== tests"
(cd build && ctest --output-on-failure -j"$TEST_JOBS")

if [ "${UFRPC_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build (ASan+UBSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DUFRPC_SANITIZE=ON -DUFRPC_WERROR=ON \
    -DUFRPC_AEAD=sodium >/dev/null
  cmake --build build-asan -j"$JOBS"
  echo "== tests under ASan+UBSan"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     UFRPC_SANITIZED=1 ctest --output-on-failure -j"$TEST_JOBS")
fi

if [ "${UFRPC_SKIP_TINY:-0}" != 1 ]; then
  echo "== tiny preset (UFRPC_SKIP_TINY=1 skips it)"
  UFRPC_NATIVE_BUILD=$PWD/build UFRPC_TEST_JOBS=$TEST_JOBS tests/tiny/run.sh
fi

if [ "${UFRPC_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke"
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DUFRPC_FUZZ=ON -DUFRPC_WERROR=ON >/dev/null
  cmake --build build-fuzz -j"$JOBS"
  fuzz/run-smoke.sh build-fuzz "${UFRPC_FUZZ_SECONDS:-6}"
fi
if [ "${UFRPC_CROSS:-0}" = 1 ]; then
  echo "== cross builds under qemu-user (every target)"
  UFRPC_NATIVE_BUILD=$PWD/build tests/cross/run.sh --install
elif [ "${UFRPC_SKIP_CROSS:-0}" != 1 ]; then
  echo "== cross build under qemu-user (one target; UFRPC_SKIP_CROSS=1 skips it)"
  UFRPC_NATIVE_BUILD=$PWD/build UFRPC_CROSS_TARGETS=rotate UFRPC_TEST_JOBS=$TEST_JOBS \
    tests/cross/run.sh
fi
echo "== all tests passed"
