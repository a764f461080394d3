#!/usr/bin/env bash
# HTTP/3 against the one Python server that has it, and against Hornbeam's own HTTP/2:
# Hornbeam (ASGI, 1 worker, HTTP/3 and HTTP/2 over TLS) and hypercorn[h3] (1 worker),
# the same app (bench/asgi_hello.py), one after the other in one run.
# Per core: the server is pinned to CPU 1 (SERVER_CPUS), h2load to CPU 0 (CLIENT_CPUS).
# Measures requests/s of 13 B responses (16 connections x 4 streams in flight) and the
# throughput of one 100 MiB download (/100m). HTTP/2 with h2load; HTTP/3 with
# bench/h3_load (quinn + h3, one thread), since Debian's h2load is built without QUIC.
# SECONDS_PER_RUN (default 10) sets each requests/s run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
out=_build/bench
mkdir -p "$out"
server_cpus=${SERVER_CPUS:-1}
client_cpus=${CLIENT_CPUS:-0}
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "hypercorn[h3]" uvloop
cargo build --release --quiet -p h3_load

# A throwaway certificate for 127.0.0.1; h2load does not verify it.
if [ ! -f "$out/h3.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$out/h3.key" -out "$out/h3.pem" 2>/dev/null
fi

port=18950
scheme=https
source bench/http_lib.sh

# requests/s over PROTOCOL (h2 or h3); "-" when any request failed.
rps() {
  local report
  if [ "$1" = h3 ]; then
    taskset -c "$client_cpus" target/release/h3_load rps "127.0.0.1:$port" / 16 4 "$secs" 2> "$out/h3_load.err" || echo "-"
    return
  fi
  report=$(taskset -c "$client_cpus" h2load -c16 -m4 -D"$secs" "https://127.0.0.1:$port/" 2>&1) || true
  if ! grep -q ' 0 failed, 0 errored' <<< "$report"; then echo "-"; return; fi
  awk '/^finished in/ {gsub(",", "", $4); printf "%d", $4}' <<< "$report"
}

# MB/s (10^6 bytes) of one 100 MiB download over PROTOCOL.
download() {
  local report
  if [ "$1" = h3 ]; then
    taskset -c "$client_cpus" target/release/h3_load download "127.0.0.1:$port" /100m 2> "$out/h3_load.err" || echo "-"
    return
  fi
  report=$(taskset -c "$client_cpus" h2load -n1 -c1 "https://127.0.0.1:$port/100m" 2>&1) || true
  if ! grep -q '1 succeeded, 0 failed' <<< "$report"; then echo "-"; return; fi
  awk '/^finished in/ {v = $6; sub("MB/s", "", v); printf "%d", v * 1.048576}' <<< "$report"
}

results=()
measure() {
  local name=$1 protocol=$2
  local r d
  r=$(rps "$protocol")
  d=$(download "$protocol")
  results+=("$name|$r|$d")
  printf '%-34s %12s %12s\n' "$name" "$r" "$d"
}

printf '%-34s %12s %12s\n' "server (CPU $server_cpus; h2load on CPU $client_cpus)" "13 B req/s" "100 MiB MB/s"
hb_opts="#{bind => \"127.0.0.1:PORT\", worker_class => asgi, pythonpath => [\"bench\"], ssl => true,
  certfile => \"$out/h3.pem\", keyfile => \"$out/h3.key\", http_version => ['HTTP/1.1', 'HTTP/2', 'HTTP/3']}"
start hornbeam erl -noshell -pa _build/default/lib/hornbeam/ebin -eval \
  "logger:set_primary_config(level, warning), {ok, _} = application:ensure_all_started(hornbeam), ok = hornbeam:start(\"asgi_hello:app\", $hb_opts), receive stop -> ok end."
measure "hornbeam HTTP/3" h3
measure "hornbeam HTTP/2 (TLS)" h2
stop_last
start hypercorn "$venv/bin/hypercorn" --bind 127.0.0.1:PORT --quic-bind 127.0.0.1:PORT --workers 1 -k uvloop \
  --certfile "$out/h3.pem" --keyfile "$out/h3.key" bench.asgi_hello:app
measure "hypercorn[h3] HTTP/3" h3
measure "hypercorn HTTP/2 (TLS)" h2
stop_last

echo
echo "ratios (req/s, MB/s):"
row() { printf "%s\n" "${results[@]}" | grep -F "$1|"; }
ratio() {
  awk -F'|' -v a="$(row "$1")" -v b="$(row "$2")" -v label="$3" 'BEGIN {
    split(a, x, "|"); split(b, y, "|");
    r = (x[2] + 0 > 0 && y[2] + 0 > 0) ? sprintf("%.2fx", x[2] / y[2]) : "-";
    d = (x[3] + 0 > 0 && y[3] + 0 > 0) ? sprintf("%.2fx", x[3] / y[3]) : "-";
    printf "  %-44s %8s %8s\n", label, r, d }'
}
ratio "hornbeam HTTP/3" "hypercorn[h3] HTTP/3" "hornbeam HTTP/3 / hypercorn HTTP/3"
ratio "hornbeam HTTP/3" "hornbeam HTTP/2 (TLS)" "hornbeam HTTP/3 / hornbeam HTTP/2"
ratio "hornbeam HTTP/2 (TLS)" "hypercorn HTTP/2 (TLS)" "hornbeam HTTP/2 / hypercorn HTTP/2"
