#!/usr/bin/env bash
# fuzz/run-smoke.sh BUILD_DIR SECONDS: runs every fuzz_* target in BUILD_DIR/fuzz for
# SECONDS each, starting from a scratch copy of fuzz/corpus/<name>/ (the seed corpus
# in the tree is never modified), with fuzz/<name>.dict as its dictionary if there
# is one. Targets run UFRPC_FUZZ_JOBS at a time (default: the number of CPUs; each
# target is one process fuzzing for a fixed time, so the run takes about
# targets × SECONDS / jobs). Fails if any target finds a crash, leak or timeout
# (its log's tail is printed), and prints the executions each target ran.
set -euo pipefail
build=$1
secs=${2:-15}
jobs=${UFRPC_FUZZ_JOBS:-$(nproc)}
root=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_one NAME BIN: one target; its exit status goes to $work/NAME.rc
run_one() {
  local name=$1 bin=$2 dict=()
  mkdir -p "$work/$name"
  [ -d "$root/corpus/$name" ] && cp -r "$root/corpus/$name/." "$work/$name/"
  [ -f "$root/$name.dict" ] && dict=(-dict="$root/$name.dict")
  local rc=0
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$work/$name-" "$work/$name" >"$work/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$name.rc"
}

names=()
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  names+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_one "$name" "$bin" &
done
wait

total=0 failed=0
for name in "${names[@]}"; do
  rc=$(cat "$work/$name.rc" 2>/dev/null || echo missing)
  if [ "$rc" != 0 ]; then
    echo "fuzz $name: FAILED (exit $rc)"; tail -60 "$work/$name.log"; failed=1; continue
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + execs))
  echo "fuzz $name: ok, $execs executions in ${secs}s"
done
[ "$failed" = 0 ] || exit 1
echo "fuzz smoke: ${#names[@]} targets, $total executions in all"
