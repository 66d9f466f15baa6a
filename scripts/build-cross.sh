#!/usr/bin/env bash
# build-cross.sh TARGET [--tests]: ufrpc for another CPU from Debian's cross compiler
# and the target architecture's own -dev packages (multiarch), in minutes: nothing is
# built but ufrpc (and its unit tests with --tests).
#
#   TARGET  armhf | arm64 | mipsel (Debian's architecture names; bookworm has no
#           big-endian mips port, whose build stays with scripts/build-static.sh mips).
#   --tests also build ufrpc's unit tests (tests/cross/run.sh runs them under qemu-user).
#
# Needs (Debian packages; it names the missing ones; scripts/install-deps.sh installs
# them): the architecture added to dpkg (dpkg --add-architecture
# TARGET), gcc-<triplet>, and libuv1-dev libmbedtls-dev libsodium-dev libjson-c-dev
# libyaml-dev (and libcmocka-dev with --tests), each :TARGET.
# The toolchain file cmake/toolchains/TARGET.cmake points pkg-config at
# /usr/lib/<triplet>/pkgconfig only (PKG_CONFIG_LIBDIR) and find_library at
# lib/<triplet>, and sets CMAKE_CROSSCOMPILING_EMULATOR to qemu-user with the cross
# libc (-L /usr/<triplet>); the libraries are found at run time in /usr/lib/<triplet>.
#
# Build: MinSizeRel (-Os, --gc-sections) as for routers, but without LTO (it would
# be paid again at each of the ~80 test programs' links); the TLS record AEADs from
# libsodium (UFRPC_AEAD=sodium, the routers' choice). QUIC is off (UFRPC_QUIC=OFF:
# "quic" fails at start-up with a clear message): ngtcp2's GnuTLS helper needs
# libgnutls28-dev:TARGET, 43 packages (26 MB) that also upgrade the build machine's own
# linux-libc-dev, krb5 and e2fsprogs to the same version, and that bookworm cannot
# install for mipsel (unmet dependencies of libc6-dev:mipsel, libkrb5-3:mipsel).
#
# Output: $UFRPC_CROSS_DIR (default build-cross/) TARGET/build (ufrpc's build tree)
# and TARGET/ufrpc (stripped). A second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET=""
TESTS=0
for a in "$@"; do
    case $a in
    --tests) TESTS=1 ;;
    armhf | arm64 | mipsel) TARGET=$a ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "build-cross: unknown argument '$a' (targets: armhf arm64 mipsel)" >&2; exit 2 ;;
    esac
done
[ -n "$TARGET" ] || { echo "build-cross: which target? (armhf arm64 mipsel)" >&2; exit 2; }

OUT=${UFRPC_CROSS_DIR:-$ROOT/build-cross}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T=$OUT/$TARGET
B=$T/build
TOOLCHAIN=$ROOT/cmake/toolchains/$TARGET.cmake
JOBS=${UFRPC_JOBS:-$(nproc)}
triplet=$(sed -n 's/^set(UFRPC_TRIPLET \(.*\))$/\1/p' "$TOOLCHAIN")

# the packages this build needs, for the message when one is missing
cross_pkgs() {
    local p
    echo "gcc-$triplet"
    for p in libuv1-dev libmbedtls-dev libsodium-dev libjson-c-dev libyaml-dev; do
        echo "$p:$TARGET"
    done
    [ "$TESTS" = 0 ] || echo "libcmocka-dev:$TARGET"
}
missing=()
while read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done < <(cross_pkgs)
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-cross: missing Debian packages; run (as root):" >&2
    dpkg --print-foreign-architectures | grep -qx "$TARGET" ||
        echo "  dpkg --add-architecture $TARGET && apt-get update" >&2
    echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
# UFRPC_DEPS_PREFIX selects build-static.sh's route in the toolchain file
unset UFRPC_DEPS_PREFIX

step() { echo "== build-cross [$TARGET] $*"; }
# Ninja when installed: one build graph for ufrpc and ~80 test programs. With
# Makefiles every --target is a separate, serialized make that rescans all of the
# layers' dependencies: 2.5 min wall (2 min CPU) on this machine when nothing changed.
gen=()
if command -v ninja >/dev/null; then
    gen=(-G Ninja)
    [ ! -f "$B/CMakeCache.txt" ] || grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$B/CMakeCache.txt" ||
        rm -rf "$B"
fi
step "configure"
# -Wl,--wrap et al. are not needed: Debian's Mbed TLS is shared, as on the build machine.
nice cmake -S "$ROOT" -B "$B" "${gen[@]}" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF -DUFRPC_AEAD=sodium -DUFRPC_QUIC=OFF -DUFRPC_BENCH=OFF \
    -DUFRPC_TESTS=$([ "$TESTS" = 1 ] && echo ON || echo OFF) -DUFRPC_WERROR=ON >"$T.cmake.log" ||
    { cat "$T.cmake.log"; exit 1; }
grep -E 'ufrpc: (TLS|QUIC)' "$T.cmake.log" || true
step "ufrpc"
targets=(ufrpc)
if [ "$TESTS" = 1 ]; then
    # the unit tests only: the e2e suites' helpers (test frps, tools) run natively
    mapfile -t units < <(cd "$ROOT/tests/unit" && ls test_*.c | sed 's/\.c$//')
    targets+=("${units[@]}")
    step "and ${#units[@]} unit test programs"
fi
nice cmake --build "$B" -j"$JOBS" --target "${targets[@]}"
"$triplet-strip" -o "$T/ufrpc" "$B/ufrpc"
step "done: $T/ufrpc ($(stat -c %s "$T/ufrpc") bytes stripped)"
file "$T/ufrpc" 2>/dev/null || true
