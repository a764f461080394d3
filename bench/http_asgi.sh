#!/usr/bin/env bash
# ASGI requests/s: Hornbeam against granian, uvicorn (httptools + uvloop) and hypercorn
# (uvloop), 1 worker each, one after the other in one run, same app
# (bench/asgi_hello.py), every server free to use every core. HTTP/1.1 with wrk (-t2
# -c64, keep-alive; 13 B and 10 KiB); HTTP/2 with h2load (-c16 -m4, prior knowledge;
# uvicorn has no HTTP/2); WebSocket echo round trips with bench/echo_load (50
# connections, 32 B text messages, each waiting for its echo).
# SECONDS_PER_RUN (default 10) sets each measurement's length.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
out=_build/bench
mkdir -p "$out"
cores=$(nproc)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check granian uvicorn httptools uvloop hypercorn
erlc -o "$out" bench/bench_server.erl
cargo build --release --quiet -p echo_load

port=18900
source bench/http_lib.sh

# h2load requests/s; "-" when the server does not speak HTTP/2 or answers errors.
h2rps() {
  local report
  report=$(h2load -c16 -m4 -D"$secs" "http://127.0.0.1:$port/" 2>&1) || true
  if ! grep -q ' 0 failed, 0 errored' <<< "$report"; then echo "-"; return; fi
  awk '/^finished in/ {gsub(",", "", $4); printf "%d", $4}' <<< "$report"
}

# WebSocket echo messages/s; "-" when a connection fails.
wsrate() {
  target/release/echo_load ws "ws://127.0.0.1:$port/ws" 50 32 "$secs" 2> "$out/echo_load.err" || echo "-"
}

results=()
measure() {
  local name=$1 h2=$2
  local small large multi="-" ws
  small=$(rps /)
  large=$(rps /10k)
  if [ "$h2" = yes ]; then multi=$(h2rps); fi
  ws=$(wsrate)
  results+=("$name|$small|$large|$multi|$ws")
  printf '%-30s %10s %10s %10s %10s\n' "$name" "$small" "$large" "$multi" "$ws"
}

printf '%-30s %10s %10s %10s %10s\n' "server ($cores cores, ${secs}s each)" "13 B req/s" "10 KiB" "h2 req/s" "ws msg/s"
start hornbeam erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "bench_server:main(\"asgi_hello:app\", asgi, PORT, 1)"
measure "hornbeam (asgi, 1 worker)" yes; stop_last
start granian "$venv/bin/granian" --interface asgi --workers 1 --host 127.0.0.1 --port PORT --working-dir bench --http auto asgi_hello:app
measure "granian (asgi, 1 worker)" yes; stop_last
start uvicorn "$venv/bin/uvicorn" --host 127.0.0.1 --port PORT --app-dir bench --loop uvloop --http httptools --no-access-log --log-level warning asgi_hello:app
measure "uvicorn (httptools, uvloop)" no; stop_last
start hypercorn "$venv/bin/hypercorn" --bind 127.0.0.1:PORT --workers 1 -k uvloop bench.asgi_hello:app
measure "hypercorn (uvloop)" yes; stop_last

echo
echo "ratios to granian (13 B, 10 KiB, h2, ws):"
base=$(printf '%s\n' "${results[@]}" | grep '^granian')
printf '%s\n' "${results[@]}" | awk -F'|' -v b="$base" '
  BEGIN { split(b, g, "|") }
  function ratio(i) { return ($i == "-" || g[i] == "-") ? "  -   " : sprintf("%5.2fx", $i / g[i]) }
  { printf "  %-30s %s %s %s %s\n", $1, ratio(2), ratio(3), ratio(4), ratio(5) }'
