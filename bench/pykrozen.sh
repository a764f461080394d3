#!/usr/bin/env bash
# pykrozen requests/s, the original README's three measurements (HTTP GET, HTTP POST,
# WebSocket echo; 50 connections), for the same app (bench/pykrozen_app.py) run each
# way, one after the other in one run:
#   standalone: 1 process with asyncio (standard library only), 1 with uvloop, and one
#               worker per core (SO_REUSEPORT) with uvloop;
#   inside Hornbeam: ASGI with 1 and with one worker per core, and on one reactor.
# GET and POST with wrk (-t2 -c50, keep-alive); WebSocket with echo_load wsjson (50
# connections, each sending a small JSON message and waiting for its echo).
# SECONDS_PER_RUN (default 10) sets each measurement's length.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
out=_build/bench
mkdir -p "$out"
cores=$(nproc)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check uvloop
erlc -o "$out" bench/bench_server.erl bench/pykrozen_reactor.erl
cargo build --release --quiet -p echo_load

port=19100
source bench/http_lib.sh

wrk50() {  # requests/s of wrk -c50 on / (GET) or /users (POST)
  local report
  report=$(wrk -t2 -c50 -d"${secs}s" "$@")
  if grep -qE 'Non-2xx|Socket errors' <<< "$report"; then
    grep -E 'Non-2xx|Socket errors' <<< "$report" | sed "s|^|  |" >&2
  fi
  awk '/Requests\/sec/ {printf "%d", $2}' <<< "$report"
}

results=()
measure() {
  local name=$1 get post ws
  get=$(wrk50 "http://127.0.0.1:$port/")
  post=$(wrk50 -s bench/pykrozen_post.lua "http://127.0.0.1:$port/users")
  ws=$(target/release/echo_load wsjson "ws://127.0.0.1:$port/ws" 50 32 "$secs" 2> "$out/echo_load.err" || echo "-")
  results+=("$name|$get|$post|$ws")
  printf '%-36s %10s %10s %10s\n' "$name" "$get" "$post" "$ws"
}

standalone() {  # standalone LOOP WORKERS
  echo "import sys; sys.path[:0] = ['priv/python', 'bench']; import pykrozen_app; from pykrozen import Server; Server.run(pykrozen_app.app, port=PORT, loop='$1', workers=$2)"
}

printf '%-36s %10s %10s %10s\n' "pykrozen ($cores cores, ${secs}s each)" "GET req/s" "POST req/s" "WS msg/s"
printf '%-36s %10s %10s %10s\n' "original (published, README)" "~4400" "~4800" "~5900"
start standalone-asyncio "$venv/bin/python" -c "$(standalone asyncio 1)"
measure "standalone, asyncio, 1 process"; stop_last
start standalone-uvloop "$venv/bin/python" -c "$(standalone uvloop 1)"
measure "standalone, uvloop, 1 process"; stop_last
start standalone-workers "$venv/bin/python" -c "$(standalone uvloop "$cores")"
measure "standalone, uvloop, $cores workers"; stop_last
start hornbeam-asgi-1 erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "bench_server:main(\"pykrozen_app:app\", asgi, PORT, 1)"
measure "hornbeam asgi, 1 worker"; stop_last
start hornbeam-asgi-n erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "bench_server:main(\"pykrozen_app:app\", asgi, PORT, $cores)"
measure "hornbeam asgi, $cores workers"; stop_last
start hornbeam-reactor erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "pykrozen_reactor:main(PORT)"
measure "hornbeam reactor, 1 reactor"; stop_last

echo
echo "ratios to the original's published numbers (GET, POST, WS):"
printf '%s\n' "${results[@]}" | awk -F'|' '{printf "  %-34s %5.1fx %5.1fx %5.1fx\n", $1, $2/4400, $3/4800, ($4 == "-" ? 0 : $4/5900)}'
echo "ratios to standalone with uvloop, 1 process:"
base=$(printf '%s\n' "${results[@]}" | grep '^standalone, uvloop, 1')
printf '%s\n' "${results[@]}" | awk -F'|' -v b="$base" 'BEGIN {split(b, x, "|")} {printf "  %-34s %5.2fx %5.2fx %5.2fx\n", $1, $2/x[2], $3/x[3], ($4 == "-" ? 0 : $4/x[4])}'
