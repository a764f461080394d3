"""The asyncio half of a Hornbeam ASGI worker.

The engine (Rust) parses requests, builds each scope, and owns every byte of the
request and response bodies. This module runs the worker's event loop: it watches an
eventfd the engine signals, starts a task per request, and parks a task on a future
when its ``receive()`` or ``send()`` has to wait. The engine wakes such a task with a
*token*: the request's id shifted left by two, or-ed with what became ready
(0 receive, 1 send, 2 cancel). Kind 3 alone is ``_DRAIN``: finish the requests in
flight, then stop (the worker was recycled after ``max_requests``); kind 3 with an id
says that connection ended (hface workers only).

``serve()`` is called by the worker thread and returns when the server stops.
"""

import asyncio
import traceback

__all__ = ["ClientDisconnected", "serve"]

_RECEIVE, _SEND, _CANCEL, _DRAIN = 0, 1, 2, 3


class ClientDisconnected(OSError):
    """``send()`` on a request whose client went away (ASGI spec 2.4)."""


class LifespanFailed(Exception):
    """Lifespan startup did not complete."""


def _new_event_loop():
    # uvloop cannot load in a sub-interpreter (single-phase init); the standard loop
    # can.
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Request:
    """``receive`` and ``send`` for one request."""

    __slots__ = ("conn", "worker", "token")

    def __init__(self, conn, worker):
        self.conn = conn
        self.worker = worker
        self.token = conn.id << 2

    async def receive(self):
        conn = self.conn
        event = conn.receive()
        while event is None:
            await self.worker.wait(self.token)
            event = conn.receive()
        return event

    async def send(self, message):
        conn = self.conn
        if conn.send(message):
            token = self.token | _SEND
            await self.worker.wait(token)
            while conn.flush():
                await self.worker.wait(token)


class _Lifespan:
    """Drives the application's lifespan scope: startup before serving, shutdown at
    stop."""

    def __init__(self, worker, mode):
        self.worker = worker
        self.mode = mode
        self.events = asyncio.Queue()
        self.answers = asyncio.Queue()
        self.task = None
        self.supported = False

    async def _receive(self):
        return await self.events.get()

    async def _send(self, message):
        kind = message.get("type")
        if kind not in (
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        ):
            raise RuntimeError(f"Unexpected ASGI message type {kind!r} in a lifespan scope")
        await self.answers.put(message)

    async def _run(self, scope):
        await self.worker.app(scope, self._receive, self._send)

    async def _exchange(self, event):
        """Sends ``event`` and waits for the answer; None if the application returned
        or raised instead (its exception is then set on the task)."""
        await self.events.put({"type": event})
        answer = asyncio.ensure_future(self.answers.get())
        await asyncio.wait([answer, self.task], return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            return answer.result()
        answer.cancel()
        return None

    async def startup(self):
        """None when serving can begin, else why not."""
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.worker.state,
        }
        self.task = asyncio.ensure_future(self._run(scope))
        answer = await self._exchange("lifespan.startup")
        if answer is None:
            error = self.task.exception() if not self.task.cancelled() else None
            if self.mode == "on":
                return f"the application does not support lifespan: {error!r}"
            if error is not None:
                self.worker.log(
                    "info",
                    f"ASGI 'lifespan' protocol appears unsupported ({error!r}); serving without it",
                )
            return None
        if answer["type"] == "lifespan.startup.failed":
            return answer.get("message", "") or "lifespan.startup.failed"
        self.supported = True
        return None

    async def shutdown(self, timeout):
        if not self.supported or self.task.done():
            return
        try:
            answer = await asyncio.wait_for(self._exchange("lifespan.shutdown"), timeout)
        except TimeoutError:
            self.worker.log("error", f"lifespan shutdown did not finish within {timeout:g} s")
            self.task.cancel()
            return
        if answer is None:
            error = self.task.exception() if not self.task.cancelled() else None
            self.worker.log("error", f"lifespan shutdown: the application ended with {error!r}")
        elif answer["type"] == "lifespan.shutdown.failed":
            self.worker.log("error", f"lifespan shutdown failed: {answer.get('message', '')}")


class _Worker:
    def __init__(self, native, app, loop, shutdown_timeout):
        self.native = native
        self.app = app
        self.loop = loop
        self.shutdown_timeout = shutdown_timeout
        # What lifespan startup stored; each request's scope gets a shallow copy.
        self.state = {}
        self.share_state = False
        self.lifespan = None
        # Futures parked on a token, and each running request's task (for cancel).
        self.waiters = {}
        self.tasks = {}
        self.stopping = False
        # hface (hornbeam_hface): an application of connections takes each request
        # whole and hears when a connection ends.
        self.serve_request = getattr(app, "hornbeam_serve_request", None)
        self.connection_closed = getattr(app, "hornbeam_connection_closed", None)

    def log(self, level, text):
        self.native.log(level, text)

    def wait(self, token):
        future = self.loop.create_future()
        self.waiters[token] = future
        return future

    async def start(self, lifespan_mode):
        if lifespan_mode == "off":
            return None
        self.lifespan = _Lifespan(self, lifespan_mode)
        error = await self.lifespan.startup()
        self.share_state = self.lifespan.supported
        return error

    def on_wake(self):
        for item in self.native.drain():
            if item.__class__ is tuple:
                scope, conn = item
                if self.share_state:
                    scope["state"] = self.state.copy()
                task = self.loop.create_task(self.run(scope, conn))
                # An eager task may have finished already.
                if not task.done():
                    self.tasks[conn.id] = task
            elif item is None:
                self.stopping = True
                self.loop.create_task(self.stop())
            elif item == _DRAIN:
                self.stopping = True
                self.loop.create_task(self.drain())
            elif item & 3 == _DRAIN:
                # Kind 3 with an id: that connection ended (hface).
                if self.connection_closed is not None:
                    self.connection_closed(item >> 2)
            elif item & 3 == _CANCEL:
                task = self.tasks.get(item >> 2)
                if task is not None:
                    task.cancel()
            else:
                future = self.waiters.pop(item, None)
                if future is not None and not future.done():
                    future.set_result(None)

    async def run(self, scope, conn):
        request = _Request(conn, self)
        try:
            if self.serve_request is None:
                await self.app(scope, request.receive, request.send)
            else:
                await self.serve_request(scope, request)
        except asyncio.CancelledError:
            conn.cancel()
        except ClientDisconnected:
            conn.cancel()
        except BaseException as exc:
            # SystemExit or KeyboardInterrupt from app code is a 500 like any error: it
            # must not end the loop every other request of this worker runs on. Only
            # the interrupt that stops a worker which did not stop in time goes on.
            conn.fail("".join(traceback.format_exception(exc)))
            if self.stopping and not isinstance(exc, Exception):
                raise
        else:
            conn.finish()
        finally:
            self.tasks.pop(conn.id, None)
            if self.waiters:
                self.waiters.pop(request.token, None)
                self.waiters.pop(request.token | _SEND, None)

    async def drain(self):
        # New requests go to the successor; the ones here finish (the engine's
        # timeout still bounds each), then the loop ends as on stop.
        while self.tasks:
            await asyncio.wait(list(self.tasks.values()))
        await self.stop()

    async def stop(self):
        # The engine has drained or closed every connection by now: what still runs
        # has nobody to answer.
        running = list(self.tasks.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=1.0)
        stop_connections = getattr(self.app, "hornbeam_stop", None)
        if stop_connections is not None:
            await stop_connections()
        if self.lifespan is not None:
            await self.lifespan.shutdown(self.shutdown_timeout)
        self.loop.stop()


def serve(native, app, lifespan, shutdown_timeout):
    """Runs one worker: lifespan startup, then requests until the engine says stop.

    ``native.ready()`` reports the start-up outcome to the thread that started the
    worker: None, or the message of a failed lifespan startup.
    """
    loop = _new_event_loop()
    asyncio.set_event_loop(loop)
    # Run each request's task eagerly up to its first wait: a handler that answers
    # at once does so within the wake-up that brought it, with no extra loop turn.
    # (uvloop's create_task does not take the factory's arguments.)
    eager = getattr(asyncio, "eager_task_factory", None)
    if eager is not None and isinstance(loop, asyncio.BaseEventLoop):
        loop.set_task_factory(eager)
    worker = _Worker(native, app, loop, shutdown_timeout)
    try:
        error = loop.run_until_complete(worker.start(lifespan))
        native.ready(error)
        if error is not None:
            return
        loop.add_reader(native.fileno(), worker.on_wake)
        loop.run_forever()
        loop.remove_reader(native.fileno())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
