#!/usr/bin/env bash
# Installs libufrpc into a temporary prefix (cmake --install), builds
# examples/embed/embed.c against it twice (pkg-config's ufrpc.pc, and CMake's
# find_package(ufrpc)), and runs the pkg-config build through the test frps (TLS, its
# default generated certificate): proxy-1 runs, proxy-2 is added and runs, a payload
# crosses the second tunnel, SIGINT ends it with exit 0. In a BUILD_SHARED_LIBS build
# the example runs on libufrpc.so: the TLS login also proves that net/x509_fill.c's
# interposition (exported by the library) reaches Mbed TLS.
source "$UFRPC_SOURCE_DIR/tests/e2e/lib.sh"
PREFIX=$WORK/prefix
cmake --install "$UFRPC_BUILD_DIR" --component lib --prefix "$PREFIX" >"$WORK/install.log" 2>&1 ||
    { cat "$WORK/install.log"; fail "cmake --install failed"; }
libdir=$(dirname "$(find "$PREFIX" -name ufrpc.pc | head -n1)")/..
[ -f "$PREFIX/include/ufrpc.h" ] || fail "ufrpc.h not installed"
[ -f "$libdir/cmake/ufrpc/ufrpcConfig.cmake" ] || fail "ufrpcConfig.cmake not installed"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
flags=$(pkg-config --cflags --libs ufrpc) || fail "pkg-config ufrpc"
log "pkg-config: $flags"
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Wextra -Werror $EXTRA_CFLAGS "$UFRPC_SOURCE_DIR/examples/embed/embed.c" $flags \
    -o "$WORK/embed" >"$WORK/cc.log" 2>&1 || { cat "$WORK/cc.log"; fail "build with pkg-config"; }
if [ "$UFRPC_SHARED" = 1 ]; then
    ldd "$WORK/embed" | grep -q "$libdir/libufrpc.so" || ldd "$WORK/embed" | grep -q "libufrpc.so" ||
        fail "the example is not linked to libufrpc.so"
fi

mkdir -p "$WORK/cm"
cat >"$WORK/cm/CMakeLists.txt" <<EOC
cmake_minimum_required(VERSION 3.16)
project(embed C)
find_package(ufrpc REQUIRED)
add_executable(embed-cmake $UFRPC_SOURCE_DIR/examples/embed/embed.c)
target_link_libraries(embed-cmake PRIVATE ufrpc::ufrpc)
EOC
{ cmake -S "$WORK/cm" -B "$WORK/cm/b" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_C_FLAGS="$EXTRA_CFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$EXTRA_CFLAGS" &&
    cmake --build "$WORK/cm/b"; } >"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log"; fail "build with find_package(ufrpc)"; }

TOKEN="embed-$RANDOM"
start_peer peer --bind 127.0.0.1:0 --token "$TOKEN"
start_echo echo
REMOTE=$(freeport)
SECOND=$((REMOTE + 1))
"$WORK/embed" "127.0.0.1:$PEER_PORT" "$TOKEN" "$ECHO_PORT" "$REMOTE" >"$WORK/embed.log" 2>&1 &
EMBED_PID=$!
E2E_PIDS+=("$EMBED_PID")
wait_line "$WORK/embed.log" '^proxy proxy-1: running' 30 || fail "proxy-1 not running"
wait_line "$WORK/embed.log" '^proxy proxy-2: running' 30 || fail "proxy-2 not running"
grep -q '^EVENT tls ok=1' "$WORK/peer.log" || fail "no TLS login"
"$TOOL" load "$SECOND" 1000 1 30 >"$WORK/load.out" 2>&1 ||
    { cat "$WORK/load.out"; fail "no byte crossed the second tunnel"; }
kill -INT "$EMBED_PID"
wait_line "$WORK/embed.log" '^client closed: ' 30 || fail "no close after SIGINT"
rc=0
wait "$EMBED_PID" || rc=$?
[ "$rc" = 0 ] || fail "the example exited $rc"
grep -q "^EVENT close-proxy .*name=proxy-2" "$WORK/peer.log" || fail "no CloseProxy at the stop"
cat "$WORK/embed.log"
pass
