"""pykrozen on Hornbeam's fd reactor: Erlang accepts, Python speaks HTTP/1.1 and
WebSocket on the socket it is handed, with no asyncio in the request path.

The two lines, in Erlang (`py_reactor_listener` accepts and calls
`py_reactor_context:handoff/3` for each connection):

    {ok, _} = py_reactor_context:start_link(web, subinterp, #{pythonpath => ["."],
        setup_code => <<"import pykrozen.reactor, myapp; pykrozen.reactor.serve(myapp.app)">>}),
    {ok, _} = py_reactor_listener:start_link(#{context => web, port => 8000}).

`serve(app)` runs the `server:start` hooks; the context's end (`py_reactor_context:
stop/1`) runs `server:stop`. Async handlers and hooks work, but a reactor thread has
no event loop of its own: each runs to completion on a private loop, and the
reactor's other connections wait meanwhile. Prefer sync handlers here, or the ASGI
mode for handlers that wait on I/O.
"""

import asyncio
import atexit
import threading

import erlang.reactor as _reactor

from . import pipeline
from .application import log
from .connection import Connection

__all__ = ["serve", "PykrozenProtocol"]

_Pending = pipeline.Pending


class _Loop(threading.local):
    loop = None


_private = _Loop()


def run_to_completion(awaitable):
    """Runs an awaitable on this thread's private event loop."""
    loop = _private.loop
    if loop is None:
        loop = _private.loop = asyncio.new_event_loop()
    return loop.run_until_complete(_wrap(awaitable))


async def _wrap(awaitable):
    return await awaitable


class PykrozenProtocol(_reactor.Protocol):
    """One connection: HTTP/1.1 requests, then perhaps a WebSocket."""

    app = None  # set by serve()

    def connection_made(self, fd, client_info):
        super().connection_made(fd, client_info)
        addr = client_info.get("addr")
        client = (addr, client_info.get("port")) if addr is not None else None
        self.close_when_flushed = False
        self.in_callback = False
        self.conn = Connection(self.app, self._write, self._close, client)

    def _write(self, data):
        self.write_buffer += data
        if not self.in_callback:
            self.request_write()  # another connection's hook wrote to this one

    def _close(self):
        self.close_when_flushed = True
        if not self.in_callback:
            self.request_write()

    def data_received(self, data):
        conn = self.conn
        self.in_callback = True
        try:
            if data:
                conn.feed(data)
            else:
                self.close_when_flushed = True  # the peer is done; answer what it sent
            while True:
                done = conn.step()
                if done is None:
                    break
                if done is not True:
                    run_to_completion(done)
        finally:
            self.in_callback = False
        if self.write_buffer:
            return "write_pending"
        return "close" if self.close_when_flushed else "read_pending"

    def write_ready(self):
        buffer = self.write_buffer
        if buffer:
            del buffer[: self.write(buffer)]
            if buffer:
                return "continue"
        return "close" if self.close_when_flushed else "read_pending"

    def connection_lost(self):
        done = self.conn.lost()
        if done is not None and done.__class__ is _Pending:
            try:
                run_to_completion(done)
            except Exception as exc:
                log.error("ws:disconnect raised %s", type(exc).__name__, exc_info=exc)


def serve(app=None):
    """Makes this reactor context serve `app` (the global app by default). Call it in
    the context's `setup_code`."""
    if app is None:
        from . import app as default_app

        app = default_app
    protocol = type("PykrozenProtocol", (PykrozenProtocol,), {"app": app})
    _reactor.set_protocol_factory(protocol)
    started = app.emit("server:start", app.server_context(None, "reactor"))
    if started.__class__ is _Pending:
        run_to_completion(started)
    atexit.register(_stop, app)
    return protocol


def _stop(app):
    stopped = app.emit("server:stop", app.server_context(None, "reactor"))
    if stopped.__class__ is _Pending:
        run_to_completion(stopped)
