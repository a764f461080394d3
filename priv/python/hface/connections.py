"""``HTTPConnection``, listeners and openers: hface's connection layer on the engine.

A connection the engine accepted reaches Python as an ``HTTPConnection`` whose streams
are the requests hyper (HTTP/1.1, HTTP/2) or h3 (HTTP/3) parsed: ``receive_event()``
gives ``HeadersReceived`` and ``DataReceived`` as the engine reads them, and
``send_headers``/``send_data`` hand the response to the engine, waiting while the peer
is slow. ``worker_class => hface`` serves such connections (``hornbeam_hface``).
"""

import asyncio
import collections
import importlib.util
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from . import AddressType, ClientTLSConfig, HeadersType, HTTPErrorCodes, ServerTLSConfig
from ._error_codes import error_codes_for
from .events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    HeadersReceived,
    StreamResetReceived,
)

__all__ = [
    "HTTPConnection",
    "HTTPListener",
    "HTTPMultiListener",
    "HTTPOpener",
    "HTTPOverQUICListener",
    "HTTPOverQUICOpener",
    "HTTPOverTCPListener",
    "HTTPOverTCPOpener",
]

# Events a connection holds before the engine stops reading its streams' bodies.
MAX_QUEUED_EVENTS = 16


def _inside_hornbeam() -> bool:
    return importlib.util.find_spec("_erlang") is not None


def _not_here(what: str):
    if not _inside_hornbeam():
        raise RuntimeError(
            f"{what} needs Hornbeam's engine, which does hface's network and protocol work "
            "here: run this code inside Hornbeam (a worker or a py:context)"
        )
    raise RuntimeError(
        f"{what} is not offered yet inside Hornbeam: serve connections with "
        'hornbeam:start("module:handler", #{worker_class => hface, ...}), whose engine '
        "accepts them and calls handler(connection) (docs/hface.md)"
    )


class HTTPConnection:
    """One HTTP connection of any version, as hface's API: events in, headers and data
    out, streams named by id. Not made directly: listeners, openers and the hface worker
    class hand them out."""

    @property
    def http_version(self) -> str:
        """``"1.1"``, ``"2"`` or ``"3"``."""
        raise NotImplementedError

    @property
    def multiplexed(self) -> bool:
        """Whether streams run in parallel (HTTP/2 and HTTP/3)."""
        return self.http_version != "1.1"

    @property
    def local_address(self) -> AddressType:
        raise NotImplementedError

    @property
    def remote_address(self) -> AddressType:
        raise NotImplementedError

    @property
    def error_codes(self) -> HTTPErrorCodes:
        return error_codes_for(self.http_version)

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return {}

    async def __aenter__(self) -> "HTTPConnection":
        await self.open()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Sends the protocol's preamble; the engine already has."""

    async def aclose(self) -> None:
        raise NotImplementedError

    def is_available(self) -> bool:
        raise NotImplementedError

    def has_expired(self) -> bool:
        raise NotImplementedError

    def get_available_stream_id(self) -> int:
        raise NotImplementedError

    async def send_headers(self, stream_id: int, headers: HeadersType, end_stream=False) -> None:
        raise NotImplementedError

    async def send_data(self, stream_id: int, data: bytes, end_stream=False) -> None:
        raise NotImplementedError

    async def send_stream_reset(self, stream_id: int, error_code: int = 0) -> None:
        raise NotImplementedError

    async def receive_event(self) -> Event:
        raise NotImplementedError


class _ServerStream:
    """One request of a served connection: its ASGI request in the worker."""

    __slots__ = ("id", "request", "started", "ended", "done")

    def __init__(self, stream_id, request, loop):
        self.id = stream_id
        self.request = request
        self.started = False
        # The response's end went to the engine (or the stream was reset).
        self.ended = False
        self.done = loop.create_future()

    def finish(self):
        self.ended = True
        if not self.done.done():
            self.done.set_result(None)


class ServerConnection(HTTPConnection):
    """A connection the engine accepted; its streams are the requests it carries.

    The engine gives each request to the worker that serves its connection, in order;
    ``hornbeam_hface`` feeds them in with ``_stream``.
    """

    def __init__(self, scope, loop):
        self._http_version = scope["http_version"]
        self._local = tuple(scope["server"] or ("", 0))
        self._remote = tuple(scope["client"] or ("", 0))
        self._loop = loop
        self._events = collections.deque()
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._streams = {}
        # Streams the peer reset or left: sending on them is a no-op, not an error.
        self._gone = set()
        self._terminated = None
        self._closing = False

    @property
    def http_version(self) -> str:
        return self._http_version

    @property
    def local_address(self) -> AddressType:
        return self._local

    @property
    def remote_address(self) -> AddressType:
        return self._remote

    def is_available(self) -> bool:
        # A server opens no streams (no push).
        return False

    def has_expired(self) -> bool:
        return self._closing or self._terminated is not None

    def get_available_stream_id(self) -> int:
        raise NotImplementedError(
            "a server connection opens no streams: HTTP/2 server push is not offered"
        )

    async def aclose(self) -> None:
        """Closes the connection gracefully once the responses in progress are sent
        (HTTP/1.1: after the current one; HTTP/2 and HTTP/3: GOAWAY). A later request
        on it is reset."""
        if self._closing:
            return
        self._closing = True
        for stream in self._streams.values():
            stream.request.conn.close_connection()

    # -- receiving --------------------------------------------------------------------

    def _push(self, event):
        self._events.append(event)
        self._readable.set()
        if len(self._events) >= MAX_QUEUED_EVENTS:
            self._room.clear()

    async def _wait_room(self):
        while len(self._events) >= MAX_QUEUED_EVENTS and self._terminated is None:
            await self._room.wait()

    async def receive_event(self) -> Event:
        while not self._events:
            if self._terminated is not None:
                return self._terminated
            self._readable.clear()
            await self._readable.wait()
        event = self._events.popleft()
        if len(self._events) < MAX_QUEUED_EVENTS:
            self._room.set()
        return event

    def _terminate(self, message):
        if self._terminated is None:
            self._terminated = ConnectionTerminated(0, message)
            self._readable.set()
            self._room.set()

    # -- sending ----------------------------------------------------------------------

    def _sendable(self, stream_id):
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id in self._gone:
                return None
            raise ValueError(f"stream {stream_id} is not open on this connection")
        if stream.ended:
            raise ValueError(f"stream {stream_id} was already ended by this side")
        return stream

    async def _send(self, stream, message):
        from hornbeam_asgi import ClientDisconnected

        try:
            await stream.request.send(message)
        except ClientDisconnected:
            self._peer_left(stream)

    async def send_headers(self, stream_id: int, headers: HeadersType, end_stream=False) -> None:
        stream = self._sendable(stream_id)
        if stream is None:
            return
        status, regular = _response_head(headers)
        if status < 200:
            # Early hints go out as 103; other informational answers have no ASGI form.
            if status == 103:
                links = [value for name, value in regular if name == b"link"]
                await self._send(stream, {"type": "http.response.early_hint", "links": links})
            return
        if stream.started:
            # Trailers: the engine sends none, so a stream that ends here just ends.
            if end_stream:
                await self._end(stream)
            return
        stream.started = True
        await self._send(
            stream, {"type": "http.response.start", "status": status, "headers": regular}
        )
        if end_stream:
            await self._end(stream)

    async def send_data(self, stream_id: int, data: bytes, end_stream=False) -> None:
        stream = self._sendable(stream_id)
        if stream is None:
            return
        if not stream.started:
            raise ValueError(f"send_headers first: stream {stream_id} has no response head")
        await self._send(
            stream, {"type": "http.response.body", "body": bytes(data), "more_body": not end_stream}
        )
        if end_stream:
            stream.finish()

    async def _end(self, stream):
        await self._send(stream, {"type": "http.response.body", "body": b"", "more_body": False})
        stream.finish()

    async def send_stream_reset(self, stream_id: int, error_code: int = 0) -> None:
        """Resets the stream (HTTP/2, HTTP/3: RST_STREAM / RESET_STREAM with the
        engine's code; HTTP/1.1: the connection closes, its only way to end a response
        early)."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.ended:
            return
        stream.request.conn.reset()
        stream.finish()

    def _peer_left(self, stream):
        if stream.id not in self._gone:
            self._gone.add(stream.id)
            if not stream.ended:
                self._push(StreamResetReceived(stream.id, 0))
        stream.finish()

    # -- the engine's side (hornbeam_hface) ---------------------------------------------

    async def _handler_done(self):
        """The handler returned or raised: as in hface, the connection closes. A
        request it left unanswered gets a 500; one it left half-sent is reset."""
        await self.aclose()
        for stream in list(self._streams.values()):
            if stream.ended:
                continue
            if stream.started:
                stream.request.conn.reset()
            else:
                head = {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
                await self._send(stream, head)
                body = {"type": "http.response.body", "body": b"Internal Server Error"}
                await self._send(stream, body)
            stream.finish()

    async def _stream(self, scope, request, stream_id, end_stream):
        """Runs one request as stream ``stream_id``: its headers and body become events,
        and the request lasts until the response ends or the peer leaves."""
        if self._closing or self._terminated is not None:
            request.conn.close_connection()
            request.conn.reset()
            return
        stream = _ServerStream(stream_id, request, self._loop)
        self._streams[stream_id] = stream
        try:
            self._push(HeadersReceived(stream_id, _request_headers(scope), end_stream))
            while not end_stream:
                await self._wait_room()
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    self._peer_left(stream)
                    return
                end_stream = not message.get("more_body", False)
                body = message.get("body", b"")
                if body or end_stream:
                    self._push(DataReceived(stream_id, body, end_stream))
            # The body is in; what is left to notice is the peer leaving.
            if not stream.done.done():
                left = asyncio.ensure_future(request.receive())
                await asyncio.wait([left, stream.done], return_when=asyncio.FIRST_COMPLETED)
                if left.done():
                    if left.result()["type"] == "http.disconnect":
                        self._peer_left(stream)
                else:
                    left.cancel()
            await stream.done
        finally:
            self._streams.pop(stream_id, None)
            if not stream.ended:
                # The engine gave up on the request (timeout, stop): it answers or
                # resets it; the handler's later sends on it are no-ops.
                self._gone.add(stream_id)


def _request_headers(scope) -> list:
    """The request as hface shows it on every version: pseudo-headers, then the rest
    (``Host`` becomes ``:authority``)."""
    authority = b""
    regular = []
    for name, value in scope["headers"]:
        if name == b"host":
            authority = value
        else:
            regular.append((name, value))
    path = scope["raw_path"] or scope["path"].encode()
    if scope["query_string"]:
        path += b"?" + scope["query_string"]
    return [
        (b":method", scope["method"].encode()),
        (b":scheme", scope["scheme"].encode()),
        (b":authority", authority),
        (b":path", path),
        *regular,
    ]


def _response_head(headers: HeadersType):
    status = None
    regular = []
    for name, value in headers:
        if name == b":status":
            status = int(value)
        elif name.startswith(b":"):
            raise ValueError(f"unexpected pseudo-header in a response: {name!r}")
        else:
            regular.append((bytes(name).lower(), bytes(value)))
    if status is None:
        raise ValueError("a response needs a :status pseudo-header")
    return status, regular


# -- listeners and openers ------------------------------------------------------------


class HTTPListener:
    """Accepts connections and hands each to ``handler``."""

    async def serve(self, handler: Callable[[HTTPConnection], Awaitable[None]]) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.aclose()


class HTTPOverTCPListener(HTTPListener):
    @classmethod
    async def create(
        cls,
        http_factory,
        *,
        local_address: AddressType,
        tls_config: ServerTLSConfig | None = None,
        networking=None,
    ) -> "HTTPOverTCPListener":
        _not_here("HTTPOverTCPListener")


class HTTPOverQUICListener(HTTPListener):
    @classmethod
    async def create(
        cls,
        http_factory,
        *,
        local_address: AddressType,
        tls_config: ServerTLSConfig,
        networking=None,
    ) -> "HTTPOverQUICListener":
        _not_here("HTTPOverQUICListener")


class HTTPMultiListener(HTTPListener):
    """Serves several listeners with one handler."""

    def __init__(self, listeners: Sequence[HTTPListener]) -> None:
        self.listeners = list(listeners)

    async def serve(self, handler) -> None:
        await asyncio.gather(*(listener.serve(handler) for listener in self.listeners))

    async def aclose(self) -> None:
        for listener in self.listeners:
            await listener.aclose()


class HTTPOpener:
    """Opens client connections: ``await opener(remote_address, tls=...)``."""

    async def __call__(
        self, remote_address: AddressType, tls: bool = False, *, server_name=None
    ) -> HTTPConnection:
        raise NotImplementedError


class HTTPOverTCPOpener(HTTPOpener):
    def __init__(self, http_factory, *, tls_config: ClientTLSConfig | None = None, networking=None):
        self.http_factory = http_factory
        self.tls_config = tls_config

    async def __call__(self, remote_address, tls=False, *, server_name=None) -> HTTPConnection:
        from ._client import open_tcp

        return await open_tcp(self.http_factory, self.tls_config, remote_address, tls, server_name)


class HTTPOverQUICOpener(HTTPOpener):
    def __init__(self, http_factory, *, tls_config: ClientTLSConfig | None = None, networking=None):
        self.http_factory = http_factory
        self.tls_config = tls_config

    async def __call__(self, remote_address, tls=True, *, server_name=None) -> HTTPConnection:
        if _inside_hornbeam():
            raise RuntimeError(
                "HTTPOverQUICOpener is not offered yet inside Hornbeam: the engine serves "
                "HTTP/3 but has no HTTP/3 client yet; HTTPOverTCPOpener opens HTTP/1.1 "
                "and HTTP/2 connections (docs/hface.md)"
            )
        _not_here("HTTPOverQUICOpener")
