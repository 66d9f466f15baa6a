#!/usr/bin/env bash
# tests/cross/run.sh [--install] [TARGET...]: ufrpc built for other CPUs and libcs, its
# unit tests and one end-to-end tunnel run there.
#
#   TARGET  musl (static x86_64, native), armhf, arm64, mipsel, mips (big-endian): all
#           five by default (UFRPC_CROSS_TARGETS="..." also chooses; "rotate" picks one
#           cross target by the commit's hash).
#   --install  apt-get install the Debian packages a target lacks (cross compilers,
#           their libc6-dev, qemu-user, musl-tools, autotools); without it a target
#           whose tools are missing fails with the command that installs them.
#
# For each target: scripts/build-static.sh TARGET --tests (libraries from Debian's source
# packages, static), every unit test (CTest label "unit") through qemu-user (CTest's
# CMAKE_CROSSCOMPILING_EMULATOR, set by cmake/toolchains/TARGET.cmake), then
# tests/cross/tunnel.sh (TLS + tcpMux, the test frps's generated certificate) with that
# ufrpc under qemu against the native test frps (built in $UFRPC_NATIVE_BUILD, default
# build/). Prints a summary (stripped size, tests passed, tunnel) and exits 1 if
# anything failed. scripts/test.sh runs it when UFRPC_CROSS=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
JOBS=${UFRPC_JOBS:-$(nproc)}

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
# "rotate": one of the four cross targets, chosen by the commit (HEAD's hash modulo 4),
# so that consecutive CI runs cover every CPU while each pays for one.
if [ "${targets[*]}" = rotate ]; then
    all=(armhf arm64 mipsel mips)
    h=$(git rev-parse --short=8 HEAD 2>/dev/null || echo 0)
    targets=("${all[$((16#$h % 4))]}")
    echo "== cross: rotate -> ${targets[0]} (commit $h)"
fi

tc_get() { sed -n "s/^set($2 \\(.*\\))\$/\\1/p" "$ROOT/cmake/toolchains/$1.cmake"; }

# ---- the Debian packages each target needs
pkgs_for() {
    local t=$1 tri
    echo dpkg-dev autoconf automake libtool cmake pkg-config python3
    if [ "$t" = musl ]; then
        echo musl-tools
    else
        tri=$(tc_get "$t" UFRPC_TRIPLET)
        # the target names are Debian's architecture names
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
    T=${UFRPC_STATIC_DIR:-$ROOT/build-static}/$t
    echo "== cross [$t]: build"
    start=$SECONDS
    if ! scripts/build-static.sh "$t" --tests; then
        summary+=("$t: BUILD FAILED")
        failed=1
        continue
    fi
    size=$(stat -c %s "$T/ufrpc")
    build_s=$((SECONDS - start))

    echo "== cross [$t]: unit tests"
    start=$SECONDS
    units="ok"
    (cd "$T/build" && ctest -L unit -j"$JOBS" --output-on-failure) >"$T/ctest.log" 2>&1 || units="FAILED"
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
    summary+=("$t: ufrpc ${size} bytes stripped; unit tests ${units} (${passed}); tunnel tls+mux ${tunnel}; build ${build_s}s, units ${unit_s}s, tunnel ${tunnel_s}s")
done

echo "== cross: summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"
