"""The hface worker class: ``async def handler(connection)`` per connection.

An hface worker is an ASGI worker (``hornbeam_asgi``: its loop, its eventfd, its
per-request ``Conn``) whose application is the adapter below. The engine gives every
request of one connection to the same worker, tagged ``hornbeam.stream`` (connection
id, stream id, whether the request has no body), and tells the worker when the
connection has ended. The adapter keeps one ``ServerConnection`` per connection id,
starts the handler on its first request, and runs each request as a stream of it.
"""

import asyncio
import traceback

import hornbeam_asgi
from hface.connections import ServerConnection

__all__ = ["ClientDisconnected", "serve"]

ClientDisconnected = hornbeam_asgi.ClientDisconnected


class _Connections:
    def __init__(self, handler, log):
        self.handler = handler
        self.log = log
        self.connections = {}
        self.handlers = set()

    async def hornbeam_serve_request(self, scope, request):
        if scope["type"] != "http":
            # A WebSocket handshake: hface servers see no upgrade in this version.
            await request.send({"type": "websocket.close", "code": 1008})
            return
        connection_id, stream_id, end_stream = scope["hornbeam.stream"]
        connection = self.connections.get(connection_id)
        if connection is None:
            loop = asyncio.get_running_loop()
            connection = ServerConnection(scope, loop)
            self.connections[connection_id] = connection
            task = loop.create_task(self._run(connection))
            self.handlers.add(task)
            task.add_done_callback(self.handlers.discard)
        await connection._stream(scope, request, stream_id, end_stream)

    async def _run(self, connection):
        try:
            await self.handler(connection)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log(
                "error",
                f"hface handler for {connection.remote_address} failed:\n"
                + "".join(traceback.format_exception(exc)),
            )
        await connection._handler_done()

    def hornbeam_connection_closed(self, connection_id):
        connection = self.connections.pop(connection_id, None)
        if connection is not None:
            connection._terminate("the connection closed")

    async def hornbeam_stop(self):
        for connection in self.connections.values():
            connection._terminate("the server stops")
        self.connections.clear()
        running = list(self.handlers)
        if running:
            _, pending = await asyncio.wait(running, timeout=1.0)
            for task in pending:
                task.cancel()


def serve(native, handler, _lifespan, shutdown_timeout):
    """Runs an hface worker until the engine says stop (no lifespan: a handler of
    connections has no application-wide startup)."""
    app = _Connections(handler, native.log)
    hornbeam_asgi.serve(native, app, "off", shutdown_timeout)
