#!/usr/bin/env bash
# bench-models.sh: each I/O model beside nginx, the reference server.
#
# wrk (-t THREADS -c CONNECTIONS -d DURATION) drives `GET /` on nginx with
# one worker and on every ioserve model, in one run, models interleaved
# within each trial so drift in a noisy machine hits all alike. Prints each
# trial, then the median requests per second of each server and its ratio to
# nginx's median (the goal: select >= 0.7). With two CPUs or more, servers
# run on CPU 0 and wrk on CPU 1, and it says so. A benchmark, not a test: it
# prints figures and exits non-zero only when something failed to run.
#
# Environment: BUILD_DIR (build/), TRIALS (3), DURATION (5s), THREADS (1),
# CONNECTIONS (64), MODELS (every model of `ioserve --list-models`).
set -uo pipefail

name=bench-models
TRIALS=${TRIALS:-3}
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

MODELS=${MODELS:-$("$IOSERVE" --list-models | tr '\n' ' ')}
servers=(nginx $MODELS)
echo "wrk -t $THREADS -c $CONNECTIONS -d $DURATION GET /, $TRIALS trials; $(nproc) CPUs;" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

declare -A rps
for i in $(seq 1 "$TRIALS"); do
  for s in "${servers[@]}"; do
    if [ "$s" = nginx ]; then start_nginx; else start_ioserve "$s"; fi || {
      failed=1
      continue
    }
    out=$(run_wrk "http://127.0.0.1:$port/")
    stop_server
    if [ -z "$out" ]; then
      echo "  trial $i $s: wrk failed"
      failed=1
      continue
    fi
    read -r r e _ <<<"$out"
    printf "  trial %d %-10s %10.0f req/s  errors %s\n" "$i" "$s" "$r" "$e"
    rps[$s]="${rps[$s]:-} $r"
  done
done

ref=$(printf '%s\n' ${rps[nginx]:-} | median)
echo
printf "%-10s %12s %10s\n" server "median req/s" "x nginx"
for s in "${servers[@]}"; do
  m=$(printf '%s\n' ${rps[$s]:-} | median)
  [ -n "$m" ] || { printf "%-10s %12s\n" "$s" "(no run)"; continue; }
  ratio=$(awk -v a="$m" -v b="${ref:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  printf "%-10s %12.0f %10s\n" "$s" "$m" "$ratio"
done
exit "$failed"
