"""`Server`: the standalone pykrozen server, standard library only.

One asyncio event loop per process (uvloop's when it is installed). With
`settings.workers > 1` the process forks that many workers; with `reuse_port` each
binds its own socket with SO_REUSEPORT and the kernel spreads connections across
them, otherwise they share one socket bound before the fork. The parent restarts a
worker that dies and stops them all on SIGINT or SIGTERM. A worker stops accepting on
SIGTERM, closes idle connections, gives the others up to `shutdown_timeout` seconds,
then runs the `server:stop` hooks.
"""

import asyncio
import os
import signal
import socket
import sys
import time

from . import pipeline
from .application import log
from .connection import Connection

__all__ = ["Server"]

_Pending = pipeline.Pending


def new_event_loop(choice="auto"):
    """(loop, name): uvloop's loop when `choice` allows and it imports."""
    if choice in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise RuntimeError(
                    "settings.loop is 'uvloop' but uvloop is not installed"
                ) from None
        else:
            return uvloop.new_event_loop(), "uvloop"
    return asyncio.new_event_loop(), "asyncio"


class _HTTPProtocol(asyncio.Protocol):
    """Feeds a Connection from an asyncio transport."""

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.conn = None
        self.busy = False  # awaiting an async handler: later requests wait
        self.paused = False  # the transport's write buffer is full
        self.eof = False

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        client = (peer[0], peer[1]) if isinstance(peer, tuple) else None
        self.conn = Connection(self.server.app, transport.write, self._close, client)
        self.server.connections.add(self)

    def data_received(self, data):
        self.conn.feed(data)
        if not self.busy:
            self._drive()

    def _drive(self):
        conn = self.conn
        while not self.paused:
            done = conn.step()
            if done is None:
                if self.eof and not self.busy:
                    self._close()
                return
            if done is not True:
                self.busy = True
                self.transport.pause_reading()
                self.server.loop.create_task(self._finish(done))
                return

    async def _finish(self, awaitable):
        try:
            await awaitable
        finally:
            self.busy = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()
            self._drive()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if not self.busy:
            self._drive()

    def eof_received(self):
        # Keep the transport to answer what was pipelined before the end.
        self.eof = True
        if not self.busy:
            self._drive()
        return True

    def _close(self):
        if self.transport is not None:
            self.transport.close()

    def shutdown(self):
        """The server stops: close an idle HTTP connection, tell a WebSocket 1001."""
        conn = self.conn
        if conn.ws is not None:
            conn.ws.client.close(1001, "server shutting down")
        elif not self.busy:
            self._close()

    def connection_lost(self, exc):
        self.server.forget(self)
        self.transport = None
        done = self.conn.lost()
        if done is not None and done.__class__ is _Pending:
            self.server.loop.create_task(_log_failure(done, "ws:disconnect"))


async def _log_failure(awaitable, what):
    try:
        await awaitable
    except Exception as exc:
        log.error("%s raised %s", what, type(exc).__name__, exc_info=exc)


class Server:
    """Serves an App (the global `app` by default) as `settings` say."""

    shutdown_timeout = 5.0

    def __init__(self, app=None, settings=None):
        if app is None:
            from . import app as default_app

            app = default_app
        self.app = app
        self.settings = settings if settings is not None else app.settings
        self.connections = set()
        # Set when the last connection ends while stopping.
        self._drained = None
        self.loop = None
        self.loop_name = None
        self._stopping = None
        self._parent = os.getpid()

    @classmethod
    def run(cls, app=None, **overrides):
        """Serves until SIGINT or SIGTERM. Keyword arguments override settings:
        `Server.run(port=9000, workers=4)`."""
        server = cls(app)
        if _inside_hornbeam():
            # The module is being imported by Hornbeam (ASGI or reactor), which owns
            # the socket: the same module serves unchanged there.
            log.info("Server.run(): Hornbeam serves this app; not starting a standalone server")
            return
        for name, value in overrides.items():
            if not hasattr(server.settings, name):
                raise TypeError(f"Server.run() got an unknown setting {name!r}")
            setattr(server.settings, name, value)
        server.settings.validate()
        if server.settings.workers > 1:
            server._run_workers()
        else:
            server._run_one(None)

    # One process

    def _run_one(self, sock):
        loop, self.loop_name = new_event_loop(self.settings.loop)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.serve(sock))
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    async def serve(self, sock=None):
        """Serves on the running loop until `stop()`; binds a socket unless given one."""
        loop = self.loop = asyncio.get_running_loop()
        if self.loop_name is None:
            self.loop_name = type(loop).__module__.split(".")[0]
        settings = self.settings
        if sock is None:
            sock = listen_socket(settings)
        self._stopping = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread: stop() is the way
        started = self.app.emit("server:start", self.app.server_context(self, "standalone"))
        if started.__class__ is _Pending:
            await started
        server = await loop.create_server(
            lambda: _HTTPProtocol(self), sock=sock, backlog=settings.backlog
        )
        host, port = sock.getsockname()[:2]
        if settings.workers == 1 or settings.debug:
            print(
                f"pykrozen: serving http://{host}:{port} (WebSocket at {settings.ws_path}; "
                f"pid {os.getpid()}, {self.loop_name})",
                flush=True,
            )
        if settings.workers > 1:
            loop.call_later(1.0, self._watch_parent)
        try:
            await self._stopping
        finally:
            server.close()
            self._drained = asyncio.Event()
            for proto in list(self.connections):
                proto.shutdown()
            if self.connections:
                try:
                    await asyncio.wait_for(self._drained.wait(), self.shutdown_timeout)
                except TimeoutError:
                    for proto in list(self.connections):
                        proto._close()
            stopped = self.app.emit("server:stop", self.app.server_context(self, "standalone"))
            if stopped.__class__ is _Pending:
                await stopped

    def forget(self, proto):
        """A connection ended."""
        self.connections.discard(proto)
        if self._drained is not None and not self.connections:
            self._drained.set()

    def stop(self):
        """Stops serving (from the server's loop thread)."""
        if self._stopping is not None and not self._stopping.done():
            self._stopping.set_result(None)

    def _watch_parent(self):
        # A worker whose parent died (SIGKILL: nobody forwarded a signal) stops.
        if os.getppid() != self._parent:
            self.stop()
        elif not self._stopping.done():
            self.loop.call_later(1.0, self._watch_parent)

    # Several processes

    def _run_workers(self):
        settings = self.settings
        shared = None if settings.reuse_port else listen_socket(settings)
        if settings.reuse_port:
            listen_socket(settings).close()  # fail here, once, if the address is taken
        children = {}
        stopping = []

        def stop_all(signum, frame):
            stopping.append(signum)
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

        def spawn():
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                code = 0
                try:
                    self._run_one(shared)
                except BaseException:
                    log.exception("pykrozen worker %d failed", os.getpid())
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            children[pid] = time.monotonic()

        self._parent = os.getpid()
        signal.signal(signal.SIGINT, stop_all)
        signal.signal(signal.SIGTERM, stop_all)
        for _ in range(settings.workers):
            spawn()
        print(
            f"pykrozen: serving http://{settings.host}:{settings.port} with {settings.workers} "
            f"workers (WebSocket at {settings.ws_path}; pid {os.getpid()})",
            flush=True,
        )
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            started = children.pop(pid, None)
            if started is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - started < 1.0:
                log.error(
                    "pykrozen worker %d exited with %d right after starting; stopping", pid, code
                )
                stop_all(signal.SIGTERM, None)
                continue
            log.error("pykrozen worker %d exited with %d; starting another", pid, code)
            spawn()
        if shared is not None:
            shared.close()


def _inside_hornbeam():
    try:
        import _erlang  # noqa: F401 - present only in Hornbeam's interpreters
    except ImportError:
        return False
    return True


def listen_socket(settings):
    """A listening, non-blocking TCP socket for `settings.host`/`port`."""
    family, _, _, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if settings.reuse_port and settings.workers > 1:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(settings.backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
