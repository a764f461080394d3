"""WebSocket sessions with the `websockets` library: a client that can reconnect, and a
server."""

import asyncio
import contextlib
import inspect
import logging

from .errors import RpcError, RpcSessionClosed
from .hooks import Hook, PromiseHook, RpcTarget
from .options import RpcSessionOptions
from .session import ImportHook, RpcSession
from .stubs import RpcStub
from .transports import WebSocketTransport

log = logging.getLogger("capnweb")


def _max_frame(options):
    # Limits count characters; a character is at most 4 bytes of UTF-8.
    return options.limits.max_message_size * 4 + 1024


async def _call_back(callback, *args):
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("capnweb callback %r raised", callback)


class Connection:
    """What a per-connection target factory is told about the client."""

    __slots__ = ("headers", "path", "remote")

    def __init__(self, headers, path, remote):
        self.headers = headers  # lower-case names
        self.path = path
        self.remote = remote

    def __repr__(self):
        return f"Connection(path={self.path!r}, remote={self.remote!r})"


async def main_for(target, connection):
    """The object a new session exports: `target` itself, or what a factory (sync or
    async) makes of the connection (for per-connection state or authentication)."""
    if isinstance(target, (RpcTarget, RpcStub)) or target is None:
        return target
    if callable(target):
        main = target(connection)
        return await main if inspect.isawaitable(main) else main
    raise TypeError(
        f"a server target must be an RpcTarget or a factory taking a Connection, not {target!r}"
    )


class WebSocketClient:
    """A client connection; with `reconnect_enabled`, a lost connection is reopened with
    backoff and the main stub keeps working (calls wait for the new connection; stubs
    obtained through the old one are broken)."""

    def __init__(self, url, local_main, options):
        self.url = url
        self.local_main = local_main
        self.options = options
        self.session = None
        self.closed = False
        self._connected = asyncio.Event()
        self._watcher = None
        self._give_up = None

    async def _open(self):
        import websockets.asyncio.client as ws_client

        headers = await self.options.auth_headers()
        websocket = await ws_client.connect(
            self.url,
            additional_headers=headers or None,
            open_timeout=self.options.connect_timeout,
            max_size=_max_frame(self.options),
            compression=None,
        )
        self.session = RpcSession(WebSocketTransport(websocket), self.local_main, self.options)
        self._connected.set()
        await _call_back(self.options.on_connect)
        self._watcher = asyncio.ensure_future(self._watch(self.session))

    async def _watch(self, session):
        error = await session.closed
        self._connected.clear()
        if self.closed:
            return
        await _call_back(self.options.on_disconnect, error)
        if self.options.reconnect_enabled:
            await self._reconnect(error)

    async def _reconnect(self, error):
        for attempt, delay in enumerate(self.options.reconnect_delays(), 1):
            await asyncio.sleep(delay)
            if self.closed:
                return
            try:
                await self._open()
                log.info("capnweb reconnected to %s (attempt %d)", self.url, attempt)
                return
            except Exception as exc:
                log.info("capnweb reconnection %d to %s failed: %s", attempt, self.url, exc)
                error = exc
        self._give_up = RpcSessionClosed(
            f"could not reconnect to {self.url} after "
            f"{self.options.reconnect_max_attempts} attempts: {error}"
        )
        self.closed = True
        self._connected.set()  # wake waiting calls, which now fail

    async def ready_session(self):
        await self._connected.wait()
        if self._give_up is not None:
            raise self._give_up
        if self.closed:
            raise RpcSessionClosed("the RPC session was closed")
        return self.session

    def close(self):
        if not self.closed:
            self.closed = True
            if self.session is not None:
                self.session.shutdown()
            self._connected.set()


class ReconnectingMainHook(Hook):
    """The main stub of a reconnecting client: always the current connection's main."""

    __slots__ = ("client",)

    def __init__(self, client):
        self.client = client

    @property
    def session(self):
        return self.client.session

    def _current(self):
        session = self.client.session
        if self.client._connected.is_set() and session is not None and session.abort_reason is None:
            return ImportHook(session.imports[0])
        return None

    def _then(self, step):
        hook = self._current()
        if hook is not None:
            try:
                return step(hook)
            finally:
                hook.dispose()

        async def later():
            session = await self.client.ready_session()
            main = ImportHook(session.imports[0])
            try:
                return step(main)
            finally:
                main.dispose()

        return PromiseHook(asyncio.ensure_future(later()))

    def call(self, path, args, pending=None):
        return self._then(lambda hook: hook.call(path, args, pending))

    def get(self, path):
        return self._then(lambda hook: hook.get(path)) if path else self

    def map(self, path, captures, instructions):
        return self._then(lambda hook: hook.map(path, captures, instructions))

    async def pull(self):
        raise RpcError("The main stub is not a promise.")

    def dup(self):
        return _ReconnectingRef(self.client)

    def dispose(self):
        self.client.close()


class _ReconnectingRef(ReconnectingMainHook):
    """A copy of the main hook (from attribute access): disposing it keeps the client."""

    __slots__ = ()

    def dispose(self):
        pass


async def new_websocket_rpc_session(url, local_main=None, options=None):
    """Connect to `url` and return the server's main object as a stub. `local_main` is
    what the server may call back (an RpcTarget). Dispose the stub to close."""
    options = options or RpcSessionOptions()
    client = WebSocketClient(url, local_main, options)
    await client._open()
    if options.reconnect_enabled:
        return RpcStub(ReconnectingMainHook(client))
    return client.session.get_remote_main()


@contextlib.asynccontextmanager
async def websocket_rpc_session(url, local_main=None, options=None):
    """`async with websocket_rpc_session(url) as api:` closes the connection at the end."""
    api = await new_websocket_rpc_session(url, local_main, options)
    try:
        yield api
    finally:
        api.dispose()


class RpcServer:
    """A WebSocket RPC server (see `new_websocket_rpc_server`)."""

    def __init__(self, target, options):
        self.target = target
        self.options = options
        self.sessions = set()
        self.server = None

    async def _handle(self, websocket):
        request = websocket.request
        headers = {k.lower(): v for k, v in request.headers.raw_items()} if request else {}
        connection = Connection(headers, request.path if request else "/", websocket.remote_address)
        try:
            main = await main_for(self.target, connection)
        except Exception as exc:
            log.warning("capnweb: refusing connection from %s: %s", connection.remote, exc)
            await websocket.close(1008, str(exc)[:123])
            return
        session = RpcSession(WebSocketTransport(websocket), main, self.options)
        self.sessions.add(session)
        try:
            await session.closed
        finally:
            self.sessions.discard(session)

    @property
    def port(self):
        return self.server.sockets[0].getsockname()[1]

    async def serve_forever(self):
        await self.server.serve_forever()

    def close(self):
        self.server.close()
        for session in list(self.sessions):
            session.shutdown()

    async def wait_closed(self):
        await self.server.wait_closed()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


async def new_websocket_rpc_server(host, port, target, options=None, **serve_options):
    """Serve `target` (an RpcTarget shared by every connection, or a factory called with
    each `Connection`) to WebSocket clients on any path. Port 0 picks a free port
    (`server.port`)."""
    import websockets.asyncio.server as ws_server

    options = options or RpcSessionOptions()
    server = RpcServer(target, options)
    serve_options.setdefault("max_size", _max_frame(options))
    serve_options.setdefault("compression", None)
    server.server = await ws_server.serve(server._handle, host, port, **serve_options)
    return server
