#!/usr/bin/env bash
# bench-models.sh: each I/O model beside nginx and the floor.
#
# wrk (-t THREADS -c CONNECTIONS -d DURATION) drives `GET /` on nginx with
# one worker, on iofloor (servers/floor.c: one epoll loop, a fixed answer,
# the cheapest server this machine can run) and on every ioserve model, in
# one run, servers interleaved within each trial so drift in a noisy
# machine hits all alike. For each server it prints the median rate and its
# ratio to nginx's, the server's CPU per request (user + system time of all
# its processes and threads, from /proc, over the requests wrk completed)
# and its ratio to the floor's. Then, in a separate pass whose rate is not
# reported (strace slows a server down), system calls per request and, for
# the epoll models, epoll_ctl calls per request (strace -c -f attached to
# every process of the server). Last, the idle-connection ratio (Gammo et
# al., OLS 2004): for each of IDLE_MODELS, the rate of BUSY connections
# with IDLE silent keep-alive connections open beside them (held by ioload
# -i) over the rate without; select is given at most SELECT_IDLE, since
# descriptors past FD_SETSIZE are answered 503.
# With two CPUs or more, servers run on CPU 0 and wrk on CPU 1, and it says
# so. A benchmark, not a test: it prints figures and exits non-zero only
# when something failed to run.
#
# Models are given as NAME or NAME:OPTION,VALUE,... (epoll:--edge). Bounded
# models (prefork, pool: --describe-models) get --workers CONNECTIONS, or
# connections beyond their workers would only wait.
#
# Environment: BUILD_DIR (build/), TRIALS (5), DURATION (5s), THREADS (1),
# CONNECTIONS (64), MODELS (every model of `ioserve --list-models`, and
# epoll:--edge), SYSCALLS (1: the strace pass; 0 skips it), IDLE (5000),
# BUSY (16), IDLE_MODELS (select poll epoll epoll:--edge uring, those
# built), SELECT_IDLE (1000). A short check: TRIALS=1 DURATION=1s IDLE=500.
set -uo pipefail

name=bench-models
TRIALS=${TRIALS:-5}
SYSCALLS=${SYSCALLS:-1}
IDLE=${IDLE:-5000}
BUSY=${BUSY:-16}
SELECT_IDLE=${SELECT_IDLE:-1000}
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

built=$("$IOSERVE" --list-models | tr '\n' ' ')
default_models=$built
case " $built " in *" epoll "*) default_models+=" epoll:--edge" ;; esac
MODELS=${MODELS:-$default_models}
default_idle=""
for m in select poll epoll epoll:--edge uring; do
  case " $built " in *" ${m%%:*} "*) default_idle+=" $m" ;; esac
done
IDLE_MODELS=${IDLE_MODELS:-$default_idle}
servers=(nginx floor $MODELS)
echo "wrk -t $THREADS -c $CONNECTIONS -d $DURATION GET /, $TRIALS trials; $(nproc) CPUs;" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# start SERVER [CONNECTIONS]: nginx, floor, or an ioserve model spec.
start() {
  case "$1" in
    nginx) start_nginx ;;
    floor) start_floor ;;
    *)
      local model=${1%%:*} opts=""
      [ "$model" != "$1" ] && opts=${1#*:}
      IFS=, read -r -a ioserve_args <<<"$opts"
      if "$IOSERVE" --describe-models | awk -F'\t' -v m="$model" '$1 == m && $2 ~ /bounded/ { f = 1 } END { exit !f }'; then
        ioserve_args+=(--workers "${2:-$CONNECTIONS}")
      fi
      start_ioserve "$model"
      ;;
  esac
}

# measure SERVER: one wrk run; prints "RPS ERRORS CPU_US_PER_REQUEST".
measure() {
  start "$1" || return 1
  local t0 t1 out
  t0=$(server_cpu_us)
  out=$(run_wrk "http://127.0.0.1:$port/")
  t1=$(server_cpu_us)
  stop_server
  [ -n "$out" ] || return 1
  read -r r e _ <<<"$out"
  awk -v r="$r" -v e="$e" -v us="$((t1 - t0))" -v dur="$DURATION" '
    BEGIN { s = dur + 0; if (dur ~ /ms$/) s /= 1000; else if (dur ~ /m$/) s *= 60
            n = r * s; printf "%s %s %.2f\n", r, e, (n > 0 ? us / n : 0) }'
}

declare -A rps cpu
for i in $(seq 1 "$TRIALS"); do
  for s in "${servers[@]}"; do
    out=$(measure "$s") || {
      echo "  trial $i $s: did not run"
      failed=1
      continue
    }
    read -r r e c <<<"$out"
    printf "  trial %d %-14s %10.0f req/s  errors %s  %6.2f us CPU/request\n" "$i" "$s" "$r" "$e" "$c"
    rps[$s]="${rps[$s]:-} $r"
    cpu[$s]="${cpu[$s]:-} $c"
  done
done

# syscalls SERVER: "SYSCALLS_PER_REQUEST EPOLL_CTL_PER_REQUEST" from strace -c
# attached to every process of the server during one wrk run.
syscalls() {
  start "$1" || return 1
  local pids=() p out
  for p in $(server_pids); do pids+=(-p "$p"); done
  strace -c -f -qq -o "$state/strace" "${pids[@]}" &
  local st=$!
  sleep 0.5 # strace attaches
  out=$(run_wrk "http://127.0.0.1:$port/")
  kill -INT "$st" 2>/dev/null
  wait "$st" 2>/dev/null
  stop_server
  [ -n "$out" ] || return 1
  read -r r _ <<<"$out"
  awk -v r="$r" -v dur="$DURATION" '
    $NF == "total" { total = $4 }
    $NF == "epoll_ctl" { ctl = $4 }
    END { s = dur + 0; if (dur ~ /ms$/) s /= 1000; else if (dur ~ /m$/) s *= 60
          n = r * s; if (n > 0) printf "%.2f %.3f\n", total / n, ctl / n }' "$state/strace"
}

declare -A sys ctl
if [ "$SYSCALLS" = 1 ] && command -v strace >/dev/null; then
  for s in "${servers[@]}"; do
    out=$(syscalls "$s") || { echo "  syscalls $s: did not run"; failed=1; continue; }
    read -r sys[$s] ctl[$s] <<<"$out"
  done
fi

ref=$(printf '%s\n' ${rps[nginx]:-} | median)
floor_cpu=$(printf '%s\n' ${cpu[floor]:-} | median)
echo
echo "rate: median of $TRIALS; CPU: server user+system time per request (median); syscalls: strace pass"
printf "%-14s %12s %8s %10s %8s %10s %10s\n" server "req/s" "x nginx" "CPU us/req" "x floor" \
  "syscalls" "epoll_ctl"
for s in "${servers[@]}"; do
  m=$(printf '%s\n' ${rps[$s]:-} | median)
  [ -n "$m" ] || { printf "%-14s %12s\n" "$s" "(no run)"; continue; }
  c=$(printf '%s\n' ${cpu[$s]:-} | median)
  ratio=$(awk -v a="$m" -v b="${ref:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  cratio=$(awk -v a="$c" -v b="${floor_cpu:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  e=${ctl[$s]:--}
  case "$s" in epoll*) ;; *) e="" ;; esac
  printf "%-14s %12.0f %8s %10.2f %8s %10s %10s\n" "$s" "$m" "$ratio" "$c" "$cratio" \
    "${sys[$s]:--}" "$e"
done

# idle_rate SERVER IDLE: median rate of BUSY wrk connections with IDLE silent
# connections (ioload -i, at one request a second) open beside them.
idle_rate() {
  local s=$1 n=$2 rates="" out holder
  for i in $(seq 1 "$TRIALS"); do
    start "$s" "$BUSY" || return 1
    holder=""
    if [ "$n" -gt 0 ]; then
      "${gen_pin[@]}" "$IOLOAD" -q -c 1 -R 1 -i "$n" -d 1h "http://127.0.0.1:$port/" \
        >/dev/null 2>&1 &
      holder=$!
      # Wait until the server holds them (its /stats counts them active).
      for _ in $(seq 1 100); do
        a=$(curl -s "http://127.0.0.1:$port/stats" | sed -n 's/.*"active":\([0-9]*\).*/\1/p')
        [ "${a:-0}" -ge "$n" ] && break
        sleep 0.1
      done
    fi
    out=$(run_wrk "http://127.0.0.1:$port/" "$BUSY")
    [ -n "$holder" ] && { kill -TERM "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }
    stop_server
    [ -n "$out" ] || return 1
    read -r r _ <<<"$out"
    rates+=" $r"
  done
  printf '%s\n' $rates | median
}

if [ -n "$IDLE_MODELS" ] && [ "$IDLE" -gt 0 ]; then
  echo
  echo "idle connections: $BUSY busy (wrk) beside N idle keep-alive (ioload -i), median of $TRIALS"
  printf "%-14s %8s %12s %12s %8s\n" server idle "req/s idle" "req/s none" ratio
  for s in $IDLE_MODELS; do
    n=$IDLE
    [ "${s%%:*}" = select ] && [ "$n" -gt "$SELECT_IDLE" ] && n=$SELECT_IDLE
    with=$(idle_rate "$s" "$n") || { echo "  idle $s: did not run"; failed=1; continue; }
    without=$(idle_rate "$s" 0) || { echo "  idle $s: did not run"; failed=1; continue; }
    ratio=$(awk -v a="$with" -v b="$without" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf "%-14s %8d %12.0f %12.0f %8s\n" "$s" "$n" "$with" "$without" "$ratio"
  done
fi
exit "$failed"
