#!/usr/bin/env bash
# helgrind.sh: the threaded models under Valgrind's Helgrind race detector.
#
# ThreadSanitizer cannot run the aio model (glibc starts its AIO helper
# threads through an internal pthread_create that TSan does not intercept,
# and TSan crashes), so make check runs aio under Helgrind, which follows
# every thread from clone() on. (The thread model stays with TSan: Helgrind
# does not model C11 atomics and reports the atomic stop flag.) Each model
# serves a mixed load from ioload and curl (keep-alive, /delay, /echo,
# /stats) under Helgrind, is stopped with SIGTERM, and must exit 0 with
# "ERROR SUMMARY: 0 errors". Helgrind slows the server ~50x, so the load is
# small and bounded.
#
# Usage: scripts/helgrind.sh [MODEL...]   (default: aio)
# Environment: BUILD_DIR (build/). Exit 1 on any report or failure.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
IOSERVE=$BUILD_DIR/servers/ioserve
IOLOAD=$BUILD_DIR/loadgen/ioload
for bin in "$IOSERVE" "$IOLOAD"; do
  [ -x "$bin" ] || { echo "helgrind: $bin is not built (BUILD_DIR=$BUILD_DIR)" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "helgrind: valgrind not found (scripts/deps.sh check)" >&2; exit 1; }

state=$(mktemp -d /tmp/helgrind.XXXXXX) || exit 1
vg_pid=""
cleanup() {
  if [ -n "$vg_pid" ]; then
    kill -KILL "$vg_pid" 2>/dev/null
    wait "$vg_pid" 2>/dev/null
  fi
  rm -rf -- "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(aio)
for m in "${models[@]}"; do
  log=$state/$m.log
  rm -f "$state/port"
  valgrind --tool=helgrind --error-exitcode=99 --log-file="$log" \
    "$IOSERVE" --model "$m" --port 0 --port-file "$state/port" >/dev/null 2>&1 &
  vg_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$state/port" ] && break
    kill -0 "$vg_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -s "$state/port" ]; then
    echo "helgrind: $m did not start under valgrind" >&2
    failed=1
    continue
  fi
  url=http://127.0.0.1:$(cat "$state/port")
  ok=1
  "$IOLOAD" -c 8 -n 300 --timeout 20s --quiet --json "$state/load.json" "$url/" || ok=0
  "$IOLOAD" -c 8 -n 16 --timeout 20s --quiet --json "$state/delay.json" "$url/delay/50" || ok=0
  curl -sf -m 20 -o /dev/null --data-binary @"$root/README.md" "$url/echo" || ok=0
  curl -sf -m 20 -o /dev/null "$url/stats" || ok=0
  kill -TERM "$vg_pid"
  wait "$vg_pid"
  status=$?
  vg_pid=""
  summary=$(grep -m1 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')
  if [ "$ok" -eq 1 ] && [ "$status" -eq 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
    echo "helgrind: $m: served 318 requests and an echo, exit 0, $summary"
  else
    echo "helgrind: $m: FAILED (load ok=$ok, exit status $status): $summary" >&2
    grep -A20 'Possible data race\|lock order\|ERROR' "$log" | head -60 >&2
    failed=1
  fi
done
exit "$failed"
