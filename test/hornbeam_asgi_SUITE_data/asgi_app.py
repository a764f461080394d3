"""A raw ASGI 3 application exercising the protocol; routes by path."""
import asyncio
import json
import os
from urllib.parse import parse_qs

from hornbeam_asgi import ClientDisconnected

# Per-interpreter: the tests using these run one worker.
progress = {"chunks": 0}
barrier = {"waiting": 0, "event": None}


def jsonable(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


async def respond(send, status=200, body=b"", headers=(), content_type=b"text/plain"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), *headers]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive):
    chunks, events = [], 0
    while True:
        event = await receive()
        assert event["type"] == "http.request", event
        events += 1
        chunks.append(event["body"])
        if not event["more_body"]:
            return b"".join(chunks), events


def mark(query, text):
    path = query.get("mark", [None])[0]
    if path:
        with open(path, "w") as f:
            f.write(text)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        raise ValueError("this app has no lifespan")
    if scope["type"] == "websocket":
        return await websocket(scope, receive, send)
    assert scope["type"] == "http"
    # Route on the path below the mount point, as frameworks do.
    path = scope["path"][len(scope["root_path"]):]
    query = parse_qs(scope["query_string"].decode())

    if path == "/scope" or path.startswith("/scope/"):
        await respond(send, body=json.dumps(jsonable(scope)).encode(), content_type=b"application/json")
    elif path == "/":
        await respond(send, body=b"Hello, World!")
    elif path.startswith("/status/"):
        await respond(send, status=int(path.rsplit("/", 1)[1]), body=b"status")
    elif path == "/headers":
        await respond(send, body=b"h", headers=[(b"x-one", b"1"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")])
    elif path == "/echo":
        body, events = await read_body(receive)
        await respond(send, body=body, headers=[(b"x-events", str(events).encode())],
                      content_type=b"application/octet-stream")
    elif path == "/stream":
        n = int(query.get("n", ["3"])[0])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(n):
            await send({"type": "http.response.body", "body": f"chunk{i};".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/raise":
        raise RuntimeError("raised before the response")
    elif path == "/raise-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("raised in the middle of the body")
    elif path == "/no-response":
        return
    elif path == "/body-twice":
        await respond(send, body=b"once")
        await send({"type": "http.response.body", "body": b"twice"})
    elif path == "/wait-disconnect":
        await read_body(receive)
        mark(query, "waiting")
        event = await receive()
        mark(query, event["type"])
    elif path == "/read-until-disconnect":
        # Answers the first chunk at once, then reads until the client goes away.
        received, answered = 0, False
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                mark(query, f"disconnect after {received}")
                return
            received += len(event["body"])
            if not answered:
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"reading", "more_body": True})
                answered = True
            if not event["more_body"]:
                mark(query, f"whole body of {received}")
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
    elif path == "/infinite":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"x" * 65536
        try:
            while True:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                progress["chunks"] += 1
        except ClientDisconnected:
            mark(query, "ClientDisconnected")
            raise
    elif path == "/progress":
        await respond(send, body=str(progress["chunks"]).encode())
    elif path == "/barrier":
        # Answers only once `n` requests are waiting here at once.
        n = int(query["n"][0])
        if barrier["event"] is None:
            barrier["event"] = asyncio.Event()
        event = barrier["event"]
        barrier["waiting"] += 1
        if barrier["waiting"] >= n:
            event.set()
            barrier["event"], barrier["waiting"] = None, 0
        await event.wait()
        await respond(send, body=b"together")
    elif path == "/sleep":
        try:
            await asyncio.sleep(float(query["s"][0]))
        except asyncio.CancelledError:
            mark(query, "cancelled")
            raise
        await respond(send, body=b"slept")
    elif path == "/early-hints":
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
        await asyncio.sleep(0.05)
        await respond(send, body=b"hinted")
    elif path == "/pathsend":
        file = query["path"][0]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")]})
        await send({"type": "http.response.pathsend", "path": file})
    elif path == "/bad-message":
        await send({"type": "http.response.start", "status": "200", "headers": []})
    else:
        await respond(send, status=404, body=b"not found")


async def websocket(scope, receive, send):
    """/ws echoes text and bytes; /ws/reject refuses the handshake; /ws/protocol accepts
    the first offered subprotocol; /ws/close-4000 closes with a code; /ws/scope sends the
    scope as JSON; /ws/flood sends until the client is gone (back-pressure);
    /ws/raise and /ws/flood-then-raise fail after accept."""
    path = scope["path"]
    event = await receive()
    assert event["type"] == "websocket.connect", event
    if path == "/ws/reject":
        await send({"type": "websocket.close"})
        return
    subprotocol = scope["subprotocols"][0] if path == "/ws/protocol" and scope["subprotocols"] else None
    await send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": [(b"x-accepted", b"yes")]})
    if path == "/ws/scope":
        await send({"type": "websocket.send", "text": json.dumps(jsonable({k: v for k, v in scope.items() if k != "state"}))})
    if path == "/ws/close-4000":
        await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
        return
    if path == "/ws/raise":
        raise RuntimeError("websocket handler failed")
    if path == "/ws/flood-then-raise":
        # Sends until the client, which does not read yet, holds the app back, so the
        # outbound queue is full when the app fails.
        chunk = b"x" * 262144
        while True:
            try:
                await asyncio.wait_for(send({"type": "websocket.send", "bytes": chunk}), 0.5)
            except asyncio.TimeoutError:
                raise RuntimeError("websocket handler failed while the client lagged")
    query = parse_qs(scope["query_string"].decode())
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            mark(query, f"disconnect {event['code']}")
            return
        if event.get("text") is not None:
            await send({"type": "websocket.send", "text": event["text"]})
        else:
            await send({"type": "websocket.send", "bytes": event["bytes"]})
