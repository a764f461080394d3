"""A pykrozen App as an ASGI 3 application (`App.__call__`), for Hornbeam's ASGI
workers or any other ASGI server. The server owns HTTP and the WebSocket framing;
this maps its events onto the same pipelines the standalone server runs.

`http` scopes become Requests; `websocket` scopes at `settings.ws_path` become
WSClients (another path is refused with close 1008, which the server sends as a 403);
`lifespan` startup and shutdown run the `server:start` and `server:stop` hooks.
"""

import asyncio
from collections import deque
from urllib.parse import parse_qsl

from . import pipeline
from .application import log
from .body import BadRequest
from .context import Headers, Request, Response
from .websocket import WSClient

__all__ = ["serve"]

_Pending = pipeline.Pending


async def serve(app, scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        await _http(app, scope, receive, send)
    elif kind == "websocket":
        await _websocket(app, scope, receive, send)
    elif kind == "lifespan":
        await _lifespan(app, receive, send)
    else:
        raise ValueError(f"pykrozen serves http, websocket and lifespan scopes, not {kind!r}")


def _headers(scope):
    headers = Headers()
    for name, value in scope["headers"]:
        headers.add(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def _read_body(receive, limit):
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, "request body too large")
        if not message.get("more_body"):
            # Most bodies come in one event: no join, no copy.
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)


async def _http(app, scope, receive, send):
    if app.mode is None:
        app.set_mode("asgi")
    method = scope["method"]
    raw_path = scope.get("raw_path")
    raw_path = raw_path.decode("latin-1") if raw_path else None
    query_string = scope["query_string"].decode("latin-1")
    query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
    headers = _headers(scope)
    client = scope.get("client")
    req = None
    limit = app.settings.max_body_size
    try:
        announced = headers.get("content-length")
        if (
            announced is not None
            and announced.isascii()
            and announced.isdigit()
            and int(announced) > limit
        ):
            raise BadRequest(413, "request body too large")
        try:
            raw_body = await _read_body(receive, limit)
        except ConnectionError:
            return  # the client left, or sent a body the server refused (and answered)
        req = app.make_request(
            method,
            scope["path"],
            headers,
            query,
            raw_body,
            query_string,
            tuple(client) if client else None,
        )
    except BadRequest as exc:
        res = app.bad_request(exc)
    else:
        res = app.handle(req, raw_path)
        if res.__class__ is not Response:
            res = await res
    if req is None:
        req = Request(method, scope["path"], headers, query)
    status, header_pairs, body = app.encode(req, res)
    out = [(name.encode("latin-1"), value.encode()) for name, value in header_pairs]
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


class _Sink:
    """Where a WSClient's sends go under ASGI: `send` is async, `WSClient.send` is not,
    so messages queue here and one flusher at a time sends them in order."""

    __slots__ = ("send", "pending", "flushing")

    def __init__(self, send):
        self.send = send
        self.pending = deque()
        self.flushing = False

    def send_message(self, message):
        """`WSClient.send`: queued, sent by a flusher task."""
        self._push(_send_event(message))

    def close(self, code, reason):
        self._push({"type": "websocket.close", "code": code, "reason": reason})

    def _push(self, event):
        self.pending.append(event)
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())

    async def send_now(self, message):
        """Sends a reply after whatever is queued: inline, with no task, unless a
        flusher is already at work (then it sends the reply too)."""
        self.pending.append(_send_event(message))
        if not self.flushing:
            self.flushing = True
            await self._flush()

    async def _flush(self):
        try:
            while self.pending:
                await self.send(self.pending.popleft())
        except OSError:
            self.pending.clear()  # the client went away; the receive loop sees it
        finally:
            self.flushing = False


def _send_event(message):
    if message.__class__ is str:
        return {"type": "websocket.send", "text": message}
    return {"type": "websocket.send", "bytes": message}


async def _websocket(app, scope, receive, send):
    if app.mode is None:
        app.set_mode("asgi")
    await receive()  # websocket.connect
    if scope["path"] != app.settings.ws_path:
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    sink = _Sink(send)
    client = WSClient(sink)
    connected = False
    try:
        done = app.ws_connect(client)
        if done.__class__ is _Pending:
            await done
        connected = True
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                break
            text = message.get("text")
            reply = app.ws_message(
                client, text if text is not None else message.get("bytes") or b""
            )
            if reply.__class__ is _Pending:
                reply = await reply
            if reply is not None:
                await sink.send_now(reply)
    except OSError:
        pass  # the client went away while we sent
    except Exception as exc:
        log.error("a ws hook raised %s; closing with 1011", type(exc).__name__, exc_info=exc)
        if not client.closed:
            client.closed = True
            await send({"type": "websocket.close", "code": 1011, "reason": "internal error"})
    finally:
        client.closed = True
        if connected:
            done = app.ws_disconnect(client)
            if done.__class__ is _Pending:
                await done


async def _lifespan(app, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            event, reply = "server:start", "lifespan.startup"
        elif message["type"] == "lifespan.shutdown":
            event, reply = "server:stop", "lifespan.shutdown"
        else:
            continue
        try:
            done = app.emit(event, app.server_context(None, "asgi"))
            if done.__class__ is _Pending:
                await done
        except Exception as exc:
            log.error("the %s hook raised %s", event, type(exc).__name__, exc_info=exc)
            await send(
                {"type": reply + ".failed", "message": f"{event}: {type(exc).__name__}: {exc}"}
            )
        else:
            await send({"type": reply + ".complete"})
        if event == "server:stop":
            return
