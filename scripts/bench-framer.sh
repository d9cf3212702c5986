#!/usr/bin/env bash
# bench-framer.sh: instructions per response of ioload's response framer
# (loadgen/respframe.c) and of Debian's libhttp-parser (what wrk uses), on
# the same bytes, counted by callgrind: the same on a quiet or a busy
# machine. Prints each parser's count for a plain and a chunked response
# and their ratio. A benchmark, not a test.
# Environment: BUILD_DIR (build/), COUNT (200000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BUILD_DIR:-$root/build}/tests/bench_framer
COUNT=${COUNT:-200000}
[ -x "$bin" ] || { echo "bench-framer: $bin is not built (libhttp-parser-dev missing?)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bench-framer: valgrind not found (scripts/deps.sh check)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/bench-framer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# instructions PARSER KIND N: total instructions of one run.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" "$1" "$2" "$3" 2>&1 |
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p'
}

echo "instructions per response (callgrind; the difference of a run of $COUNT and of 1)"
printf "%-10s %12s %12s %8s\n" response respframe http_parser ratio
for kind in plain chunked; do
  declare -A per
  for p in respframe http_parser; do
    a=$(instructions "$p" "$kind" 1)
    b=$(instructions "$p" "$kind" "$COUNT")
    per[$p]=$(awk -v a="$a" -v b="$b" -v n="$COUNT" 'BEGIN { printf "%.0f", (b - a) / (n - 1) }')
  done
  printf "%-10s %12s %12s %8s\n" "$kind" "${per[respframe]}" "${per[http_parser]}" \
    "$(awk -v a="${per[respframe]}" -v b="${per[http_parser]}" 'BEGIN { printf "%.2f", a / b }')"
done
