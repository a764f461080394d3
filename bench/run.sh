#!/usr/bin/env bash
# Runs every benchmark of bench/ against the compiled application and prints numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
out=_build/bench
mkdir -p "$out"
erlc -o "$out" bench/py_call_bench.erl bench/erlang_calls.erl
erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" \
    -eval 'py_call_bench:main(), halt().'
erl -noshell -pa _build/default/lib/hornbeam/ebin -pa "$out" \
    -eval 'erlang_calls:main(), halt().'
bash bench/reactor_echo.sh
bash bench/http_wsgi.sh
bash bench/http_asgi.sh
bash bench/pykrozen.sh
bash bench/capnweb.sh
