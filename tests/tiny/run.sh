#!/usr/bin/env bash
# tests/tiny/run.sh: the "tiny" preset (CMakePresets.json: seventeen features left out,
# no PIE, -Os, LTO) stays a working program. Run by scripts/test.sh (UFRPC_SKIP_TINY=1
# skips it); by hand from anywhere.
#   1. configures the preset in $UFRPC_TINY_BUILD (default build-tiny-ci) with the unit
#      tests on (a small build builds only those that need no optional feature:
#      tests/CMakeLists.txt), builds ufrpc and them;
#   2. prints the stripped size of ufrpc and fails above UFRPC_TINY_MAX_BYTES
#      (default 300000: issue 17's goal);
#   3. runs those unit tests (CTest label "unit");
#   4. tests/tiny/checks.sh: a TLS + tcpMux tunnel through that ufrpc to the native
#      test frps (built in $UFRPC_NATIVE_BUILD, default build/), the admin API without
#      metrics, and every left-out config key and command refused by its option.
# From scratch: 80 s of CPU (user 54 + sys 25; the build, with LTO links of the 19
# test programs, is nearly all of it): about 40 s on 2 idle cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
JOBS=${UFRPC_JOBS:-$(nproc)}
TEST_JOBS=${UFRPC_TEST_JOBS:-$((JOBS * 2))}
B=${UFRPC_TINY_BUILD:-$ROOT/build-tiny-ci}
MAX=${UFRPC_TINY_MAX_BYTES:-300000}
NATIVE=${UFRPC_NATIVE_BUILD:-$ROOT/build}
t0=$SECONDS

echo "== tiny: build ($B)"
cmake --preset tiny -B "$B" -DUFRPC_TESTS=ON -DUFRPC_BENCH=OFF -DUFRPC_WERROR=ON >/dev/null
cmake --build "$B" -j"$JOBS" >/dev/null
t_build=$((SECONDS - t0))

strip -o "$B/ufrpc.stripped" "$B/ufrpc"
size=$(stat -c %s "$B/ufrpc.stripped")
echo "== tiny: ufrpc stripped: $size bytes (limit $MAX)"
[ "$size" -le "$MAX" ] || { echo "tiny: ufrpc is $size bytes, over $MAX" >&2; exit 1; }

echo "== tiny: unit tests"
(cd "$B" && ctest -L unit -j"$TEST_JOBS" --output-on-failure)

echo "== tiny: tunnel, admin API and refusals (native test frps and e2e-tool in $NATIVE)"
[ -f "$NATIVE/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$NATIVE" -DUFRPC_WERROR=ON >/dev/null
cmake --build "$NATIVE" -j"$JOBS" --target ufrpc-test-frps e2e-tool >/dev/null
PEER=$(find "$NATIVE" -type f -name ufrpc-test-frps -perm -u+x | head -n 1)
TOOL=$(find "$NATIVE" -type f -name e2e-tool -perm -u+x | head -n 1)
UFRPC=$B/ufrpc PEER=$PEER TOOL=$TOOL UFRPC_TEST_DATA=$ROOT/tests/data bash tests/tiny/checks.sh
echo "== tiny: passed in $((SECONDS - t0)) s (build $t_build s)"
