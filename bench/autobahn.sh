#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzing client against Hornbeam serving bench/ws_echo.py
# and prints how many cases were OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED,
# and the cases that were not OK.
# Usage: [COMPRESSION=true] bench/autobahn.sh [CASES]   CASES: a JSON list, default every
# case; EXCLUDE (a JSON list) defaults to 9.* (the slow performance cases), and without
# COMPRESSION (websocket_compression => true) to 12.*/13.* (permessage-deflate) as well.
# wstest runs on Python 2.7 (pyenv's 2.7.18), in a virtualenv made here once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${AUTOBAHN_VENV:-$root/_build/autobahn-venv}
cases=${1:-'["*"]'}
compression=${COMPRESSION:-false}
if [ "$compression" = true ]; then
  exclude=${EXCLUDE:-'["9.*"]'}
else
  exclude=${EXCLUDE:-'["9.*", "12.*", "13.*"]'}
fi
port=${PORT:-9001}
out=$(mktemp -d)
if [ ! -x "$venv/bin/wstest" ]; then
  py27=$(pyenv root)/versions/2.7.18/bin/python
  "$py27" -m pip install -q 'virtualenv<20.22'
  "$py27" -m virtualenv -q "$venv"
  "$venv/bin/pip" install -q autobahntestsuite
fi
(cd "$root" && rebar3 compile >/dev/null)
erl -noshell -pa "$root"/_build/default/lib/*/ebin -eval "
  {ok, _} = application:ensure_all_started(hornbeam),
  ok = hornbeam:start(\"ws_echo:app\", #{bind => \"127.0.0.1:$port\", worker_class => asgi,
                                        websocket_compression => $compression,
                                        pythonpath => [\"$root/bench\"]}),
  receive after infinity -> ok end." >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; echo "report, wstest.log and server.log: $out"' EXIT
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
cat >"$out/spec.json" <<JSON
{"outdir": "$out/report", "servers": [{"agent": "hornbeam", "url": "ws://127.0.0.1:$port"}],
 "cases": $cases, "exclude-cases": $exclude, "exclude-agent-cases": {}}
JSON
(cd "$out" && "$venv/bin/wstest" -m fuzzingclient -s spec.json >"$out/wstest.log" 2>&1)
python3 - "$out/report/index.json" <<'PY'
import collections, json, sys
results = json.load(open(sys.argv[1]))["hornbeam"]
counts = collections.Counter(r["behavior"] for r in results.values())
print("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
key = lambda c: [int(p) for p in c.split(".")]
for case in sorted(results, key=key):
    r = results[case]
    if r["behavior"] not in ("OK", "INFORMATIONAL"):
        print(f"{case}: {r['behavior']} (close: {r['behaviorClose']})")
PY
