#!/usr/bin/env bash
# tests/cross/run.sh [--install] [TARGET...]: ufrpc built for other CPUs and libcs, its
# unit tests and one end-to-end tunnel run there.
#
#   TARGET  musl (static x86_64, native), armhf, arm64, mipsel, mips (big-endian): all
#           five by default (UFRPC_CROSS_TARGETS="..." also chooses). "rotate" picks one
#           of armhf, arm64, mipsel by the commit's hash (what scripts/test.sh runs).
#   --install  apt-get install the Debian packages a target lacks (cross compilers,
#           qemu-user, the target architecture's -dev packages, musl-tools, autotools;
#           the architecture is added to dpkg); without it a target whose tools are
#           missing fails with the command that installs them.
#
# Two routes to a target's build (UFRPC_CROSS_ROUTE):
#   multiarch (default for armhf, arm64, mipsel): scripts/build-cross.sh TARGET --tests,
#       Debian's cross compiler and the architecture's own -dev packages; minutes.
#   static (always for musl and mips, which bookworm has no port for; for all with
#       UFRPC_CROSS_ROUTE=static): scripts/build-static.sh TARGET --tests, the libraries
#       built from Debian's source packages and linked statically; 40 minutes a target.
# For each target: the build, every unit test (CTest label "unit") through qemu-user
# (CTest's CMAKE_CROSSCOMPILING_EMULATOR, set by cmake/toolchains/TARGET.cmake), then
# tests/cross/tunnel.sh (TLS + tcpMux, the test frps's generated certificate, 4 MiB and
# 20 connections sha256-checked) with that ufrpc under qemu against the native test
# frps (built in $UFRPC_NATIVE_BUILD, default build/). Prints a summary (stripped size,
# tests passed, tunnel, seconds per step) and exits 1 if anything failed.
# scripts/test.sh runs "rotate" by default (UFRPC_SKIP_CROSS=1 skips it) and every
# target with UFRPC_CROSS=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
JOBS=${UFRPC_JOBS:-$(nproc)}
# the unit tests mostly wait on sockets and timers: twice as many at once as cores
TEST_JOBS=${UFRPC_TEST_JOBS:-$((JOBS * 2))}

INSTALL=0
targets=()
for a in "$@"; do
    case $a in
    --install) INSTALL=1 ;;
    musl | armhf | arm64 | mipsel | mips) targets+=("$a") ;;
    *) echo "cross: unknown argument '$a'" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"${UFRPC_CROSS_TARGETS:-musl armhf arm64 mipsel mips}"
# "rotate": one of the three multiarch targets, chosen by the commit (HEAD's hash
# modulo 3), so that consecutive CI runs cover every CPU while each pays for one.
if [ "${targets[*]}" = rotate ]; then
    all=(arm64 armhf mipsel)
    h=$(git rev-parse --short=8 HEAD 2>/dev/null || echo 0)
    targets=("${all[$((16#$h % 3))]}")
    echo "== cross: rotate -> ${targets[0]} (commit $h)"
fi
ROUTE=${UFRPC_CROSS_ROUTE:-multiarch}
case $ROUTE in multiarch | static) ;; *) echo "cross: UFRPC_CROSS_ROUTE is multiarch or static" >&2; exit 2 ;; esac
route_of() { # the route target $1 is built by
    case $1 in
    armhf | arm64 | mipsel) echo "$ROUTE" ;;
    *) echo static ;;
    esac
}

tc_get() { sed -n "s/^set($2 \\(.*\\))\$/\\1/p" "$ROOT/cmake/toolchains/$1.cmake"; }

# ---- the Debian packages each target needs
pkgs_for() {
    local t=$1 tri
    echo cmake pkg-config
    if [ "$(route_of "$t")" = static ]; then
        echo dpkg-dev autoconf automake libtool python3
    else
        # the target names are Debian's architecture names
        echo "ninja-build libuv1-dev:$t libmbedtls-dev:$t libsodium-dev:$t libjson-c-dev:$t libyaml-dev:$t libcmocka-dev:$t"
    fi
    if [ "$t" = musl ]; then
        echo musl-tools
    else
        tri=$(tc_get "$t" UFRPC_TRIPLET)
        echo "gcc-$tri" "libc6-dev-$t-cross" qemu-user
    fi
}
missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}
mapfile -t need < <(for t in "${targets[@]}"; do pkgs_for "$t"; done | tr ' ' '\n' | sort -u)
mapfile -t missing < <(missing_pkgs "${need[@]}")
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$INSTALL" = 1 ]; then
        echo "== cross: apt-get install ${missing[*]}"
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        export DEBIAN_FRONTEND=noninteractive
        for t in "${targets[@]}"; do
            [ "$(route_of "$t")" = static ] || dpkg --print-foreign-architectures | grep -qx "$t" ||
                $SUDO dpkg --add-architecture "$t"
        done
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "cross: missing Debian packages; run: apt-get install --no-install-recommends ${missing[*]}" >&2
        echo "       (or tests/cross/run.sh --install)" >&2
        exit 1
    fi
fi

# ---- the native side of the tunnel: test frps and e2e-tool
NATIVE=${UFRPC_NATIVE_BUILD:-$ROOT/build}
echo "== cross: native test frps and e2e-tool in $NATIVE"
[ -f "$NATIVE/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$NATIVE" -DUFRPC_WERROR=ON >/dev/null
cmake --build "$NATIVE" -j"$JOBS" --target ufrpc-test-frps e2e-tool >/dev/null
PEER=$(find "$NATIVE" -type f -name ufrpc-test-frps -perm -u+x | head -n 1)
TOOL=$(find "$NATIVE" -type f -name e2e-tool -perm -u+x | head -n 1)

summary=()
failed=0
for t in "${targets[@]}"; do
    route=$(route_of "$t")
    if [ "$route" = static ]; then
        T=${UFRPC_STATIC_DIR:-$ROOT/build-static}/$t
        build=(scripts/build-static.sh "$t" --tests)
    else
        T=${UFRPC_CROSS_DIR:-$ROOT/build-cross}/$t
        build=(scripts/build-cross.sh "$t" --tests)
    fi
    echo "== cross [$t]: build ($route route: ${build[*]})"
    start=$SECONDS
    if ! "${build[@]}"; then
        summary+=("$t: BUILD FAILED")
        failed=1
        continue
    fi
    size=$(stat -c %s "$T/ufrpc")
    build_s=$((SECONDS - start))

    echo "== cross [$t]: unit tests"
    start=$SECONDS
    units="ok"
    (cd "$T/build" && ctest -L unit -j"$TEST_JOBS" --output-on-failure) >"$T/ctest.log" 2>&1 || units="FAILED"
    tail -n 4 "$T/ctest.log" | grep -v '^$' || true
    [ "$units" = ok ] || { grep -E '^\s*[0-9]+ - |\*\*\*' "$T/ctest.log" | tail -n 20; failed=1; }
    counts=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' \
        "$T/ctest.log" | tail -n 1)
    passed="no result"
    [ -z "$counts" ] || passed="$(( ${counts#* } - ${counts% *} )) of ${counts#* } passed"
    unit_s=$((SECONDS - start))

    echo "== cross [$t]: tunnel"
    start=$SECONDS
    qemu=$(tc_get "$t" UFRPC_QEMU)
    ldp=$(tc_get "$t" UFRPC_QEMU_LD_PREFIX)
    # as cmake/toolchains/common.cmake: the multiarch libc6:ARCH's loader when installed
    tri=$(tc_get "$t" UFRPC_TRIPLET)
    [ -z "$ldp" ] || [ ! -e "/lib/$tri/libc.so.6" ] || ldp=/
    wrapper=$T/ufrpc-run
    {
        echo '#!/bin/sh'
        if [ -n "$qemu" ]; then
            echo "exec $qemu ${ldp:+-L $ldp} \"$T/ufrpc\" \"\$@\""
        else
            echo "exec \"$T/ufrpc\" \"\$@\""
        fi
    } >"$wrapper"
    chmod +x "$wrapper"
    tunnel="ok"
    UFRPC=$wrapper PEER=$PEER TOOL=$TOOL UFRPC_TEST_DATA=$ROOT/tests/data \
        bash tests/cross/tunnel.sh true true >"$T/tunnel.log" 2>&1 || tunnel="FAILED"
    tail -n 3 "$T/tunnel.log"
    [ "$tunnel" = ok ] || { cat "$T/tunnel.log"; failed=1; }
    tunnel_s=$((SECONDS - start))
    summary+=("$t ($route): ufrpc ${size} bytes stripped; unit tests ${units} (${passed}); tunnel tls+mux ${tunnel}; build ${build_s}s, units ${unit_s}s, tunnel ${tunnel_s}s")
done

echo "== cross: summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
