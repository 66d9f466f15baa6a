#!/usr/bin/env bash
# build-static.sh [TARGET] [--tests]: ufrpc with every library linked statically,
# the libraries built here from Debian bookworm's source packages.
#
#   TARGET  musl (default): a fully static x86_64 binary (Debian's musl-tools);
#           armhf | arm64 | mipsel | mips: Debian's cross compilers (gcc-<triplet>),
#           glibc dynamic, everything else static; run under qemu-user.
#   --tests also build cmocka and ufrpc's unit tests (tests/cross/run.sh runs them).
#
# Needs (Debian packages): dpkg-dev (apt-get source), autoconf automake libtool
# (libsodium's tarball has no configure), cmake, pkg-config, python3, and for the target
# musl-tools or gcc-<triplet>. Sources come from deb.debian.org through apt with a
# private source list and state (nothing in /etc/apt changes); nothing is downloaded
# from anywhere else.
#
# Output: $UFRPC_STATIC_DIR (default build-static/) holds src/ (the unpacked source
# packages, shared by all targets), apt/ (the private apt state) and TARGET/:
# prefix/ (the static libraries), deps/ (their build trees), ufrpc/ (ufrpc's build tree)
# and ufrpc (the stripped binary). A second run reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET=musl
TESTS=0
for a in "$@"; do
    case $a in
    --tests) TESTS=1 ;;
    musl | armhf | arm64 | mipsel | mips) TARGET=$a ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build-static: unknown argument '$a' (targets: musl armhf arm64 mipsel mips)" >&2; exit 2 ;;
    esac
done

OUT=${UFRPC_STATIC_DIR:-$ROOT/build-static}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SRC=$OUT/src
T=$OUT/$TARGET
PREFIX=$T/prefix
TOOLCHAIN=$ROOT/cmake/toolchains/$TARGET.cmake
JOBS=${UFRPC_JOBS:-$(nproc)}
# Size first: every library and ufrpc with -Os, one section per function and object so
# that the link keeps only what is reached.
# No unwind tables: C without exceptions or backtraces needs none (-120 KB).
CFLAGS_DEPS="-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables"
export UFRPC_DEPS_PREFIX=$PREFIX

triplet=$(sed -n 's/^set(UFRPC_TRIPLET \(.*\))$/\1/p' "$TOOLCHAIN")
cc=$(sed -n 's/^set(CMAKE_C_COMPILER \(.*\))$/\1/p' "$TOOLCHAIN")

need() { # need PROGRAM PACKAGE
    command -v "$1" >/dev/null || {
        echo "build-static: '$1' is missing: apt-get install $2" >&2
        exit 1
    }
}
need "$cc" "$([ "$TARGET" = musl ] && echo musl-tools || echo "gcc-$triplet")"
need dpkg-source dpkg-dev
need autoreconf "autoconf automake libtool"
need libtoolize libtool
need cmake cmake
need pkg-config pkg-config
need python3 python3

step() { echo "== build-static [$TARGET] $*"; }

# ---- 1. Debian's source packages (bookworm, with its security updates)
SRCPKGS=(libuv1 mbedtls libsodium json-c libyaml)
[ "$TESTS" = 0 ] || SRCPKGS+=(cmocka)
srcdir() { # the unpacked tree of source package $1
    find "$SRC" -maxdepth 1 -type d -name "$1-[0-9]*" | sort | tail -n 1
}
fetch_sources() {
    local missing=() p
    for p in "${SRCPKGS[@]}"; do
        [ -n "$(srcdir "$p")" ] || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    step "apt-get source ${missing[*]}"
    local A=$OUT/apt
    mkdir -p "$A/lists/partial" "$A/parts" "$A/cache/archives/partial" "$SRC"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg
    cat >"$A/sources.list" <<EOF
deb-src [signed-by=$key] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$key] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=$key] http://deb.debian.org/debian-security bookworm-security main
EOF
    local opts=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/parts"
        -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "APT::Sandbox::User=$(id -un)")
    apt-get "${opts[@]}" update -qq
    (cd "$SRC" && apt-get "${opts[@]}" source -qq "${missing[@]}")
}
fetch_sources

# ---- 2. the libraries, static, into $PREFIX
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/include" "$T/deps"
# A library is rebuilt when the flags it was built with (held by its marker) change.
done_mark() { [ "$(cat "$T/deps/$1.done" 2>/dev/null)" = "$CFLAGS_DEPS" ]; }
mark_done() { echo "$CFLAGS_DEPS" >"$T/deps/$1.done"; }

cmake_dep() { # cmake_dep NAME SRCDIR [CMAKE ARGS...]: configure, build, install
    local name=$1 src=$2
    shift 2
    cmake -S "$src" -B "$T/deps/$name" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
        -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_POSITION_INDEPENDENT_CODE=OFF "$@" >"$T/deps/$name.log"
    cmake --build "$T/deps/$name" -j"$JOBS" >>"$T/deps/$name.log"
}

pc() { # pc NAME VERSION LIBS: a pkg-config file for a library in $PREFIX
    cat >"$PREFIX/lib/pkgconfig/$1.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: $1
Description: $1 (static, built by ufrpc's build-static.sh)
Version: $2
Libs: -L\${libdir} $3
Cflags: -I\${includedir}
EOF
}

if [ "$TARGET" = musl ]; then
    # musl-gcc searches only musl's headers; libuv also needs the kernel's, which are
    # the same for every libc.
    for d in linux asm-generic mtd; do
        [ -e "$PREFIX/include/$d" ] || ln -s "/usr/include/$d" "$PREFIX/include/$d"
    done
    [ -e "$PREFIX/include/asm" ] || ln -s "/usr/include/x86_64-linux-gnu/asm" "$PREFIX/include/asm"
    CFLAGS_DEPS="$CFLAGS_DEPS -isystem $PREFIX/include"
    # The libraries as LTO objects too (ar finds gcc's LTO plugin in
    # /usr/lib/bfd-plugins): the final link then drops and inlines across them.
    CFLAGS_DEPS="$CFLAGS_DEPS -flto"
fi

if ! done_mark libuv; then
    step "libuv"
    s=$(srcdir libuv1)
    cmake_dep libuv "$s" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
    cmake --build "$T/deps/libuv" --target uv_a -j"$JOBS" >>"$T/deps/libuv.log"
    cp "$T/deps/libuv/libuv_a.a" "$PREFIX/lib/libuv.a"
    cp -r "$s/include/." "$PREFIX/include/"
    pc libuv "$(basename "$s" | sed 's/.*-//')" "-luv -lpthread -ldl -lrt"
    mark_done libuv
fi

# Mbed TLS's default configuration without what ufrpc never uses: DTLS, PSK and static
# ECDH key exchanges, DHE (Go's TLS, so frps, has none), ciphers other than AES and
# ChaCha20 (cipher_wrap.c's table would link them all), curves other than P-256/384/521
# and X25519, CRL/CSR parsing, PKCS#12, PSA, self tests. ufrpc is compiled against the
# same config.h (installed into $PREFIX/include/mbedtls).
MBEDTLS_UNSET=(
    MBEDTLS_SSL_PROTO_DTLS MBEDTLS_SSL_DTLS_ANTI_REPLAY MBEDTLS_SSL_DTLS_HELLO_VERIFY
    MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE MBEDTLS_SSL_DTLS_BADMAC_LIMIT MBEDTLS_SSL_COOKIE_C
    MBEDTLS_KEY_EXCHANGE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_DHE_PSK_ENABLED
    MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED MBEDTLS_KEY_EXCHANGE_RSA_PSK_ENABLED
    MBEDTLS_KEY_EXCHANGE_ECDH_ECDSA_ENABLED MBEDTLS_KEY_EXCHANGE_ECDH_RSA_ENABLED
    MBEDTLS_KEY_EXCHANGE_ECJPAKE_ENABLED MBEDTLS_ECJPAKE_C
    MBEDTLS_KEY_EXCHANGE_DHE_RSA_ENABLED MBEDTLS_DHM_C
    MBEDTLS_ARIA_C MBEDTLS_CAMELLIA_C MBEDTLS_DES_C MBEDTLS_CCM_C MBEDTLS_BLOWFISH_C
    MBEDTLS_XTEA_C MBEDTLS_ARC4_C MBEDTLS_RIPEMD160_C MBEDTLS_PKCS12_C
    MBEDTLS_CIPHER_MODE_OFB MBEDTLS_CIPHER_MODE_XTS MBEDTLS_CIPHER_MODE_CFB
    MBEDTLS_ECP_DP_SECP192R1_ENABLED MBEDTLS_ECP_DP_SECP224R1_ENABLED
    MBEDTLS_ECP_DP_SECP192K1_ENABLED MBEDTLS_ECP_DP_SECP224K1_ENABLED
    MBEDTLS_ECP_DP_SECP256K1_ENABLED MBEDTLS_ECP_DP_BP256R1_ENABLED
    MBEDTLS_ECP_DP_BP384R1_ENABLED MBEDTLS_ECP_DP_BP512R1_ENABLED MBEDTLS_ECP_DP_CURVE448_ENABLED
    MBEDTLS_X509_CRL_PARSE_C MBEDTLS_X509_CSR_PARSE_C MBEDTLS_X509_CSR_WRITE_C
    MBEDTLS_PSA_CRYPTO_C MBEDTLS_PSA_CRYPTO_STORAGE_C MBEDTLS_PSA_ITS_FILE_C
    MBEDTLS_SELF_TEST MBEDTLS_VERSION_FEATURES MBEDTLS_SSL_CONTEXT_SERIALIZATION
    MBEDTLS_PADLOCK_C
    # What frps (Go's crypto/tls) and the https2* plugins' local clients never need:
    # TLS 1.2 only (ufrpc sets it as the minimum), ECDHE key exchange only (Go >= 1.22
    # offers no RSA key exchange; its servers always have ECDHE), AEAD suites only
    # (AES-GCM, ChaCha20-Poly1305: Go prefers them, and our record layer protects
    # nothing else), so no CBC or CTR modes, paddings, CBC record options,
    # renegotiation (Go's server never asks), ALPN, fragment-length or fallback
    # extensions; no debug messages (nothing sets a debug callback), no test certs.
    MBEDTLS_SSL_PROTO_TLS1 MBEDTLS_SSL_PROTO_TLS1_1 MBEDTLS_KEY_EXCHANGE_RSA_ENABLED
    MBEDTLS_CIPHER_MODE_CBC MBEDTLS_CIPHER_MODE_CTR MBEDTLS_CIPHER_PADDING_PKCS7
    MBEDTLS_CIPHER_PADDING_ONE_AND_ZEROS MBEDTLS_CIPHER_PADDING_ZEROS_AND_LEN
    MBEDTLS_CIPHER_PADDING_ZEROS MBEDTLS_SSL_CBC_RECORD_SPLITTING MBEDTLS_SSL_ENCRYPT_THEN_MAC
    MBEDTLS_SSL_TRUNCATED_HMAC MBEDTLS_SSL_RENEGOTIATION MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
    MBEDTLS_SSL_FALLBACK_SCSV MBEDTLS_SSL_ALPN MBEDTLS_SSL_ALL_ALERT_MESSAGES
    MBEDTLS_SSL_RECORD_CHECKING MBEDTLS_DEBUG_C MBEDTLS_PK_RSA_ALT_SUPPORT
    MBEDTLS_PK_PARSE_EC_EXTENDED MBEDTLS_CERTS_C MBEDTLS_NET_C MBEDTLS_TIMING_C
    MBEDTLS_SSL_CACHE_C
)
# Not LTO objects: ld's --wrap of the certificate parsers (net/x509_fill.c) does not
# reach calls between two LTO objects, and frps's certificate would not parse.
MBEDTLS_CFLAGS="$CFLAGS_DEPS -fno-lto"
# (rebuilt when the list or the flags change: the marker holds those it was built with)
if [ "$(cat "$T/deps/mbedtls.done" 2>/dev/null)" != "$MBEDTLS_CFLAGS ${MBEDTLS_UNSET[*]}" ]; then
    step "mbedtls"
    s=$(srcdir mbedtls)
    # -iquote: found before the source tree's own include/mbedtls/config.h
    mkdir -p "$T/deps/mbedtls-config/mbedtls"
    cfg=$T/deps/mbedtls-config/mbedtls/config.h
    cp "$s/include/mbedtls/config.h" "$cfg"
    for o in "${MBEDTLS_UNSET[@]}"; do python3 "$s/scripts/config.py" -f "$cfg" unset "$o"; done
    cmake_dep mbedtls "$s" -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
        -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
        -DMBEDTLS_FATAL_WARNINGS=OFF -DCMAKE_C_FLAGS="$MBEDTLS_CFLAGS -iquote $T/deps/mbedtls-config"
    cmake --install "$T/deps/mbedtls" >>"$T/deps/mbedtls.log"
    cp "$cfg" "$PREFIX/include/mbedtls/config.h"
    echo "$MBEDTLS_CFLAGS ${MBEDTLS_UNSET[*]}" >"$T/deps/mbedtls.done"
fi

if ! done_mark json-c; then
    step "json-c"
    s=$(srcdir json-c)
    cmake_dep json-c "$s" -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_TESTING=OFF \
        -DDISABLE_WERROR=ON -DDISABLE_EXTRA_LIBS=ON -DBUILD_APPS=OFF
    cmake --install "$T/deps/json-c" >>"$T/deps/json-c.log"
    pc json-c "$(basename "$s" | sed 's/.*-//')" "-ljson-c"
    sed -i 's|^Cflags:.*|Cflags: -I${includedir} -I${includedir}/json-c|' "$PREFIX/lib/pkgconfig/json-c.pc"
    mark_done json-c
fi

if ! done_mark libyaml; then
    step "libyaml"
    s=$(srcdir libyaml)
    cmake_dep libyaml "$s" -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF -DINSTALL_CMAKE_DIR=lib/cmake/yaml
    cmake --install "$T/deps/libyaml" >>"$T/deps/libyaml.log"
    pc yaml-0.1 "$(basename "$s" | sed 's/.*-//')" "-lyaml"
    mark_done libyaml
fi

if ! done_mark libsodium; then
    step "libsodium"
    s=$(srcdir libsodium)
    # The orig tarball has no configure script (Debian runs autoreconf too).
    [ -x "$s/configure" ] || (cd "$s" && autoreconf -fi >"$T/deps/libsodium-autoreconf.log" 2>&1)
    host=()
    [ "$TARGET" = musl ] || host=(--host="$triplet")
    rm -rf "$T/deps/libsodium" # make does not rebuild objects for new CFLAGS
    mkdir -p "$T/deps/libsodium"
    (cd "$T/deps/libsodium" &&
        CC="$cc" CFLAGS="$CFLAGS_DEPS" "$s/configure" "${host[@]}" --prefix="$PREFIX" \
            --libdir="$PREFIX/lib" --disable-shared --enable-static --enable-minimal \
            --disable-pie --without-pthreads >"$T/deps/libsodium.log" &&
        make -j"$JOBS" >>"$T/deps/libsodium.log" && make install >>"$T/deps/libsodium.log")
    mark_done libsodium
fi

if [ "$TESTS" = 1 ] && ! done_mark cmocka; then
    step "cmocka"
    s=$(srcdir cmocka)
    cmake_dep cmocka "$s" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
    cmake --build "$T/deps/cmocka" --target cmocka-static -j"$JOBS" >>"$T/deps/cmocka.log"
    cp "$(find "$T/deps/cmocka" -name 'libcmocka-static.a' | head -n 1)" "$PREFIX/lib/libcmocka.a"
    cp "$s/include/cmocka.h" "$PREFIX/include/"
    pc cmocka "$(basename "$s" | sed 's/.*-//')" "-lcmocka"
    mark_done cmocka
fi
# Only the static archives may be found.
find "$PREFIX/lib" -name '*.so*' -delete

# ---- 3. ufrpc
step "ufrpc"
B=$T/build
ldflags="-Wl,--gc-sections"
[ "$TARGET" != musl ] || ldflags="$ldflags -static"
# sodium_init() without the pickers of primitives ufrpc never calls (-100 KB; see
# cmake/static/sodium_unused.c).
# (not an LTO object: ld's --wrap does not see definitions inside LTO objects)
"$cc" $CFLAGS_DEPS -fno-lto -c "$ROOT/cmake/static/sodium_unused.c" -o "$T/sodium_unused.o"
for f in pwhash_argon2 generichash_blake2b scalarmult_curve25519 stream_salsa20; do
    ldflags="$ldflags -Wl,--wrap=_crypto_${f}_pick_best_implementation"
done
ldflags="$ldflags $T/sodium_unused.o"
cmake -S "$ROOT" -B "$B" -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCMAKE_C_FLAGS="$CFLAGS_DEPS" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DUFRPC_TESTS=$([ "$TESTS" = 1 ] && echo ON || echo OFF) -DUFRPC_WERROR=ON >"$T/ufrpc-cmake.log"
cmake --build "$B" -j"$JOBS" --target ufrpc
if [ "$TESTS" = 1 ]; then
    # the unit tests only: the e2e suites' helpers (test frps, tools) run natively
    mapfile -t units < <(cd "$ROOT/tests/unit" && ls test_*.c | sed 's/\.c$//')
    cmake --build "$B" -j"$JOBS" --target "${units[@]}"
fi
"$triplet-strip" -o "$T/ufrpc" "$B/ufrpc" 2>/dev/null || strip -o "$T/ufrpc" "$B/ufrpc"
step "done: $T/ufrpc ($(stat -c %s "$T/ufrpc") bytes stripped)"
file "$T/ufrpc" 2>/dev/null || true
