"""A WSGI app (`application`) and an ASGI app (`asgi`) calling Erlang through
hornbeam_erlang and hornbeam_ml; each route answers JSON."""
import json
from urllib.parse import parse_qs

import hornbeam_erlang as he
import hornbeam_ml

# Every kind of value, for the type-fidelity check.
VALUES = [
    None, True, False, 0, -1, 2**64, -(2**100), 1.5, float("inf"),
    "", "text", "héllo ✓", b"", b"\x00\xff", (), (1, "a"), [], [1, [2, [3]]],
    {"a": 1, "b": {"c": [1, 2]}}, {1: "int key", (1, 2): "tuple key"},
    [("t", b"b"), {"k": (None,)}],
]


def fidelity():
    broken = []
    for i, value in enumerate(VALUES):
        he.state_set(("fidelity", i), value)
        back = he.state_get(("fidelity", i))
        if type(back) is not type(value) or back != value or repr(back) != repr(value):
            broken.append(repr((value, back)))
    return broken


def error_of(fn, *args):
    try:
        return {"result": repr(fn(*args))}
    except Exception as e:
        return {"error": type(e).__name__, "message": str(e), "reason": getattr(e, "reason", None)}


calls = {"n": 0}


def slow_square(x):
    calls["n"] += 1
    return x * x


def route(path, query):
    q = {k: v[0] for k, v in query.items()}
    if path == "/fidelity":
        return fidelity()
    if path == "/incr":
        last = 0
        for _ in range(int(q["n"])):
            last = he.state_incr("http-counter")
        return last
    if path == "/state":
        he.state_set("from-python", {"list": [1, 2], "tuple": (3, 4)})
        return {"erlang-wrote": repr(he.state_get("from-erlang")), "missing": he.state_get("nope"),
                "decr": he.state_decr("ctr", 5), "multi": repr(he.state_get_multi(["from-python", "nope"])),
                "keys": sorted(he.state_keys("from-")), "incr-not-int": error_of(he.state_incr, "from-python")}
    if path == "/call":
        return {"sum": he.call("sum", 1, 2, 3), "mfa": he.call("mfa_reverse", "a", "b"),
                "raises": error_of(he.call, "raises"), "unknown": error_of(he.call, "no_such_function"),
                "cast-unknown": error_of(he.cast, "no_such_function")}
    if path == "/cast":
        he.cast("remember", q["value"])
        return "cast"
    if path == "/block":
        return error_of(he.call, "block")
    if path == "/publish":
        return he.publish(q["topic"], {"text": q["text"], "raw": b"\x01"})
    if path == "/subscribe-get":
        with he.subscribe(q["topic"]) as sub:
            he.call("subscribed", q["topic"])
            return repr(sub.get(timeout=5))
    if path == "/rpc":
        return {"local": he.rpc_call(he.node(), "erlang", "abs", [-3]),
                "unreachable": error_of(he.rpc_call, "nobody@localhost", "erlang", "node", []),
                "raises": error_of(he.rpc_call, he.node(), "erlang", "error", ["boom"]),
                "timeout": error_of(he.rpc_call, he.node(), "timer", "sleep", [2000], 100),
                "node": he.node(), "nodes": he.nodes()}
    if path == "/ml":
        before = calls["n"]
        results = [hornbeam_ml.cached_inference(slow_square, x, prefix=q["prefix"]) for x in (3, 4, 3, 3)]
        keyed = hornbeam_ml.cached_inference(slow_square, 5, cache_key="five", prefix=q["prefix"])
        return {"results": results + [keyed], "computed": calls["n"] - before,
                "stats": hornbeam_ml.cache_stats(q["prefix"])}
    if path == "/ml-bounded":
        for x in range(10):
            hornbeam_ml.cached_inference(slow_square, x, prefix="bounded", max_entries=3)
        before = calls["n"]
        for x in (7, 8, 9, 0):
            hornbeam_ml.cached_inference(slow_square, x, prefix="bounded", max_entries=3)
        return {"recomputed": calls["n"] - before, "size": hornbeam_ml.cache_stats("bounded")["size"]}
    if path == "/ml-ttl":
        value = hornbeam_ml.cached_inference(slow_square, 6, prefix="ttl", ttl=float(q["ttl"]))
        return {"value": value, "calls": calls["n"]}
    return None


def application(environ, start_response):
    result = route(environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", "")))
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(result, default=repr).encode()]


async def asgi(scope, receive, send):
    if scope["type"] == "lifespan":
        return  # no lifespan: auto goes on without
    if scope["type"] == "websocket":
        # Forwards what is published on the topic to the client until it leaves.
        topic = scope["path"].rsplit("/", 1)[-1]
        await receive()
        with he.subscribe(topic) as sub:
            await send({"type": "websocket.accept"})
            async for message in sub:
                if message == "bye":
                    await send({"type": "websocket.close", "code": 1000})
                    return
                await send({"type": "websocket.send", "text": json.dumps(message, default=repr)})
        return
    result = route(scope["path"], parse_qs(scope["query_string"].decode()))
    body = json.dumps(result, default=repr).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
