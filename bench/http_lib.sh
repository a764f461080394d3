# Shared by the HTTP benchmarks (source it after setting $port to a base port and $out
# to the output directory): start servers one at a time on the next port, wait until
# they answer, stop them, and measure keep-alive requests/s with wrk.
# SECONDS_PER_RUN (default 10) sets each measurement's length. Optional: $server_cpus
# pins the servers (taskset), $scheme (default http) is how they are probed.
secs=${SECONDS_PER_RUN:-10}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# start NAME COMMAND...: runs a server on the next port (PORT in COMMAND) and waits
# until it answers.
start() {
  local name=$1; shift
  port=$((port + 1))
  local cmd=("${@//PORT/$port}") pin=()
  if [ -n "${server_cpus:-}" ]; then pin=(taskset -c "$server_cpus"); fi
  "${pin[@]}" "${cmd[@]}" > "$out/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do
    curl -sfk "${scheme:-http}://127.0.0.1:$port/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$name did not start:"; cat "$out/$name.log"; return 1
}

stop_last() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; }

# Requests/s of one wrk run (-t2 -c64) on PATH; errors and non-2xx answers are
# reported, not hidden.
rps() {
  local report
  report=$(wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$port$1")
  if grep -qE 'Non-2xx|Socket errors' <<< "$report"; then
    grep -E 'Non-2xx|Socket errors' <<< "$report" | sed "s|^|  [$1] |" >&2
  fi
  awk '/Requests\/sec/ {printf "%d", $2}' <<< "$report"
}
