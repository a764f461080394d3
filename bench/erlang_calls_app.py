"""The app bench/erlang_calls.erl serves: /run?fn=NAME&n=N makes N calls to Erlang
from this interpreter and answers the seconds they took."""
import time
from urllib.parse import parse_qs

import hornbeam_erlang as he

CALLS = {
    "state_get": lambda: he.state_get("bench-key"),
    "state_incr": lambda: he.state_incr("bench-counter"),
    "call": lambda: he.call("bench_echo", 1),
}


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    fn, n = CALLS[q["fn"]], int(q["n"])
    started = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - started
    start_response("200 OK", [("content-type", "text/plain")])
    return [repr(elapsed).encode()]
