"""`asgi_app(target)`: WebSocket sessions and HTTP batches on one path, for any ASGI
server: `hornbeam:start("api:app", #{worker_class => asgi})`, uvicorn, granian..."""

import logging

from .batch import new_http_batch_rpc_response
from .options import RpcSessionOptions
from .session import RpcSession
from .transports import AsgiWebSocketTransport
from .websocket import Connection, main_for

log = logging.getLogger("capnweb")


def asgi_app(target, options=None):
    """An ASGI app serving `target` (an RpcTarget, or a factory called with each
    `Connection`): a WebSocket upgrade starts a session; a POST is one HTTP batch."""
    options = options or RpcSessionOptions()

    async def app(scope, receive, send):
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        connection = Connection(
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            scope["path"],
            scope.get("client"),
        )
        if kind == "websocket":
            await _websocket(connection, receive, send)
        elif kind == "http":
            await _batch(scope, connection, receive, send)

    async def _websocket(connection, receive, send):
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        try:
            main = await main_for(target, connection)
        except Exception as exc:
            log.warning("capnweb: refusing connection from %s: %s", connection.remote, exc)
            await send({"type": "websocket.close", "code": 1008, "reason": str(exc)[:123]})
            return
        await send({"type": "websocket.accept"})
        session = RpcSession(AsgiWebSocketTransport(receive, send), main, options)
        await session.closed

    async def _batch(scope, connection, receive, send):
        if scope["method"] != "POST":
            await _respond(
                send, 405, b"This endpoint only accepts POST requests.", [(b"allow", b"POST")]
            )
            return
        chunks = []
        size = 0
        limit = options.limits.max_message_size * 4
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _respond(send, 413, b"Batch too large.")
                return
            chunks.append(chunk)
            if not event.get("more_body"):
                break
        try:
            body = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            await _respond(send, 400, b"The batch is not UTF-8.")
            return
        try:
            main = await main_for(target, connection)
        except Exception as exc:
            await _respond(send, 403, str(exc).encode("utf-8"))
            return
        reply = await new_http_batch_rpc_response(body, main, options)
        await _respond(send, 200, reply.encode("utf-8"))

    return app


async def _respond(send, status, body, headers=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
