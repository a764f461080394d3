"""One client connection without I/O: HTTP/1.1 requests, then perhaps a WebSocket.
The standalone server and the reactor protocol drive it.

The transport gives `write(bytes)` and `close()` (close once what was written is
flushed), feeds what it reads with `feed`, then calls `step()` until it returns None.
A step serves one request (or one WebSocket message) and returns True, or an
awaitable to finish before the next step: requests are answered in the order they
arrived, pipelined or not.
"""

from . import pipeline
from .body import BadRequest
from .context import Request, Response
from .http1 import RequestReader, response_head
from .websocket import FrameSession, accept_key, handshake_error

__all__ = ["Connection"]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_Pending = pipeline.Pending


class Connection:
    __slots__ = ("app", "write", "close", "client", "reader", "ws", "closing", "sent_continue")

    def __init__(self, app, write, close, client=None):
        self.app = app
        self.write = write
        self.close = close
        self.client = client
        settings = app.settings
        self.reader = RequestReader(settings.max_head_size, settings.max_body_size)
        self.ws = None
        self.closing = False
        self.sent_continue = False

    def feed(self, data):
        if self.ws is not None:
            self.ws.feed(data)
        elif not self.closing:
            self.reader.feed(data)

    def step(self):
        if self.ws is not None:
            return self.ws.step()
        if self.closing:
            return None
        try:
            parsed = self.reader.next()
        except BadRequest as exc:
            self._refuse(exc)
            return None
        if parsed is None:
            if self.reader.expects_continue and not self.sent_continue:
                self.sent_continue = True
                self.write(_CONTINUE)
            return None
        self.sent_continue = False
        app = self.app
        if parsed.upgrade and parsed.path == app.settings.ws_path:
            return self._upgrade(parsed)
        try:
            req = app.make_request(
                parsed.method,
                parsed.path,
                parsed.headers,
                parsed.query(),
                parsed.body,
                parsed.query_string,
                self.client,
            )
        except BadRequest as exc:
            req = Request(parsed.method, parsed.path, parsed.headers)
            self._respond(parsed, req, app.bad_request(exc))
            return True
        res = app.handle(req, parsed.raw_path)
        if res.__class__ is Response:
            self._respond(parsed, req, res)
            return True
        return self._respond_later(parsed, req, res)

    async def _respond_later(self, parsed, req, pending):
        self._respond(parsed, req, await pending)
        return True

    def _respond(self, parsed, req, res):
        status, headers, body = self.app.encode(req, res)
        keep_alive = parsed.keep_alive
        try:
            head = response_head(status, headers, len(body), keep_alive, parsed.version)
        except ValueError as exc:
            status, headers, body = self.app.encode(req, self.app.failure(req, exc))
            head = response_head(status, headers, len(body), keep_alive, parsed.version)
        self.write(head if parsed.method == "HEAD" else head + body)
        if not keep_alive:
            self.closing = True
            self.close()

    def _refuse(self, exc):
        """A request that cannot be read: answer it and close."""
        self.closing = True
        status, headers, body = self.app.encode(Request("-", "-"), self.app.bad_request(exc))
        self.write(response_head(status, headers, len(body), False) + body)
        self.close()

    def _upgrade(self, parsed):
        refused = handshake_error(parsed.method, parsed.headers)
        if refused is not None:
            self._refuse(BadRequest(*refused))
            return None
        self.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: "
            + accept_key(parsed.headers["sec-websocket-key"]).encode()
            + b"\r\n\r\n"
        )
        self.ws = FrameSession(self.app, self.write, self.close)
        self.ws.feed(self.reader.take_rest())
        self.reader = None
        try:
            opened = self.ws.open()
        except Exception as exc:
            return self.ws.failed(exc, "ws:connect")
        if opened.__class__ is _Pending:
            return self._open_later(opened)
        return True

    async def _open_later(self, opened):
        try:
            await opened
        except Exception as exc:
            self.ws.failed(exc, "ws:connect")
        return True

    def lost(self):
        """The connection ended; returns an awaitable if an async ws:disconnect hook
        has to run."""
        self.closing = True
        if self.ws is not None:
            return self.ws.lost()
        return None
