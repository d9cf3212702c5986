#!/usr/bin/env bash
# bench-ioload.sh: is ioload a fair load generator? A benchmark, not a test:
# it prints figures and exits non-zero only when something failed to run.
#
# 1. Closed loop, GET /, against nginx (one worker) and `ioserve --model
#    select`: wrk, ioload's stream engine and its transfer engine with the
#    same threads and connections, in rotating order within each trial so
#    that drift in a noisy machine hits all three. Per trial and as medians:
#    requests/s, each engine's ratio to wrk (the goal: stream >= 0.9), the
#    load generator's CPU time per request and the server's (both from
#    /proc): where the server is the limit the ratio measures the server,
#    and its CPU per request is what tells.
# 2. GET /delay/10, 16 connections, select: p50 by wrk and by both engines
#    (the goal: the server within 0.25 ms of 10 ms as wrk sees it, ioload
#    within 0.05 ms of wrk).
# 3. Open loop at --rate 1000 and 20000, 16 connections, select, both
#    engines: send lag p50/p99, corrected minus uncorrected p50, late sends,
#    the saturation flag, and CPU per request beside closed loop's.
#    Beside 2 and 3, what this machine itself allows (tests/bench/bench_wake.c,
#    no server or load generator running): how late a 10 ms timer wakes, how
#    long a process idle for 10 ms takes to wake when written to, how many
#    1 ms sleeps wake over 1 ms late, and how often the host takes the load
#    CPU away for 1 ms or more while it spins.
#
# With two CPUs or more, servers run on CPU 0 and load generators on CPU 1.
# Environment: BUILD_DIR (build/), TRIALS (5), DURATION (5s), THREADS (1),
# CONNECTIONS (64), DELAY_TRIALS (3), OPEN_TRIALS (5), OPEN_DURATION (3s).
set -uo pipefail

name=bench-ioload
TRIALS=${TRIALS:-5}
DELAY_TRIALS=${DELAY_TRIALS:-3}
OPEN_TRIALS=${OPEN_TRIALS:-5}
OPEN_DURATION=${OPEN_DURATION:-3s}
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

# ioload_fields ENGINE CONNECTIONS DURATION URL [ARGS...]: runs ioload and
# prints "RPS CPU_US P50_US UNC_P50_US LAG_P50_US LAG_P99_US LATE SCHED
# BEHIND SATURATED BUSY" from its summary (missing fields as -), or nothing.
ioload_fields() {
  local engine=$1 c=$2 d=$3 url=$4
  shift 4
  "${gen_pin[@]}" "$IOLOAD" -e "$engine" -t "$THREADS" -c "$c" -d "$d" "$@" "$url" \
    2>/dev/null </dev/null |
    awk '
      function us(v) {
        if (v ~ /us,?$/) { sub(/us,?$/, "", v); return v + 0 }
        if (v ~ /ms,?$/) { sub(/ms,?$/, "", v); return v * 1000 }
        if (v ~ /s,?$/) { sub(/s,?$/, "", v); return v * 1e6 }
        return v + 0
      }
      $1 == "50%" && p50 == "" { p50 = us($2); unc = (NF >= 3 ? us($3) : "-") }
      /^  Send lag:/ { lp50 = us($4); lp99 = us($6); late = $10; sched = $12
                       b = $15; sub(/,$/, "", b); behind = b }
      /^Requests\/sec:/ { rps = $2 }
      /^ioload CPU:/ { cpu = $3; sub(/us$/, "", cpu); busy = $7; sub(/%,$/, "", busy)
                       sat = $9 }
      END {
        if (rps == "") exit
        printf "%s %s %s %s %s %s %s %s %s %s %s\n", rps, cpu, (p50 == "" ? "-" : p50),
          (unc == "" ? "-" : unc), (lp50 == "" ? "-" : lp50), (lp99 == "" ? "-" : lp99),
          (late == "" ? "-" : late), (sched == "" ? "-" : sched),
          (behind == "" ? "-" : behind), sat, busy
      }'
}

# server_cpu_s: CPU seconds (user + system) of the running server and its
# children and threads so far; nginx's master and its worker alike.
server_cpu_s() {
  local pid=$ioserve_pid pids
  [ -n "$nginx_dir" ] && pid=$(cat "$nginx_dir/pid" 2>/dev/null)
  [ -n "$pid" ] || { echo 0; return; }
  pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
  # Fields 14 and 15 of /proc/PID/stat (after the parenthesised name).
  for p in $pids; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null; done |
    awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 } END { printf "%.3f\n", t / hz }'
}

# One closed-loop run of TOOL (wrk, stream, transfer): prints "RPS CPU_US
# SERVER_CPU_US" or nothing.
closed_run() {
  local tool=$1 url=$2 before after out rps cpu n
  before=$(server_cpu_s)
  if [ "$tool" = wrk ]; then
    out=$(run_wrk "$url") && read -r rps _ cpu <<<"$out"
  else
    out=$(ioload_fields "$tool" "$CONNECTIONS" "$DURATION" "$url" --quiet) &&
      read -r rps cpu _ <<<"$out"
  fi
  after=$(server_cpu_s)
  [ -n "${rps:-}" ] || return 0
  awk -v r="$rps" -v c="$cpu" -v b="$before" -v a="$after" -v d="${DURATION%s}" \
    'BEGIN { n = r * d; printf "%s %s %.2f\n", r, c, (n > 0 ? (a - b) * 1e6 / n : 0) }'
}

compare() {
  local label=$1 url=$2 i k tool out r c s
  declare -A rps cpu scpu ratio
  echo
  echo "== $label: wrk, ioload stream, ioload transfer; -t $THREADS -c $CONNECTIONS," \
    "$DURATION per run, $TRIALS trials =="
  local tools=(wrk stream transfer)
  for i in $(seq 1 "$TRIALS"); do
    declare -A got=()
    for k in 0 1 2; do
      # Rotate who goes first so that drift in the machine hits all alike.
      tool=${tools[$(((i + k) % 3))]}
      out=$(closed_run "$tool" "$url")
      [ -n "$out" ] || { echo "  trial $i: $tool failed"; failed=1; continue; }
      got[$tool]=$out
    done
    [ -n "${got[wrk]:-}" ] || continue
    read -r wr wc ws <<<"${got[wrk]}"
    rps[wrk]+=" $wr"; cpu[wrk]+=" $wc"; scpu[wrk]+=" $ws"
    line=$(printf "  trial %d: wrk %8.0f req/s %5.2f us/req (server %5.2f)" "$i" "$wr" "$wc" "$ws")
    for tool in stream transfer; do
      [ -n "${got[$tool]:-}" ] || continue
      read -r r c s <<<"${got[$tool]}"
      rps[$tool]+=" $r"; cpu[$tool]+=" $c"; scpu[$tool]+=" $s"
      ratio[$tool]+=" $(awk -v a="$r" -v b="$wr" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
      line+=$(printf "  %s %8.0f %5.2f (server %5.2f)" "$tool" "$r" "$c" "$s")
    done
    echo "$line"
  done
  printf "  %-9s %12s %10s %14s %8s %16s\n" "" "median req/s" "x wrk" "CPU us/req" "busy" \
    "server us/req"
  for tool in wrk stream transfer; do
    [ -n "${rps[$tool]:-}" ] || continue
    local mr mc ms mx="1.000" busy
    mr=$(printf '%s\n' ${rps[$tool]} | median)
    mc=$(printf '%s\n' ${cpu[$tool]} | median)
    ms=$(printf '%s\n' ${scpu[$tool]} | median)
    [ "$tool" != wrk ] && mx=$(printf '%s\n' ${ratio[$tool]} | median)
    # Busy: the load generator's CPU time over the run's wall time.
    busy=$(awk -v r="$mr" -v c="$mc" 'BEGIN { printf "%.0f%%", r * c / 1e4 }')
    printf "  %-9s %12.0f %10s %14s %8s %16s\n" "$tool" "$mr" "$mx" "$mc" "$busy" "$ms"
  done
  echo "  (x wrk: median of the per-trial ratios; goal: stream >= 0.9, CPU within 1.15x of wrk's)"
}

# wrk's p50 in us from `wrk --latency`, or nothing.
wrk_p50() {
  "${gen_pin[@]}" wrk --latency -t "$THREADS" -c 16 -d 3s "$1" 2>/dev/null |
    awk '$1 == "50%" { v = $2
      if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
      else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
      else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1e6 } }'
}

BENCH_WAKE=$BUILD_DIR/tests/bench_wake

# field KEY: the value of KEY in bench_wake's `key=value` line on stdin.
field() {
  tr ' ' '\n' | sed -n "s/^$1=//p"
}

# The least a server that sleeps, driven by a client that sleeps, can be
# late by here: three wake-ups of an idle process, none of them work. The
# server wakes on the request (written from the client's CPU), its timer
# wakes it late, and the client wakes on the response.
machine_floor() {
  local timer="" to_server="" to_client=""
  if [ -x "$BENCH_WAKE" ]; then
    timer=$("${srv_pin[@]}" "$BENCH_WAKE" timer 10 300 2>/dev/null | field p50_us)
    to_server=$(CPU_WRITER=1 CPU_READER=0 "$BENCH_WAKE" wake 10 300 2>/dev/null | field p50_us)
    to_client=$(CPU_WRITER=0 CPU_READER=1 "$BENCH_WAKE" wake 10 300 2>/dev/null | field p50_us)
  fi
  if [ -z "$timer" ] || [ -z "$to_server" ] || [ -z "$to_client" ]; then
    echo "  (bench_wake not built: this machine's timer and wake-up lags not measured)"
    return
  fi
  floor_ms=$(awk -v t="$timer" -v s="$to_server" -v c="$to_client" \
    'BEGIN { printf "%.3f", (t + s + c) / 1000 }')
  echo "  this machine with no load running (bench_wake, p50 of 300 each): a process idle for 10 ms"
  echo "  wakes $to_server us (server's CPU) and $to_client us (client's) after it is written to; a 10 ms"
  echo "  timer wakes $timer us late: a sleeping server seen by a sleeping client is $floor_ms ms late"
  echo "  before any work of either"
}

delay() {
  local url=$1 i tool v floor_ms=""
  declare -A p50
  echo
  echo "== GET /delay/10, -c 16, 3 s per run, $DELAY_TRIALS trials, ioserve --model select =="
  machine_floor
  for i in $(seq 1 "$DELAY_TRIALS"); do
    p50[wrk]+=" $(wrk_p50 "$url")"
    for tool in stream transfer; do
      v=$(ioload_fields "$tool" 16 3s "$url" --quiet | awk '{ print $3 }')
      p50[$tool]+=" $v"
    done
  done
  local w
  w=$(printf '%s\n' ${p50[wrk]} | median)
  for tool in wrk stream transfer; do
    v=$(printf '%s\n' ${p50[$tool]} | median)
    [ -n "$v" ] || { echo "  $tool: no result"; failed=1; continue; }
    printf "  %-9s p50 %6.3f ms (runs:%s us)" "$tool" "$(awk -v v="$v" 'BEGIN { print v / 1000 }')" \
      "${p50[$tool]}"
    if [ "$tool" = wrk ]; then
      printf "  server late by %.3f ms (goal <= 0.25; this machine's floor %s)\n" \
        "$(awk -v v="$v" 'BEGIN { print v / 1000 - 10 }')" "${floor_ms:-not measured}"
    else
      printf "  %+.3f ms from wrk (goal within 0.05)\n" "$(awk -v v="$v" -v w="$w" 'BEGIN { print (v - w) / 1000 }')"
    fi
  done
}

open_loop() {
  local url=$1 rate engine i out
  echo
  echo "== open loop, -c 16, $OPEN_DURATION per run, $OPEN_TRIALS trials, ioserve --model select =="
  printf "  %-8s %-9s %10s %10s %12s %8s %10s %10s %10s\n" rate engine "lag p50" "lag p99" \
    "corr-unc p50" late saturated "CPU us/req" "closed"
  for engine in stream transfer; do
    local closed
    closed=$(ioload_fields "$engine" 16 "$OPEN_DURATION" "$url" --quiet | awk '{ print $2 }')
    for rate in 1000 20000; do
      local lp50=() lp99=() gap=() late=() sat=() cpu=()
      for i in $(seq 1 "$OPEN_TRIALS"); do
        out=$(ioload_fields "$engine" 16 "$OPEN_DURATION" "$url" --quiet --rate "$rate")
        [ -n "$out" ] || { failed=1; continue; }
        read -r _ c p u l50 l99 lt _ _ s _ <<<"$out"
        lp50+=("$l50"); lp99+=("$l99"); late+=("$lt"); sat+=("$s"); cpu+=("$c")
        gap+=("$(awk -v a="$p" -v b="$u" 'BEGIN { print a - b }')")
      done
      [ ${#cpu[@]} -gt 0 ] || continue
      printf "  %-8s %-9s %8sus %8sus %10sus %8s %10s %10s %10s\n" "$rate" "$engine" \
        "$(printf '%s\n' "${lp50[@]}" | median)" "$(printf '%s\n' "${lp99[@]}" | median)" \
        "$(printf '%s\n' "${gap[@]}" | median)" "$(printf '%s\n' "${late[@]}" | median)" \
        "$(printf '%s\n' "${sat[@]}" | sort | uniq -c | awk '{ printf "%s%sx%s", s, $1, $2; s = "," }')" \
        "$(printf '%s\n' "${cpu[@]}" | median)" "${closed:--}"
    done
  done
  echo "  (medians; goals: corrected - uncorrected p50 under 10 us (at most 30), 0 late at 1000/s,"
  echo "   never saturated, CPU per request at 20000/s at most 2x closed loop's)"
  host_stalls
}

# What an open-loop run at 1,000/s is up against on this machine, one run's
# length at a time on the load CPU with no load running: how many of 3,000
# sleeps of 1 ms (a sleeping scheduler's wake-ups) woke over 1 ms late, and
# how often the host took the CPU away for 1 ms or more while a probe spun
# (what a scheduler that never sleeps would face). A send due then is late
# whatever the scheduler does short of that.
host_stalls() {
  local secs=${OPEN_DURATION%s} i n sleeps=() stalls=() longest=()
  [ -x "$BENCH_WAKE" ] || { echo "  (bench_wake not built: timer tail and host stalls not measured)"; return; }
  for i in $(seq 1 "$OPEN_TRIALS"); do
    sleeps+=("$("${gen_pin[@]}" "$BENCH_WAKE" timer 1 $((secs * 1000)) 2>/dev/null | field over_1ms)")
    n=$("${gen_pin[@]}" "$BENCH_WAKE" spin "$secs" 2>/dev/null)
    stalls+=("$(field host_stalls_over_1ms <<<"$n")")
    longest+=("$(field longest_us <<<"$n")")
  done
  printf "  the load CPU with no load running, per %s s: 1 ms sleeps (of %d) waking over 1 ms late %s;\n" \
    "$secs" $((secs * 1000)) "$(printf '%s\n' "${sleeps[@]}" | median) (runs: ${sleeps[*]})"
  printf "  host stalls of 1 ms or more while spinning %s\n" \
    "$(printf '%s\n' "${stalls[@]}" | median) (runs: ${stalls[*]}; longest, us: ${longest[*]})"
}

echo "$(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $("$IOLOAD" --version)"
if start_nginx; then
  compare "nginx (1 worker)" "http://127.0.0.1:$port/"
  stop_server
else
  echo "bench-ioload: nginx did not start" >&2
  failed=1
fi

if start_ioserve select; then
  compare "ioserve --model select" "http://127.0.0.1:$port/"
  delay "http://127.0.0.1:$port/delay/10"
  open_loop "http://127.0.0.1:$port/"
  stop_server
else
  failed=1
fi
exit "$failed"
