# bench-lib.sh: what the benchmark scripts share. Sourced, not run.
# Before sourcing, set `name` (for messages). It defines IOSERVE, IOLOAD,
# the pinning arrays srv_pin/gen_pin, start_ioserve MODEL (ioserve-lib.sh),
# start_nginx, start_floor, server_pids, server_cpu_us, stop_server (by pid), run_wrk URL [CONNECTIONS] and median; every server
# it starts is stopped on EXIT, INT and TERM.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-5s}
IOLOAD=$BUILD_DIR/loadgen/ioload
IOSERVE=$BUILD_DIR/servers/ioserve
IOFLOOR=$BUILD_DIR/servers/iofloor

for bin in "$IOLOAD" "$IOSERVE"; do
  [ -x "$bin" ] || { echo "$name: $bin is not built (BUILD_DIR=$BUILD_DIR)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "$name: wrk not found (scripts/deps.sh bench)" >&2; exit 1; }

# shellcheck source=ioserve-lib.sh
. "$root/scripts/ioserve-lib.sh"
state=$(mktemp -d "/tmp/$name.XXXXXX") || exit 1
nginx_dir=""
floor_pid=""
failed=0

stop_server() {
  ioserve_stop
  if [ -n "$floor_pid" ]; then
    kill -TERM "$floor_pid" 2>/dev/null || true
    wait "$floor_pid" 2>/dev/null || true
    floor_pid=""
  fi
  if [ -n "$nginx_dir" ]; then
    "$root/scripts/nginx.sh" stop "$nginx_dir" || failed=1
    nginx_dir=""
  fi
}
cleanup() {
  stop_server
  rm -rf -- "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

srv_pin=()
gen_pin=()
if [ "$(nproc)" -ge 2 ]; then
  srv_pin=(taskset -c 0)
  gen_pin=(taskset -c 1)
  echo "pinning: servers on CPU 0, load generators on CPU 1 (taskset)"
else
  echo "one CPU: servers and load generators share it (no pinning)"
fi

# start_ioserve MODEL: sets $port, or returns 1.
start_ioserve() {
  ioserve_start "$state" "$1" "${srv_pin[@]}" || return 1
  port=$ioserve_port
}

# start_nginx: sets $port, or returns 1.
start_nginx() {
  nginx_dir=$state/nginx
  port=$("${srv_pin[@]}" "$root/scripts/nginx.sh" start "$nginx_dir") || {
    nginx_dir=""
    return 1
  }
}

# start_floor: the floor server (servers/floor.c); sets $port, or returns 1.
start_floor() {
  [ -x "$IOFLOOR" ] || { echo "$name: $IOFLOOR is not built" >&2; return 1; }
  "${srv_pin[@]}" "$IOFLOOR" 0 >"$state/floor.out" 2>&1 &
  floor_pid=$!
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening on 127.0.0.1://p' "$state/floor.out")
    [ -n "$port" ] && return 0
    kill -0 "$floor_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$name: iofloor did not start" >&2
  stop_server
  return 1
}

# server_pids: the running server's pid and its descendants', one a line
# (nginx's worker, prefork's children, the loops of --workers).
server_pids() {
  local top=${ioserve_pid:-${floor_pid:-}}
  [ -n "$top" ] || { [ -n "$nginx_dir" ] && top=$(cat "$nginx_dir/pid"); }
  [ -n "$top" ] || return 0
  local queue=("$top") p
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do queue+=("$c"); done
  done
}

# server_cpu_us: CPU the running server has used, in microseconds: for each
# of its processes, the time on CPU of its live threads (/proc/.../schedstat,
# in nanoseconds: per-task tick counts would round a prefork child's few
# milliseconds down to nothing) or, when larger, the whole process's user and
# system time (in ticks, but it keeps the threads that have ended: the thread
# model's per-connection threads, glibc's AIO helpers), plus what its reaped
# children used (fork's per-connection children: cutime and cstime of the
# top process, in ticks).
server_cpu_us() {
  local pids top hz
  pids=$(server_pids)
  top=$(head -n 1 <<<"$pids")
  hz=$(getconf CLK_TCK)
  [ -n "$top" ] || { echo 0; return; }
  {
    for p in $pids; do
      { cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { print "live", ns + 0 }'
        awk -v hz="$hz" '{ sub(/.*\) /, ""); print "proc", ($12 + $13) * 1e9 / hz }' \
          /proc/"$p"/stat 2>/dev/null
      } | awk '{ v[$1] = $2 } END { print (v["proc"] > v["live"] ? v["proc"] : v["live"]) }'
    done
    # Fields after the ")" of comm: cutime is the 14th, cstime the 15th.
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($14 + $15) * 1e9 / hz }' \
      /proc/"$top"/stat 2>/dev/null
  } | awk '{ ns += $1 } END { printf "%.0f\n", ns / 1000 }'
}

# run_wrk URL [CONNECTIONS]: prints "RPS ERRORS CPU_US_PER_REQUEST" (errors:
# socket errors and non-2xx responses; CPU: wrk's user and system time over
# the requests it completed), or nothing when wrk failed.
run_wrk() {
  local TIMEFORMAT='%U %S'
  # bash's `time` keyword reports the CPU time of the processes it ran.
  { time "${gen_pin[@]}" wrk -t "$THREADS" -c "${2:-$CONNECTIONS}" -d "$DURATION" "$1" \
    >"$state/wrk.out" 2>/dev/null; } 2>"$state/wrk.time" || return 0
  awk -v cpu="$(cat "$state/wrk.time")" '
    /requests in/ { n = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
    /Non-2xx/ { e += $NF }
    END {
      split(cpu, t, " ")
      if (rps != "" && n > 0) printf "%s %d %.2f\n", rps, e, (t[1] + t[2]) * 1e6 / n
    }' "$state/wrk.out"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
