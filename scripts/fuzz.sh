#!/usr/bin/env bash
# Fuzzes the HTTP request parser (SECONDS), ioload's response framer
# (SECONDS/2) and the histogram decoder (SECONDS/4), each at least 10 s,
# with libFuzzer for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60)
# Builds build-fuzz/ with clang, runs from a scratch copy of the seed corpus
# (tests/fuzz/corpus-run/, git-ignored), prints one summary line, and exits
# non-zero when libFuzzer found a crash, naming the file that reproduces it.
set -euo pipefail

secs=${1:-60}
case "$secs" in
  '' | *[!0-9]* | 0) echo "fuzz.sh: SECONDS must be a positive integer, not '$secs'" >&2; exit 2 ;;
esac
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (scripts/deps.sh check)" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
artifacts=$build/artifacts

CC=clang cmake -S "$root" -B "$build" -DIOBENCH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_http_parser fuzz_respframe fuzz_hdr_decode -j2 >/dev/null
mkdir -p "$artifacts"

# fuzz TARGET SEEDS SECONDS: one bounded libFuzzer run from a scratch copy
# of the seed corpus (tests/fuzz/corpus-run/TARGET, git-ignored).
fuzz() {
  local target=$1 seeds=$2 secs=$3
  local bin=$build/tests/fuzz/$target corpus=$root/tests/fuzz/corpus-run/$target
  local log=$build/$target.log
  mkdir -p "$corpus"
  cp -p "$seeds"/* "$corpus"/

  # libFuzzer's exit status says only that it stopped; its log says why.
  set +e
  "$bin" -max_total_time="$secs" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" "$corpus" >"$log" 2>&1
  local status=$?
  set -e

  local execs files crash
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)
  fi
  files=$(find "$corpus" -type f | wc -l)
  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)

  if [ "$status" -ne 0 ] || [ -n "$crash" ]; then
    tail -n 40 "$log" >&2
    echo "$target: FAILED after ${execs:-?} executions (libFuzzer status $status)," \
      "reproducer: ${crash:-none written}, log: $log" >&2
    return 1
  fi
  echo "$target: ${execs:-?} executions in ${secs}s, no crash, corpus $files inputs"
}

hdr_secs=$((secs / 4 < 10 ? 10 : secs / 4))
resp_secs=$((secs / 2 < 10 ? 10 : secs / 2))
fuzz fuzz_http_parser "$root/tests/fuzz/corpus" "$secs"
fuzz fuzz_respframe "$root/tests/fuzz/corpus-resp" "$resp_secs"
fuzz fuzz_hdr_decode "$root/tests/fuzz/corpus-hdr" "$hdr_secs"
