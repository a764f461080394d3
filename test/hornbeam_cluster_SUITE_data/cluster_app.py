"""WSGI routes calling other nodes through hornbeam_erlang."""
import json
from urllib.parse import parse_qs

import hornbeam_erlang as he


def outcome(fn, *args):
    try:
        return {"result": fn(*args)}
    except Exception as e:
        return {"error": type(e).__name__, "reason": getattr(e, "reason", None), "message": str(e)}


def application(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ["PATH_INFO"]
    if path == "/rpc":
        result = outcome(he.rpc_call, q["node"], "erlang", "node", [])
    elif path == "/rpc-sleep":
        result = outcome(he.rpc_call, q["node"], "timer", "sleep", [60000], 30000)
    elif path == "/publish":
        result = he.publish(q["topic"], q["text"])
    elif path == "/nodes":
        result = sorted(he.nodes())
    else:
        result = None
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(result).encode()]
