#!/usr/bin/env bash
# nginx.sh: run nginx (one worker) on 127.0.0.1 as a reference server.
#
# Usage:
#   scripts/nginx.sh start DIR   Creates DIR (it must not exist, or be empty),
#                                generates DIR/nginx.conf from nginx.conf.in,
#                                starts /usr/sbin/nginx in the foreground mode
#                                as a background child on a free port, waits
#                                until it accepts connections, and prints the
#                                port on stdout. DIR/port and DIR/pid hold
#                                the port and the master's pid.
#   scripts/nginx.sh stop DIR    Stops that nginx by pid (SIGTERM, then
#                                SIGKILL after 5 s) and removes DIR.
# Serves GET / -> 200 text/plain "Hello, World!" with keep-alive, no access
# log. Nothing is written outside DIR; this is never the system service.
# NGINX overrides the binary (default /usr/sbin/nginx). Exit 0 on success,
# 1 when nginx cannot be started or stopped, 2 on bad usage.
set -euo pipefail

NGINX=${NGINX:-/usr/sbin/nginx}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  echo "usage: nginx.sh start DIR | stop DIR" >&2
  exit 2
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port nobody listens on now; nginx's bind is the real test.
pick_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! accepts "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

start() {
  local dir=$1
  [ -x "$NGINX" ] || { echo "nginx.sh: $NGINX not found (apt-get install nginx-light)" >&2; exit 1; }
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "nginx.sh: $dir exists and is not empty" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local attempt port pid
  for attempt in 1 2 3 4 5; do
    port=$(pick_port) || { echo "nginx.sh: no free port found" >&2; exit 1; }
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$here/nginx.conf.in" >"$dir/nginx.conf"
    # stdout/stderr go to files so that a caller reading our stdout through
    # a pipe is not kept waiting by nginx holding it open.
    "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
      </dev/null >"$dir/stdout.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
      if accepts "$port"; then
        echo "$pid" >"$dir/pid"
        echo "$port" >"$dir/port"
        echo "$port"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    # Did not come up (most likely the port was taken meanwhile): retry.
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "nginx.sh: nginx did not start; see $dir/error.log:" >&2
  tail -n 5 "$dir/error.log" >&2 || true
  exit 1
}

stop() {
  local dir=$1 pid
  [ -d "$dir" ] || { echo "nginx.sh: no such directory $dir" >&2; exit 1; }
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    if kill -TERM "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
      done
      if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.1
      fi
    fi
    if kill -0 "$pid" 2>/dev/null; then
      echo "nginx.sh: nginx $pid did not stop" >&2
      exit 1
    fi
  fi
  rm -rf -- "$dir"
}

[ $# -eq 2 ] || usage
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
