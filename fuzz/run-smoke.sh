#!/usr/bin/env bash
# fuzz/run-smoke.sh BUILD_DIR SECONDS: runs every fuzz_* target in BUILD_DIR/fuzz for
# SECONDS each, starting from a scratch copy of fuzz/corpus/<name>/ (the seed corpus
# in the tree is never modified), with fuzz/<name>.dict as its dictionary if there
# is one. Fails on the first crash, leak or timeout, and prints the executions each
# target ran.
set -euo pipefail
build=$1
secs=${2:-15}
root=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  mkdir -p "$work/$name"
  [ -d "$root/corpus/$name" ] && cp -r "$root/corpus/$name/." "$work/$name/"
  log="$work/$name.log"
  dict=()
  [ -f "$root/$name.dict" ] && dict=(-dict="$root/$name.dict")
  if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="$work/" "$work/$name" >"$log" 2>&1; then
    echo "fuzz $name: FAILED"; tail -60 "$log"; exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + execs))
  echo "fuzz $name: ok, $execs executions in ${secs}s"
done
echo "fuzz smoke: $total executions in all"
