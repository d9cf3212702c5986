# bench-lib.sh: what the benchmark scripts share. Sourced, not run.
# Before sourcing, set `name` (for messages). It defines IOSERVE, IOLOAD,
# the pinning arrays srv_pin/gen_pin, start_ioserve MODEL (ioserve-lib.sh),
# start_nginx, stop_server (by pid), run_wrk URL [CONNECTIONS] and median; every server
# it starts is stopped on EXIT, INT and TERM.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$root/build}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-5s}
IOLOAD=$BUILD_DIR/loadgen/ioload
IOSERVE=$BUILD_DIR/servers/ioserve

for bin in "$IOLOAD" "$IOSERVE"; do
  [ -x "$bin" ] || { echo "$name: $bin is not built (BUILD_DIR=$BUILD_DIR)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "$name: wrk not found (scripts/deps.sh bench)" >&2; exit 1; }

# shellcheck source=ioserve-lib.sh
. "$root/scripts/ioserve-lib.sh"
state=$(mktemp -d "/tmp/$name.XXXXXX") || exit 1
nginx_dir=""
failed=0

stop_server() {
  ioserve_stop
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
