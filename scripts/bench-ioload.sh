#!/usr/bin/env bash
# bench-ioload.sh: is ioload a fair load generator? It runs ioload and wrk
# with the same threads and connections against the same server, alternating
# in one run, and prints their requests per second, the median ratio
# ioload/wrk (the goal: at least 0.6) and each one's CPU time per request
# (the load generator's own cost, whatever the server's speed); then
# checks that ioload's p50 against GET /delay/10 lies in 10.0..10.5 ms.
#
# Servers: nginx with one worker (scripts/nginx.sh) and `ioserve --model
# select`. With two CPUs or more, servers run on CPU 0 and load generators on
# CPU 1 (taskset). A benchmark, not a test: it prints figures and exits
# non-zero only when something failed to run.
#
# Environment: BUILD_DIR (default: build/ at the repository root, holding
# servers/ioserve and loadgen/ioload), TRIALS (5), DURATION (5s),
# THREADS (1), CONNECTIONS (64).
set -uo pipefail

name=bench-ioload
TRIALS=${TRIALS:-5}
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

# Prints "RPS CPU_US_PER_REQUEST P50_MS" from ioload's summary, or nothing.
run_ioload() {
  local c=$1 url=$2
  "${gen_pin[@]}" "$IOLOAD" -t "$THREADS" -c "$c" -d "$DURATION" --quiet "$url" 2>/dev/null |
    awk '
      function ms(v) {
        if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
        if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
        if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
        return v + 0
      }
      $1 == "50%" && p50 == "" { p50 = ms($2) }
      /^Requests\/sec:/ { rps = $2 }
      /^ioload CPU:/ { cpu = $3; sub(/us$/, "", cpu) }
      END { if (rps != "") printf "%s %s %.3f\n", rps, cpu, p50 }'
}

compare() {
  local name=$1 url=$2 ratios=() cpus=() wcpus=() i w l first wrps wcpu
  echo
  echo "== $name: wrk vs ioload, -t $THREADS -c $CONNECTIONS, $DURATION per run, $TRIALS trials =="
  for i in $(seq 1 "$TRIALS"); do
    # Alternate who goes first so that drift in the machine hits both.
    for first in wrk ioload; do
      if [ $((i % 2)) -eq 0 ]; then first=$([ "$first" = wrk ] && echo ioload || echo wrk); fi
      if [ "$first" = wrk ]; then w=$(run_wrk "$url"); else l=$(run_ioload "$CONNECTIONS" "$url"); fi
    done
    if [ -z "$w" ] || [ -z "$l" ]; then
      echo "  trial $i: a run failed (wrk '${w}', ioload '${l}')"
      failed=1
      continue
    fi
    read -r wrps _ wcpu <<<"$w"
    read -r lrps lcpu _ <<<"$l"
    ratio=$(awk -v a="$lrps" -v b="$wrps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
    printf "  trial %d: wrk %10.0f req/s %6.2f us/req   ioload %10.0f req/s %6.2f us/req   ratio %s\n" \
      "$i" "$wrps" "$wcpu" "$lrps" "$lcpu" "$ratio"
    ratios+=("$ratio")
    cpus+=("$lcpu")
    wcpus+=("$wcpu")
  done
  if [ ${#ratios[@]} -gt 0 ]; then
    echo "  $name: median ratio ioload/wrk $(printf '%s\n' "${ratios[@]}" | median) (goal >= 0.6);" \
      "median CPU per request: wrk $(printf '%s\n' "${wcpus[@]}" | median) us," \
      "ioload $(printf '%s\n' "${cpus[@]}" | median) us"
  fi
}

if start_nginx; then
  compare "nginx (1 worker)" "http://127.0.0.1:$port/"
  stop_server
else
  echo "bench-ioload: nginx did not start" >&2
  failed=1
fi

if start_ioserve select; then
  compare "ioserve --model select" "http://127.0.0.1:$port/"
  echo
  echo "== GET /delay/10, -c 16, ioserve --model select =="
  l=$(run_ioload 16 "http://127.0.0.1:$port/delay/10")
  if [ -n "$l" ]; then
    read -r lrps lcpu p50 <<<"$l"
    verdict=$(awk -v p="$p50" 'BEGIN { print (p >= 10.0 && p <= 10.5) ? "within" : "OUTSIDE" }')
    echo "  ioload p50 $p50 ms ($verdict 10.0..10.5 ms), $lrps req/s"
  else
    echo "  the /delay/10 run failed"
    failed=1
  fi
  stop_server
else
  failed=1
fi
exit "$failed"
