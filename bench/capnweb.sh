#!/usr/bin/env bash
# capnweb calls/s over WebSocket, sequential and 100 pipelined, in one run:
#   Python client -> Python server (standalone, websockets)
#   Node client   -> Python server inside Hornbeam (ASGI, 1 worker)
#   Node client   -> Python server (standalone)
#   Node client   -> Node server (the anchor)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
PY=${PY:-.venv/bin/python}
NODE_DIR=test/python/capnweb/node
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# Starts a server command in the background and echoes the port from its "... PORT" line.
start() {
  local fifo; fifo=$(mktemp -u); mkfifo "$fifo"
  "$@" > "$fifo" 2>/dev/null &
  pids+=($!)
  local line; while read -r line < "$fifo"; do
    case "$line" in listening*|serving*) echo "${line##* }"; break;; esac
  done
  rm -f "$fifo"
}

py_port=$(start "$PY" bench/capnweb_server.py 0)
node_port=$(start node "$NODE_DIR/server.mjs" 0)
hb_port=$(start erl -noshell -pa _build/default/lib/*/ebin -eval '
  {ok, _} = application:ensure_all_started(hornbeam),
  ok = hornbeam:start("interop_api:app", #{name => capnweb, bind => "127.0.0.1:0", worker_class => asgi,
                                          workers => 1, pythonpath => ["test/python/capnweb/apps"]}),
  #{port := P} = hornbeam:info(capnweb), io:format("serving ~b~n", [P]), receive after infinity -> ok end.')

run() { printf '%-40s %s\n' "$1" "$(shift; "$@")"; }
echo "capnweb calls/s, ${SECONDS_PER_RUN} s each, $(nproc) cores"
run "python -> python (standalone)" "$PY" bench/capnweb_client.py "ws://127.0.0.1:$py_port/" "$SECONDS_PER_RUN"
run "node -> python in Hornbeam (asgi)" node "$NODE_DIR/bench.mjs" "ws://127.0.0.1:$hb_port/" "$SECONDS_PER_RUN"
run "node -> python (standalone)" node "$NODE_DIR/bench.mjs" "ws://127.0.0.1:$py_port/" "$SECONDS_PER_RUN"
run "node -> node (anchor)" node "$NODE_DIR/bench.mjs" "ws://127.0.0.1:$node_port/" "$SECONDS_PER_RUN"
