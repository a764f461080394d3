#!/usr/bin/env bash
# WSGI requests/s: Hornbeam against granian (1 worker), gunicorn (gthread) and a bare
# hyper server answering from Rust (the ceiling), one after the other in one run, same
# app (bench/wsgi_hello.py), same machine, every server free to use every core.
# wrk: keep-alive, 64 connections, 2 threads; a 13-byte and a 10 KiB response.
# SECONDS_PER_RUN (default 10) sets each measurement's length (bench/http_lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
out=_build/bench
mkdir -p "$out"
cores=$(nproc)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check granian gunicorn
cargo build --release --quiet -p hyper_hello
erlc -o "$out" bench/bench_server.erl

port=18800
source bench/http_lib.sh

results=()
measure() {
  local name=$1
  local small large
  small=$(rps /)
  large=$(rps /10k)
  results+=("$name $small $large")
  printf '%-34s %10s %10s\n' "$name" "$small" "$large"
}

printf '%-34s %10s %10s\n' "server ($cores cores, ${secs}s each)" "13 B req/s" "10 KiB req/s"
start hornbeam_1 erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "bench_server:main(\"wsgi_hello:application\", wsgi, PORT, 1)"
measure "hornbeam (1 worker)"; stop_last
start hornbeam_2 erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" -eval "bench_server:main(\"wsgi_hello:application\", wsgi, PORT, $cores)"
measure "hornbeam ($cores workers)"; stop_last
start granian "$venv/bin/granian" --interface wsgi --workers 1 --host 127.0.0.1 --port PORT --working-dir bench wsgi_hello:application
measure "granian (wsgi, 1 worker)"; stop_last
start gunicorn "$venv/bin/gunicorn" -k gthread --workers "$cores" --threads 4 -b 127.0.0.1:PORT --chdir bench wsgi_hello:application
measure "gunicorn (gthread, $cores x 4)"; stop_last
start hyper target/release/hyper_hello PORT "$cores"
measure "hyper, no Python (ceiling)"; stop_last

echo
echo "ratios to granian (13 B, 10 KiB):"
granian=$(printf '%s\n' "${results[@]}" | grep '^granian' | awk '{print $(NF-1), $NF}')
printf '%s\n' "${results[@]}" | awk -v g="$granian" '
  BEGIN { split(g, base, " ") }
  { name = $1; for (i = 2; i <= NF - 2; i++) name = name " " $i
    printf "  %-32s %5.2fx %5.2fx\n", name, $(NF-1) / base[1], $NF / base[2] }'
