#!/usr/bin/env bash
# history.sh: what CI runs for the regression charts, and what the tests run.
#
#   scripts/history.sh [--no-store] [--keep N] STORE NEW_RUN OUT [HISTORY_OPTIONS...]
#
# STORE holds one directory per earlier run, each with just its summary.json
# (all `iobench history` reads); CI carries it from run to run as an
# artifact. NEW_RUN (a directory `iobench run` made, or the results/latest
# link to one) is copied into STORE under that directory's name (UTC stamp
# and sha: unique, and sorted by time; a copy under another name such as
# "results" would replace the previous one), then `iobench history` runs
# over every run in STORE and writes the charts, index.html and
# history.json into OUT. With --no-store (a pull
# request) NEW_RUN is drawn with the history but not kept. --keep N keeps
# only the newest N runs in STORE (default: all). HISTORY_OPTIONS go to
# `iobench history` (--fail-since 1, --min-change 10%, ...).
#
# Exits with iobench history's status: 0, 1 (a regression within
# --fail-since), 2 (bad input). Environment: IOBENCH (build/harness/iobench).
set -euo pipefail

usage() {
  echo "usage: $0 [--no-store] [--keep N] STORE NEW_RUN OUT [HISTORY_OPTIONS...]" >&2
  exit 2
}

store_new=1
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-store) store_new=0; shift ;;
    --keep)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then usage; fi
      keep=$2
      shift 2
      ;;
    --*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || usage
store=$1 new_run=$2 out=$3
shift 3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOBENCH=${IOBENCH:-$here/build/harness/iobench}
if [ ! -f "$new_run/summary.json" ]; then
  echo "history.sh: $new_run has no summary.json" >&2
  exit 2
fi
mkdir -p "$store"
name=$(basename "$(readlink -f "$new_run")")

dirs=()
for d in "$store"/*/; do
  [ -f "$d/summary.json" ] || continue
  [ "$(basename "$d")" = "$name" ] && continue # a rerun replaces its earlier copy
  dirs+=("${d%/}")
done

if [ "$store_new" = 1 ]; then
  mkdir -p "$store/$name"
  cp "$new_run/summary.json" "$store/$name/summary.json.tmp"
  mv "$store/$name/summary.json.tmp" "$store/$name/summary.json"
  dirs+=("$store/$name")
  if [ "$keep" -gt 0 ] && [ "${#dirs[@]}" -gt "$keep" ]; then
    mapfile -t sorted < <(printf '%s\n' "${dirs[@]}" | sort)
    drop=$(( ${#sorted[@]} - keep ))
    for d in "${sorted[@]:0:$drop}"; do rm -rf -- "$d"; done
    dirs=("${sorted[@]:$drop}")
  fi
else
  dirs+=("$new_run")
fi

echo "history.sh: ${#dirs[@]} runs ($store, new: $name)"
exec "$IOBENCH" history "${dirs[@]}" --out "$out" "$@"
