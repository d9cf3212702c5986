# ioserve-lib.sh: start and stop one ioserve by pid. Sourced, not run.
#
# ioserve_start DIR MODEL [PREFIX...]
#   Starts `PREFIX... $IOSERVE --model MODEL --port 0 --port-file DIR/port`
#   (PREFIX: e.g. `taskset -c 0`, or valgrind and its options), stderr in
#   DIR/MODEL.stderr, and waits up to IOSERVE_START_WAIT seconds (5) for the
#   port file. Sets ioserve_pid and ioserve_port; returns 1 after printing
#   the server's stderr when it did not start.
# ioserve_stop
#   SIGTERM, up to IOSERVE_STOP_WAIT seconds (10) for it to exit, then
#   SIGKILL. Returns the server's exit status (0 when none was running).
# Callers set IOSERVE (the binary) and call ioserve_stop from their EXIT trap.
# Safe under `set -e`, but a caller that does not care about the exit status
# writes `ioserve_stop || true` there.

ioserve_pid=""
ioserve_port=""
ioserve_args=()

ioserve_start() {
  local dir=$1 model=$2
  shift 2
  rm -f "$dir/port"
  "$@" "$IOSERVE" --model "$model" "${ioserve_args[@]}" --port 0 --port-file "$dir/port" \
    >/dev/null 2>"$dir/$model.stderr" &
  ioserve_pid=$!
  local tries=$((${IOSERVE_START_WAIT:-5} * 20))
  for _ in $(seq 1 "$tries"); do
    if [ -s "$dir/port" ]; then
      ioserve_port=$(cat "$dir/port")
      return 0
    fi
    kill -0 "$ioserve_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "ioserve --model $model did not start:" >&2
  cat "$dir/$model.stderr" >&2
  ioserve_stop
  return 1
}

ioserve_stop() {
  # By pid, never by name: other servers on this machine are not ours.
  local pid=$ioserve_pid status=0
  ioserve_pid=""
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local tries=$((${IOSERVE_STOP_WAIT:-10} * 10))
  for _ in $(seq 1 "$tries"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}
