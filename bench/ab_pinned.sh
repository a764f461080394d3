#!/usr/bin/env bash
# A same-run A/B of two builds of Hornbeam, pinned: the server on CPU 1, wrk on CPU 0.
# Usage: bench/ab_pinned.sh BASE_CHECKOUT [NEW_CHECKOUT]   (each already built:
# priv/py_nif.so and _build/default). Prints requests/s for the WSGI and ASGI hello
# apps of bench/ at 13 B and 10 KiB over HTTP/1.1 (wrk -c64), at 13 B over HTTP/2
# (h2load -c16 -m4, path "h2"), ASGI WebSocket echo messages/s (bench/echo_load, 50
# connections, 32 B text, path "ws"), and NEW/BASE.
set -euo pipefail
base=$(cd "$1" && pwd); new=$(cd "${2:-$(dirname "$0")/..}" && pwd)
secs=${SECONDS_PER_RUN:-8}
bench_dir=$(cd "$(dirname "$0")" && pwd)
(cd "$bench_dir/.." && cargo build --release --quiet -p echo_load)
echo_load=$bench_dir/../target/release/echo_load
port=18500
serve() { # checkout app worker_class port
  taskset -c 1 erl -noshell -pa "$1"/_build/default/lib/*/ebin -eval "
    {ok, _} = application:ensure_all_started(hornbeam),
    ok = hornbeam:start(\"$2\", #{bind => \"127.0.0.1:$4\", worker_class => $3, pythonpath => [\"$bench_dir\"]}),
    receive after infinity -> ok end." >/dev/null 2>&1 &
  echo $!
}
rps() {
  if [ "$2" = ws ]; then
    taskset -c 0 "$echo_load" ws "ws://127.0.0.1:$1/ws" 50 32 "$secs"
  elif [ "$2" = h2 ]; then
    taskset -c 0 h2load -c16 -m4 -D"${secs}" "http://127.0.0.1:$1/" | awk '/^finished in/ {printf "%d", $4}'
  else
    taskset -c 0 wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {printf "%d", $2}'
  fi
}
printf "%-12s %-6s %10s %10s %7s\n" interface path base new ratio
for spec in "wsgi_hello:application wsgi" "asgi_hello:app asgi ws"; do
  set -- $spec
  paths="/ /10k h2 ${3:-}"
  declare -A result=()
  for side in base new; do
    dir=$base; [ $side = new ] && dir=$new
    port=$((port + 1))
    pid=$(serve "$dir" "$1" "$2" $port)
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    for path in $paths; do result[$side$path]=$(rps $port $path); done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  for path in $paths; do
    printf "%-12s %-6s %10s %10s %7s\n" "$2" "$path" "${result[base$path]}" "${result[new$path]}" \
      "$(awk -v a="${result[base$path]}" -v b="${result[new$path]}" 'BEGIN {printf "%.3f", b / a}')"
  done
done
