"""Client connections on the engine: what ``HTTPOverTCPOpener`` returns.

``_hornbeam_client`` (Rust) connects, negotiates TLS and ALPN and runs hyper's HTTP/1.1
or HTTP/2 client; this module turns its events into hface's and waits on its eventfd
with ``loop.add_reader``, so it works on any asyncio loop in Hornbeam: an ASGI worker's
or one a context runs with ``asyncio.run``.
"""

import asyncio
import ssl

from . import AddressType, ClientTLSConfig, HeadersType
from .connections import HTTPConnection
from .events import ConnectionTerminated, DataReceived, Event, HeadersReceived, StreamResetReceived

_CONNECTED, _FAILED, _HEADERS, _DATA, _RESET, _TERMINATED = range(6)

_VERSION_OF_ALPN = {"http/1.1": "1.1", "h2": "2"}


def _native():
    try:
        import _hornbeam_client
    except ImportError:
        raise RuntimeError(
            "HTTPOverTCPOpener needs Hornbeam's engine, which does hface's network and "
            "protocol work here: run this code inside Hornbeam (a worker or a py:context)"
        ) from None
    return _hornbeam_client


def _pem(cadata):
    if cadata is None or isinstance(cadata, str):
        return cadata
    cadata = bytes(cadata)
    if cadata.lstrip().startswith(b"-----BEGIN"):
        return cadata
    return ssl.DER_cert_to_PEM_cert(cadata)


async def open_tcp(
    http_factory, tls_config: ClientTLSConfig | None, remote_address, tls, server_name
) -> "ClientConnection":
    """Connects as ``http_factory`` says: with TLS, ALPN offers its protocols and the
    answer picks the version; without, its default version (HTTP/2: prior knowledge)."""
    native = _native()
    if getattr(http_factory, "server", False):
        raise ValueError("an opener needs a client factory (HTTP1ClientFactory, ...)")
    alpn = list(http_factory.alpn_protocols)
    default = getattr(http_factory, "default_alpn_protocol", None) or alpn[0]
    host, port = remote_address
    config = tls_config or ClientTLSConfig()
    handle = native.open(
        host,
        port,
        server_name,
        alpn if tls else None,
        _VERSION_OF_ALPN[default],
        config.insecure,
        config.cafile,
        config.capath,
        _pem(config.cadata),
    )
    connection = ClientConnection(native, handle, asyncio.get_running_loop(), tls)
    await connection._connected()
    return connection


class ClientConnection(HTTPConnection):
    """A connection this side opened; it starts streams with ``send_headers``."""

    def __init__(self, native, handle, loop, tls):
        self._native = native
        self._handle = handle
        self._loop = loop
        self._tls = tls
        self._fd = native.fileno(handle)
        self._waiters = []
        self._http_version = None
        self._local = self._remote = None
        self._terminated = None
        self._closing = False
        # HTTP/1.1: the stream in progress, and whether each side ended it.
        self._next_stream_id = 1
        self._busy = {}
        loop.add_reader(self._fd, self._wake)

    def _wake(self):
        self._native.clear(self._handle)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _changed(self):
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def _release(self):
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None

    async def _connected(self):
        while True:
            item = self._native.next_event(self._handle)
            if item is None:
                await self._changed()
            elif item[0] == _CONNECTED:
                _, self._http_version, self._local, self._remote = item
                return
            else:
                self._release()
                raise ConnectionError(item[1])

    # -- what the connection is -----------------------------------------------------

    @property
    def http_version(self) -> str:
        return self._http_version

    @property
    def local_address(self) -> AddressType:
        return self._local

    @property
    def remote_address(self) -> AddressType:
        return self._remote

    @property
    def extra_attributes(self):
        return {"tls": lambda: self._tls}

    def is_available(self) -> bool:
        if self._closing or self._terminated is not None:
            return False
        return self.multiplexed or not self._busy

    def has_expired(self) -> bool:
        return self._terminated is not None

    def get_available_stream_id(self) -> int:
        if not self.is_available():
            if self._terminated is not None or self._closing:
                raise RuntimeError("the connection is closed")
            raise RuntimeError(
                "HTTP/1.1 is not multiplexed and pipelining is not offered: the stream "
                "in progress must end first"
            )
        return self._next_stream_id

    # -- sending --------------------------------------------------------------------

    def _check_open(self):
        if self._terminated is not None or self._closing:
            raise RuntimeError("the connection is closed")

    async def send_headers(self, stream_id: int, headers: HeadersType, end_stream=False) -> None:
        self._check_open()
        if stream_id != self._next_stream_id:
            raise ValueError(f"stream {stream_id} is not the next stream of this connection")
        self._native.send_headers(self._handle, stream_id, headers, end_stream)
        self._next_stream_id += 1 if self._http_version == "1.1" else 2
        # Both sides of the stream are open until each ends it.
        self._busy[stream_id] = [not end_stream, True]

    async def send_data(self, stream_id: int, data: bytes, end_stream=False) -> None:
        self._check_open()
        sides = self._busy.get(stream_id)
        if sides is None or not sides[0]:
            raise ValueError(f"stream {stream_id} is not open for sending")
        if end_stream:
            sides[0] = False
            self._settle(stream_id)
        if self._native.send_data(self._handle, stream_id, data, end_stream):
            while not self._native.has_room(self._handle) and self._terminated is None:
                await self._changed()

    async def send_stream_reset(self, stream_id: int, error_code: int = 0) -> None:
        """Abandons the stream: HTTP/2 sends RST_STREAM (hyper's CANCEL); on HTTP/1.1,
        whose only way to end a message early is to close, the connection ends."""
        if self._busy.pop(stream_id, None) is None:
            return
        self._native.reset(self._handle, stream_id)
        if self._http_version == "1.1":
            await self.aclose()

    def _settle(self, stream_id):
        sides = self._busy.get(stream_id)
        if sides is not None and not sides[0] and not sides[1]:
            del self._busy[stream_id]

    # -- receiving ------------------------------------------------------------------

    def _event(self, item) -> Event | None:
        kind = item[0]
        if kind in (_HEADERS, _DATA) and item[1] not in self._busy:
            # What the engine had read of a stream this side reset since: gone with it.
            return None
        if kind == _HEADERS:
            _, stream_id, headers, end_stream = item
            status = headers[0][1]
            informational = status[:1] == b"1" and status != b"101"
            if end_stream and not informational:
                self._received_end(stream_id)
            return HeadersReceived(stream_id, headers, end_stream)
        if kind == _DATA:
            _, stream_id, data, end_stream = item
            if end_stream:
                self._received_end(stream_id)
            return DataReceived(stream_id, data, end_stream)
        if kind == _RESET:
            _, stream_id, error_code = item
            if self._busy.pop(stream_id, None) is None:
                # Reset by this side: hface reports no event for it.
                return None
            return StreamResetReceived(stream_id, error_code)
        if kind == _TERMINATED:
            _, error_code, message = item
            self._terminated = ConnectionTerminated(error_code, message)
            self._release()
            return self._terminated
        return None

    def _received_end(self, stream_id):
        sides = self._busy.get(stream_id)
        if sides is not None:
            sides[1] = False
            self._settle(stream_id)

    async def receive_event(self) -> Event:
        while True:
            if self._terminated is not None:
                return self._terminated
            item = self._native.next_event(self._handle)
            if item is None:
                await self._changed()
                continue
            event = self._event(item)
            if event is not None:
                return event

    async def aclose(self) -> None:
        """Ends the connection (HTTP/2: GOAWAY) and waits for the engine to finish."""
        if self._terminated is not None:
            return
        if not self._closing:
            self._closing = True
            self._native.close(self._handle)
        while self._terminated is None:
            item = self._native.next_event(self._handle)
            if item is None:
                await self._changed()
            elif item[0] == _TERMINATED:
                self._event(item)

    def __del__(self):
        # A connection dropped without aclose(): its capsule's end closes the socket;
        # the loop must stop watching the eventfd before it goes.
        if getattr(self, "_fd", None) is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
