#!/usr/bin/env bash
# history-example.sh: draws the README's example of `iobench history` from
# synthetic, seeded results (not measurements): 40 commits of 4 trials with
# 3% noise at plaintext, 64 connections; select loses 12% of its throughput
# at commit 25, the thread model has one outlier commit (12), and from
# commit 32 on the runs come from another kernel, 8% faster for every model.
# The chart should show one change point (select at commit 25) and one
# segment change, and nothing at the outlier.
#
#   scripts/history-example.sh [OUT_PNG]   (default docs/history-example.png)
#
# Environment: IOBENCH (build/harness/iobench).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOBENCH=${IOBENCH:-$here/build/harness/iobench}
out_png=${1:-$here/docs/history-example.png}
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# One summary.json per commit; awk's seeded rand() and Box-Muller noise.
awk -v dir="$work" 'BEGIN {
  srand(42)
  split("select thread aio", models, " ")
  base["select"] = 52000; base["thread"] = 41000; base["aio"] = 30000
  for (c = 0; c < 40; c++) {
    d = sprintf("%s/run%02d", dir, c)
    system("mkdir -p " d)
    f = d "/summary.json"
    kernel = c >= 32 ? "6.8.0" : "6.1.0"
    printf "{\"schema\": \"iobench-summary\", \"schema_version\": 1, \"complete\": true,\n" > f
    printf "\"git_commit\": \"%07x\", \"start\": \"2026-10-%02dT12:00:00Z\",\n", 1000003 * (c + 1) % 268435456, c + 1 > f
    printf "\"suite\": {\"name\": \"example\", \"trials\": 4},\n" > f
    printf "\"env\": {\"cpu_model\": \"example\", \"cores\": 2, \"kernel\": \"%s\", \"libcurl\": \"7.88.1\"},\n", kernel > f
    printf "\"runs\": [" > f
    sep = ""
    for (m = 1; m <= 3; m++) for (t = 1; t <= 4; t++) {
      level = base[models[m]]
      if (models[m] == "select" && c >= 25) level *= 0.88
      if (models[m] == "thread" && c == 12) level *= 0.75
      if (c >= 32) level *= 1.08
      z = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand())
      rps = level * (1 + 0.03 * z)
      printf "%s\n {\"model\": \"%s\", \"workload\": \"plaintext\", \"concurrency\": 64, \"trial\": %d, \"status\": \"ok\", \"throughput_rps\": %.1f, \"latency_us\": {\"p50\": %.1f, \"p99\": %.1f}}", sep, models[m], t, rps, 64e6 / rps, 2.5 * 64e6 / rps > f
      sep = ","
    }
    printf "\n]}\n" > f
    close(f)
  }
}'
"$IOBENCH" history "$work"/run* --out "$work/history"
cp "$work/history/history-plaintext-c64-throughput_rps.png" "$out_png"
echo "history-example.sh: $out_png"
