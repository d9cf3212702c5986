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

# shellcheck source=ioserve-lib.sh
. "$root/scripts/ioserve-lib.sh"
# Under Helgrind the server starts and drains ~50x slower.
IOSERVE_START_WAIT=30
IOSERVE_STOP_WAIT=60
state=$(mktemp -d /tmp/helgrind.XXXXXX) || exit 1
cleanup() {
  ioserve_stop
  rm -rf -- "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(aio)
for m in "${models[@]}"; do
  log=$state/$m.log
  if ! ioserve_start "$state" "$m" valgrind --tool=helgrind --error-exitcode=99 \
    --log-file="$log"; then
    echo "helgrind: $m did not start under valgrind" >&2
    failed=1
    continue
  fi
  url=http://127.0.0.1:$ioserve_port
  ok=1
  "$IOLOAD" -c 8 -n 300 --timeout 20s --quiet --json "$state/load.json" "$url/" || ok=0
  "$IOLOAD" -c 8 -n 16 --timeout 20s --quiet --json "$state/delay.json" "$url/delay/50" || ok=0
  curl -sf -m 20 -o /dev/null --data-binary @"$root/README.md" "$url/echo" || ok=0
  curl -sf -m 20 -o /dev/null "$url/stats" || ok=0
  ioserve_stop
  status=$?
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
