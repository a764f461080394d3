#!/usr/bin/env bash
# Echo throughput of a Hornbeam reactor context against a plain asyncio server (and
# uvloop when it installs), same client, same machine, one run:
#   - messages/s: 64 connections, 100-byte messages, one in flight per connection;
#   - MB/s: one connection streaming 64 KiB writes, every byte checked.
# SECONDS_PER_RUN (default 5) sets each measurement's length.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_PER_RUN:-5}
python=${VENV_PYTHON:-.venv/bin/python}
out=_build/bench
mkdir -p "$out"
cargo build --release --quiet -p echo_load
load=target/release/echo_load
erlc -o "$out" bench/reactor_echo_server.erl
cp bench/echo_protocols.py "$out/"
"$python" -m pip install --quiet uvloop >/dev/null 2>&1 || true

port=18700
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME COMMAND...: runs a server on $port and waits for its "ready" line.
start() {
  local name=$1; shift
  port=$((port + 1))
  "$@" > "$out/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q ready "$out/$name.log" && return 0; sleep 0.1; done
  echo "$name did not start:"; cat "$out/$name.log"; return 1
}

measure() {
  local name=$1
  local msgs mbs
  msgs=$("$load" messages "127.0.0.1:$port" 64 100 "$secs")
  mbs=$("$load" stream "127.0.0.1:$port" 65536 "$secs")
  printf '%-28s %12s %10s\n' "$name" "$msgs" "$mbs"
  echo "$name $msgs $mbs" >> "$out/echo_results"
  kill "${pids[-1]}" 2>/dev/null || true
}

: > "$out/echo_results"
printf '%-28s %12s %10s\n' server "messages/s" "MB/s"
start reactor_direct erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" \
  -eval "reactor_echo_server:main([\"$((port + 1))\", \"DirectEcho\"])."
measure "hornbeam reactor (direct)"
start reactor_seed erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" \
  -eval "reactor_echo_server:main([\"$((port + 1))\", \"QuietSeedEcho\"])."
measure "hornbeam reactor (seed echo)"
start asyncio "$python" bench/asyncio_echo.py $((port + 1))
measure "asyncio"
if "$python" -c "import uvloop" 2>/dev/null; then
  start uvloop "$python" bench/asyncio_echo.py $((port + 1)) --uvloop
  measure "uvloop"
fi

"$python" - "$out/echo_results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    *name, msgs, mbs = line.split()
    rows[" ".join(name)] = (float(msgs), float(mbs))
base = rows["hornbeam reactor (direct)"]
for peer in ("asyncio", "uvloop"):
    if peer in rows:
        m, b = rows[peer]
        print(f"reactor (direct) / {peer}: messages {base[0] / m:.2f}x, MB/s {base[1] / b:.2f}x")
PY
