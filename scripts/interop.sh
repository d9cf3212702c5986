#!/usr/bin/env bash
# interop.sh [SECONDS]: every concurrent ioserve model against the HTTP
# clients people benchmark with (curl, ab, wrk, h2load), 64 connections
# each, SECONDS (default 5) per tool. Prints a table of model x tool with
# requests/s and errors, and exits non-zero if any tool saw an error or a
# non-2xx response. A check, not a benchmark: the figures come from a shared
# machine with the client and the server on it together.
#
# BUILD_DIR (default build) names the build holding servers/ioserve.
set -euo pipefail

SECS=${1:-5}
if ! [[ $SECS =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS]   (a positive integer, default 5)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
IOSERVE=$BUILD_DIR/servers/ioserve
MODELS=(fork thread select sigio aio)
CONNS=64

for tool in curl ab wrk h2load; do
    command -v "$tool" >/dev/null || {
        echo "interop: $tool is not installed (apt-get install curl apache2-utils wrk nghttp2-client)" >&2
        exit 2
    }
done
[[ -x $IOSERVE ]] || {
    echo "interop: no $IOSERVE; build first (make build) or set BUILD_DIR" >&2
    exit 2
}

# shellcheck source=ioserve-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ioserve-lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iobench-interop.XXXXXX")
TOOL_PID=""

cleanup() {
    if [[ -n $TOOL_PID ]]; then
        kill -TERM "$TOOL_PID" 2>/dev/null || true
        wait "$TOOL_PID" 2>/dev/null || true
    fi
    ioserve_stop || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server MODEL: sets PORT.
start_server() {
    ioserve_start "$WORK" "$1" || return 1
    PORT=$ioserve_port
}

# run_tool OUT CMD...: runs CMD, its output in OUT, and returns its status.
# In the background, because bash runs a trap only once the foreground
# command is done: this way INT or TERM stops everything at once.
run_tool() {
    local out=$1 rc=0
    shift
    "$@" >"$out" 2>&1 &
    TOOL_PID=$!
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=""
    return "$rc"
}

# Each run_* sets RPS, ERRORS (transport and protocol errors) and NON2XX,
# and keeps the tool's output in $WORK/MODEL.TOOL.out. A tool that fails to
# finish counts as one error more than it reported.

# A few requests, several on one connection (curl URL URL reuses it).
run_curl() {
    local url=http://127.0.0.1:$PORT out=$WORK/$1.curl.out
    RPS="-" ERRORS=0 NON2XX=0
    local fmt='%{http_code} %{num_connects} %{size_download}\n'
    local args=() path
    for path in / /bytes/100000 / /delay/10; do
        args+=(-o /dev/null "$url$path") # -o applies to one URL
    done
    if ! run_tool "$out" curl -sS --max-time 10 -w "$fmt" "${args[@]}"; then
        ERRORS=$((ERRORS + 1))
    fi
    head -c 200000 /dev/urandom >"$WORK/body"
    if ! run_tool "$out.echo" curl -sS --max-time 10 -H 'Expect: 100-continue' \
        --data-binary "@$WORK/body" -o "$WORK/echoed" -w "$fmt" "$url/echo"; then
        ERRORS=$((ERRORS + 1))
    elif ! cmp -s "$WORK/body" "$WORK/echoed"; then
        echo "POST /echo: the body did not round-trip" >>"$out"
        ERRORS=$((ERRORS + 1))
    fi
    cat "$out.echo" >>"$out"
    local code conns total=0 requests=0
    while read -r code conns _; do
        [[ $code =~ ^[0-9]+$ ]] || continue
        requests=$((requests + 1))
        total=$((total + conns))
        ((code >= 200 && code < 300)) || NON2XX=$((NON2XX + 1))
    done <"$out"
    # Five requests on two command lines: two connections if kept alive.
    if ((requests != 5)); then
        ERRORS=$((ERRORS + 1))
    elif ((total != 2)); then
        echo "keep-alive: $total connections for 5 requests on 2 command lines" >>"$out"
        ERRORS=$((ERRORS + 1))
    fi
}

run_ab() {
    local out=$WORK/$1.ab.out rc=0
    # -n after -t: -t alone caps the run at 50000 requests.
    run_tool "$out" timeout $((SECS + 30)) ab -q -k -c $CONNS -t "$SECS" -n 100000000 -s 10 \
        "http://127.0.0.1:$PORT/" || rc=$?
    RPS=$(awk '/^Requests per second:/ {print $4}' "$out")
    local failed write non2xx
    failed=$(awk '/^Failed requests:/ {print $3}' "$out")
    write=$(awk '/^Write errors:/ {print $3}' "$out")
    non2xx=$(awk '/^Non-2xx responses:/ {print $3}' "$out")
    ERRORS=$((${failed:-0} + ${write:-0} + (rc != 0)))
    NON2XX=${non2xx:-0}
    RPS=${RPS:--}
}

run_wrk() {
    local out=$WORK/$1.wrk.out rc=0
    run_tool "$out" timeout $((SECS + 30)) wrk -t2 -c$CONNS -d"${SECS}s" --timeout 10s \
        "http://127.0.0.1:$PORT/" || rc=$?
    RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    # "Socket errors: connect 0, read 0, write 0, timeout 0", when any.
    local sock
    sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
    ERRORS=$((${sock:-0} + (rc != 0)))
    NON2XX=${NON2XX:-0}
    RPS=${RPS:--}
}

run_h2load() {
    local out=$WORK/$1.h2load.out rc=0
    run_tool "$out" timeout $((SECS + 30)) h2load --h1 -c $CONNS -D "$SECS" -T 10 \
        "http://127.0.0.1:$PORT/" || rc=$?
    # "finished in 5.00s, 54013.00 req/s, 7.57MB/s"
    RPS=$(awk '/^finished in/ {print $4}' "$out")
    # "requests: N total, N started, N done, N succeeded, F failed, E errored, T timeout"
    local failed
    failed=$(awk '/^requests:/ {print $10 + $12 + $14}' "$out")
    # "status codes: N 2xx, N 3xx, N 4xx, N 5xx"
    NON2XX=$(awk '/^status codes:/ {print $5 + $7 + $9}' "$out")
    ERRORS=$((${failed:-1} + (rc != 0)))
    NON2XX=${NON2XX:-0}
    RPS=${RPS:--}
}

TOOLS=(curl ab wrk h2load)
declare -A CELL
BAD=0
for model in "${MODELS[@]}"; do
    start_server "$model"
    for tool in "${TOOLS[@]}"; do
        echo "interop: $model / $tool ..." >&2
        "run_$tool" "$model"
        CELL[$model.$tool]="$RPS $ERRORS $NON2XX"
        if ((ERRORS + NON2XX > 0)); then
            BAD=1
            echo "interop: $model / $tool: $ERRORS errors, $NON2XX non-2xx; its output:" >&2
            tail -n 25 "$WORK/$model.$tool.out" | sed 's/^/    /' >&2
        fi
    done
    ioserve_stop || true
done

printf '\n%-8s' model
for tool in "${TOOLS[@]}"; do
    printf ' | %-30s' "$tool req/s, errors, non-2xx"
done
printf '\n'
for model in "${MODELS[@]}"; do
    printf '%-8s' "$model"
    for tool in "${TOOLS[@]}"; do
        read -r rps err non <<<"${CELL[$model.$tool]}"
        printf ' | %12s %8s %8s ' "$rps" "$err" "$non"
    done
    printf '\n'
done
if ((BAD)); then
    echo "interop: FAILED: some tool saw errors or non-2xx responses (details above)" >&2
    exit 1
fi
echo "interop: every model served every tool without an error"
